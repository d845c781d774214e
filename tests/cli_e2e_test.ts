// Copyright 2026 the exec-server authors. MIT license.
// The exec-server command as a user meets it (issue 16): the real CLI, run
// from the bundle as a subprocess in a directory outside the repository,
// against a real server over a real socket.
import assert from "node:assert/strict";
import { CuttableProxy, isGone, ServerProcess, waitUntil } from "./_harness.ts";
import { makeTestPki } from "./_pki.ts";
import { cliCommand, runCli, spawnCli } from "./_cli.ts";

/** Reads the pid a remote `sh -c 'sleep N & echo $!; wait'` printed. */
function pidOf(stdout: string): number {
  const pid = Number(stdout.trim().split("\n")[0]);
  assert.ok(pid > 0, `no pid in ${JSON.stringify(stdout)}`);
  return pid;
}

const TREE = ["sh", "-c", "sleep 60 & echo $!; wait"];

/** A SIGKILLed server leaves its children running: kill what the test started, and wait. */
async function killOrphan(pid: number): Promise<void> {
  try {
    Deno.kill(pid, "SIGKILL");
  } catch {
    // gone already
  }
  await waitUntil(() => isGone(pid), { message: `orphan ${pid} to be gone` });
}

Deno.test("exec --timeout ends the command and its remote tree, exit 124", async () => {
  await using server = await ServerProcess.start();
  const started = Date.now();
  const r = await runCli(["exec", "--url", server.url, "--timeout", "1", "--", ...TREE]);
  const elapsed = Date.now() - started;
  assert.equal(r.code, 124, r.stderr);
  assert.ok(elapsed < 6000, `took ${elapsed} ms for --timeout 1`);
  assert.match(r.stderr, /timed out after 1 s; its process tree was terminated/);
  const child = pidOf(r.stdout);
  await waitUntil(() => isGone(child), { message: `remote child ${child} to be gone` });
});

Deno.test("exec parses like ssh: everything from the command on is the command's", async (t) => {
  await using server = await ServerProcess.start();
  const url = ["--url", server.url];

  await t.step("options after the command belong to it", async () => {
    const r = await runCli([
      "exec",
      ...url,
      "sh",
      "-c",
      'printf "%s|" "$@"',
      "x",
      "-la",
      "--url",
      "--",
      "--tty",
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "-la|--url|--|--tty|");
  });

  await t.step("ls -la without --", async () => {
    const r = await runCli(["exec", ...url, "ls", "-la", "/"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^total \d+/);
  });

  await t.step("-- still separates explicitly", async () => {
    const r = await runCli(["exec", ...url, "--", "echo", "--url"]);
    assert.deepEqual([r.code, r.stdout], [0, "--url\n"]);
  });

  await t.step(
    "an unknown flag before the command is a usage error in balanced words",
    async () => {
      const r = await runCli(["exec", ...url, "-l", "ls"]);
      assert.equal(r.code, 2);
      assert.equal(
        r.stderr,
        'exec-server: unknown option -l\nRun "exec-server exec --help" for usage.\n',
      );
    },
  );

  await t.step("mcp-bridge takes its command without -- (MCP hosts drop it)", async () => {
    const line = '{"jsonrpc":"2.0","id":1,"method":"ping"}';
    const r = await runCli(["mcp-bridge", ...url, "--cwd", "/tmp", "cat"], {
      input: `${line}\n`,
    });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), JSON.parse(line));
  });

  await t.step("mcp-bridge lets the command answer after its stdin ends", async () => {
    // The old bridge terminated the command as soon as its own stdin ended,
    // losing answers still on their way (here: all of them).
    const line = '{"jsonrpc":"2.0","id":2,"method":"ping"}';
    const r = await runCli(["mcp-bridge", ...url, "--cwd", "/tmp", "sh", "-c", "sleep 0.3; cat"], {
      input: `${line}\n`,
    });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), JSON.parse(line));
  });
});

