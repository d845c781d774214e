// Copyright 2026 the exec-server authors. MIT license.
/**
 * Builds the two npm packages and their tarballs:
 *
 * - `dist/npm/` → `dist/exec-server-client-VERSION.tgz`: the client library
 *   for Node 20+ as one ESM bundle (`client.mjs`, from `lib/client/mod.ts`),
 *   its type declarations (`types/…`), a `package.json` (dependencies `ws`
 *   and `zod`, which npm installs from the registry), a README (the "Using
 *   the client" section) and the LICENSE.
 * - `dist/npm-cli/` → `dist/exec-server-cli-VERSION.tgz`: the `exec-server`
 *   command for machines without Deno: the one-file bundle of `main.ts`, a
 *   `bin/exec-server` launcher, and a dependency on the npm package `deno`
 *   (the Deno runtime, pinned to the version the project uses).
 *
 * The sources import `npm:zod@…`; the client is built from a copy whose
 * specifiers say `zod`, so the bundle and the declarations import the
 * package npm installs. The JavaScript comes from `deno bundle` (esbuild,
 * fetched from npm once). The declarations come from `tsc` (npm
 * `typescript`, installed on first use under `.tools/tsc/`).
 *
 * Usage: `./scripts/deno task build:npm`
 *
 * @module
 */
import { PERMISSIONS } from "./compile.ts";
import { WS_EXTERNAL } from "../lib/client/ssh_payload.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const DIST = `${ROOT}dist`;
/** Where the TypeScript compiler, @types/node and zod are installed (by npm, on first use). */
export const TSC_DIR = `${ROOT}.tools/tsc`;
const TSC = `${TSC_DIR}/node_modules/.bin/tsc`;
const TYPES_NODE = "@types/node@20";
/** Types for the client's Node-only `import("ws")`; they stay out of the package's declarations. */
const TYPES_WS = "@types/ws@8";
const TYPESCRIPT = "typescript@5.9.3";
/** The Deno the CLI package runs on: the one scripts/deno pins. */
const DENO_VERSION = "2.9.6";

async function run(cmd: string, args: string[], cwd = ROOT): Promise<string> {
  const out = await new Deno.Command(cmd, { args, cwd, stdout: "piped", stderr: "piped" })
    .output();
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success) {
    throw new Error(
      `${cmd} ${args.slice(0, 2).join(" ")} failed:\n${
        new TextDecoder().decode(out.stderr)
      }${text}`,
    );
  }
  return text;
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

