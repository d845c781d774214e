// Copyright 2026 the exec-server authors. MIT license.
/**
 * File handles (`fs/open`, `fs/readBlock`, `fs/writeBlock`, `fs/close`).
 *
 * One {@linkcode FileHandles} table belongs to one session, so handles
 * survive a resume (codex ties them to the connection and loses them). A
 * session has at most 128 open handles, and a {@linkcode HandleBudget} caps
 * them across the server.
 *
 * A read handle is a descriptor opened at `fs/open`: a block is a positional
 * read on it, so it sees data appended later and keeps working after the file
 * is unlinked. A replace handle writes a temporary file in the target's
 * directory; `fs/close` renames it over the target, so readers never see a
 * half-written file and a session that ends without `fs/close` leaves the old
 * file untouched (codex truncates the target at `fs/open` and writes in
 * place).
 *
 * Operations on one handle run one at a time, so `fs/close` never closes a
 * descriptor a block is still using.
 *
 * @module
 */

import { ErrorCode, invalidParams, invalidRequest, RpcError } from "../protocol/errors.ts";
import { createTemp, unlinkQuietly } from "./io.ts";
import { C, closeFd, openat, OsError, renameat, type Stat } from "./libc.ts";
import { closeChecked, pread, pwriteAll } from "./libc_io.ts";

/** Most open handles per session. */
export const MAX_HANDLES_PER_SESSION = 128;
/** Longest handle id, in bytes of UTF-8. */
export const MAX_HANDLE_ID_BYTES = 32;
/** Largest block one `fs/readBlock` or `fs/writeBlock` moves. */
export const MAX_BLOCK_BYTES = 1024 * 1024;
/** Past this, a file offset does not fit in a signed 64-bit integer. */
const OFFSET_LIMIT = 2 ** 63;

/** Open handles across every session of a server. */
export class HandleBudget {
  #max: number;
  #used = 0;

  /** A budget of `max` handles. */
  constructor(max: number) {
    this.#max = max;
  }

  /** Takes one; throws -32600 when none is left. */
  take(): void {
    if (this.#used >= this.#max) {
      throw invalidRequest(
        `too many file handles are open on this server: the limit is ${this.#max}`,
      );
    }
    this.#used++;
  }

  /** Gives one back. */
  give(): void {
    this.#used = Math.max(0, this.#used - 1);
  }

  /** Handles in use. */
  get used(): number {
    return this.#used;
  }
}

type Handle =
  | { kind: "read"; fd: number; queue: Promise<unknown> }
  | {
    kind: "replace";
    fd: number;
    dir: number;
    name: string;
    temp: string;
    queue: Promise<unknown>;
    /** The first failed block: the file is then never put in place. */
    failed: string | null;
  };

/**
 * The open handles of one session.
 *
 * @example
 * ```ts
 * import { FileHandles, HandleBudget } from "./handles.ts";
 * import assert from "node:assert/strict";
 * await using handles = new FileHandles(new HandleBudget(8));
 * assert.equal(handles.size, 0);
 * ```
 */
export class FileHandles implements AsyncDisposable {
  #budget: HandleBudget;
  #handles = new Map<string, Handle>();
  #reserved = new Set<string>();
  #closed = false;

  /** An empty table drawing on `budget`. */
  constructor(budget: HandleBudget) {
    this.#budget = budget;
  }

  /** Open handles. */
  get size(): number {
    return this.#handles.size;
  }

  /**
   * Claims `id` for an `fs/open` in progress: checks its length, that it is
   * free, and the limits.
   *
   * @throws {RpcError} -32600 on any of those.
   */
  reserve(id: string): void {
    if (this.#closed) throw invalidRequest("the session is closed");
    if (new TextEncoder().encode(id).length > MAX_HANDLE_ID_BYTES) {
      throw invalidRequest(`file handle ID must not exceed ${MAX_HANDLE_ID_BYTES} bytes`);
    }
    if (this.#handles.has(id) || this.#reserved.has(id)) {
      throw invalidRequest(`file handle \`${id}\` already exists`);
    }
    if (this.#handles.size + this.#reserved.size >= MAX_HANDLES_PER_SESSION) {
      throw invalidRequest(
        `at most ${MAX_HANDLES_PER_SESSION} file handles may be open per session`,
      );
    }
    this.#budget.take();
    this.#reserved.add(id);
  }

  /** Ends a reservation; the budget stays taken if the handle was added. */
  release(id: string): void {
    if (!this.#reserved.delete(id)) return;
    if (!this.#handles.has(id)) this.#budget.give();
  }

  /** Adds a read handle on an open descriptor (the table owns it). */
  addReader(id: string, fd: number): void {
    this.#add(id, { kind: "read", fd, queue: Promise.resolve() });
  }

  /**
   * Adds a replace handle: a temporary file in `dir` (borrowed: a second
   * descriptor is kept) that {@linkcode FileHandles.closeHandle} renames to `name`.
   */
  addReplacer(id: string, dir: number, name: string, existing: Stat | null): void {
    const own = openat(dir, ".", C.O_PATH | C.O_DIRECTORY);
    let temp: { fd: number; name: string };
    try {
      temp = createTemp(
        own,
        existing !== null && (existing.mode & C.S_IFMT) === C.S_IFREG ? existing : null,
      );
    } catch (err) {
      closeFd(own);
      throw err;
    }
    this.#add(id, {
      kind: "replace",
      fd: temp.fd,
      dir: own,
      name,
      temp: temp.name,
      queue: Promise.resolve(),
      failed: null,
    });
  }

  #add(id: string, handle: Handle): void {
    if (!this.#reserved.has(id)) throw new Error(`handle ${id} was not reserved`);
    this.#handles.set(id, handle);
  }

  #get(id: string): Handle {
    const handle = this.#handles.get(id);
    if (handle === undefined) {
      throw new RpcError(ErrorCode.NotFound, `unknown file handle \`${id}\``);
    }
    return handle;
  }

