// Copyright 2026 the exec-server authors. MIT license.
/**
 * The stdin side of a managed process: writes with codex's statuses, the
 * replay of a retried `writeId`, and the cap on bytes the process has not
 * read yet. Runtime-neutral: the OS side is a {@linkcode Child}.
 *
 * @module
 */
import { messageOf } from "../util/errors.ts";
import { type Child, StdinClosedError } from "../process/child.ts";
import { internalError } from "../protocol/errors.ts";
import type { WriteStatus } from "../protocol/process.ts";

/** How many recent `writeId`s each process remembers (as codex does). */
export const WRITE_IDS_KEPT = 4096;

/** The stdin of one process. */
export class ProcessStdin {
  readonly #processId: string;
  readonly #child: () => Child | null;
  readonly #maxPending: number;
  #closed: boolean;
  #writes = new Map<string, Promise<WriteStatus>>();
  #pending = 0; // bytes of writes the OS has not taken yet

  /**
   * Stdin of process `processId`, whose child `child()` returns once it is
   * started (null before); `closed` when there is no stdin at all.
   */
  constructor(processId: string, child: () => Child | null, closed: boolean, maxPending: number) {
    this.#processId = processId;
    this.#child = child;
    this.#closed = closed;
    this.#maxPending = maxPending;
  }

  /** Refuses every later write with `stdinClosed` (the process exited). */
  markClosed(): void {
    this.#closed = true;
  }

  /**
   * Writes, reporting the codex write status. With a `writeId`, a repeat of
   * a recent id (the last {@linkcode WRITE_IDS_KEPT}) gets the first write's
   * result without writing again, so clients can retry a write whose
   * response a dropped connection swallowed.
   */
  write(data: Uint8Array, writeId?: string | null): Promise<WriteStatus> {
    if (writeId === undefined || writeId === null) return this.#write(data);
    const known = this.#writes.get(writeId);
    if (known) return known;
    const result = this.#write(data);
    this.#writes.set(writeId, result);
    if (this.#writes.size > WRITE_IDS_KEPT) {
      this.#writes.delete(this.#writes.keys().next().value!);
    }
    // A write that failed may be retried for real.
    result.catch(() => this.#writes.delete(writeId));
    return result;
  }

  /**
   * Throws the refusal {@linkcode write} would give a write of `byteLength()`
   * bytes (with this `writeId`), before the caller has the bytes: so a write
   * the process has no room for is refused without decoding its base64.
   * `byteLength` is called only when writes are pending (the only time a
   * write is refused); null from it means "unknown", and nothing is thrown.
   */
  refuseEarly(byteLength: () => number | null, writeId?: string | null): void {
    if (writeId !== undefined && writeId !== null && this.#writes.has(writeId)) return;
    if (!this.#child() || this.#closed || this.#pending === 0) return;
    const n = byteLength();
    if (n !== null) this.#refuseIfFull(n);
  }

  /** Delivers end-of-file. */
  async close(): Promise<WriteStatus> {
    const child = this.#child();
    if (!child) return "starting";
    if (this.#closed) return "stdinClosed";
    this.#closed = true;
    try {
      await child.closeStdin();
    } catch (err) {
      throw internalError(`failed to close process stdin: ${messageOf(err)}`);
    }
    return "accepted";
  }

  #refuseIfFull(byteLength: number): void {
    const limit = this.#maxPending;
    if (this.#pending > 0 && this.#pending + byteLength > limit) {
      throw internalError(
        `process ${this.#processId} is not reading its stdin fast enough: ${this.#pending} ` +
          `bytes are still waiting, and ${byteLength} more would pass the limit of ${limit}; ` +
          `retry once it has read them`,
      );
    }
  }

  async #write(data: Uint8Array): Promise<WriteStatus> {
    const child = this.#child();
    if (!child) return "starting";
    if (this.#closed) return "stdinClosed";
    this.#refuseIfFull(data.byteLength);
    this.#pending += data.byteLength;
    try {
      await child.write(data);
      return "accepted";
    } catch (err) {
      if (err instanceof StdinClosedError) return "stdinClosed";
      throw internalError(`failed to write to process stdin: ${messageOf(err)}`);
    } finally {
      this.#pending -= data.byteLength;
    }
  }
}