async function readConfig(): Promise<{ version: string; imports: Record<string, string> }> {
  return JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`));
}

/**
 * Copies the `parts` of lib/ into `into`/lib/, with `npm:NAME@RANGE`
 * specifiers rewritten to `NAME` (zod resolves from {@linkcode TSC_DIR};
 * ws is the Node package's dependency).
 */
export async function rewrittenCopy(parts: string[], into: string): Promise<void> {
  for (const part of parts) {
    for await (const entry of walk(`${ROOT}lib/${part}`)) {
      const rel = entry.slice(`${ROOT}lib/`.length);
      await Deno.mkdir(`${into}/lib/${rel.slice(0, rel.lastIndexOf("/"))}`, { recursive: true });
      const text = await Deno.readTextFile(entry);
      await Deno.writeTextFile(
        `${into}/lib/${rel}`,
        text.replace(/(["'])npm:(@?[\w.-]+(?:\/[\w.-]+)?)@[^"'/]*\1/g, '"$2"'),
      );
    }
  }
}

async function* walk(dir: string): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(dir)) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) yield* walk(path);
    else if (entry.name.endsWith(".ts")) yield path;
  }
}

/** Installs typescript, @types/node and zod under {@linkcode TSC_DIR} unless they are there. */
export async function ensureTscTools(): Promise<void> {
  const zodRange = npmRange((await readConfig()).imports, "zod");
  const wanted = [
    `${TSC}`,
    `${TSC_DIR}/node_modules/@types/node`,
    `${TSC_DIR}/node_modules/@types/ws`,
    `${TSC_DIR}/node_modules/zod`,
  ];
  if ((await Promise.all(wanted.map(exists))).every(Boolean)) return;
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
    TYPES_WS,
    `zod@${zodRange}`,
  ]);
}

/** Packs `dir` into `dist/` and returns the tarball's path. */
async function pack(dir: string): Promise<string> {
  const name = (await run("npm", ["pack", "--silent", "--pack-destination", DIST], dir)).trim()
    .split("\n").at(-1)!;
  return `${DIST}/${name}`;
}

/**
 * Builds the client library into `out` (default dist/npm) and returns its
 * path. Tests pass a directory of their own: they run in parallel.
 */
export async function buildNpm(out: string = `${DIST}/npm`): Promise<string> {
  const config = await readConfig();
  await Deno.remove(out, { recursive: true }).catch(() => {});
  await Deno.mkdir(`${out}/types`, { recursive: true });
  await ensureTscTools();
  // Under .tools/tsc, so tsc finds zod in its node_modules; one directory per build.
  const src = await Deno.makeTempDir({ dir: TSC_DIR, prefix: "src-" });
  try {
    await buildClient(src, out);
  } finally {
    await Deno.remove(src, { recursive: true });
  }

  const pkg = {
    name: "@exec-server/client",
    version: config.version,
    description: "Client for exec-server (codex exec-server protocol): typed calls, ordered " +
      "process events, auto-resume, ssh with zero-install",
    license: "MIT",
    type: "module",
    main: "./client.mjs",
    types: "./types/client/mod.d.ts",
    exports: {
      ".": { types: "./types/client/mod.d.ts", default: "./client.mjs" },
    },
    files: ["client.mjs", "types/", "README.md", "LICENSE"],
    engines: { node: ">=20" },
    dependencies: {
      ws: npmRange(config.imports, "ws"),
      zod: npmRange(config.imports, "zod"),
    },
  };
  await Deno.writeTextFile(`${out}/package.json`, JSON.stringify(pkg, null, 2) + "\n");
  await Deno.writeTextFile(`${out}/README.md`, await readmeSection("## Using the client"));
  await Deno.copyFile(`${ROOT}LICENSE`, `${out}/LICENSE`);
  return out;
}

/** Bundles and declares the client from the rewritten copy in `src`. */
async function buildClient(src: string, out: string): Promise<void> {
  await rewrittenCopy(["client", "protocol", "util"], src);
  await Deno.writeTextFile(`${src}/package.json`, '{ "type": "module" }\n');
  await run(Deno.execPath(), [
    "bundle",
    "--quiet",
    "--no-config",
    "--platform=node",
    "--format=esm",
    "--external=zod",
    "--external=ws",
    "-o",
    `${out}/client.mjs`,
    `${src}/lib/client/mod.ts`,
  ]);
  await run(TSC, [
    `${src}/lib/client/mod.ts`,
    "--declaration",
    "--emitDeclarationOnly",
    "--outDir",
    `${out}/types`,
    "--rootDir",
    `${src}/lib`,
    "--allowImportingTsExtensions",
    "--module",
    "nodenext",
    "--moduleResolution",
    "nodenext",
    "--target",
    "es2022",
    "--lib",
    "es2024,dom,esnext.disposable",
    "--strict",
    "--exactOptionalPropertyTypes",
    "--skipLibCheck",
    // client/stdio.ts imports node:child_process.
    "--typeRoots",
    `${TSC_DIR}/node_modules/@types`,
    "--types",
    "node,ws",
  ]);
  // The sources import "./x.ts"; published declarations must say "./x.js".
  await rewriteImports(`${out}/types`);
}

/** The launcher of the CLI package: finds the `deno` npm installed and runs the bundle on it. */
const LAUNCHER = `#!/bin/sh
# exec-server, installed from npm: runs exec-server.js (the one-file bundle) on the Deno
# runtime that npm installed with this package (the npm package "deno").
# EXEC_SERVER_DENO=/path/to/deno picks another one.
set -e
self=$0
while [ -L "$self" ]; do
  link=$(readlink "$self")
  case $link in /*) self=$link ;; *) self=$(dirname "$self")/$link ;; esac
done
pkg=$(cd "$(dirname "$self")/.." && pwd)
deno=\${EXEC_SERVER_DENO:-}
dir=$pkg
while [ -z "$deno" ]; do
  for cand in "$dir"/node_modules/deno/deno "$dir"/node_modules/@deno/*/deno; do
    if [ -f "$cand" ] && [ -x "$cand" ]; then deno=$cand; break; fi
  done
  [ -n "$deno" ] && break
  if [ "$dir" = / ]; then
    echo "exec-server: cannot find the Deno runtime (the npm package deno) next to $pkg;" \\
      "reinstall, or set EXEC_SERVER_DENO" >&2
    exit 127
  fi
  dir=$(dirname "$dir")
done
DENO_NO_UPDATE_CHECK=1 exec "$deno" run --quiet --no-config ${PERMISSIONS.join(" ")} \\
  "$pkg/exec-server.js" "$@"
`;

/** Builds the command's package into `out` (default dist/npm-cli) and returns its path. */
export async function buildNpmCli(out: string = `${DIST}/npm-cli`): Promise<string> {
  const config = await readConfig();
  await Deno.remove(out, { recursive: true }).catch(() => {});
  await Deno.mkdir(`${out}/bin`, { recursive: true });
  await run(Deno.execPath(), [
    "bundle",
    "--quiet",
    "--platform=deno",
    WS_EXTERNAL,
    "-o",
    `${out}/exec-server.js`,
    `${ROOT}main.ts`,
  ]);
  await Deno.writeTextFile(`${out}/bin/exec-server`, LAUNCHER);
  await Deno.chmod(`${out}/bin/exec-server`, 0o755);
  const pkg = {
    name: "@exec-server/cli",
    version: config.version,
    description: "The exec-server command (serve, exec, cp, call, mcp-bridge) with its own Deno " +
      "runtime from npm: no Deno install needed",
    license: "MIT",
    bin: { "exec-server": "bin/exec-server" },
    files: ["bin/", "exec-server.js", "README.md", "LICENSE"],
    os: ["linux", "darwin"],
    dependencies: { deno: DENO_VERSION },
  };
  await Deno.writeTextFile(`${out}/package.json`, JSON.stringify(pkg, null, 2) + "\n");
  await Deno.writeTextFile(`${out}/README.md`, await readmeSection("## Install"));
  await Deno.copyFile(`${ROOT}LICENSE`, `${out}/LICENSE`);
  return out;
}

/** The README section that starts with `heading`, up to the next `## `. */
async function readmeSection(heading: string): Promise<string> {
  const readme = await Deno.readTextFile(`${ROOT}README.md`);
  const start = readme.indexOf(`${heading}\n`);
  if (start === -1) throw new Error(`README.md has no "${heading}" section`);
  const end = readme.indexOf("\n## ", start + 1);
  return readme.slice(start, end === -1 ? undefined : end + 1);
}

if (import.meta.main) {
  const client = await buildNpm();
  const cli = await buildNpmCli();
  console.log(`built ${client} → ${await pack(client)}`);
  console.log(`built ${cli} → ${await pack(cli)}`);
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