  /** Runs `fn` after every earlier operation on the handle. */
  #serial<T>(handle: Handle, fn: () => Promise<T>): Promise<T> {
    const run = handle.queue.then(fn, fn);
    handle.queue = run.catch(() => {});
    return run;
  }

  /** `fs/readBlock`. */
  async read(id: string, offset: number, len: number): Promise<{ chunk: string; eof: boolean }> {
    if (!Number.isInteger(len) || len < 1 || len > MAX_BLOCK_BYTES) {
      throw invalidRequest(`file read block length must be between 1 and ${MAX_BLOCK_BYTES}`);
    }
    if (offset + len >= OFFSET_LIMIT) {
      throw invalidRequest("file read range exceeds the signed 64-bit file offset limit");
    }
    const handle = this.#get(id);
    if (handle.kind !== "read") throw new OsError(C.EBADF);
    return await this.#serial(handle, async () => {
      if (this.#handles.get(id) !== handle) throw this.#gone(id);
      const buffer = new Uint8Array(len);
      let filled = 0;
      while (filled < len) {
        const n = await pread(handle.fd, buffer.subarray(filled), offset + filled);
        if (n === 0) break;
        filled += n;
      }
      return { chunk: buffer.subarray(0, filled).toBase64(), eof: filled < len };
    });
  }

  /** `fs/writeBlock`. */
  async write(id: string, offset: number, chunk: string): Promise<Record<string, never>> {
    let data: Uint8Array;
    try {
      data = Uint8Array.fromBase64(chunk);
    } catch (err) {
      throw invalidParams(`fs/writeBlock chunk is not valid base64: ${(err as Error).message}`);
    }
    if (data.length < 1 || data.length > MAX_BLOCK_BYTES) {
      throw invalidRequest(`file write block length must be between 1 and ${MAX_BLOCK_BYTES}`);
    }
    if (offset + data.length >= OFFSET_LIMIT) {
      throw invalidRequest("file write range exceeds the signed 64-bit file offset limit");
    }
    const handle = this.#get(id);
    if (handle.kind !== "replace") throw new OsError(C.EBADF);
    return await this.#serial(handle, async () => {
      if (this.#handles.get(id) !== handle) throw this.#gone(id);
      try {
        await pwriteAll(handle.fd, data, offset);
      } catch (err) {
        handle.failed ??= (err as Error).message;
        throw err;
      }
      return {};
    });
  }

  #gone(id: string): RpcError {
    return new RpcError(ErrorCode.NotFound, `unknown file handle \`${id}\``);
  }

  /**
   * `fs/close`: an unknown id is not an error. A replace handle's file is
   * renamed over its target; if that fails, or a block failed earlier, the
   * temporary file is removed, the target left as it was and the error
   * returned (the handle is gone either way).
   */
  async closeHandle(id: string): Promise<Record<string, never>> {
    const handle = this.#handles.get(id);
    if (handle === undefined) return {};
    this.#handles.delete(id);
    this.#budget.give();
    await handle.queue;
    commit(handle);
    return {};
  }

  /** Same as {@linkcode FileHandles.close}. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /**
   * The session is over: closes every handle without committing replace
   * handles (their temporary files are removed); idempotent.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const all = [...this.#handles.values()];
    for (const _ of all) this.#budget.give();
    this.#handles.clear();
    for (const handle of all) {
      await handle.queue;
      discard(handle);
    }
  }
}

/** Puts a replace handle's file in place (or closes a read handle). */
function commit(handle: Handle): void {
  if (handle.kind === "read") return closeFd(handle.fd);
  if (handle.failed !== null) {
    discard(handle);
    throw new OsError(
      C.EIO,
      `the file was not replaced because a block could not be written: ${handle.failed}`,
    );
  }
  try {
    closeChecked(handle.fd);
    renameat(handle.dir, handle.temp, handle.dir, handle.name);
  } catch (err) {
    unlinkQuietly(handle.dir, handle.temp);
    throw err;
  } finally {
    closeFd(handle.dir);
  }
}

/** Closes a handle, dropping a replace handle's unfinished file. */
function discard(handle: Handle): void {
  closeFd(handle.fd);
  if (handle.kind === "replace") {
    unlinkQuietly(handle.dir, handle.temp);
    closeFd(handle.dir);
  }
}
