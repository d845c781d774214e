// Copyright 2026 the exec-server authors. MIT license.
// The shared FFI reactor under faults: a fault while serving one child closes
// that child with a logged reason (the process hosting it lives on), and a
// failing poll(2) backs off instead of spinning.
import assert from "node:assert/strict";
import type { ChildSink, ExitStatus, Spawner, SpawnOptions } from "../lib/process/child.ts";
import { spawnPipedFfi } from "../lib/process/pipe_ffi.ts";
import { ptySupport, spawnPty } from "../lib/process/pty.ts";
import { setProcessLogger } from "../lib/process/log.ts";
import { newReactorChild, Reactor } from "../lib/process/reactor.ts";
import { C, libc } from "../lib/process/ffi_libc.ts";
import { createLogger } from "../lib/util/mod.ts";
import { assertAllGone, waitUntil } from "./_harness.ts";

const ROOT = new URL("..", import.meta.url).pathname;

function options(argv: string[], tty: boolean): SpawnOptions {
  return {
    argv,
    arg0: null,
    cwd: "/",
    env: { PATH: "/usr/bin:/bin" },
    tty,
    pipeStdin: false,
    size: { rows: 24, cols: 80 },
  };
}

class Sink implements ChildSink {
  text = "";
  ends = 0;
  status: ExitStatus | null = null;
  constructor(readonly fail = false) {}
  output(_stream: string, data: Uint8Array): void {
    if (this.fail) throw new Error("the consumer broke");
    this.text += new TextDecoder().decode(data);
  }
  end(): void {
    this.ends++;
  }
  exit(status: ExitStatus): void {
    this.status = status;
  }
}

const BACKENDS: [string, Spawner, boolean][] = [
  ["a terminal", spawnPty, true],
  ["FFI pipes", spawnPipedFfi, false],
];

for (const [name, spawn, tty] of BACKENDS) {
  Deno.test({
    name: `reactor (${name}): a consumer that throws closes its process, logged, and no other`,
    ignore: !ptySupport().ok,
  }, async () => {
    // On the old reactor the exception went to reportError(): an uncaught
    // error that ended the whole server (here: the test process).
    const logged: string[] = [];
    setProcessLogger(createLogger("warn", (line) => logged.push(line)));
    try {
      const broken = new Sink(true);
      const healthy = new Sink();
      const victim = await spawn(options(["sh", "-c", "echo hi; exec sleep 30"], tty), broken);
      const bystander = await spawn(
        options(["sh", "-c", "sleep 0.3; echo still here"], tty),
        healthy,
      );
      await waitUntil(() => broken.status !== null, { message: "the broken process closed" });
      assert.deepEqual(broken.status, { code: -1, signal: null });
      assert.equal(broken.ends, tty ? 1 : 2, "every stream ended");
      await assertAllGone([victim.pid]);
      assert.ok(
        logged.some((l) => l.includes(`process ${victim.pid}`) && l.includes("the consumer broke")),
        `the reason is logged: ${logged.join("\n")}`,
      );
      await waitUntil(() => healthy.status !== null && healthy.ends === (tty ? 1 : 2), {
        message: "the other process finished normally",
      });
      assert.equal(healthy.status!.code, 0);
      assert.match(healthy.text, /still here/);
      await assertAllGone([bystander.pid]);
    } finally {
      setProcessLogger(createLogger("warn", (line) => console.error(line)));
    }
  });
}

