// Copyright 2026 the exec-server authors. MIT license.
// The process state machine without I/O.
import assert from "node:assert/strict";
import { decodeOutputFrame, encodeOutputFrame } from "../lib/protocol/binary_frame.ts";
import { ManagedProcess, type ProcessObserver } from "../lib/server/managed_process.ts";
import { FakeChild } from "./_fakes.ts";
import { waitUntil } from "./_harness.ts";

/** A fake child without stdin, wired to `proc`. */
function childOf(proc: ManagedProcess): FakeChild {
  return new FakeChild(1, {
    argv: ["x"],
    arg0: null,
    cwd: "/",
    env: {},
    tty: false,
    pipeStdin: false,
    size: { rows: 24, cols: 80 },
  }, proc.sink);
}

function make(timings = { exitGraceMs: 30, killGraceMs: 30, retentionMs: 10_000 }) {
  const events: string[] = [];
  const observer: ProcessObserver = {
    processOutput: (_p, seq, stream) => void events.push(`output:${seq}:${stream}`),
    processExited: (_p, n) => void events.push(`exited:${n.seq}:${n.exitCode}`),
    processClosed: (_p, n) => void events.push(`closed:${n.seq}`),
    processExpired: () => void events.push("expired"),
  };
  const proc = new ManagedProcess(
    { processId: "p", argv: ["x"], tty: false, pipeStdin: true, timeoutMs: null },
    observer,
    timings,
  );
  const child = new FakeChild(1, {
    argv: ["x"],
    arg0: null,
    cwd: "/",
    env: {},
    tty: false,
    pipeStdin: true,
    size: { rows: 24, cols: 80 },
  }, proc.sink);
  proc.attach(child);
  return { proc, child, events };
}

Deno.test("ManagedProcess shares one seq counter between output, exit and close", () => {
  const { proc, child, events } = make();
  child.out("a");
  child.out("b", "stderr");
  child.finish(7);
  assert.deepEqual(events, ["output:1:stdout", "output:2:stderr", "exited:3:7", "closed:4"]);
  const r = proc.snapshot(0, Infinity);
  assert.equal(r.nextSeq, 3, "nextSeq follows the last returned chunk");
  assert.equal(proc.snapshot(2, Infinity).nextSeq, 5, "without chunks, the next unassigned seq");
  proc.dispose();
});

Deno.test("ManagedProcess reports the exit after a grace when a stream stays open, then closes", async () => {
  const { proc, child, events } = make();
  child.sink.end("stderr");
  child.sink.exit({ code: 0, signal: null });
  assert.deepEqual(events, [], "waits for the pipes to drain");
  await proc.read(0, Infinity, 5000);
  assert.deepEqual(events, ["exited:1:0"]);
  child.out("late");
  child.sink.end("stdout");
  assert.deepEqual(events, ["exited:1:0", "output:2:stdout", "closed:3"]);
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

Deno.test("ManagedProcess.write() reports codex statuses", async () => {
  const { proc, child } = make();
  assert.equal(await proc.write(new Uint8Array([1])), "accepted");
  assert.equal(child.written.length, 1);
  assert.equal(await proc.closeStdin(), "accepted");
  assert.equal(await proc.write(new Uint8Array([1])), "stdinClosed");
  child.finish(0);
  proc.dispose();
});

Deno.test("ManagedProcess.terminate() sends SIGTERM then SIGKILL to the group", async () => {
  const { proc, child } = make();
  assert.equal(proc.terminate(), true);
  assert.deepEqual(child.signals, ["SIGTERM"]);
  await waitUntil(() => child.signals.length === 2, { timeoutMs: 5000, message: "SIGKILL" });
  assert.deepEqual(child.signals, ["SIGTERM", "SIGKILL"]);
  child.finish(137, "SIGKILL");
  assert.equal(proc.terminate(), false, "false once exited and closed");
  proc.dispose();
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
  );
  const child = childOf(proc);
  proc.attach(child);
  const paused = child.out("first");
  child.sink.end("stderr");
  child.sink.exit({ code: 0, signal: null });
  // Several grace periods pass while the reader is paused: no exit yet.
  await new Promise((r) => setTimeout(r, 60));
  assert.deepEqual(events, ["output:1"]);
  congested = false;
  release();
  await paused;
  child.out("drained after the pause"); // bytes that were still in the pipe
  await proc.read(2, Infinity, 5000);
  child.sink.end("stdout");
  assert.deepEqual(events, ["output:1", "output:2", "exited:3", "closed:4"]);
  proc.dispose();
});

Deno.test("ManagedProcess.terminate() while starting applies once the child is attached", () => {
  const proc = new ManagedProcess(
    { processId: "p", argv: ["x"], tty: false, pipeStdin: false, timeoutMs: null },
    { processOutput() {}, processExited() {}, processClosed() {}, processExpired() {} },
    { killGraceMs: 10 },
  );
  assert.equal(proc.terminate(), true);
  const child = childOf(proc);
  proc.attach(child);
  assert.deepEqual(child.signals, ["SIGTERM"]);
  child.finish(143, "SIGTERM");
  proc.dispose();
});

Deno.test("ManagedProcess survives a group that cannot be signalled (EPERM) in timers", async () => {
  const proc = new ManagedProcess(
    { processId: "p", argv: ["x"], tty: false, pipeStdin: false, timeoutMs: 5 },
    { processOutput() {}, processExited() {}, processClosed() {}, processExpired() {} },
    { killGraceMs: 5 },
  );
  const child = childOf(proc);
  let attempts = 0;
  child.signal = () => {
    attempts++;
    throw new Deno.errors.PermissionDenied("Operation not permitted (os error 1)");
  };
  proc.attach(child);
  await waitUntil(() => attempts >= 1, { timeoutMs: 5000, message: "the timeout to fire" });
  assert.doesNotThrow(() => proc.kill());
  child.finish(0);
  proc.dispose();
});
