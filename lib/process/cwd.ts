// Copyright 2026 the exec-server authors. MIT license.
/**
 * The working-directory check of piped starts, shared by both pipe backends.
 *
 * @module
 */
import { messageOf } from "../util/errors.ts";

/**
 * Checks that `cwd` is an existing directory, with a clear error otherwise
 * (`Deno.errors.NotFound`, `Deno.errors.NotADirectory`, or the OS reason).
 * Synchronous on purpose: one stat(2) takes microseconds, while an async stat
 * waits for a thread of the blocking pool, which took 4–6 ms per call with
 * many processes starting at once (and the spawn that follows blocks the event
 * loop on the same directory anyway).
 */
export function checkCwd(cwd: string): void {
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(cwd);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new Deno.errors.NotFound(`cwd ${cwd} does not exist (os error 2)`);
    }
    if (err instanceof Deno.errors.PermissionDenied) {
      throw new Deno.errors.PermissionDenied(`cwd ${cwd} is not accessible: ${messageOf(err)}`);
    }
    throw new Error(`cwd ${cwd} is not accessible: ${messageOf(err)}`);
  }
  if (!info.isDirectory) {
    throw new Deno.errors.NotADirectory(`cwd ${cwd} is not a directory (os error 20)`);
  }
}
