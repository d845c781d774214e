// Copyright 2026 the exec-server authors. MIT license.
// Zero-install remote hosts (issue 16): `exec --ssh HOST` on a host whose
// cache is empty puts the server there over the same ssh connection, and the
// next run reuses it. Against the real OpenSSH server of tests/_sshd.ts, with
// a fresh cache directory per test (XDG_CACHE_HOME sent with ssh SetEnv).
import assert from "node:assert/strict";
import { connectSsh, type InstallEvent, sshCommandLine } from "../lib/client/ssh.ts";
import { localServerPayload } from "../lib/client/ssh_payload.ts";
import { VERSION } from "../lib/util/mod.ts";
import { Sshd } from "./_sshd.ts";
import { runCli } from "./_cli.ts";
import { sha256HexAsync } from "../lib/util/sha256.ts";

const dec = (b: Uint8Array) => new TextDecoder().decode(b);

async function sha256(path: string): Promise<string> {
  return await sha256HexAsync(await Deno.readFile(path));
}

async function list(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    if (!e.isDirectory) continue;
    for await (const f of Deno.readDir(`${dir}/${e.name}`)) out.push(`${e.name}/${f.name}`);
  }
  return out.sort();
}

Deno.test("exec --ssh installs the server on a host that lacks it, then reuses it", async (t) => {
  await using sshd = await Sshd.start();
  const home = await Deno.makeTempDir({ prefix: "exec-server-remote-cache-" });
  const ssh = [...sshd.sshProgram, "-o", `SetEnv=XDG_CACHE_HOME=${home}`].join(" ");
  const flags = ["--ssh", `${sshd.target}:${sshd.port}`, "--ssh-command", ssh];
  const cache = `${home}/exec-server`;
  try {
    await t.step("the host has neither exec-server nor a cache", async () => {
      const probe = await new Deno.Command(sshd.sshProgram[0]!, {
        args: [
          ...sshd.sshProgram.slice(1),
          "-p",
          String(sshd.port),
          sshd.target,
          `ls "${home}" | wc -l; command -v exec-server || echo none`,
        ],
      }).output();
      assert.equal(dec(probe.stdout), "0\nnone\n");
    });

    await t.step("first run: the bundle and deno are sent, checked and run", async () => {
      const r = await runCli(["exec", ...flags, "uname", "-a"]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^Linux /);
      assert.match(r.stderr, /lacks this server in its cache: sending exec-server\.js/);
      assert.match(r.stderr, /lacks the Deno runtime in its cache: sending deno/);
      assert.match(r.stderr, /installed deno in .*deno-[\d.]+-linux-/);
      const files = await list(cache);
      assert.equal(files.length, 4, files.join(", "));
      const denoDir = files.find((f) => f.endsWith("/deno"))!.split("/")[0]!;
      const serverDir = files.find((f) => f.endsWith("/exec-server.js"))!.split("/")[0]!;
      assert.match(
        serverDir,
        new RegExp(`^server-${VERSION.replaceAll(".", "\\.")}-[0-9a-f]{16}$`),
      );
      assert.match(denoDir, new RegExp(`^deno-${Deno.version.deno}-linux-`));
      // The copy is byte-exact and the marker records its checksum.
      const want = await sha256(Deno.execPath());
      assert.equal(await sha256(`${cache}/${denoDir}/deno`), want);
      assert.equal((await Deno.readTextFile(`${cache}/${denoDir}/ok`)).trim(), want);
      assert.equal(((await Deno.stat(`${cache}/${denoDir}/deno`)).mode ?? 0) & 0o111, 0o111);
    });

    await t.step("second run: reused, nothing sent", async () => {
      const r = await runCli(["exec", ...flags, "sh", "-c", "echo again; exit 5"]);
      assert.equal(r.code, 5, r.stderr);
      assert.equal(r.stdout, "again\n");
      assert.doesNotMatch(r.stderr, /sending/);
      assert.equal((await list(cache)).length, 4);
    });

    await t.step("call and mcp-bridge over ssh use the same cache", async () => {
      const call = await runCli(["call", ...flags, "fs/getMetadata", '{"path":"/"}']);
      assert.equal(call.code, 0, call.stderr);
      assert.equal(JSON.parse(call.stdout).isDirectory, true);
      const line = '{"jsonrpc":"2.0","id":7,"method":"ping"}';
      const bridge = await runCli(["mcp-bridge", ...flags, "--cwd", "/tmp", "cat"], {
        input: `${line}\n`,
      });
      assert.equal(bridge.code, 0, bridge.stderr);
      assert.deepEqual(JSON.parse(bridge.stdout), JSON.parse(line));
      assert.doesNotMatch(call.stderr + bridge.stderr, /sending/);
    });

    await t.step("--session needs --url (an ssh session ends with the connection)", async () => {
      const r = await runCli(["call", ...flags, "--session", "x", "process/list"]);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /--session needs --url/);
    });
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("connectSsh (the library) installs from a checkout and refuses a foreign platform", async (t) => {
  await using sshd = await Sshd.start();
  const local = await Deno.makeTempDir({ prefix: "exec-server-local-cache-" });
  const remote = await Deno.makeTempDir({ prefix: "exec-server-remote-cache-" });
  const target = `${sshd.target}:${sshd.port}`;
  try {
    await t.step("from source: the checkout is bundled, sent, and reused", async () => {
      for (const run of [1, 2]) {
        const events: InstallEvent[] = [];
        await using client = await connectSsh(target, {
          ssh: sshd.sshProgram,
          cacheDir: remote,
          payload: () => localServerPayload({ cacheDir: local }),
          onInstall: (e) => events.push(e),
        });
        const out = await client.exec(["sh", "-c", "echo over ssh"]);
        assert.equal(dec(out.stdout), "over ssh\n");
        const sent = events.filter((e) => e.type === "sending").map((e) => e.file);
        assert.deepEqual(sent, run === 1 ? ["exec-server.js", "deno"] : []);
        if (run === 1) {
          const last = events.filter((e) => e.type === "progress").at(-1);
          assert.ok(last?.type === "progress" && last.sent === last.bytes);
        }
      }
      // The bundle built from the checkout is cached on this side too.
      const built = (await Array.fromAsync(Deno.readDir(local))).map((e) => e.name);
      assert.equal(built.length, 1);
      assert.match(built[0]!, /^bundle-[0-9a-f]{32}\.js$/);
    });

    await t.step("a host of another CPU gets a clear refusal, not a broken binary", async () => {
      const payload = await localServerPayload({ cacheDir: local });
      const foreign = { ...payload, deno: { ...payload.deno, arch: "riscv64" } };
      const fresh = await Deno.makeTempDir();
      try {
        await assert.rejects(
          connectSsh(target, { ssh: sshd.sshProgram, cacheDir: fresh, payload: foreign }),
          /it is Linux x86_64|it is Linux aarch64/,
        );
        const files = await list(fresh);
        assert.ok(files.every((f) => !f.startsWith("deno-")), files.join(", "));
      } finally {
        await Deno.remove(fresh, { recursive: true });
      }
    });
  } finally {
    await Deno.remove(local, { recursive: true });
    await Deno.remove(remote, { recursive: true });
  }
});

Deno.test("the host script rejects a damaged copy and leaves nothing behind", async () => {
  const cache = await Deno.makeTempDir();
  try {
    // The exact command ssh would hand the remote login shell, run by a local sh.
    const line = sshCommandLine("host", { cacheDir: cache, names: { server: "s1", deno: "d1" } });
    const child = new Deno.Command("sh", {
      args: ["-c", line.at(-1)!],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const w = child.stdin.getWriter();
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    const { value } = await reader.read();
    assert.match(value ?? "", /^EXEC-SERVER-BOOT need s1 exec-server\.js \S+ \S+ (gzip|raw)\n/);
    const body = new TextEncoder().encode("console.log(1)\n");
    const header = `${body.byteLength} ${body.byteLength} ${"0".repeat(64)} raw\n`;
    await w.write(new TextEncoder().encode(header));
    await w.write(body);
    await w.close();
    const stderr = await new Response(child.stderr).text();
    for (;;) if ((await reader.read()).done) break;
    const status = await child.status;
    assert.equal(status.code, 4);
    assert.match(stderr, /the copy of exec-server\.js arrived damaged/);
    // Neither the file nor the marker that would make it "installed".
    assert.deepEqual(await list(cache), []);
  } finally {
    await Deno.remove(cache, { recursive: true });
  }
});

Deno.test("a command run from a published main.ts (jsr:, https:) bundles itself for --ssh", async () => {
  // The repository served over HTTP stands in for the registry.
  const root = new URL("..", import.meta.url).pathname;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    try {
      const body = await Deno.readFile(root + new URL(req.url).pathname.slice(1));
      return new Response(body, { headers: { "content-type": "application/typescript" } });
    } catch {
      return new Response("not found", { status: 404 });
    }
  });
  const cache = await Deno.makeTempDir();
  try {
    const entry = `http://127.0.0.1:${server.addr.port}/main.ts`;
    const payload = await localServerPayload({ entry, cacheDir: cache });
    await Deno.writeFile(`${cache}/server.js`, payload.bundle);
    const out = await new Deno.Command(payload.deno.path, {
      args: ["run", "-A", "--no-config", `${cache}/server.js`, "--version"],
    }).output();
    assert.equal(dec(out.stdout).trim(), VERSION, dec(out.stderr));
    // Built once per URL and version: the second call reads the cache.
    const again = await localServerPayload({ entry, cacheDir: cache });
    assert.deepEqual(again.bundle, payload.bundle);
  } finally {
    await server.shutdown();
    await Deno.remove(cache, { recursive: true });
  }
});
