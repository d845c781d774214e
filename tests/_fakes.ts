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
import type { Clock } from "../lib/server/session.ts";

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

/** A clock the test advances by hand. */
export class ManualClock implements Clock {
  #now = 1_000_000;
  #timers: { at: number; fn: () => void; cancelled: boolean }[] = [];

  now(): number {
    return this.#now;
  }

  setTimer(fn: () => void, ms: number): () => void {
    const t = { at: this.#now + ms, fn, cancelled: false };
    this.#timers.push(t);
    return () => {
      t.cancelled = true;
    };
  }

  /** Moves time forward, firing due timers in order. */
  advance(ms: number): void {
    this.#now += ms;
    const due = this.#timers.filter((t) => !t.cancelled && t.at <= this.#now).sort((a, b) =>
      a.at - b.at
    );
    this.#timers = this.#timers.filter((t) => !due.includes(t));
    for (const t of due) t.fn();
  }

  /** Moves time forward without firing timers (a late timer). */
  advanceWithoutFiring(ms: number): void {
    this.#now += ms;
  }
}
