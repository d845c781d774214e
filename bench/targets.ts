// Copyright 2026 the exec-server authors. MIT license.
/**
 * The targets as one table ({@linkcode TARGETS}), checked by one
 * evaluator ({@linkcode evaluateTargets}). A target reads one metric from
 * its figure's samples (a median, a percentile, a fact, or the ratio of two
 * medians) and compares it with a threshold.
 *
 * Comparing with a new peer is a row per target, e.g. for a peer whose
 * series key is `codex` in P1:
 *
 * ```ts ignore
 * { figure: "P1", target: "≥ 10× faster than codex", metric: ratioOf("codex", "server"), is: ">=", threshold: 10 },
 * ```
 *
 * @module
 */
import type { FigureId } from "./config.ts";
import type { FigureSamples } from "./figures/mod.ts";
import { median, percentile, ratio, type Unit } from "./stats.ts";

/** The samples of every figure that ran. */
export type Results = Partial<Record<FigureId, FigureSamples>>;

/** A number computed from one figure's samples. */
export interface Metric {
  /** The value, or null when it could not be measured. */
  value(r: FigureSamples): number | null;
  /** What it is in. */
  unit(r: FigureSamples): Unit;
  /** How many samples it summarizes. */
  count(r: FigureSamples): number;
  /** Why it could not be measured (the note of a series it needs), or null. */
  why(r: FigureSamples): string | null;
}

function whyNot(r: FigureSamples, keys: string[]): string | null {
  for (const key of keys) {
    const s = r.series[key];
    if (!s) return `no samples of ${key}`;
    if (s.samples.length === 0) return s.note ?? `no samples of ${s.name}`;
  }
  return null;
}

/** A statistic of one series: null when it has no samples. */
function statOf(key: string, stat: (samples: number[]) => number): Metric {
  return {
    value: (r) => {
      const samples = r.series[key]?.samples ?? [];
      return samples.length === 0 ? null : stat(samples);
    },
    unit: (r) => r.series[key]?.unit ?? "count",
    count: (r) => r.series[key]?.samples.length ?? 0,
    why: (r) => whyNot(r, [key]),
  };
}

/** The median of series `key`. */
export function medianOf(key: string): Metric {
  return statOf(key, median);
}

/** The nearest-rank percentile `p` (0–100) of series `key`. */
export function percentileOf(key: string, p: number): Metric {
  return statOf(key, (samples) => percentile(samples, p));
}

/**
 * A scalar fact of the figure (an error count, a peak); null when no round
 * completed. When the fact is missing, the note of series `explainedBy`
 * (e.g. the skipped peer's) says why.
 */
export function factOf(key: string, explainedBy?: string): Metric {
  return {
    value: (r) => r.rounds > 0 ? r.facts[key] ?? null : null,
    unit: () => "count",
    count: (r) => r.rounds,
    why: (r) => {
      if (r.rounds === 0) return "no round";
      if (r.facts[key] !== undefined) return null;
      return (explainedBy && r.series[explainedBy]?.note) || `no fact ${key}`;
    },
  };
}

/** `a / b` of two metrics, a ratio (×); null when either is unknown. */
export function quotientOf(a: Metric, b: Metric): Metric {
  return {
    value: (r) => ratio(a.value(r), b.value(r)),
    unit: () => "x",
    count: (r) => Math.min(a.count(r), b.count(r)),
    why: (r) => a.why(r) ?? b.why(r),
  };
}

/** `median(of) / median(to)`, a ratio (×); null when either has no samples. */
export function ratioOf(of: string, to: string): Metric {
  return quotientOf(medianOf(of), medianOf(to));
}

/** How a measured value must compare with the threshold. */
export type Comparator = "<" | "<=" | "==" | ">=" | ">";

const COMPARE: Record<Comparator, (v: number, t: number) => boolean> = {
  "<": (v, t) => v < t,
  "<=": (v, t) => v <= t,
  "==": (v, t) => v === t,
  ">=": (v, t) => v >= t,
  ">": (v, t) => v > t,
};

/** One of the targets. */
export interface TargetSpec {
  /** The figure whose samples it reads. */
  figure: FigureId;
  /** The target, in words (with the comparison and the threshold). */
  target: string;
  /** What is measured. */
  metric: Metric;
  /** How it must compare with `threshold`. */
  is: Comparator;
  /** The threshold. */
  threshold: number;
}

