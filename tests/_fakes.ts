// Copyright 2026 the exec-server authors. MIT license.
/**
 * In-memory fakes for unit tests: a child driven by the test, a spawner that
 * hands them out, a recording peer, and a manual clock.
 *
 * @module
 */
import type { Child, ChildSink, PosixSignal, Spawner, SpawnOptions } from "../lib/process/child.ts";
import { StdinClosedError } from "../lib/process/child.ts";
import type { Peer } from "../lib/server/connection.ts";
import type { Clock } from "../lib/util/clock.ts";
import { environmentInfoOf } from "../lib/server/edge_host.ts";

/** An `environmentInfo` from fixed host facts, for cores built by hand. */
export const FAKE_ENVIRONMENT_INFO = environmentInfoOf({
  uid: 1000,
  passwd: "me:x:1000:1000::/home/me:/bin/bash\n",
  env: { HOME: "/home/me" },
  cwd: "/srv",
  os: "linux",
  machineId: "test",
});

/** A child whose output, EOF and exit the test triggers. */
export class FakeChild implements Child {
  readonly pid: number;
  readonly streams = ["stdout", "stderr"] as const;
  readonly signals: PosixSignal[] = [];
  readonly written: Uint8Array[] = [];
  readonly options: SpawnOptions;
  stdinClosed = false;
  readonly sink: ChildSink;

  constructor(pid: number, options: SpawnOptions, sink: ChildSink) {
    this.pid = pid;
    this.options = options;
    this.sink = sink;
    this.stdinClosed = !options.pipeStdin;
  }

  write(data: Uint8Array): Promise<void> {
    if (this.stdinClosed) return Promise.reject(new StdinClosedError());
    this.written.push(data);
    return Promise.resolve();
  }

  closeStdin(): Promise<void> {
    this.stdinClosed = true;
    return Promise.resolve();
  }

  signal(signal: PosixSignal): void {
    this.signals.push(signal);
  }

  resize(): void {}

  /** Emits output. */
  out(text: string, stream: "stdout" | "stderr" = "stdout"): void | Promise<void> {
    return this.sink.output(stream, new TextEncoder().encode(text));
  }

  /** Ends both streams and exits. */
  finish(code = 0, signal: string | null = null): void {
    this.sink.end("stdout");
    this.sink.end("stderr");
    this.sink.exit({ code, signal });
  }
}

/** A spawner that records every child. */
export class FakeSpawner {
  readonly children: FakeChild[] = [];
  fail: Error | null = null;
  #pid = 1000;

  readonly spawn: Spawner = (options, sink) => {
    if (this.fail) return Promise.reject(this.fail);
    const child = new FakeChild(this.#pid++, options, sink);
    this.children.push(child);
    return Promise.resolve(child);
  };
}

/** A peer that records what the connection sends. */
export class RecordingPeer implements Peer {
  readonly sent: unknown[] = [];
  readonly binary: Uint8Array[] = [];
  closedWith: { code: number; reason: string } | null = null;
  buffered = 0;

  sendText(text: string): void {
    this.sent.push(JSON.parse(text));
  }

  sendBinary = (data: Uint8Array): void => {
    this.binary.push(data);
  };

  close(code: number, reason: string): void {
    this.closedWith = { code, reason };
  }

  bufferedAmount(): number {
    return this.buffered;
  }
}

/**
 * The fake clock of every unit test: time moves only when the test advances
 * it, and timers fire in time order at their own instant (a timer a callback
 * sets is due relative to that instant, so repeating timers work).
 */
export class ManualClock implements Clock {
  #now = 1_000_000;
  #seq = 0; // keeps timers due at the same instant in the order they were set
  #timers = new Set<{ at: number; seq: number; fn: () => void }>();

  now(): number {
    return this.#now;
  }

  setTimer(fn: () => void, ms: number): () => void {
    const t = { at: this.#now + Math.max(0, ms), seq: this.#seq++, fn };
    this.#timers.add(t);
    return () => void this.#timers.delete(t);
  }

  /** Timers set and neither fired nor cancelled. */
  get pending(): number {
    return this.#timers.size;
  }

  /** Moves time forward by `ms`, firing every timer that falls due on the way, in order. */
  advance(ms: number): void {
    const until = this.#now + ms;
    for (let t = this.#next(until); t; t = this.#next(until)) {
      this.#timers.delete(t);
      this.#now = t.at;
      t.fn();
    }
    this.#now = until;
  }

  /**
   * {@linkcode advance}, letting promise callbacks run after each timer, so
   * code that awaits between timers (a teardown, a long poll) keeps up.
   */
  async advanceAsync(ms: number): Promise<void> {
    const until = this.#now + ms;
    await settle();
    for (let t = this.#next(until); t; t = this.#next(until)) {
      this.#timers.delete(t);
      this.#now = t.at;
      t.fn();
      await settle();
    }
    this.#now = until;
  }

  /** Moves time forward without firing timers (a late timer). */
  advanceWithoutFiring(ms: number): void {
    this.#now += ms;
  }

  #next(until: number): { at: number; seq: number; fn: () => void } | undefined {
    let best: { at: number; seq: number; fn: () => void } | undefined;
    for (const t of this.#timers) {
      if (t.at <= until && (!best || t.at < best.at || (t.at === best.at && t.seq < best.seq))) {
        best = t;
      }
    }
    return best;
  }
}

/** Lets every pending promise callback run (a macrotask turn, no waiting for time). */
export function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}
