// Copyright 2026 the exec-server authors. MIT license.
// The process state machine without I/O: a fake child and a manual clock, so
// timeouts, grace periods and retention run without waiting for real time.
import assert from "node:assert/strict";
import { decodeOutputFrame, encodeOutputFrame } from "../lib/protocol/binary_frame.ts";
import {
  ManagedProcess,
  MAX_EXIT_DRAIN_MS,
  type ProcessObserver,
  type ProcessSpec,
  type ProcessTimings,
} from "../lib/server/managed_process.ts";
import { FakeChild, ManualClock } from "./_fakes.ts";
import type { PosixSignal } from "../lib/process/child.ts";

const TIMINGS = { exitGraceMs: 30, killGraceMs: 30, retentionMs: 10_000 };

/** A fake child wired to `proc`. */
function childOf(proc: ManagedProcess): FakeChild {
  return new FakeChild(1, {
    argv: ["x"],
    arg0: null,
    cwd: "/",
    env: {},
    tty: false,
    pipeStdin: proc.spec.pipeStdin,
    size: { rows: 24, cols: 80 },
  }, proc.sink);
}

/** An observer that records events as `kind:seq[:detail]` strings. */
function recorder(): { events: string[]; observer: ProcessObserver } {
  const events: string[] = [];
  return {
    events,
    observer: {
      processOutput: (_p, seq, stream) => void events.push(`output:${seq}:${stream}`),
      processExited: (_p, n) =>
        void events.push(`exited:${n.seq}:${n.exitCode}${n.timedOut ? ":timedOut" : ""}`),
      processClosed: (_p, n) => void events.push(`closed:${n.seq}`),
      processExpired: () => void events.push("expired"),
    },
  };
}

function make(
  { timings = TIMINGS as ProcessTimings, spec = {} as Partial<ProcessSpec>, attach = true } = {},
) {
  const clock = new ManualClock();
  const { events, observer } = recorder();
  const proc = new ManagedProcess(
    { processId: "p", argv: ["x"], tty: false, pipeStdin: true, timeoutMs: null, ...spec },
    observer,
    timings,
    clock,
  );
  const child = childOf(proc);
  if (attach) proc.attach(child);
  return { proc, child, events, clock };
}

Deno.test("ManagedProcess shares one seq counter between output, exit and close", () => {
  const { proc, child, events } = make();
  child.out("a");
  child.out("b", "stderr");
  child.finish(7);
  assert.deepEqual(events, ["output:1:stdout", "output:2:stderr", "exited:3:7", "closed:4"]);
  const r = proc.snapshot(0, Infinity);
  assert.equal(r.chunks.length, 2);
  assert.equal(r.nextSeq, 5, "a read that reaches the end: the next unassigned seq");
  assert.equal(proc.snapshot(2, Infinity).nextSeq, 5, "without chunks, the next unassigned seq");
  proc.dispose();
});

Deno.test("ManagedProcess: nextSeq follows the last chunk only when maxBytes cut the read short", () => {
  // codex 0.171's rule (its client's recovery depends on it): printf aaaa;
  // printf bbbb; printf cccc; exit 2 gives chunks 1-3, exit 4, close 5.
  const { proc, child } = make();
  child.out("aaaa");
  child.out("bbbb");
  child.out("cccc");
  assert.equal(proc.snapshot(0, Infinity).nextSeq, 4, "running: the next unassigned seq");
  child.finish(2);
  assert.deepEqual(
    [proc.snapshot(0, Infinity).nextSeq, proc.snapshot(0, Infinity).chunks.length],
    [6, 3],
    "everything after the close: 6, not 4",
  );
  const cut = proc.snapshot(0, 5);
  assert.deepEqual([cut.chunks.length, cut.nextSeq], [1, 2], "cut by maxBytes: last chunk + 1");
  assert.equal(proc.snapshot(0, 8).nextSeq, 3, "two chunks fit, the third is left");
  assert.equal(proc.snapshot(1, 8).nextSeq, 6, "the rest fits: the end");
  assert.equal(proc.snapshot(3, 0).nextSeq, 6, "after the last chunk");
  assert.equal(proc.snapshot(9, Infinity).nextSeq, 6, "past the end");
  proc.dispose();
});

Deno.test("ManagedProcess reports the exit after a grace when a stream stays open, then closes", async () => {
  const { proc, child, events, clock } = make();
  child.sink.end("stderr");
  child.sink.exit({ code: 0, signal: null });
  const read = proc.read(0, Infinity, 5000);
  clock.advance(TIMINGS.exitGraceMs - 1);
  assert.deepEqual(events, [], "waits for the pipes to drain");
  clock.advance(1);
  assert.deepEqual(events, ["exited:1:0"]);
  assert.equal((await read).exited, true, "the long poll wakes on the exit");
  child.out("late");
  child.sink.end("stdout");
  assert.deepEqual(events, ["exited:1:0", "output:2:stdout", "closed:3"]);
  proc.dispose();
});