Deno.test("exec exit codes: the command's own, 127, 126, 1, 255 only for the connection", async (t) => {
  await using server = await ServerProcess.start();
  const url = ["--url", server.url];
  const dir = await Deno.makeTempDir();
  try {
    await t.step("the remote command's own code, and 128+N for a signal", async () => {
      assert.equal((await runCli(["exec", ...url, "sh", "-c", "exit 3"])).code, 3);
      assert.equal((await runCli(["exec", ...url, "sh", "-c", "kill -KILL $$"])).code, 137);
    });
    await t.step("a program that does not exist: 127", async () => {
      const r = await runCli(["exec", ...url, "no-such-program-xyz"]);
      assert.equal(r.code, 127);
      assert.match(r.stderr, /No such file or directory/);
    });
    await t.step("a file that is not executable: 126", async () => {
      await Deno.writeTextFile(`${dir}/data.txt`, "not a program\n");
      await Deno.chmod(`${dir}/data.txt`, 0o644);
      const r = await runCli(["exec", ...url, `${dir}/data.txt`]);
      assert.equal(r.code, 126);
      assert.match(r.stderr, /Permission denied/);
    });
    await t.step("a working directory that does not exist: 1", async () => {
      const r = await runCli(["exec", ...url, "--cwd", `${dir}/nope`, "true"]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /does not exist/);
      const file = await runCli(["exec", ...url, "--cwd", `${dir}/data.txt`, "true"]);
      assert.equal(file.code, 1, "a file as cwd");
    });
    await t.step("the error's kind decides, not its wording", async () => {
      // The message names the program; one whose name has "cwd" in it was
      // taken for a missing working directory (exit 1).
      const r = await runCli(["exec", ...url, "--cwd", dir, "no-such-cwd-tool-xyz"]);
      assert.equal(r.code, 127, r.stderr);
      assert.match(r.stderr, /No such file or directory \(os error 2\): no-such-cwd-tool-xyz/);
    });
    await t.step("nothing listening: 255 with a hint", async () => {
      const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      const port = l.addr.port;
      l.close();
      const r = await runCli(["exec", "--url", `ws://127.0.0.1:${port}`, "true"]);
      assert.equal(r.code, 255);
      assert.match(r.stderr, /hint: nothing accepts connections at that address/);
    });
    await t.step("--help documents them", async () => {
      const r = await runCli(["exec", "--help"]);
      for (const code of ["124", "126", "127", "255"]) assert.match(r.stdout, new RegExp(code));
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("Ctrl-C (SIGINT), SIGTERM and SIGHUP on a non-tty exec end the remote tree", async (t) => {
  await using server = await ServerProcess.start();
  for (const [signal, code] of [["SIGINT", 130], ["SIGTERM", 143], ["SIGHUP", 129]] as const) {
    await t.step(signal, async () => {
      const cli = await spawnCli(["exec", "--url", server.url, ...TREE]);
      const [line] = await cli.waitFor(/^\d+\n/);
      const child = pidOf(line);
      cli.kill(signal);
      const r = await cli.finished(15_000);
      assert.equal(r.code, code, r.stderr);
      assert.match(r.stderr, /terminating the remote process tree/);
      await waitUntil(() => isGone(child), { message: `remote child ${child} to be gone` });
    });
  }
});

Deno.test("call --session keeps one session across invocations", async (t) => {
  await using server = await ServerProcess.start();
  const url = ["--url", server.url];
  let session = "";
  await t.step("call initialize prints a new session id", async () => {
    const r = await runCli(["call", ...url, "initialize"]);
    assert.equal(r.code, 0, r.stderr);
    session = JSON.parse(r.stdout).sessionId;
    assert.match(session, /^[0-9a-f-]{36}$/);
  });
  await t.step("process/start, then process/read and process/list in later calls", async () => {
    const start = await runCli([
      "call",
      ...url,
      "--session",
      session,
      "process/start",
      JSON.stringify({
        processId: "p",
        argv: ["sh", "-c", "echo hello; sleep 0.2; echo world"],
        cwd: "/",
        env: { PATH: "/usr/bin:/bin" },
        tty: false,
      }),
    ]);
    assert.equal(start.code, 0, start.stderr);
    assert.equal(JSON.parse(start.stdout).processId, "p");
    let output = "";
    let cursor = 0;
    await waitUntil(async () => {
      const read = await runCli([
        "call",
        ...url,
        "--session",
        session,
        "process/read",
        JSON.stringify({ processId: "p", afterSeq: cursor, waitMs: 1000 }),
      ]);
      assert.equal(read.code, 0, read.stderr);
      const result = JSON.parse(read.stdout);
      for (const c of result.chunks) output += atob(c.chunk);
      cursor = result.nextSeq - 1;
      return result.closed;
    }, { timeoutMs: 20_000, message: "process p to close" });
    assert.equal(output, "hello\nworld\n");
    const list = await runCli(["call", ...url, "--session", session, "process/list"]);
    const processes = JSON.parse(list.stdout).processes;
    assert.deepEqual(processes.map((p: { processId: string }) => p.processId), ["p"]);
  });
  await t.step("an unknown session says what to do", async () => {
    const r = await runCli(["call", ...url, "--session", crypto.randomUUID(), "process/list"]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /cannot resume session .*call initialize/s);
  });
});

Deno.test("errors say what to do", async (t) => {
  const dir = await Deno.makeTempDir();
  try {
    await t.step("--url nonsense: a usage error, no stack trace", async () => {
      const r = await runCli(["exec", "--url", "nonsense", "true"]);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /--url "nonsense" is not a ws:\/\/ or wss:\/\/ URL/);
      assert.doesNotMatch(r.stderr, /\bat \S+:\d+:\d+|Uncaught/);
    });
    await t.step("an unknown subcommand points at --help, not at its own --help", async () => {
      const r = await runCli(["frobnicate"]);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /unknown command "frobnicate"/);
      assert.match(r.stderr, /Run "exec-server --help" for usage\./);
      assert.doesNotMatch(r.stderr, /frobnicate --help/);
    });
    await t.step("a wrong or missing token: the hint names --token-file", async () => {
      const token = crypto.randomUUID();
      await Deno.writeTextFile(`${dir}/token`, token);
      await Deno.chmod(`${dir}/token`, 0o600);
      await Deno.writeTextFile(`${dir}/wrong`, "wrong-token-wrong-token");
      await Deno.chmod(`${dir}/wrong`, 0o600);
      await using server = await ServerProcess.start(["--token-file", `${dir}/token`]);
      for (const extra of [[], ["--token-file", `${dir}/wrong`]]) {
        const r = await runCli(["exec", "--url", server.url, ...extra, "true"]);
        assert.equal(r.code, 255);
        assert.match(r.stderr, /401/);
        assert.match(r.stderr, /hint: .*--token-file FILE/);
      }
      // A relative --token-file is read from the caller's directory.
      const ok = await runCli(["exec", "--url", server.url, "--token-file", "token", "true"], {
        cwd: dir,
      });
      assert.equal(ok.code, 0, ok.stderr);
    });
    await t.step("an unknown CA: the hint names --ca-file, which then works", async () => {
      const pki = await makeTestPki(dir);
      await using server = await ServerProcess.start([
        "--tls-cert",
        pki.cert,
        "--tls-key",
        pki.key,
      ]);
      const r = await runCli(["exec", "--url", server.url, "true"]);
      assert.equal(r.code, 255);
      assert.match(r.stderr, /hint: .*--ca-file CA\.pem/);
      const ok = await runCli(["exec", "--url", server.url, "--ca-file", pki.ca, "echo", "tls"]);
      assert.deepEqual([ok.code, ok.stdout], [0, "tls\n"]);
    });
    await t.step("a busy port: the message names the address", async () => {
      const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      try {
        const listen = `ws://127.0.0.1:${l.addr.port}`;
        const r = await runCli(["serve", "--listen", listen]);
        assert.equal(r.code, 1);
        assert.match(r.stderr, new RegExp(`cannot listen on ${listen}: the address is already`));
        assert.match(r.stderr, /--listen/);
      } finally {
        l.close();
      }
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("exec reports a dropped link, the reconnect, and when it gives up", async (t) => {
  await t.step("a cut link: reconnecting, reconnected, nothing lost", async () => {
    await using server = await ServerProcess.start();
    await using proxy = new CuttableProxy(server.url);
    const job = "for i in $(seq 1 30); do echo line $i; sleep 0.05; done";
    const cli = await spawnCli(["exec", "--url", proxy.url, "sh", "-c", job]);
    await cli.waitFor(/line 5\n/);
    await proxy.cut();
    await cli.waitFor(/lost the connection to .*; reconnecting for up to 25 s/, "stderr");
    const r = await cli.finished();
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /reconnected after [\d.]+ s/);
    assert.equal(r.stdout, Array.from({ length: 30 }, (_, i) => `line ${i + 1}\n`).join(""));
  });
  await t.step("the server dies: said at once, and the give-up ends it with 255", async () => {
    const server = await ServerProcess.start();
    const cli = await spawnCli(["exec", "--url", server.url, "--reconnect", "2", ...TREE]);
    const child = pidOf((await cli.waitFor(/^\d+\n/))[0]);
    const killed = Date.now();
    await server.stop("SIGKILL");
    await server[Symbol.asyncDispose]();
    await cli.waitFor(/lost the connection .*reconnecting for up to 2 s/, "stderr", 5000);
    const r = await cli.finished(20_000);
    assert.equal(r.code, 255);
    assert.match(r.stderr, /gave up reconnecting after [\d.]+ s/);
    assert.ok(Date.now() - killed < 10_000, `took ${Date.now() - killed} ms`);
    await killOrphan(child);
  });
  await t.step("Ctrl-C while reconnecting ends exec in seconds, not the whole window", async () => {
    const server = await ServerProcess.start();
    const cli = await spawnCli(["exec", "--url", server.url, ...TREE]);
    await cli.waitFor(/^\d+\n/);
    await server.stop("SIGKILL");
    await server[Symbol.asyncDispose]();
    await cli.waitFor(/reconnecting for up to 25 s/, "stderr", 5000);
    const interrupted = Date.now();
    cli.kill("SIGINT");
    const r = await cli.finished(20_000);
    assert.equal(r.code, 130);
    assert.match(r.stderr, /cannot reach the server to terminate it/);
    assert.ok(Date.now() - interrupted < 8000, `took ${Date.now() - interrupted} ms`);
    await killOrphan(pidOf(r.stdout));
  });
});

Deno.test("cp copies both ways, with progress on a terminal only", async (t) => {
  await using server = await ServerProcess.start();
  const dir = await Deno.makeTempDir();
  try {
    const data = new Uint8Array(3_000_000).map((_, i) => (i * 2654435761) >>> 24);
    await Deno.writeFile(`${dir}/local.bin`, data);
    await t.step("upload into a remote directory, relative local path", async () => {
      await Deno.mkdir(`${dir}/remote`);
      const r = await runCli(
        ["cp", "--url", server.url, "--chunk-bytes", "500000", "local.bin", `:${dir}/remote/`],
        { cwd: dir },
      );
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr, ""); // not a terminal: no progress
      assert.deepEqual(await Deno.readFile(`${dir}/remote/local.bin`), data);
    });
    await t.step("download on a terminal draws a progress line", async () => {
      const cmd = [...await cliCommand(), "cp", "--url", server.url, "--chunk-bytes", "500000"];
      const quoted = [...cmd, `:${dir}/remote/local.bin`, `${dir}/back.bin`]
        .map((w) => `'${w}'`).join(" ");
      const out = await new Deno.Command("script", {
        args: ["-qfec", quoted, "/dev/null"],
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
        env: { NO_COLOR: "1" },
      }).output();
      const screen = new TextDecoder().decode(out.stdout);
      assert.equal(out.code, 0, screen);
      assert.match(screen, /local\.bin {2}[\d.]+ MB \/ 3\.00 MB {2}\d+%/);
      assert.match(screen, /100%/);
      assert.match(screen, /copied 3000000 bytes to /);
      assert.deepEqual(await Deno.readFile(`${dir}/back.bin`), data);
    });
    await t.step("mistakes are usage errors", async () => {
      const both = await runCli(["cp", "--url", server.url, "a", "b"]);
      assert.equal(both.code, 2);
      assert.match(both.stderr, /write exactly one side as :\/REMOTE\/PATH/);
      const rel = await runCli(["cp", "--url", server.url, "a", ":rel"]);
      assert.match(rel.stderr, /the remote path must be absolute/);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
