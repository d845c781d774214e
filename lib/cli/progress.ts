// Copyright 2026 the exec-server authors. MIT license.
/**
 * A one-line progress display on stderr for file transfers (`cp`, and the
 * server install over ssh), drawn only when stderr is a terminal and
 * redrawn at most ten times a second.
 *
 * @module
 */

/**
 * Formats a byte count for people: `512 B`, `1.5 KB`, `12.3 MB`, `4.00 GB`.
 *
 * @example
 * ```ts
 * import { formatBytes } from "./progress.ts";
 * import assert from "node:assert/strict";
 * assert.equal(formatBytes(512), "512 B");
 * assert.equal(formatBytes(12_345_678), "12.3 MB");
 * ```
 */
export function formatBytes(n: number): string {
  if (n < 1000) return `${n} B`;
  const units = ["KB", "MB", "GB", "TB"];
  let v = n;
  let u = -1;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return `${v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2)} ${units[u]}`;
}

/**
 * The progress line for `bytes` of `total` after `seconds`.
 *
 * @example
 * ```ts
 * import { progressLine } from "./progress.ts";
 * import assert from "node:assert/strict";
 * assert.equal(progressLine("a.bin", 5_000_000, 10_000_000, 2), "a.bin  5.00 MB / 10.0 MB  50%  2.50 MB/s");
 * assert.equal(progressLine("a.bin", 5_000_000, undefined, 0), "a.bin  5.00 MB");
 * ```
 */
export function progressLine(
  label: string,
  bytes: number,
  total: number | undefined,
  seconds: number,
): string {
  const parts = [label, formatBytes(bytes)];
  if (total !== undefined) {
    parts[1] += ` / ${formatBytes(total)}`;
    parts.push(`${total > 0 ? Math.floor((bytes / total) * 100) : 100}%`);
  }
  if (seconds > 0) parts.push(`${formatBytes(bytes / seconds)}/s`);
  return parts.join("  ");
}

/** A progress line that exists only on a terminal. */
export class Progress {
  readonly #enabled: boolean;
  readonly #encoder = new TextEncoder();
  #label = "";
  #total: number | undefined;
  #started = 0;
  #lastDraw = 0;
  #drawn = false;

  /** Creates the display; `enabled` defaults to whether stderr is a terminal. */
  constructor(enabled: boolean = Deno.stderr.isTerminal()) {
    this.#enabled = enabled;
  }

  /** Starts a transfer of `total` bytes (undefined when unknown). */
  start(label: string, total: number | undefined): void {
    this.#label = label;
    this.#total = total;
    this.#started = Date.now();
    this.#lastDraw = 0;
    this.update(0);
  }

  /** Reports `bytes` moved so far. */
  update(bytes: number): void {
    if (!this.#enabled) return;
    const now = Date.now();
    const last = this.#total !== undefined && bytes >= this.#total;
    if (!last && now - this.#lastDraw < 100) return;
    this.#lastDraw = now;
    const line = progressLine(this.#label, bytes, this.#total, (now - this.#started) / 1000);
    this.#write(`\r\x1b[K${line}`);
    this.#drawn = true;
  }

  /** Ends the line (and prints `message` on a line of its own, if given). */
  done(message?: string): void {
    this.clear();
    if (message) console.error(message);
  }

  /** Erases the line. */
  clear(): void {
    if (this.#drawn) this.#write("\r\x1b[K");
    this.#drawn = false;
  }

  #write(text: string): void {
    try {
      Deno.stderr.writeSync(this.#encoder.encode(text));
    } catch {
      // stderr is gone: nothing to show progress on
    }
  }
}