Deno.test("ManagedProcess caps the exit grace when output keeps coming", () => {
  const { proc, child, events, clock } = make();
  child.sink.end("stderr");
  child.sink.exit({ code: 0, signal: null });
  // A background child holds stdout open and writes steadily.
  for (let t = 0; t < MAX_EXIT_DRAIN_MS; t += TIMINGS.exitGraceMs) {
    assert.ok(!events.some((e) => e.startsWith("exited")), `no exit yet at ${t} ms`);
    child.out(".");
    clock.advance(TIMINGS.exitGraceMs);
  }
  assert.ok(events.at(-1)!.startsWith("exited:"), "reported after at most MAX_EXIT_DRAIN_MS");
  child.sink.end("stdout");
  proc.dispose();
});

Deno.test("ManagedProcess.read() waits for new data and returns early on it", async () => {
  const { proc, child } = make();
  const pending = proc.read(0, Infinity, 10_000);
  child.out("x");
  const r = await pending;
  assert.equal(r.chunks.length, 1);
  const empty = await proc.read(1, Infinity, 0);
  assert.deepEqual(empty.chunks, []);
  assert.equal(empty.exited, false);
  child.finish(0);
  proc.dispose();
});

Deno.test("ManagedProcess.read() returns empty once waitMs passes on the clock", async () => {
  const { proc, child, clock } = make();
  let done = false;
  const pending = proc.read(0, Infinity, 1000).finally(() => (done = true));
  await clock.advanceAsync(999);
  assert.equal(done, false, "still waiting just before waitMs");
  await clock.advanceAsync(1);
  assert.deepEqual((await pending).chunks, []);
  assert.equal(clock.pending, 0, "the wait left no timer behind");
  child.finish(0);
  proc.dispose();
});

Deno.test("ManagedProcess.read() keeps one deadline: output it does not want wakes it without a new timer (review ws.md item 7)", async () => {
  class CountingClock extends ManualClock {
    sets = 0;
    override setTimer(fn: () => void, ms: number): () => void {
      this.sets++;
      return super.setTimer(fn, ms);
    }
  }
  const clock = new CountingClock();
  const proc = new ManagedProcess(
    { processId: "p", argv: ["x"], tty: false, pipeStdin: true, timeoutMs: null },
    recorder().observer,
    TIMINGS,
    clock,
  );
  const child = childOf(proc);
  proc.attach(child);
  let done = false;
  // Waits for what comes after seq 50; 20 chunks (seq 1 to 20) wake it.
  const pending = proc.read(50, Infinity, 1000).finally(() => (done = true));
  for (let i = 0; i < 20; i++) {
    await clock.advanceAsync(10);
    child.out("x");
  }
  await clock.advanceAsync(799);
  assert.equal(done, false, "still waiting just before the deadline");
  assert.equal(clock.sets, 1, "one timer for the read (the old one armed one per wake: 21)");
  await clock.advanceAsync(1);
  assert.deepEqual((await pending).chunks, []);
  assert.equal(clock.pending, 0, "the read left no timer behind");
  const aborted = new AbortController();
  const parked = proc.read(50, Infinity, 60_000, aborted.signal);
  child.out("y");
  aborted.abort();
  assert.deepEqual((await parked).chunks, [], "an abort ends it");
  assert.equal(clock.pending, 0);
  child.finish(0);
  proc.dispose();
});

Deno.test("ManagedProcess.write() reports codex statuses", async () => {
  const { proc, child } = make();
  assert.equal(await proc.write(new Uint8Array([1])), "accepted");
  assert.equal(child.written.length, 1);
  assert.equal(await proc.closeStdin(), "accepted");
  assert.equal(await proc.write(new Uint8Array([1])), "stdinClosed");
  child.finish(0);
  proc.dispose();
});

Deno.test("ManagedProcess.write(): stdin a process does not read is bounded; a write past it fails clearly (issue 15 row 12)", async () => {
  const { proc, child } = make({ timings: { ...TIMINGS, maxPendingStdinBytes: 100 } });
  // A process that never reads: the OS never takes the bytes.
  const stuck: (() => void)[] = [];
  child.write = () => new Promise<void>((resolve) => stuck.push(resolve));
  const first = proc.write(new Uint8Array(150)); // one write is always taken
  await assert.rejects(proc.write(new Uint8Array(1)), {
    code: -32603,
    message: "process p is not reading its stdin fast enough: 150 bytes are still waiting, " +
      "and 1 more would pass the limit of 100; retry once it has read them",
  });
  stuck.shift()!();
  assert.equal(await first, "accepted");
  const a = proc.write(new Uint8Array(60));
  const b = proc.write(new Uint8Array(40)); // 100 waiting: at the limit, not past it
  await assert.rejects(proc.write(new Uint8Array(1)), /is not reading its stdin/);
  stuck.shift()!();
  stuck.shift()!();
  assert.deepEqual([await a, await b], ["accepted", "accepted"]);
  const c = proc.write(new Uint8Array(100)); // nothing waits again: room for the whole limit
  stuck.shift()!();
  assert.equal(await c, "accepted");
  child.finish(0);
  proc.dispose();
});