/**
 * The targets. A ratio's first series is the one on top: for latencies
 * (lower is better) "n× faster than X" is `ratioOf("X", "server")`, for
 * throughputs "n× X" is `ratioOf("server", "X")`.
 */
export const TARGETS: readonly TargetSpec[] = [
  {
    figure: "P1",
    target: "median ≤ 1.3× local Deno.Command spawn+wait (piped)",
    metric: ratioOf("server", "localPiped"),
    is: "<=",
    threshold: 1.3,
  },
  {
    figure: "P1",
    target: "≥ 10× faster than codex exec-server",
    metric: ratioOf("codex", "server"),
    is: ">=",
    threshold: 10,
  },
  {
    figure: "P1",
    target: "≥ 1.5× faster than websocketd (connect + spawn + close)",
    metric: ratioOf("websocketd", "server"),
    is: ">=",
    threshold: 1.5,
  },
  {
    figure: "P2",
    target: "binary frames ≥ 85% of the local read",
    metric: ratioOf("binary", "local"),
    is: ">=",
    threshold: 0.85,
  },
  {
    figure: "P2",
    target: "JSON mode ≥ 50% of the local read",
    metric: ratioOf("json", "local"),
    is: ">=",
    threshold: 0.5,
  },
  {
    figure: "P2",
    target: "JSON mode ≥ 1.5× codex exec-server (the same wire)",
    metric: ratioOf("json", "codex"),
    is: ">=",
    threshold: 1.5,
  },
  {
    figure: "P2",
    target: "binary frames ≥ 1.5× ssh",
    metric: ratioOf("binary", "ssh"),
    is: ">=",
    threshold: 1.5,
  },
  {
    figure: "P3",
    target: "PTY (binary frames, end to end) ≥ 90% of script -qfec",
    metric: ratioOf("binary", "script"),
    is: ">=",
    threshold: 0.9,
  },
  { figure: "P4", target: "zero errors", metric: factOf("errors"), is: "==", threshold: 0 },
  {
    figure: "P4",
    target: "start latency p99 ≤ 3× p50",
    metric: quotientOf(percentileOf("start", 99), percentileOf("start", 50)),
    is: "<=",
    threshold: 3,
  },
  {
    figure: "P4",
    target: "starts per second ≥ 2× codex exec-server",
    metric: ratioOf("startRate", "codexStartRate"),
    is: ">=",
    threshold: 2,
  },
  {
    figure: "P4",
    target: "starts per second ≥ 50% of the local spawn rate",
    metric: ratioOf("startRate", "localStartRate"),
    is: ">=",
    threshold: 0.5,
  },
  {
    figure: "P5",
    target: "idle RSS ≤ 50 MB",
    metric: medianOf("rssIdle"),
    is: "<=",
    threshold: 50,
  },
  {
    figure: "P5",
    target: "peak RSS with the P4 processes ≤ 1× codex exec-server's",
    metric: ratioOf("rssPeak", "codexRssPeak"),
    is: "<=",
    threshold: 1,
  },
  {
    figure: "P6",
    target: "process/write ≥ 1.5× codex exec-server",
    metric: ratioOf("server", "codex"),
    is: ">=",
    threshold: 1.5,
  },
  {
    figure: "P6",
    target: "process/write ≥ 200 MB/s",
    metric: medianOf("server"),
    is: ">=",
    threshold: 200,
  },
];

/** A target checked against this run's figures. */
export interface Target {
  /** Figure id. */
  figure: FigureId;
  /** The target, in words. */
  target: string;
  /** The measured value (null when it could not be measured). */
  value: number | null;
  /** What `value` is in. */
  unit: Unit;
  /** How it must compare with `threshold`. */
  comparator: Comparator;
  /** The threshold. */
  threshold: number;
  /** True when met, false when missed, null when not measured. */
  met: boolean | null;
  /** Why it was not measured, or null. */
  note: string | null;
}

/** Checks every target whose figure ran, in table order. */
export function evaluateTargets(
  results: Results,
  targets: readonly TargetSpec[] = TARGETS,
): Target[] {
  const out: Target[] = [];
  for (const t of targets) {
    const r = results[t.figure];
    if (!r) continue;
    const value = t.metric.value(r);
    out.push({
      figure: t.figure,
      target: t.target,
      value,
      unit: t.metric.unit(r),
      comparator: t.is,
      threshold: t.threshold,
      met: value === null ? null : COMPARE[t.is](value, t.threshold),
      note: value === null ? t.metric.why(r) ?? "not measured" : null,
    });
  }
  return out;
}
