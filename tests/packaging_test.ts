// Copyright 2026 the exec-server authors. MIT license.
// Packages that work anywhere (issue 16): the Deno modules imported from a
// project outside this repository, the npm client package installed from a
// copy and from a tarball in a folder outside it, the LICENSE, one version,
// and README examples that type-check.
import assert from "node:assert/strict";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { ServerProcess } from "./_harness.ts";
import { buildNpm } from "../scripts/build_npm.ts";
import { importSpecifiers, stripComments } from "./_source.ts";
import { VERSION } from "../lib/util/mod.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const dec = (b: Uint8Array) => new TextDecoder().decode(b);
const hasNode = await new Deno.Command("node", { args: ["--version"], stdout: "null" })
  .output().then((o) => o.success, () => false);

async function run(
  cmd: string,
  args: string[],
  cwd: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(cmd, {
    args,
    cwd,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  return { code: out.code, stdout: dec(out.stdout), stderr: dec(out.stderr) };
}

async function* sources(dir: string): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) yield* sources(path);
    else if (entry.name.endsWith(".ts")) yield path;
  }
}

Deno.test("LICENSE: MIT, the exec-server authors, as every source header says", async () => {
  const license = await Deno.readTextFile(`${ROOT}LICENSE`);
  assert.match(license, /^MIT License\n\nCopyright \(c\) 2026 the exec-server authors\n/);
  for await (const file of sources(`${ROOT}lib`)) {
    const head = (await Deno.readTextFile(file)).split("\n", 1)[0];
    assert.equal(head, "// Copyright 2026 the exec-server authors. MIT license.", file);
  }
});

Deno.test("one version: lib/util/version.ts, deno.json and --version agree", async () => {
  const config = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`));
  assert.equal(config.version, VERSION);
  const out = await run(Deno.execPath(), ["run", "-A", `${ROOT}main.ts`, "--version"], ROOT);
  assert.equal(out.stdout.trim(), VERSION);
});

Deno.test("lib/ imports only relative modules, node: and pinned npm: specifiers (no import map)", async () => {
  const config = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`));
  const mapped = new Set(Object.values(config.imports as Record<string, string>));
  const problems: string[] = [];
  for await (const file of sources(`${ROOT}lib`)) {
    const rel = relative(ROOT, file);
    for (const spec of importSpecifiers(stripComments(await Deno.readTextFile(file)))) {
      if (spec.startsWith(".") || spec.startsWith("node:")) {
        if (spec.startsWith(".") && !resolve(dirname(file), spec).startsWith(`${ROOT}lib/`)) {
          problems.push(`${rel}: ${spec} leaves lib/`);
        }
        continue;
      }
      const m = /^npm:(@?[^@/]+(?:\/[^@/]+)?@[^/]+)(\/.*)?$/.exec(spec);
      if (!m) {
        problems.push(`${rel}: ${spec} needs the import map (write npm:NAME@RANGE)`);
      } else if (![...mapped].some((v) => v.replace(/^npm:\/?/, "").replace(/\/$/, "") === m[1])) {
        problems.push(`${rel}: ${spec} is not the version deno.json maps`);
      }
    }
  }
  assert.deepEqual(problems, []);
});

Deno.test("JSR-ready: deno publish --dry-run finds no problem, not even a warning", async () => {
  const out = await run(Deno.execPath(), ["publish", "--dry-run", "--allow-dirty"], ROOT);
  const text = out.stdout + out.stderr;
  assert.equal(out.code, 0, text);
  assert.match(text, /Success Dry run complete/);
  assert.doesNotMatch(text, /^(warning|error)/m);
  // Only the package: lib/, main.ts, the README, the LICENSE and deno.json.
  const files = [...text.matchAll(/file:\/\/\/\S+/g)].map((m) =>
    relative(ROOT, fileURLToPath(m[0]))
  );
  assert.ok(files.includes("LICENSE") && files.includes("lib/client/mod.ts"), files.join(" "));
  assert.deepEqual(
    files.filter((f) => !/^(lib\/|main\.ts$|README\.md$|LICENSE$|deno\.json$)/.test(f)),
    [],
  );
});

