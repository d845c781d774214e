// Copyright 2026 the exec-server authors. MIT license.
// Remote hosts: the stdio transport, the exec/call CLI (run from the offline
// bundle), a real OpenSSH server, and resume through an ssh -L tunnel.
import assert from "node:assert/strict";
import { ExecServerClient } from "../lib/client/client.ts";
import { connectStdio } from "../lib/client/stdio.ts";
import { assertAllGone, ServerProcess, waitUntil } from "./_harness.ts";
import { buildBundle, freePort, Sshd, waitForPort } from "./_sshd.ts";

const dec = (b: Uint8Array) => new TextDecoder().decode(b);
const bundle = await buildBundle();
const RUN_BUNDLE = [Deno.execPath(), "run", "-A", "--no-config", bundle];

async function cli(
  args: string[],
  input = "",
): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = new Deno.Command(RUN_BUNDLE[0]!, {
    args: [...RUN_BUNDLE.slice(1), ...args],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const w = child.stdin.getWriter();
  if (input) await w.write(new TextEncoder().encode(input));
  await w.close();
  const out = await child.output();
  return { code: out.code, stdout: dec(out.stdout), stderr: dec(out.stderr) };
}

Deno.test("stdio transport: the client library over a child's pipes, session ends with stdin", async () => {
  const client = await connectStdio([...RUN_BUNDLE, "serve", "--listen", "stdio"], {
    stderr: "ignore",
  });
  const out = await client.exec(["sh", "-c", "echo out; echo err >&2; exit 4"]);
  assert.equal(dec(out.stdout), "out\n");
  assert.equal(dec(out.stderr), "err\n");
  assert.equal(out.exitCode, 4);
  const cat = await client.start({ argv: ["cat"], pipeStdin: true });
  await cat.write("through stdin\n");
  await cat.closeStdin();
  assert.equal(dec((await cat.output()).stdout), "through stdin\n");
  const bg = await client.start({ argv: ["sh", "-c", "sleep 100 & echo $!; wait"] });
  let pid = 0;
  for await (const ev of bg.events()) {
    if (ev.type === "output") {
      pid = Number(dec(ev.data).trim());
      break;
    }
  }
  assert.ok(pid > 0);
  await client.close();
  await assertAllGone([pid]);
});

Deno.test("stdio transport: the same envelope rules, one message per line", async () => {
  const child = new Deno.Command(RUN_BUNDLE[0]!, {
    args: [...RUN_BUNDLE.slice(1), "serve", "--listen", "stdio"],
    stdin: "piped",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const w = child.stdin.getWriter();
  const lines = [
    "",
    "{not json",
    '{"id":1,"method":"initialize","params":{"clientName":"t"}}',
    '{"method":"initialized"}',
    '{"id":"s","method":"process/list"}',
    '{"id":3,"method":"nope"}',
  ];
  await w.write(new TextEncoder().encode(lines.join("\r\n") + "\n"));
  await w.close();
  const out = (await new Response(child.stdout).text()).trim().split("\n").map((l) =>
    JSON.parse(l)
  );
  await child.status;
  assert.equal(out[0].id, -1);
  assert.equal(out[0].error.code, -32600);
  assert.match(out[0].error.message, /^failed to parse JSON-RPC message from stdio/);
  assert.ok(out[1].result.sessionId);
  assert.deepEqual(out[2], { id: "s", result: { processes: [] } });
  assert.equal(out[3].error.code, -32601);
});

Deno.test("exec and call CLI against a WebSocket server (from the bundle)", async (t) => {
  await using server = await ServerProcess.start();
  const url = ["--url", server.url];

  await t.step(
    "stdout and stderr stay separate; the remote exit code is the exit code",
    async () => {
      const r = await cli(["exec", ...url, "--", "sh", "-c", "echo out; echo err >&2; exit 3"]);
      assert.deepEqual([r.code, r.stdout, r.stderr], [3, "out\n", "err\n"]);
    },
  );

  await t.step("local stdin is forwarded and its EOF closes the remote stdin", async () => {
    const r = await cli(["exec", ...url, "--", "sh", "-c", "wc -c; echo done"], "12345");
    assert.equal(r.code, 0);
    assert.equal(r.stdout.replace(/\s+/g, " ").trim(), "5 done");
  });

  await t.step("death by signal N exits 128+N", async () => {
    const r = await cli(["exec", ...url, "--", "sh", "-c", "kill -KILL $$"]);
    assert.equal(r.code, 137);
  });

  await t.step("--cwd, --env and --tty", async () => {
    const r = await cli([
      "exec",
      ...url,
      "--cwd",
      "/usr",
      "--env",
      "GREETING=hi",
      "--tty",
      "--",
      "sh",
      "-c",
      'test -t 1 && echo "$GREETING from $(pwd)"',
    ]);
    assert.equal(r.code, 0);
    assert.equal(r.stdout, "hi from /usr\r\n");
  });

  await t.step("call prints the result, or the error with exit 1", async () => {
    const ok = await cli(["call", ...url, "fs/getMetadata", '{"path":"/"}']);
    assert.equal(ok.code, 0);
    assert.equal(JSON.parse(ok.stdout).isDirectory, true);
    const bad = await cli(["call", ...url, "process/read", '{"processId":"x"}']);
    assert.equal(bad.code, 1);
    assert.deepEqual(JSON.parse(bad.stderr), { code: -32600, message: "unknown process id x" });
  });

  await t.step("every subcommand has --help; usage errors exit 2", async () => {
    for (const sub of ["serve", "exec", "cp", "call", "mcp-bridge"]) {
      const r = await cli([sub, "--help"]);
      assert.equal(r.code, 0, sub);
      assert.match(r.stdout, new RegExp(`Usage: exec-server ${sub}`));
    }
    const r = await cli(["exec", "--", "true"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--url URL \(or EXEC_SERVER_URL\) or --ssh HOST/);
  });
});

Deno.test("over a real OpenSSH server: exec --ssh, the client over ssh, and resume through ssh -L", async (t) => {
  await using sshd = await Sshd.start();
  const sshCommand = sshd.sshProgram.join(" ");
  const sshFlags = [
    "--ssh",
    `${sshd.target}:${sshd.port}`,
    "--ssh-command",
    sshCommand,
    "--remote-command",
    RUN_BUNDLE.join(" "),
  ];

  await t.step("exec --ssh: output, exit code, stdin EOF", async () => {
    const r = await cli(
      ["exec", ...sshFlags, "--", "sh", "-c", "cat; echo err >&2; exit 6"],
      "piped in\n",
    );
    assert.equal(r.code, 6);
    assert.equal(r.stdout, "piped in\n");
    assert.match(r.stderr, /err\n/);
  });

  await t.step("the client library over ssh (stdio transport)", async () => {
    const client = await connectStdio(
      [
        ...sshd.sshProgram,
        "-p",
        String(sshd.port),
        sshd.target,
        ...RUN_BUNDLE,
        "serve",
        "--listen",
        "stdio",
      ],
      { stderr: "ignore" },
    );
    const out = await client.exec(["sh", "-c", "echo over ssh"]);
    assert.equal(dec(out.stdout), "over ssh\n");
    await client.close();
  });

  await t.step("through an ssh -L tunnel: a process survives the tunnel being cut", async () => {
    await using server = await ServerProcess.start();
    const serverPort = Number(new URL(server.httpUrl).port);
    const local = freePort();
    const tunnel = () =>
      new Deno.Command(sshd.sshProgram[0]!, {
        args: [
          ...sshd.sshProgram.slice(1),
          "-N",
          "-o",
          "ExitOnForwardFailure=yes",
          "-L",
          `${local}:127.0.0.1:${serverPort}`,
          "-p",
          String(sshd.port),
          sshd.target,
        ],
        stdin: "null",
        stdout: "null",
        stderr: "null",
      }).spawn();
    let ssh = tunnel();
    await waitForPort(local);
    const states: string[] = [];
    await using client = await ExecServerClient.connect({
      url: `ws://127.0.0.1:${local}`,
      onStateChange: (s) => states.push(s),
    });
    const script = 'for i in $(seq 1 40); do echo "line $i"; sleep 0.05; done';
    const proc = await client.start({ argv: ["sh", "-c", script] });
    const collected = proc.output();
    await waitUntil(() => proc.lastSeq >= 3, { timeoutMs: 10_000, message: "first lines" });
    ssh.kill("SIGKILL");
    await ssh.status;
    await waitUntil(() => states.includes("resuming"), { timeoutMs: 10_000, message: "resuming" });
    ssh = tunnel();
    await waitForPort(local);
    const out = await collected;
    assert.equal(dec(out.stdout), Array.from({ length: 40 }, (_, i) => `line ${i + 1}\n`).join(""));
    assert.equal(out.lost, false);
    assert.deepEqual(states.slice(-2), ["resuming", "connected"]);
    ssh.kill("SIGTERM");
    await ssh.status;
  });
});

Deno.test("exec --tty from a real local terminal: raw keys, window size, Ctrl-C", async (t) => {
  await using server = await ServerProcess.start();
  const exec = `${RUN_BUNDLE.join(" ")} exec --tty --url ${server.url}`;

  await t.step("the local window size is forwarded and typed keys arrive", async () => {
    const out = await runTyped(
      `stty rows 33 cols 101; ${exec} -- sh -c 'stty size; read x; echo "got $x"; exit 7'; echo "EXIT=$?"`,
      "33 101",
      ["hello\r"],
    );
    assert.match(out, /33 101\n/);
    assert.match(out, /got hello\n/);
    assert.match(out, /EXIT=7\n/);
  });

  await t.step("a local window size change is forwarded (SIGWINCH → process/resize)", async () => {
    // The remote side polls its own terminal size until it changes.
    const remote =
      `stty size; while [ "$(stty size)" = "33 101" ]; do sleep 0.05; done; echo "now $(stty size)"`;
    const out = await runTyped(
      `stty rows 33 cols 101; (sleep 1; stty rows 44 cols 111 < /dev/tty) & ${exec} -- sh -c '${remote}'; echo "EXIT=$?"`,
      "33 101",
      [],
    );
    assert.match(out, /now 44 111\n/);
    assert.match(out, /EXIT=0\n/);
  });

  await t.step("Ctrl-C reaches the remote process (exit 130)", async () => {
    const out = await runTyped(
      `${exec} -- sh -c 'echo ready; sleep 100'; echo "EXIT=$?"`,
      "ready",
      ["\x03"],
    );
    assert.match(out, /EXIT=130\n/);
  });
});

/** Runs `command` under `script`, waits until `marker` is printed, then types `keys`. */
async function runTyped(command: string, marker: string, keys: string[]): Promise<string> {
  const child = new Deno.Command("script", {
    args: ["-qfec", command, "/dev/null"],
    stdin: "piped",
    stdout: "piped",
    stderr: "null",
    env: { NO_COLOR: "1", PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin" },
  }).spawn();
  let output = "";
  const reading = (async () => {
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) output += chunk;
  })();
  const w = child.stdin.getWriter();
  await waitUntil(() => output.includes(marker), { timeoutMs: 15_000, message: `"${marker}"` });
  for (const k of keys) await w.write(new TextEncoder().encode(k));
  const status = child.status;
  await waitUntil(() => /EXIT=\d+/.test(output), { timeoutMs: 15_000, message: "EXIT=" });
  await w.close().catch(() => {});
  await status;
  await reading;
  return output.replaceAll("\r", "");
}