Deno.test({
  name: "reactor: a poll(2) that keeps failing backs off, then closes its children with a reason",
  ignore: !ptySupport().ok,
}, async () => {
  // RLIMIT_NOFILE below the number of polled descriptors makes poll(2) fail
  // with EINVAL every time. The old loop retried at once, forever: a core
  // at 100% and children never reported. Run in a subprocess: the limit is
  // process-wide.
  const script = `
    import { spawnPty } from "${ROOT}lib/process/pty.ts";
    import { setProcessLogger } from "${ROOT}lib/process/log.ts";
    import { createLogger } from "${ROOT}lib/util/mod.ts";
    const logged = [];
    setProcessLogger(createLogger("warn", (l) => logged.push(l)));
    const lib = Deno.dlopen("libc.so.6", {
      setrlimit: { parameters: ["i32", "buffer"], result: "i32" },
    }).symbols;
    const sinks = [];
    const pids = [];
    // Low descriptor numbers stay free for Deno below the limit; the
    // reactor's descriptors sit above it.
    const spacers = Array.from({ length: 40 }, () => Deno.openSync("/dev/null"));
    for (let i = 0; i < 30; i++) {
      const sink = { status: null, output() {}, end() {}, exit(s) { this.status = s; } };
      sinks.push(sink);
      const child = await spawnPty({ argv: ["sleep", "30"], arg0: null, cwd: "/",
        env: { PATH: "/usr/bin:/bin" }, tty: true, pipeStdin: false,
        size: { rows: 24, cols: 80 } }, sink);
      pids.push(child.pid);
    }
    for (const f of spacers) f.close();
    // 30 children x (master + pidfd) + eventfd = 61 descriptors to poll.
    if (lib.setrlimit(7, new BigUint64Array([50n, 4096n])) !== 0) throw new Error("setrlimit");
    const usage0 = process.cpuUsage();
    const t0 = performance.now();
    while (sinks.some((s) => s.status === null) && performance.now() - t0 < 8000) {
      await new Promise((r) => setTimeout(r, 20));
    }
    const wall = performance.now() - t0;
    const usage = process.cpuUsage(usage0);
    console.log(JSON.stringify({
      statuses: sinks.map((s) => s.status), pids, wall,
      cpuMs: (usage.user + usage.system) / 1000, logged,
    }));
    Deno.exit(0);
  `;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "-"],
    cwd: ROOT,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(`import process from "node:process";\n${script}`));
  await writer.close();
  const { code, stdout, stderr } = await child.output();
  const err = new TextDecoder().decode(stderr);
  assert.equal(code, 0, err);
  const result = JSON.parse(new TextDecoder().decode(stdout));
  await assertAllGone(result.pids);
  assert.equal(result.statuses.length, 30);
  for (const status of result.statuses) assert.deepEqual(status, { code: -1, signal: null });
  assert.ok(result.wall < 8000, `children closed in ${result.wall} ms`);
  assert.ok(
    result.cpuMs < result.wall * 0.5,
    `backs off: ${result.cpuMs} ms CPU in ${result.wall} ms`,
  );
  assert.ok(
    result.logged.some((l: string) => l.includes("poll(2) keeps failing")),
    result.logged.join("\n"),
  );
});

Deno.test({
  name:
    "reactor: abandoning the last child ends a poll that nothing else would wake (review proc 7)",
  ignore: !ptySupport().ok,
}, async () => {
  // A child whose exit was reaped, with its output still held open by a
  // process outside its tree (here: the test, holding the write end). When
  // its owner let go of it, the poll kept sleeping on the closed descriptor:
  // the loop and its eventfd stayed until some later event.
  const lib = libc();
  const reactor = new Reactor(lib);
  const fds = new Int32Array(2);
  assert.equal(lib.pipe2(fds, C.O_CLOEXEC | C.O_NONBLOCK), 0);
  const [readEnd, writeEnd] = [fds[0]!, fds[1]!];
  try {
    const child = newReactorChild({
      pid: 0,
      pidfd: -1,
      sink: new Sink(),
      pty: false,
      outputs: [{ stream: "stdout", fd: readEnd }],
      input: null,
      killTree: () => {},
    });
    reactor.add(child);
    // add() started the loop, whose poll is in flight (issued before add returned).
    assert.equal(reactor.idle, false);
    reactor.abandon(child);
    assert.equal(reactor.size, 0);
    await waitUntil(() => reactor.idle, { timeoutMs: 2000, message: "the poll loop to end" });
  } finally {
    lib.close(writeEnd);
    await waitUntil(() => reactor.idle, { timeoutMs: 2000, message: "the loop to end" });
  }
});
