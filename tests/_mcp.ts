// Copyright 2026 the exec-server authors. MIT license.
/**
 * Installs the reference MCP server (`@modelcontextprotocol/server-everything`)
 * from the npm registry into .tools/mcp on first use.
 *
 * @module
 */
const VERSION = "2026.8.31";
const ROOT = new URL("../.tools/mcp/", import.meta.url).pathname;
const ENTRY = `${ROOT}node_modules/@modelcontextprotocol/server-everything/dist/index.js`;

/** Absolute path of server-everything's entry point (run it with `node ENTRY stdio`). */
export async function everythingServer(): Promise<string> {
  try {
    await Deno.stat(ENTRY);
    return ENTRY;
  } catch {
    // not installed yet
  }
  const { success, stderr } = await new Deno.Command("npm", {
    args: [
      "install",
      "--silent",
      "--no-fund",
      "--no-audit",
      "--prefix",
      ROOT,
      `@modelcontextprotocol/server-everything@${VERSION}`,
    ],
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!success) {
    throw new Error(`npm install of server-everything failed: ${new TextDecoder().decode(stderr)}`);
  }
  return ENTRY;
}
