// Copyright 2026 the exec-server authors. MIT license.
/**
 * Descriptor I/O for the fs layer over `lib/ffi`'s libc: positional and
 * sequential reads and writes on a worker thread (see `libc.ts` for why a
 * failed one is repeated here once, and never without bound), non-blocking
 * reads, eventfd and inotify, and the worker-thread poll they wait in.
 *
 * @module
 */

import { C, cString, errno, libc, MAX_ATTEMPTS, OsError, retrying } from "./libc.ts";

/** Throws the OsError for errno when `result` is negative; returns it as a number otherwise. */
function check(result: number | bigint): number {
  const n = Number(result);
  if (n < 0) throw new OsError(errno());
  return n;
}

/**
 * A positional call on a worker thread, tried again there while it fails
 * (a signal interrupted it), then once on this thread to learn its errno:
 * the JS thread runs the I/O only for a call that keeps failing.
 */
async function threaded(
  onWorker: () => Promise<number | bigint>,
  here: () => number | bigint,
): Promise<number> {
  for (let attempt = 1; attempt < MAX_ATTEMPTS; attempt++) {
    const n = Number(await onWorker());
    if (n >= 0) return n;
  }
  const n = Number(here());
  if (n >= 0) return n;
  throw new OsError(errno());
}

/** Positional read on a worker thread; returns the bytes read (0 at end of file). */
export function pread(fd: number, into: Uint8Array<ArrayBuffer>, at: number): Promise<number> {
  const length = BigInt(into.length);
  return threaded(
    () => libc().preadThreaded(fd, into, length, BigInt(at)),
    () => libc().pread(fd, into, length, BigInt(at)),
  );
}

/** Positional write on a worker thread; returns the bytes written. */
export function pwrite(fd: number, from: Uint8Array<ArrayBuffer>, at: number): Promise<number> {
  const length = BigInt(from.length);
  return threaded(
    () => libc().pwriteThreaded(fd, from, length, BigInt(at)),
    () => libc().pwrite(fd, from, length, BigInt(at)),
  );
}

/** Writes all of `data` at `at` (positional, on a worker thread). */
export async function pwriteAll(fd: number, data: Uint8Array, at: number): Promise<void> {
  // FFI needs an ArrayBuffer-backed view; a SharedArrayBuffer view is copied.
  let rest = data as Uint8Array<ArrayBuffer>;
  let offset = at;
  while (rest.length > 0) {
    const n = await pwrite(fd, rest, offset);
    rest = rest.subarray(n);
    offset += n;
  }
}

/**
 * Sequential read on a worker thread (FIFOs, devices); 0 at the end, and
 * also when a non-blocking descriptor has nothing ready.
 */
export async function readSeq(fd: number, into: Uint8Array<ArrayBuffer>): Promise<number> {
  const n = Number(await libc().readThreaded(fd, into, BigInt(into.length)));
  if (n >= 0) return n;
  // A failed read consumed nothing, so repeating it here is harmless.
  return readNow(fd, into) ?? 0;
}

/** Writes all of `data` sequentially on a worker thread (FIFOs, devices). */
export async function writeSeqAll(fd: number, data: Uint8Array): Promise<void> {
  let rest = data as Uint8Array<ArrayBuffer>;
  let interrupted = 0;
  while (rest.length > 0) {
    let n = Number(await libc().writeThreaded(fd, rest, BigInt(rest.length)));
    if (n < 0) {
      n = Number(libc().write(fd, rest, BigInt(rest.length)));
      if (n < 0) {
        const code = errno();
        if (code === C.EINTR && ++interrupted < MAX_ATTEMPTS) continue;
        throw new OsError(code);
      }
    }
    interrupted = 0;
    rest = rest.subarray(n);
  }
}

/** `close(2)` that reports a failure (a delayed write error surfaces here). */
export function closeChecked(fd: number): void {
  if (Number(libc().close(fd)) < 0) {
    const code = errno();
    if (code !== C.EINTR) throw new OsError(code);
  }
}

/** Non-blocking read; null when nothing is ready (EAGAIN). */
export function readNow(fd: number, into: Uint8Array<ArrayBuffer>): number | null {
  try {
    return retrying(() => libc().read(fd, into, BigInt(into.length)));
  } catch (err) {
    if (err instanceof OsError && err.errno === C.EAGAIN) return null;
    throw err;
  }
}

/** Writes an eventfd counter increment (wakes a poll). */
export function eventfdSignal(fd: number): void {
  const one = new BigUint64Array([1n]);
  libc().write(fd, new Uint8Array(one.buffer), 8n);
}

/** A new non-blocking eventfd. */
export function eventfdOpen(): number {
  return check(libc().eventfd(0, C.EFD_CLOEXEC | C.EFD_NONBLOCK));
}

/** A new non-blocking inotify instance. */
export function inotifyInit(): number {
  return check(libc().inotify_init1(C.IN_NONBLOCK | C.IN_CLOEXEC));
}

/**
 * Adds a watch on the inode `fd` refers to (through `/proc/self/fd`, so the
 * kernel does not look the path up again); returns the watch descriptor.
 */
export function inotifyAddFd(inotify: number, fd: number, mask: number): number {
  const path = cString(`/proc/self/fd/${fd}`);
  return retrying(() => libc().inotify_add_watch(inotify, path, mask));
}

/** Removes a watch; an already removed one is not an error. */
export function inotifyRemove(inotify: number, wd: number): void {
  libc().inotify_rm_watch(inotify, wd);
}

/**
 * Waits on a worker thread until one of `fds` is readable; returns the
 * indexes that are.
 */
export async function pollReadable(fds: readonly number[]): Promise<number[]> {
  const buffer = new Uint8Array(8 * fds.length);
  const view = new DataView(buffer.buffer);
  fds.forEach((fd, i) => {
    view.setInt32(i * 8, fd, true);
    view.setInt16(i * 8 + 4, C.POLLIN, true);
  });
  // poll fails only when interrupted (or out of memory): wait a little
  // longer after each failure in a row rather than spin.
  for (let failed = 0;; failed++) {
    const n = await libc().poll(buffer, BigInt(fds.length), -1);
    if (n > 0) break;
    if (failed > 0) {
      await new Promise((resolve) => setTimeout(resolve, Math.min(1000, 2 ** failed)));
    }
  }
  const ready: number[] = [];
  fds.forEach((_, i) => {
    if (view.getInt16(i * 8 + 6, true) !== 0) ready.push(i);
  });
  return ready;
}
