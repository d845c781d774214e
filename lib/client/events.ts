// Copyright 2026 the exec-server authors. MIT license.
/**
 * The shapes a process handle (`ProcessHandle`) hands out: its events in
 * strict seq order, the exit status, collected output, and read options.
 *
 * @module
 */
import type { CallOptions } from "./rpc.ts";
import type { Stream } from "../protocol/wire.ts";

/**
 * Output bytes of a process, in seq order.
 *
 * @example
 * ```ts
 * import type { OutputEvent } from "./events.ts";
 * import assert from "node:assert/strict";
 * const ev: OutputEvent = { type: "output", seq: 1, stream: "stdout", data: new Uint8Array([104, 105]) };
 * assert.equal(new TextDecoder().decode(ev.data), "hi");
 * ```
 */
export interface OutputEvent {
  /** Discriminant. */
  type: "output";
  /** Sequence number. */
  seq: number;
  /** Stream the bytes came from. */
  stream: Stream;
  /** The bytes. */
  data: Uint8Array;
}

/**
 * The process exited. Output may still follow until `closed` (a background
 * child can hold the pipes open).
 *
 * @example
 * ```ts
 * import type { ExitedEvent } from "./events.ts";
 * import assert from "node:assert/strict";
 * const ev: ExitedEvent = { type: "exited", seq: 3, exitCode: 143, signal: "SIGTERM" };
 * assert.equal(ev.signal, "SIGTERM");
 * ```
 */
export interface ExitedEvent {
  /** Discriminant. */
  type: "exited";
  /** Sequence number. */
  seq: number;
  /** Exit code (-1 when unknown). */
  exitCode: number;
  /** Signal name when a signal ended it. */
  signal?: string;
  /** True when the server's per-process timeout ended it. */
  timedOut?: boolean;
  /** True when a sandbox was applied and the exit looks like it refused something (codex 0.171's rule). */
  sandboxDenied?: boolean;
}

/**
 * The exit status is known and every output stream ended: the last event.
 *
 * @example
 * ```ts
 * import type { ClosedEvent } from "./events.ts";
 * import assert from "node:assert/strict";
 * const ev: ClosedEvent = { type: "closed", seq: 4 };
 * assert.equal(ev.type, "closed");
 * ```
 */
export interface ClosedEvent {
  /** Discriminant. */
  type: "closed";
  /** Sequence number. */
  seq: number;
}

/**
 * Output the server evicted (its retention is capped) before the client could
 * read it, or that the handle dropped because nobody read its events (past
 * the client's `maxBufferedBytes`): seqs `afterSeq + 1` through `throughSeq`
 * are lost. Reported, never skipped silently.
 *
 * @example
 * ```ts
 * import type { GapEvent } from "./events.ts";
 * import assert from "node:assert/strict";
 * const ev: GapEvent = { type: "gap", afterSeq: 10, throughSeq: 99, bytes: 1 << 20 };
 * assert.equal(ev.throughSeq - ev.afterSeq, 89);
 * ```
 */
export interface GapEvent {
  /** Discriminant. */
  type: "gap";
  /** Last seq before the gap. */
  afterSeq: number;
  /** Last seq lost. */
  throughSeq: number;
  /** Bytes lost, when the server reported them. */
  bytes?: number;
}

/**
 * The handle can follow the process no more (connection lost and not
 * resumed, or the server's record does not add up): the last event.
 *
 * @example
 * ```ts
 * import type { FailedEvent } from "./events.ts";
 * import assert from "node:assert/strict";
 * const ev: FailedEvent = { type: "failed", message: "exec-server transport disconnected" };
 * assert.ok(ev.message.startsWith("exec-server transport disconnected"));
 * ```
 */
export interface FailedEvent {
  /** Discriminant. */
  type: "failed";
  /** Why, e.g. "exec-server transport disconnected: …". */
  message: string;
}

/**
 * An event of a process handle. Events with a `seq` come in strict seq order.
 *
 * @example Switching on the type
 * ```ts
 * import type { ProcessEvent } from "./events.ts";
 * import assert from "node:assert/strict";
 * function describe(ev: ProcessEvent): string {
 *   return ev.type === "output" ? `${ev.stream}: ${ev.data.byteLength} bytes` : ev.type;
 * }
 * assert.equal(describe({ type: "closed", seq: 2 }), "closed");
 * ```
 */
export type ProcessEvent = OutputEvent | ExitedEvent | ClosedEvent | GapEvent | FailedEvent;

/**
 * How a process ended (the `exited` promise of a handle).
 *
 * @example
 * ```ts
 * import type { ExitStatus } from "./events.ts";
 * import assert from "node:assert/strict";
 * const status: ExitStatus = { exitCode: 0 };
 * assert.equal(status.signal, undefined);
 * ```
 */
export interface ExitStatus {
  /** Exit code (-1 when unknown). */
  exitCode: number;
  /** Signal name when a signal ended it. */
  signal?: string;
  /** True when the server's per-process timeout ended it. */
  timedOut?: boolean;
  /** True when a sandbox was applied and the exit looks like it refused something. */
  sandboxDenied?: boolean;
}

/**
 * Everything a finished process printed, from `ProcessHandle.output()` or
 * `ExecServerClient.exec()`.
 *
 * @example
 * ```ts ignore
 * const out: ProcessOutput = await client.exec(["echo", "hi"]);
 * console.log(out.exitCode, new TextDecoder().decode(out.stdout));
 * ```
 */
export interface ProcessOutput extends ExitStatus {
  /** Bytes written to stdout. */
  stdout: Uint8Array;
  /** Bytes written to stderr. */
  stderr: Uint8Array;
  /** Bytes written to the terminal (tty processes). */
  pty: Uint8Array;
  /** True when part of the output was lost to the server's retention (a gap event). */
  lost: boolean;
}

/**
 * Options of `ProcessHandle.read()` (`process/read`).
 *
 * @example Long-poll for what comes after seq 4
 * ```ts ignore
 * const r = await proc.read({ afterSeq: 4, waitMs: 5000, maxBytes: 65536 });
 * const next = r.nextSeq - 1; // the cursor for the next read
 * ```
 */
export interface ReadOptions extends CallOptions {
  /** Return chunks after this seq. @default {0} */
  afterSeq?: number;
  /** Byte budget (the first chunk is always returned). @default {unlimited} */
  maxBytes?: number;
  /** Long-poll: wait this long for something new. @default {0} */
  waitMs?: number;
}
