// Copyright 2026 the exec-server authors. MIT license.
// The folders of lib/ are the architecture; this test keeps them so. It reads
// every module's imports (static, `export … from` and dynamic) with comments
// stripped, and fails when a part imports one it must not, or when `Deno.*`
// is used outside the edges.
import assert from "node:assert/strict";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { importSpecifiers, stripComments } from "./_source.ts";

const LIB = fileURLToPath(new URL("../lib/", import.meta.url));

/** Which parts each part may import (besides itself and npm packages). */
const ALLOWED: Record<string, readonly string[]> = {
  protocol: [],
  util: [],
  ffi: [],
  process: ["protocol", "util", "ffi"],
  fs: ["protocol", "util", "ffi"],
  sandbox: ["protocol", "util", "process"],
  host: ["protocol", "util"],
  server: ["protocol", "util", "process", "fs", "sandbox", "host"],
  client: ["protocol", "util"],
  mcp: ["protocol", "util", "client"],
  memory: ["protocol", "util", "server", "client"],
  cli: ["protocol", "util", "server", "client", "mcp", "sandbox"],
  ".": ["protocol", "util", "server", "client", "mcp", "memory"],
};

/** npm packages a part may import; others may import any. */
const NPM_ALLOWED: Record<string, readonly string[]> = {
  protocol: ["zod"],
  util: [],
};

/**
 * Files outside ffi/, process/, fs/, host/ and cli/ that may touch `Deno.*`: the
 * server's transport edges and the sandbox's host edge (its policy compiler,
 * bwrap planner and seccomp builder stay pure). Everything else is
 * runtime-neutral. host/ is an edge because it is the executor's own network
 * and configuration: HTTP requests from the executor, its codex config files.
 */
const DENO_EDGE_FOLDERS = new Set(["ffi", "process", "fs", "host", "cli"]);
const DENO_EDGE_FILE =
  /^(server\/(ws_[a-z_]+|stdio_[a-z_]+|upgrade|edge_[a-z_]+)|sandbox\/(host|service|placeholders|sandboxed_child))\.ts$/;

async function* modules(dir: string): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) yield* modules(path);
    else if (entry.name.endsWith(".ts")) yield path;
  }
}

function partOf(file: string): string {
  const rel = relative(LIB, file);
  return rel.includes("/") ? rel.split("/")[0]! : ".";
}

function npmName(specifier: string): string | null {
  if (specifier.startsWith("node:")) return specifier;
  if (specifier.startsWith(".") || specifier.startsWith("/")) return null;
  const bare = specifier.replace(/^npm:\/?/, "");
  const parts = bare.split("/");
  return (bare.startsWith("@") ? parts.slice(0, 2) : parts.slice(0, 1)).join("/").replace(
    /@[^/]*$/,
    "",
  );
}

interface Module {
  file: string;
  part: string;
  code: string;
}

async function loadAll(): Promise<Module[]> {
  const out: Module[] = [];
  for await (const file of modules(LIB)) {
    out.push({ file, part: partOf(file), code: stripComments(await Deno.readTextFile(file)) });
  }
  return out;
}

Deno.test("stripComments() drops comments but keeps strings that look like comments", () => {
  assert.equal(stripComments('a // x\nb /* y */ "c // d"'), 'a \nb  "c // d"');
});

Deno.test("importSpecifiers() finds static, type-only, re-export and dynamic imports", () => {
  const code = [
    'import { a } from "./a.ts";',
    'import type { B } from "../b/mod.ts";',
    'import "./side.ts";',
    'export * from "./c.ts";',
    'export { d, type E } from "./d.ts";',
    'const f = await import("./f.ts");',
  ].join("\n");
  assert.deepEqual(importSpecifiers(code).sort(), [
    "../b/mod.ts",
    "./a.ts",
    "./c.ts",
    "./d.ts",
    "./f.ts",
    "./side.ts",
  ]);
});

Deno.test("lib/: every part imports only the parts it may", async () => {
  const problems: string[] = [];
  const all = await loadAll();
  assert.ok(all.length > 30, `expected the whole of lib/, found ${all.length} modules`);
  for (const { file, part, code } of all) {
    const allowed = ALLOWED[part];
    const rel = relative(LIB, file);
    if (!allowed) {
      problems.push(`${rel}: lib/${part}/ is not a known part; add it to ALLOWED`);
      continue;
    }
    for (const spec of importSpecifiers(code)) {
      const npm = npmName(spec);
      if (npm !== null) {
        const only = NPM_ALLOWED[part];
        if (only && !only.includes(npm)) problems.push(`${rel} imports ${spec}`);
        continue;
      }
      const target = resolve(dirname(file), spec);
      if (!target.startsWith(LIB)) {
        problems.push(`${rel} imports ${spec}, outside lib/`);
        continue;
      }
      const to = partOf(target);
      if (to !== part && !allowed.includes(to)) {
        problems.push(`${rel} (${part}) imports ${relative(LIB, target)} (${to})`);
      }
    }
  }
  assert.deepEqual(problems, []);
});

Deno.test("lib/: Deno.* is used only in process/, fs/, host/, cli/ and the server's transport edges", async () => {
  const problems: string[] = [];
  for (const { file, part, code } of await loadAll()) {
    const rel = relative(LIB, file);
    if (DENO_EDGE_FOLDERS.has(part) || DENO_EDGE_FILE.test(rel)) continue;
    const lines = code.split("\n");
    lines.forEach((line, i) => {
      // Strings are kept by stripComments; a "Deno." inside one is prose.
      const bare = line.replace(/(["'`])(?:\\.|(?!\1).)*\1/g, '""');
      if (/(?<![\w.])Deno\./.test(bare)) problems.push(`${rel}:${i + 1}: ${line.trim()}`);
    });
  }
  assert.deepEqual(problems, []);
});