Deno.test("ManagedProcess.terminate() sends SIGTERM, then SIGKILL to the group after the grace", () => {
  const { proc, child, clock } = make();
  assert.equal(proc.terminate(), true);
  assert.deepEqual(child.signals, ["SIGTERM"]);
  clock.advance(TIMINGS.killGraceMs - 1);
  assert.deepEqual(child.signals, ["SIGTERM"], "not before the grace ends");
  clock.advance(1);
  assert.deepEqual(child.signals, ["SIGTERM", "SIGKILL"]);
  child.finish(137, "SIGKILL");
  assert.equal(proc.terminate(), false, "false once exited and closed");
  proc.dispose();
});

Deno.test("ManagedProcess timeoutMs terminates the process and reports timedOut", () => {
  const { proc, child, events, clock } = make({ spec: { timeoutMs: 500 } });
  clock.advance(499);
  assert.deepEqual(child.signals, []);
  clock.advance(1);
  assert.deepEqual(child.signals, ["SIGTERM"]);
  child.finish(143, "SIGTERM");
  assert.deepEqual(events, ["exited:1:143:timedOut", "closed:2"]);
  assert.equal(proc.snapshot(0, Infinity).timedOut, true);
  proc.dispose();
});

Deno.test("ManagedProcess stays readable for retentionMs after closing, then expires", () => {
  const { proc, child, events, clock } = make();
  child.out("kept");
  child.finish(0);
  clock.advance(TIMINGS.retentionMs - 1);
  assert.equal(proc.snapshot(0, Infinity).chunks.length, 1);
  assert.ok(!events.includes("expired"));
  clock.advance(1);
  assert.equal(events.at(-1), "expired");
  assert.equal(clock.pending, 0, "expiry leaves no timer behind");
});

Deno.test("ManagedProcess.dispose() cancels every pending timer", () => {
  const { proc, child, clock } = make({ spec: { timeoutMs: 60_000 } });
  proc.terminate(); // a pending SIGKILL
  child.sink.exit({ code: 143, signal: "SIGTERM" }); // a pending exit grace
  assert.ok(clock.pending >= 3);
  proc.dispose();
  assert.equal(clock.pending, 0);
});

Deno.test("binary output frames round-trip id, seq, stream and bytes", () => {
  const data = new Uint8Array([0, 1, 2, 255]);
  const f = decodeOutputFrame(encodeOutputFrame("proc-ü", 2 ** 40 + 5, "pty", data));
  assert.equal(f.processId, "proc-ü");
  assert.equal(f.seq, 2 ** 40 + 5);
  assert.equal(f.stream, "pty");
  assert.deepEqual([...f.data], [...data]);
  assert.throws(() => decodeOutputFrame(new Uint8Array([9, 0])), TypeError);
});

Deno.test("ManagedProcess.write() with a repeated writeId does not write again", async () => {
  const { proc, child } = make();
  assert.equal(await proc.write(new Uint8Array([1]), "w1"), "accepted");
  assert.equal(await proc.write(new Uint8Array([1]), "w1"), "accepted");
  assert.equal(await proc.write(new Uint8Array([2]), "w2"), "accepted");
  assert.equal(child.written.length, 2);
  child.finish(0);
  proc.dispose();
});

Deno.test("ManagedProcess holds the exit while output is paused by backpressure", async () => {
  const clock = new ManualClock();
  const events: string[] = [];
  let release = () => {};
  let congested = true;
  const observer: ProcessObserver = {
    processOutput: (_p, seq) => {
      events.push(`output:${seq}`);
      if (!congested) return;
      return new Promise<void>((r) => (release = r));
    },
    processExited: (_p, n) => void events.push(`exited:${n.seq}`),
    processClosed: (_p, n) => void events.push(`closed:${n.seq}`),
    processExpired: () => {},
  };
  const proc = new ManagedProcess(
    { processId: "p", argv: ["x"], tty: false, pipeStdin: false, timeoutMs: null },
    observer,
    { exitGraceMs: 10, killGraceMs: 10, retentionMs: 10_000 },
    clock,
  );
  const child = childOf(proc);
  proc.attach(child);
  const paused = child.out("first");
  child.sink.end("stderr");
  child.sink.exit({ code: 0, signal: null });
  // Many grace periods, past the drain cap, pass while the reader is paused: no exit yet.
  clock.advance(MAX_EXIT_DRAIN_MS * 2);
  assert.deepEqual(events, ["output:1"]);
  congested = false;
  release();
  await paused;
  child.out("drained after the pause"); // bytes that were still in the pipe
  clock.advance(10);
  assert.deepEqual(events, ["output:1", "output:2"], "fresh output restarts the grace");
  clock.advance(10);
  child.sink.end("stdout");
  assert.deepEqual(events, ["output:1", "output:2", "exited:3", "closed:4"]);
  proc.dispose();
});

