// Copyright 2026 the exec-server authors. MIT license.
/**
 * The report: one row per measured series (its median, and exec-server's
 * speed relative to it), the checked targets, the machine, and the Markdown
 * tables `deno task bench` prints.
 *
 * @module
 */
import { type BenchConfig, type FigureId, FIGURES } from "./config.ts";
import type { FigureSamples, Series } from "./figures/mod.ts";
import type { PeerName } from "./peers.ts";
import { formatRatio, formatValue, formatWithUnit, markdownTable, median, ratio } from "./stats.ts";
import type { Unit } from "./stats.ts";
import {
  evaluateTargets,
  factOf,
  medianOf,
  type Metric,
  percentileOf,
  type Results,
  type Target,
} from "./targets.ts";

/** One line of the results table. */
export interface Row {
  /** Figure id. */
  figure: FigureId;
  /** What is measured. */
  measure: string;
  /** The median (or the named statistic), null when skipped. */
  value: number | null;
  /** Unit of `value`. */
  unit: Unit;
  /** How many samples the value summarizes. */
  samples: number;
  /**
   * exec-server's speed relative to this row (above 1: exec-server is
   * faster); null on exec-server's own rows and skipped ones.
   */
  speedup: number | null;
  /** Why the row has no value, or other remarks. */
  note: string | null;
}

/** The whole report (`--json`). */
export interface BenchReport {
  /** Report format version. */
  version: 1;
  /** Quick mode. */
  quick: boolean;
  /** ISO time the run started. */
  startedAt: string;
  /** Wall time of the run in seconds. */
  durationSeconds: number;
  /** The machine. */
  machine: {
    cpu: string;
    cores: number;
    memoryMB: number;
    os: string;
    deno: string;
    loadAverageStart: number[];
    loadAverageEnd: number[];
  };
  /** Peer versions (null when skipped). */
  peers: Record<PeerName, string | null>;
  /** The sizes and counts used. */
  config: BenchConfig;
  /** Figures that ran. */
  figures: FigureId[];
  /** The table. */
  rows: Row[];
  /** The targets. */
  targets: Target[];
  /** Skips, failures and remarks. */
  notes: string[];
}

/** The machine the bench runs on (the end load average is filled in later). */
export function machineInfo(): BenchReport["machine"] {
  let cpu = "unknown";
  let memoryMB = 0;
  try {
    cpu = /^model name\s*:\s*(.+)$/m.exec(Deno.readTextFileSync("/proc/cpuinfo"))?.[1] ?? cpu;
  } catch {
    // not Linux
  }
  try {
    const kb = /^MemTotal:\s+(\d+)/m.exec(Deno.readTextFileSync("/proc/meminfo"))?.[1];
    memoryMB = Math.round(Number(kb ?? 0) / 1024);
  } catch {
    // not Linux
  }
  return {
    cpu,
    cores: navigator.hardwareConcurrency,
    memoryMB,
    os: `${Deno.build.os} ${Deno.osRelease()} ${Deno.build.arch}`,
    deno: Deno.version.deno,
    loadAverageStart: Deno.loadavg(),
    loadAverageEnd: [],
  };
}

/** A row that is a statistic of a figure's samples rather than the median of one series. */
interface StatRow {
  measure: string | ((c: BenchConfig) => string);
  metric: Metric;
  /**
   * exec-server's own statistic this row is compared with, and whether lower
   * is better; exec-server's own rows have none.
   */
  versus?: { metric: Metric; lowerIsBetter: boolean };
}

const starts = (c: BenchConfig) => `${c.p4Clients} clients × ${c.p4Starts} starts`;
const latency = (who: string, p: number) => ({
  measure: (c: BenchConfig) => `${who}: process/start latency p${p} (${starts(c)})`,
  metric: percentileOf(who === "exec-server" ? "start" : "codexStart", p),
  ...(who === "exec-server"
    ? {}
    : { versus: { metric: percentileOf("start", p), lowerIsBetter: true } }),
});
const perSecond = { metric: medianOf("startRate"), lowerIsBetter: false };

