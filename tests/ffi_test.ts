// Copyright 2026 the exec-server authors. MIT license.
// The one libc handle (lib/ffi) and the fs layer's bounded retries over it.
import assert from "node:assert/strict";
import { C, cString, errno, libc, libcUnavailableReason, strerror } from "../lib/ffi/mod.ts";
import { MAX_ATTEMPTS, OsError, retrying } from "../lib/fs/libc.ts";
import { libc as processLibc } from "../lib/process/ffi_libc.ts";

Deno.test("lib/ffi: one library for fs and process, errno and strerror of the JS thread", () => {
  assert.equal(libcUnavailableReason(), null);
  assert.equal(processLibc(), libc(), "the process part uses the same handle");
  assert.equal(libc().openat(C.AT_FDCWD, cString("/no/such/path"), C.O_RDONLY, 0), -1);
  assert.equal(errno(), C.ENOENT);
  assert.equal(strerror(C.EACCES), "Permission denied");
  assert.throws(() => cString("a\0b"), TypeError);
  assert.throws(() => cString("a\0b", () => new RangeError("nul")), RangeError);
});

Deno.test("a synchronous call that keeps failing is retried a bounded number of times", () => {
  let calls = 0;
  const failing = () => {
    calls++;
    return -1;
  };
  assert.throws(
    () => retrying(failing, () => C.EINTR),
    (e: OsError) => e.errno === C.EINTR,
  );
  assert.equal(calls, MAX_ATTEMPTS, "EINTR forever: given up, not spun on");
  calls = 0;
  assert.throws(
    () => retrying(failing, () => C.EAGAIN),
    (e: OsError) => e.errno === C.EAGAIN,
  );
  assert.equal(calls, 1, "EAGAIN is not retried unless asked for");
  calls = 0;
  assert.throws(() => retrying(failing, () => C.EAGAIN, [C.EINTR, C.EAGAIN]));
  assert.equal(calls, MAX_ATTEMPTS);
  let left = 3;
  assert.equal(
    retrying(() => left-- > 0 ? -1 : 5, () => C.EINTR),
    5,
    "an interruption or two is fine",
  );
});
