// Copyright 2026 the exec-server authors. MIT license.
/**
 * Installs the reference MCP server (`@modelcontextprotocol/server-everything`)
 * from the npm registry into .tools/mcp on first use.
 *
 * @module
 */
const VERSION = "2026.8.31";
const TOOLS = new URL("../.tools/", import.meta.url).pathname;
const ROOT = `${TOOLS}mcp/`;
const ENTRY = `${ROOT}node_modules/@modelcontextprotocol/server-everything/dist/index.js`;

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Absolute path of server-everything's entry point (run it with `node ENTRY
 * stdio`). Test files running in parallel may both install it: each installs
 * into a directory of its own and renames it into place, and the loser of
 * that race uses the winner's.
 */
export async function everythingServer(): Promise<string> {
  if (await exists(ENTRY)) return ENTRY;
  await Deno.mkdir(TOOLS, { recursive: true });
  const staging = await Deno.makeTempDir({ dir: TOOLS, prefix: "mcp.installing-" });
  try {
    const { success, stderr } = await new Deno.Command("npm", {
      args: [
        "install",
        "--silent",
        "--no-fund",
        "--no-audit",
        "--prefix",
        staging,
        `@modelcontextprotocol/server-everything@${VERSION}`,
      ],
      stdout: "null",
      stderr: "piped",
    }).output();
    if (!success) {
      throw new Error(
        `npm install of server-everything failed: ${new TextDecoder().decode(stderr)}`,
      );
    }
    await Deno.rename(staging, ROOT).catch(async (err) => {
      if (await exists(ENTRY)) return; // another test file installed it first
      throw new Error(`cannot move server-everything into ${ROOT} (remove it to reinstall)`, {
        cause: err,
      });
    });
  } finally {
    await Deno.remove(staging, { recursive: true }).catch(() => {});
  }
  return ENTRY;
}
