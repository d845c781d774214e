// Copyright 2026 the exec-server authors. MIT license.
/**
 * `sandboxDenied`: whether a sandboxed process most likely failed because
 * the sandbox refused it. codex 0.171's rule (measured, and the README's):
 *
 * 1. false when no sandbox was applied, or the exit code is 0;
 * 2. true when its output (any stream), lowercased, contains one of
 *    {@linkcode DENIAL_KEYWORDS};
 * 3. false for exit codes 2, 126 and 127 (usage errors, not executable,
 *    not found);
 * 4. true for 159 (128 + SIGSYS: a seccomp kill);
 * 5. false otherwise.
 *
 * The output is scanned as it streams, so the verdict does not depend on
 * how much of it is retained.
 *
 * @module
 */

/** The phrases that mark a denial (lowercase). */
export const DENIAL_KEYWORDS = [
  "operation not permitted",
  "permission denied",
  "read-only file system",
  "seccomp",
  "sandbox",
  "landlock",
  "failed to write file",
] as const;

const LONGEST = Math.max(...DENIAL_KEYWORDS.map((k) => k.length));

/** Any keyword, ignoring ASCII case (non-Unicode /i folds no other character to ASCII). */
const KEYWORDS = new RegExp(DENIAL_KEYWORDS.join("|"), "i");

/** Bytes as one char each (windows-1252): exact for the ASCII keywords. */
const LATIN1 = new TextDecoder("latin1");

/**
 * Scans output for denial keywords across chunk boundaries.
 *
 * @example
 * ```ts
 * import { DenialScanner } from "./denied.ts";
 * import assert from "node:assert/strict";
 * const scanner = new DenialScanner();
 * scanner.feed("stderr", new TextEncoder().encode("touch: x: Read-only "));
 * scanner.feed("stderr", new TextEncoder().encode("file system\n"));
 * assert.equal(scanner.verdict(1), true);
 * assert.equal(scanner.verdict(0), false);
 * assert.equal(new DenialScanner().verdict(159), true);
 * assert.equal(new DenialScanner().verdict(1), false);
 * ```
 */
export class DenialScanner {
  /** Per stream, the last LONGEST - 1 characters seen (a keyword may straddle two chunks). */
  #tails = new Map<string, string>();
  #found = false;

  /** Whether a keyword was seen so far. */
  get found(): boolean {
    return this.#found;
  }

  /**
   * Scans one chunk of `stream`: one native pass over the chunk, plus the
   * few characters around its start (the chunk is not copied or lowercased;
   * that ran at about 60 MB/s).
   */
  feed(stream: string, data: Uint8Array): void {
    if (this.#found || data.byteLength === 0) return;
    const keep = LONGEST - 1;
    const seam = (this.#tails.get(stream) ?? "") + LATIN1.decode(data.subarray(0, keep));
    if (KEYWORDS.test(seam) || (data.byteLength > keep && KEYWORDS.test(LATIN1.decode(data)))) {
      this.#found = true;
      this.#tails.clear();
      return;
    }
    this.#tails.set(
      stream,
      data.byteLength >= keep
        ? LATIN1.decode(data.subarray(data.byteLength - keep))
        : seam.slice(-keep),
    );
  }

  /** The verdict for an exit code, by the rule above. */
  verdict(exitCode: number): boolean {
    if (exitCode === 0) return false;
    if (this.#found) return true;
    if (exitCode === 2 || exitCode === 126 || exitCode === 127) return false;
    return exitCode === 159;
  }
}
