// Copyright 2026 the exec-server authors. MIT license.
/**
 * Builds `dist/npm/`: the client library as one ESM bundle for Node 20+
 * (`client.mjs`, from `lib/client/mod.ts`), its type declarations
 * (`types/*.d.ts`), a `package.json` (dependencies `ws` and `zod`) and a
 * README: the "Using the client" section of the repository's README.
 *
 * The JavaScript comes from `deno bundle --platform=node` (esbuild, fetched
 * from npm once). The declarations come from `tsc` (npm `typescript`,
 * installed on first use under `.tools/tsc/`): `deno bundle --declaration`
 * emits one file that repeats `import { z }` and exports internals.
 *
 * Usage: `./scripts/deno run -A scripts/build_npm.ts`
 *
 * @module
 */

const ROOT = new URL("..", import.meta.url).pathname;
const OUT = `${ROOT}dist/npm`;
const TSC_DIR = `${ROOT}.tools/tsc`;
const TSC = `${TSC_DIR}/node_modules/.bin/tsc`;
const TYPES_NODE = "@types/node@20";
const TYPESCRIPT = "typescript@5.9.3";

async function run(cmd: string, args: string[], cwd = ROOT): Promise<void> {
  const out = await new Deno.Command(cmd, { args, cwd, stdout: "piped", stderr: "piped" })
    .output();
  if (!out.success) {
    const text = new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout);
    throw new Error(`${cmd} ${args.slice(0, 2).join(" ")} failed:\n${text}`);
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

/** `npm:name@range` from deno.json's import map → `range`. */
function npmRange(imports: Record<string, string>, name: string): string {
  const spec = imports[name] ?? "";
  const range = spec.startsWith(`npm:${name}@`) ? spec.slice(`npm:${name}@`.length) : "";
  if (!range) throw new Error(`deno.json maps ${name} to ${spec || "nothing"}, not npm:${name}@…`);
  return range;
}

/** Builds dist/npm and returns its path. */
export async function buildNpm(): Promise<string> {
  const config = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`));
  await Deno.remove(OUT, { recursive: true }).catch(() => {});
  await Deno.mkdir(`${OUT}/types`, { recursive: true });

  await run(Deno.execPath(), [
    "bundle",
    "--quiet",
    "--platform=node",
    "--format=esm",
    "--external=zod",
    "--external=ws",
    "-o",
    `${OUT}/client.mjs`,
    `${ROOT}lib/client/mod.ts`,
  ]);

  if (!(await exists(TSC)) || !(await exists(`${TSC_DIR}/node_modules/@types/node`))) {
    await Deno.mkdir(TSC_DIR, { recursive: true });
    await run("npm", [
      "install",
      "--silent",
      "--no-fund",
      "--no-audit",
      "--prefix",
      TSC_DIR,
      TYPESCRIPT,
      TYPES_NODE,
    ]);
  }
  await run(TSC, [
    `${ROOT}lib/client/mod.ts`,
    "--declaration",
    "--emitDeclarationOnly",
    "--outDir",
    `${OUT}/types`,
    "--allowImportingTsExtensions",
    "--module",
    "nodenext",
    "--moduleResolution",
    "nodenext",
    "--target",
    "es2022",
    "--lib",
    "es2023,dom,esnext.disposable",
    "--strict",
    "--exactOptionalPropertyTypes",
    "--skipLibCheck",
    // client/stdio.ts imports node:child_process.
    "--typeRoots",
    `${TSC_DIR}/node_modules/@types`,
    "--types",
    "node",
  ]);
  // The sources import "./x.ts"; published declarations must say "./x.js".
  await rewriteImports(`${OUT}/types`);

  const pkg = {
    name: "@exec-server/client",
    version: config.version,
    description: "Client for exec-server (codex exec-server protocol): typed calls, ordered " +
      "process events, auto-resume",
    license: "MIT",
    type: "module",
    main: "./client.mjs",
    types: "./types/client/mod.d.ts",
    exports: {
      ".": { types: "./types/client/mod.d.ts", default: "./client.mjs" },
    },
    files: ["client.mjs", "types/", "README.md"],
    engines: { node: ">=20" },
    dependencies: {
      ws: npmRange(config.imports, "ws"),
      zod: npmRange(config.imports, "zod"),
    },
  };
  await Deno.writeTextFile(`${OUT}/package.json`, JSON.stringify(pkg, null, 2) + "\n");
  const readme = await Deno.readTextFile(`${ROOT}README.md`);
  const start = readme.indexOf("## Using the client");
  const end = readme.indexOf("\n## ", start + 1);
  if (start === -1) throw new Error('README.md has no "## Using the client" section');
  await Deno.writeTextFile(
    `${OUT}/README.md`,
    readme.slice(start, end === -1 ? undefined : end + 1),
  );
  return OUT;
}

if (import.meta.main) {
  const out = await buildNpm();
  console.log(`built ${out}`);
}

/** Rewrites `./x.ts` and `../y/x.ts` specifiers to `.js` in every declaration under `dir`. */
async function rewriteImports(dir: string): Promise<void> {
  for await (const entry of Deno.readDir(dir)) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) {
      await rewriteImports(path);
      continue;
    }
    const text = await Deno.readTextFile(path);
    await Deno.writeTextFile(path, text.replace(/(["']\.\.?\/[\w./-]+)\.ts(["'])/g, "$1.js$2"));
  }
}