Deno.test("ManagedProcess.terminate() while starting applies once the child is attached", () => {
  const { proc, child } = make({ attach: false, timings: { killGraceMs: 10 } });
  assert.equal(proc.terminate(), true);
  proc.attach(child);
  assert.deepEqual(child.signals, ["SIGTERM"]);
  child.finish(143, "SIGTERM");
  proc.dispose();
});

Deno.test("ManagedProcess survives a group that cannot be signalled (EPERM) in timers", () => {
  const { proc, child, clock } = make({
    attach: false,
    spec: { timeoutMs: 5 },
    timings: { killGraceMs: 5 },
  });
  let attempts = 0;
  child.signal = () => {
    attempts++;
    throw new Deno.errors.PermissionDenied("Operation not permitted (os error 1)");
  };
  proc.attach(child);
  assert.doesNotThrow(() => clock.advance(5), "the timeout's SIGTERM");
  assert.equal(attempts, 1);
  assert.doesNotThrow(() => clock.advance(5), "the grace's SIGKILL");
  assert.equal(attempts, 2);
  assert.doesNotThrow(() => proc.kill());
  child.finish(0);
  proc.dispose();
});

/** A fake child whose tree (descendants that left its group) the test controls. */
class TreeChild extends FakeChild {
  alive = true;
  readonly treeSignals: PosixSignal[] = [];
  released = 0;
  signalTree(signal: PosixSignal): void {
    this.treeSignals.push(signal);
    if (signal === "SIGKILL") this.alive = false;
  }
  treeAlive(): boolean {
    return this.alive;
  }
  release(): void {
    this.released++;
    this.alive = false;
  }
}

function makeTree(spec: Partial<ProcessSpec> = {}) {
  const clock = new ManualClock();
  const { events, observer } = recorder();
  const proc = new ManagedProcess(
    { processId: "p", argv: ["x"], tty: false, pipeStdin: false, timeoutMs: null, ...spec },
    observer,
    TIMINGS,
    clock,
  );
  const child = new TreeChild(1, {
    argv: ["x"],
    arg0: null,
    cwd: "/",
    env: {},
    tty: false,
    pipeStdin: false,
    size: { rows: 24, cols: 80 },
  }, proc.sink);
  return { proc, child, events, clock };
}

Deno.test("ManagedProcess terminate ends a closed process's surviving descendants", () => {
  // The old terminate returned early once the leader had exited and the
  // streams closed: a `nohup … &` daemon survived it.
  const { proc, child, clock } = makeTree();
  proc.attach(child);
  child.finish(0);
  assert.equal(proc.state, "closed");
  assert.equal(proc.terminate(), false, "the leader was not running");
  assert.deepEqual(child.treeSignals, ["SIGTERM"]);
  clock.advance(TIMINGS.killGraceMs);
  assert.deepEqual(child.treeSignals, ["SIGTERM", "SIGKILL"]);
  assert.equal(proc.terminate(), false);
  assert.deepEqual(child.treeSignals, ["SIGTERM", "SIGKILL"], "nothing left: nothing sent");
  proc.dispose();
  assert.equal(child.released, 1, "dispose releases the child");
});

Deno.test("ManagedProcess timeoutMs ends descendants of a leader that exited before the hand-over", () => {
  const { proc, child, clock } = makeTree({ timeoutMs: 100 });
  child.finish(0); // a fast leader: reaped before attach
  proc.attach(child);
  assert.equal(proc.state, "closed");
  clock.advance(100);
  assert.deepEqual(child.treeSignals, ["SIGTERM"]);
  clock.advance(TIMINGS.killGraceMs);
  assert.deepEqual(child.treeSignals, ["SIGTERM", "SIGKILL"]);
  proc.dispose();
});

Deno.test("ManagedProcess holds notifications until announce()", () => {
  const { proc, child, events } = makeTree();
  proc.hold();
  child.out("a");
  proc.attach(child);
  child.alive = false;
  child.finish(3);
  assert.deepEqual(events, [], "held");
  assert.equal(proc.snapshot(0, Infinity).chunks.length, 1, "output is retained meanwhile");
  proc.announce();
  assert.deepEqual(events, ["output:1:stdout", "exited:2:3", "closed:3"]);
  proc.dispose();
});