/** Figures whose rows are statistics (listed here) instead of one median per series. */
const STAT_ROWS: Partial<Record<FigureId, StatRow[]>> = {
  P4: [
    latency("exec-server", 50),
    latency("exec-server", 99),
    { measure: "exec-server: starts per second", metric: medianOf("startRate") },
    {
      measure: "exec-server: errors (failed starts, timeouts, non-zero exits)",
      metric: factOf("errors"),
    },
    { measure: "exec-server: peak concurrent processes", metric: factOf("peakConcurrent") },
    latency("codex exec-server", 50),
    latency("codex exec-server", 99),
    {
      measure: "codex exec-server: starts per second",
      metric: medianOf("codexStartRate"),
      versus: perSecond,
    },
    {
      measure: "codex exec-server: errors",
      metric: factOf("codexErrors", "codexStart"),
    },
    {
      measure: "local Deno.Command: spawns per second, the same processes",
      metric: medianOf("localStartRate"),
      versus: perSecond,
    },
  ],
};

const medianOrNull = (s: Series | undefined) =>
  s && s.samples.length > 0 ? median(s.samples) : null;

/** The rows of one figure. */
function rowsOf(figure: FigureId, r: FigureSamples, config: BenchConfig): Row[] {
  const stats = STAT_ROWS[figure];
  if (stats) {
    return stats.map(({ measure, metric, versus }) => {
      const value = metric.value(r);
      const ours = versus ? versus.metric.value(r) : null;
      return {
        figure,
        measure: typeof measure === "string" ? measure : measure(config),
        value,
        unit: metric.unit(r),
        samples: metric.count(r),
        speedup: versus ? versus.lowerIsBetter ? ratio(value, ours) : ratio(ours, value) : null,
        note: value === null ? metric.why(r) ?? "not measured" : null,
      };
    });
  }
  return Object.values(r.series).map((s) => {
    const value = medianOrNull(s);
    const base = medianOrNull(r.series[s.against ?? r.subject]);
    const lowerIsBetter = s.unit === "ms" || s.unit === "MB";
    return {
      figure,
      measure: s.name,
      value,
      unit: s.unit,
      samples: s.samples.length,
      speedup: s.ours ? null : lowerIsBetter ? ratio(value, base) : ratio(base, value),
      note: s.note ?? null,
    };
  });
}

/** Builds rows and targets from the figures' samples. */
export function summarize(
  results: Results,
  config: BenchConfig,
): { rows: Row[]; targets: Target[] } {
  const rows = FIGURES.flatMap((f) => results[f] ? rowsOf(f, results[f], config) : []);
  return { rows, targets: evaluateTargets(results) };
}

const loads = (l: number[]) => l.length ? l.map((x) => x.toFixed(2)).join(" ") : "–";

/** The human-readable report: a results table and a targets table (Markdown). */
export function formatReport(report: BenchReport): string {
  const m = report.machine;
  const out: string[] = [];
  const mode = report.quick ? "quick mode (small sizes; not comparable)" : "full run";
  out.push(
    `exec-server bench, ${mode}: ${report.config.rounds} interleaved rounds; ` +
      `${report.durationSeconds.toFixed(0)} s`,
  );
  out.push(
    `machine: ${m.cpu}, ${m.cores} cores, ${m.memoryMB} MB RAM, ${m.os}, Deno ${m.deno}, ` +
      `load average ${loads(m.loadAverageStart)} at start, ${loads(m.loadAverageEnd)} at the end`,
  );
  out.push("");
  out.push(
    markdownTable(
      ["fig", "measure", "median", "unit", "exec-server speed vs row"],
      report.rows.map((r) => [
        r.figure,
        r.measure,
        r.value === null ? `skipped` : formatValue(r.value, r.unit),
        r.unit === "count" ? "" : r.unit,
        r.speedup === null ? "" : formatRatio(r.speedup),
      ]),
      [2, 4],
    ),
  );
  out.push("");
  out.push(
    markdownTable(
      ["fig", "target", "measured", "result"],
      report.targets.map((t) => [
        t.figure,
        t.target,
        formatWithUnit(t.value, t.unit),
        t.met === null ? "not measured" : t.met ? "met" : "MISSED",
      ]),
      [2],
    ),
  );
  const skipped = report.rows.filter((r) => r.note !== null);
  if (report.notes.length > 0 || skipped.length > 0) {
    out.push("");
    out.push("notes:");
    const seen = new Set<string>();
    for (const r of skipped) {
      const line = `${r.figure} ${r.measure}: ${r.note}`;
      if (!seen.has(line)) out.push(`- ${line}`);
      seen.add(line);
    }
    for (const n of report.notes) {
      if (!seen.has(n)) out.push(`- ${n}`);
      seen.add(n);
    }
  }
  return out.join("\n");
}
