// Copyright 2026 the exec-server authors. MIT license.
// Installing the exec-server command in one line (issue 16), each way the
// README documents, then running it as a user would: from another
// directory, with a PATH that has no deno, and with relative paths.
import assert from "node:assert/strict";
import { buildBundle } from "./_sshd.ts";
import { buildNpmCli } from "../scripts/build_npm.ts";
import { VERSION } from "../lib/util/mod.ts";
import { readFirstLine } from "../bench/processes.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const dec = (b: Uint8Array) => new TextDecoder().decode(b);
/** A PATH with the usual tools (sh, npm's node) but no deno. */
const NO_DENO_PATH = "/usr/local/bin:/usr/bin:/bin";

async function run(
  cmd: string,
  args: string[],
  options: { cwd?: string; env?: Record<string, string> } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(cmd, {
    args,
    cwd: options.cwd ?? "/",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", ...options.env },
  }).output();
  return { code: out.code, stdout: dec(out.stdout), stderr: dec(out.stderr) };
}

/** Writes a 0600 token file named `token` in `dir`; returns the token. */
async function tokenIn(dir: string): Promise<string> {
  const token = crypto.randomUUID() + crypto.randomUUID();
  await Deno.writeTextFile(`${dir}/token`, `${token}\n`, { mode: 0o600 });
  await Deno.chmod(`${dir}/token`, 0o600);
  return token;
}

/**
 * The installed command works as a user runs it: `--version`, then `serve`
 * and `exec` from `cwd` with the relative `--token-file token`.
 */
async function assertCommandWorks(command: string, env: Record<string, string>): Promise<void> {
  const cwd = await Deno.makeTempDir({ prefix: "exec-server-user-" });
  try {
    const version = await run(command, ["--version"], { cwd, env });
    assert.equal(version.stdout.trim(), VERSION, version.stderr);
    await tokenIn(cwd);
    const serve = new Deno.Command(command, {
      args: ["serve", "--token-file", "token"],
      cwd,
      env: { NO_COLOR: "1", ...env },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const stderr = new Response(serve.stderr).text();
    try {
      const { line: url, reader } = await readFirstLine(serve.stdout, 30_000);
      await reader.cancel();
      assert.match(url, /^ws:\/\/127\.0\.0\.1:\d+$/);
      const ok = await run(command, ["exec", "--url", url, "--token-file", "token", "echo", "hi"], {
        cwd,
        env,
      });
      assert.deepEqual([ok.code, ok.stdout], [0, "hi\n"], ok.stderr);
      const refused = await run(command, ["exec", "--url", url, "true"], { cwd, env });
      assert.equal(refused.code, 255);
    } finally {
      serve.kill("SIGTERM");
      await serve.status;
      await stderr;
    }
  } finally {
    await Deno.remove(cwd, { recursive: true });
  }
}

Deno.test("deno task install: a global exec-server command that runs this checkout", async () => {
  const root = await Deno.makeTempDir({ prefix: "exec-server-install-" });
  try {
    const r = await run(`${ROOT}scripts/deno`, ["task", "install", "--root", root], { cwd: "/" });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`installed ${root}/bin/exec-server`));
    // The shim names this Deno by its path: no deno on the PATH is needed.
    const shim = await Deno.readTextFile(`${root}/bin/exec-server`);
    assert.match(shim, /^exec '\/[^']+' run /m);
    await assertCommandWorks(`${root}/bin/exec-server`, { PATH: NO_DENO_PATH });
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("./scripts/deno task serve from another directory reads relative paths from there", async () => {
  const cwd = await Deno.makeTempDir();
  try {
    await tokenIn(cwd);
    const child = new Deno.Command(`${ROOT}scripts/deno`, {
      args: ["task", "serve", "--token-file", "token"],
      cwd,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).spawn();
    const stderr = new Response(child.stderr).text();
    const { line, reader } = await readFirstLine(child.stdout, 30_000);
    await reader.cancel();
    child.kill("SIGTERM");
    await child.status;
    assert.match(line, /^ws:\/\/127\.0\.0\.1:\d+$/, await stderr);
    // Quiet: no "Download …" lines, no "Task …" echo, only the server's own log lines.
    assert.doesNotMatch(await stderr, /Download|Task serve/);
  } finally {
    await Deno.remove(cwd, { recursive: true });
  }
});

Deno.test("deno install of a published bundle URL gives a working command", async () => {
  const bundle = await Deno.readFile(await buildBundle());
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    (req) =>
      new URL(req.url).pathname === "/exec-server.js"
        ? new Response(bundle, { headers: { "content-type": "application/javascript" } })
        : new Response("not found", { status: 404 }),
  );
  const root = await Deno.makeTempDir({ prefix: "exec-server-install-url-" });
  try {
    const url = `http://127.0.0.1:${server.addr.port}/exec-server.js`;
    const r = await run(Deno.execPath(), [
      "install",
      "-g",
      "-f",
      "-q",
      "-A",
      "--no-config",
      "-n",
      "exec-server",
      "--root",
      root,
      url,
    ]);
    assert.equal(r.code, 0, r.stderr);
    const denoDir = Deno.execPath().slice(0, Deno.execPath().lastIndexOf("/"));
    await assertCommandWorks(`${root}/bin/exec-server`, { PATH: `${denoDir}:${NO_DENO_PATH}` });
  } finally {
    await server.shutdown();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("npm install -g of the CLI package: exec-server with Deno from npm, no Deno needed", async () => {
  const work = await Deno.makeTempDir({ prefix: "exec-server-npm-cli-" });
  try {
    const dir = await buildNpmCli(`${work}/package`);
    const packed = await run("npm", ["pack", "--silent", "--pack-destination", work], { cwd: dir });
    assert.equal(packed.code, 0, packed.stderr);
    const tgz = `${work}/${packed.stdout.trim().split("\n").at(-1)}`;
    const install = await run("npm", [
      "install",
      "-g",
      "--silent",
      "--no-fund",
      "--no-audit",
      "--prefix",
      `${work}/prefix`,
      tgz,
    ], { cwd: work, env: { PATH: Deno.env.get("PATH") ?? NO_DENO_PATH } });
    assert.equal(install.code, 0, install.stderr);
    await assertCommandWorks(`${work}/prefix/bin/exec-server`, { PATH: NO_DENO_PATH });
  } finally {
    await Deno.remove(work, { recursive: true });
  }
});

Deno.test("deno task compile builds the binary, or says clearly why it cannot", async () => {
  const out = await run(`${ROOT}scripts/deno`, [
    "task",
    "compile",
    "--target",
    "x86_64-unknown-linux-gnu",
  ]);
  if (out.code === 0) {
    const version = await run(`${ROOT}dist/bin/exec-server-linux-x86_64`, ["--version"]);
    assert.equal(version.stdout.trim(), VERSION);
  } else {
    assert.match(out.stderr, /must download the denort runtime .* unreachable/s);
    assert.match(out.stderr, /deno task bundle/);
    assert.match(out.stderr, /npm/); // and the path that works here
  }
});