Deno.test("deno doc --lint of every export is clean: explicit types, JSDoc, nothing private", async () => {
  const config = JSON.parse(await Deno.readTextFile(`${ROOT}deno.json`));
  const entries = Object.values(config.exports as Record<string, string>);
  assert.deepEqual(entries.sort(), [
    "./lib/client/mod.ts",
    "./lib/mcp/mod.ts",
    "./lib/mod.ts",
    "./main.ts",
  ]);
  const out = await run(Deno.execPath(), ["doc", "--lint", ...entries], ROOT);
  assert.equal(out.code, 0, out.stderr);
  assert.doesNotMatch(out.stdout + out.stderr, /^(error|Warning)/m);
});

Deno.test("the README's code examples type-check", async () => {
  const out = await run(Deno.execPath(), ["check", "--doc-only", "README.md"], ROOT);
  assert.equal(out.code, 0, out.stderr);
});

Deno.test("the Deno modules work from a project outside this repository", async () => {
  const app = await Deno.makeTempDir({ prefix: "exec-server-deno-app-" });
  try {
    await Deno.writeTextFile(`${app}/deno.json`, '{ "compilerOptions": { "strict": true } }\n');
    const lib = (p: string) => new URL(`../lib/${p}`, import.meta.url).href;
    await Deno.writeTextFile(
      `${app}/app.ts`,
      `import { ExecServerClient, type ProcessInfo } from "${lib("client/mod.ts")}";
import { ExecutorStdioTransport } from "${lib("mcp/mod.ts")}";
import { MemoryServer } from "${lib("mod.ts")}";
const client = await ExecServerClient.connect({ url: Deno.args[0]! });
const out = await client.exec(["echo", "from outside"]);
const list: ProcessInfo[] = await client.listProcesses();
await client.close();
console.log(JSON.stringify({ text: new TextDecoder().decode(out.stdout), n: list.length,
  transport: typeof ExecutorStdioTransport, memory: typeof MemoryServer }));
`,
    );
    const check = await run(Deno.execPath(), ["check", "app.ts"], app);
    assert.equal(check.code, 0, check.stderr);
    await using server = await ServerProcess.start();
    const r = await run(Deno.execPath(), ["run", "-A", "app.ts", server.url], app);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), {
      text: "from outside\n",
      n: 1,
      transport: "function",
      memory: "function",
    });
  } finally {
    await Deno.remove(app, { recursive: true });
  }
});

const NODE_APP = `
import { ExecServerClient } from "@exec-server/client";
const client = await ExecServerClient.connect({ url: process.argv[2] });
const out = await client.exec(["echo", "from node"]);
await client.close();
console.log(new TextDecoder().decode(out.stdout).trim());
`;

Deno.test({
  name: "the npm client package installs from a copy and from a tarball outside the repository",
  ignore: !hasNode,
  async fn(t) {
    const work = await Deno.makeTempDir({ prefix: "exec-server-npm-client-" });
    const dist = await buildNpm(`${work}/package`);
    await using server = await ServerProcess.start();
    try {
      const packed = await run("npm", ["pack", "--silent", "--pack-destination", work], dist);
      assert.equal(packed.code, 0, packed.stderr);
      const tgz = `${work}/${packed.stdout.trim().split("\n").at(-1)}`;
      await Deno.mkdir(`${work}/copy`);
      for await (const e of Deno.readDir(dist)) {
        await run("cp", ["-r", `${dist}/${e.name}`, `${work}/copy/`], work);
      }
      for (
        const [label, spec] of [
          ["a tarball", [tgz]],
          ["a copy of the directory", ["--install-links", `${work}/copy`]],
        ] as const
      ) {
        await t.step(label, async () => {
          const app = await Deno.makeTempDir({ dir: work, prefix: "app-" });
          await Deno.writeTextFile(`${app}/package.json`, '{"type":"module","private":true}\n');
          await Deno.writeTextFile(`${app}/app.mjs`, NODE_APP);
          const install = await run(
            "npm",
            ["install", "--silent", "--no-fund", "--no-audit", ...spec],
            app,
          );
          assert.equal(install.code, 0, install.stderr);
          // Its dependencies came from the registry into the app, not from this repository.
          for (const dep of ["zod", "ws"]) await Deno.stat(`${app}/node_modules/${dep}`);
          const r = await run("node", ["app.mjs", server.url], app);
          assert.equal(r.code, 0, r.stderr);
          assert.equal(r.stdout.trim(), "from node");
        });
      }
      await t.step("the package carries the LICENSE", async () => {
        assert.equal(
          await Deno.readTextFile(`${dist}/LICENSE`),
          await Deno.readTextFile(`${ROOT}LICENSE`),
        );
      });
    } finally {
      await Deno.remove(work, { recursive: true });
    }
  },
});
