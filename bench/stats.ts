// Copyright 2026 the exec-server authors. MIT license.
/**
 * The statistics and number formatting every figure, the report and the
 * target checks use: one median, one percentile, one ratio, one way to print
 * them.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatRatio, median, percentile, ratio } from "./stats.ts";
 * assert.equal(median([3, 1, 2, 10]), 2.5);
 * assert.equal(percentile([1, 2, 3, 4], 99), 4);
 * assert.equal(formatRatio(ratio(2, 1)), "2.00×");
 * ```
 *
 * @module
 */

/** What a measured value is in: time, throughput, size, a count, or a ratio (×). */
export type Unit = "ms" | "MB/s" | "MB" | "count" | "x";

function sortedCopy(values: readonly number[]): number[] {
  return values.toSorted((a, b) => a - b);
}

/**
 * The median: the middle value, or the mean of the middle two for an even
 * count; NaN when there are none.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { median } from "./stats.ts";
 * assert.equal(median([5, 1, 3]), 3);
 * assert.ok(Number.isNaN(median([])));
 * ```
 */
export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = sortedCopy(values);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * The nearest-rank percentile `p` (0–100): the smallest value with at least
 * p % of the values at or below it; NaN when there are none.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { percentile } from "./stats.ts";
 * const ten = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
 * assert.equal(percentile(ten, 50), 5);
 * assert.equal(percentile(ten, 90), 9);
 * assert.equal(percentile(ten, 99), 10);
 * ```
 */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = sortedCopy(values);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

/** Median, 90th and 99th percentile of latencies. */
export interface LatencySummary {
  /** Median. */
  median: number;
  /** 90th percentile. */
  p90: number;
  /** 99th percentile. */
  p99: number;
}

/** The median, p90 and p99 of `values` (NaN each when there are none). */
export function latencySummary(values: readonly number[]): LatencySummary {
  return { median: median(values), p90: percentile(values, 90), p99: percentile(values, 99) };
}

/**
 * `a / b`, or null when either is unknown (null or NaN) or `b` is 0.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ratio } from "./stats.ts";
 * assert.equal(ratio(3, 2), 1.5);
 * assert.equal(ratio(null, 2), null);
 * assert.equal(ratio(1, 0), null);
 * ```
 */
export function ratio(a: number | null, b: number | null): number | null {
  if (a === null || b === null || Number.isNaN(a) || Number.isNaN(b) || b === 0) return null;
  return a / b;
}

/** Throughput in MB/s (10^6 bytes per second) of `bytes` moved in `ms`. */
export function mbps(bytes: number, ms: number): number {
  return bytes / 1e6 / (ms / 1000);
}

/** `n` with `digits` decimals, or "-" when it is not a finite number (progress lines). */
export function fixed(n: number, digits = 2): string {
  return Number.isFinite(n) ? n.toFixed(digits) : "-";
}

/**
 * A measured value for a table: counts as integers, small values with two
 * decimals, larger ones with fewer; "–" when unknown.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatValue } from "./stats.ts";
 * assert.equal(formatValue(1.234, "ms"), "1.23");
 * assert.equal(formatValue(412.6, "MB/s"), "413");
 * assert.equal(formatValue(null, "MB"), "–");
 * ```
 */
export function formatValue(v: number | null, unit: Unit): string {
  if (v === null || !Number.isFinite(v)) return "–";
  if (unit === "count") return String(Math.round(v));
  if (unit === "x") return formatRatio(v);
  if (unit === "ms") return v < 10 ? v.toFixed(2) : v.toFixed(1);
  return v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : v.toFixed(0);
}

/** A value with its unit ("1.99×", "40.3 ms", "0"); "–" when unknown. */
export function formatWithUnit(v: number | null, unit: Unit): string {
  if (v === null || !Number.isFinite(v)) return "–";
  if (unit === "x" || unit === "count") return formatValue(v, unit);
  return `${formatValue(v, unit)} ${unit}`;
}

/** A ratio as "1.23×"; "–" when unknown. */
export function formatRatio(v: number | null, digits = 2): string {
  return v === null || !Number.isFinite(v) ? "–" : `${v.toFixed(digits)}×`;
}

/**
 * A Markdown table with columns padded to their widest cell; the columns
 * whose indexes are in `right` are right-aligned.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { markdownTable } from "./stats.ts";
 * assert.equal(
 *   markdownTable(["a", "n"], [["x", "10"]], [1]),
 *   "| a |  n |\n| - | -: |\n| x | 10 |",
 * );
 * ```
 */
export function markdownTable(head: string[], body: string[][], right: number[] = []): string {
  const widths = head.map((h, c) => Math.max(h.length, ...body.map((r) => r[c]!.length)));
  const line = (cells: string[]) =>
    "| " +
    cells.map((cell, c) => right.includes(c) ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!))
      .join(" | ") +
    " |";
  const sep = "|" +
    widths.map((w, c) => right.includes(c) ? ` ${"-".repeat(w - 1)}: ` : ` ${"-".repeat(w)} `)
      .join("|") +
    "|";
  return [line(head), sep, ...body.map(line)].join("\n");
}
