// Copyright 2026 the exec-server authors. MIT license.
/**
 * The one program lookup, shared by pipes and terminals, so that an argv
 * that starts on one starts on the other, and a missing program fails both
 * with the same error.
 *
 * `argv[0]` is looked up the way execvp(3) does, but in the child's
 * environment, never the server's: a name with a `/` is a path (relative to
 * the child's working directory); any other name is searched in the child's
 * `PATH`, whose empty and relative entries are taken relative to the child's
 * working directory. A child without `PATH` gets
 * {@linkcode DEFAULT_SEARCH_PATH}, glibc's default, which is also what the
 * child's own execvp calls search then.
 *
 * @module
 */
import { joinPath } from "../util/mod.ts";

/**
 * Where a program is looked up when the child's environment has no `PATH`:
 * glibc's `confstr(_CS_PATH)`, the list execvp(3) falls back to.
 */
export const DEFAULT_SEARCH_PATH = "/bin:/usr/bin";

/** Lookups that found a program recently: key → path and expiry. */
const found = new Map<string, { path: string; until: number }>();
/** How long a found program is trusted without a new stat. */
const FOUND_TTL_MS = 1000;
const FOUND_MAX = 256;

/**
 * Finds the file that `program` (an `argv[0]`) names for a child with
 * working directory `cwd` and environment `env`. A hit is remembered for a
 * second (starts come in bursts; each miss costs a stat per `PATH` entry).
 *
 * An executable is a regular file with an execute bit: the exec itself may
 * still be refused (a mode the server's user lacks, a bad interpreter), and
 * then the start fails or exits 126 as the backend reports it.
 *
 * @returns The file's absolute path.
 * @throws {Deno.errors.NotFound} `No such file or directory (os error 2): PROGRAM`
 * when no candidate exists.
 * @throws {Deno.errors.PermissionDenied} `Permission denied (os error 13): PROGRAM`
 * when candidates exist but none is an executable file.
 *
 * @example
 * ```ts
 * import { DEFAULT_SEARCH_PATH, findProgram } from "./program.ts";
 * import assert from "node:assert/strict";
 * const sh = findProgram("sh", "/", {});
 * assert.ok(DEFAULT_SEARCH_PATH.split(":").some((dir) => sh === `${dir}/sh`));
 * assert.equal(findProgram("../bin/sh", "/usr", { PATH: "/nowhere" }), "/usr/../bin/sh");
 * assert.throws(() => findProgram("sh", "/", { PATH: "/nowhere" }), {
 *   name: "NotFound",
 *   message: "No such file or directory (os error 2): sh",
 * });
 * ```
 */
export function findProgram(
  program: string,
  cwd: string,
  env: Readonly<Record<string, string>>,
): string {
  const searchPath = env.PATH ?? DEFAULT_SEARCH_PATH;
  const key = `${env.PATH === undefined ? "" : "PATH="}${searchPath}\0${cwd}\0${program}`;
  const now = Date.now();
  const hit = found.get(key);
  if (hit && hit.until > now) return hit.path;
  const absolute = (path: string) => path.startsWith("/") ? path : joinPath(cwd, path);
  const candidates = program === ""
    ? []
    : program.includes("/")
    ? [absolute(program)]
    : searchPath.split(":").map((dir) => joinPath(dir === "" ? cwd : absolute(dir), program));
  let denied = false;
  for (const path of candidates) {
    let info: Deno.FileInfo;
    try {
      info = Deno.statSync(path);
    } catch (err) {
      // A directory we may not search, or a path Deno's --allow-read excludes.
      if (err instanceof Deno.errors.PermissionDenied || err instanceof Deno.errors.NotCapable) {
        denied = true;
      }
      continue;
    }
    if (info.isFile && ((info.mode ?? 0) & 0o111) !== 0) {
      if (found.size >= FOUND_MAX) found.clear();
      found.set(key, { path, until: now + FOUND_TTL_MS });
      return path;
    }
    denied = true;
  }
  if (denied) {
    throw new Deno.errors.PermissionDenied(`Permission denied (os error 13): ${program}`);
  }
  throw new Deno.errors.NotFound(`No such file or directory (os error 2): ${program}`);
}

/** perl (essential on Debian), which runs a program with a chosen argv[0]. */
export const PERL = "/usr/bin/perl";

/**
 * perl's `exec {PROGRAM} LIST`: `perl -e EXEC_WITH_ARG0 -- PROGRAM ARG0 ARGS…`
 * runs PROGRAM with argv `[ARG0, ARGS…]` (for pipes without FFI, and inside
 * bwrap, which cannot set argv[0]).
 */
export const EXEC_WITH_ARG0 = 'my $p = shift; exec { $p } @ARGV; die "cannot exec $p: $!\\n"';
