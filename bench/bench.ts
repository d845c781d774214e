// Copyright 2026 the exec-server authors. MIT license.
/**
 * `deno task bench`: the exec-server against its baselines (local
 * `Deno.Command`, websocketd, OpenSSH, util-linux `script`), interleaved
 * round by round in one run. Prints medians, ratios and the issue's targets as
 * a table (or JSON with `--json`), with progress on stderr.
 *
 * Usage: `deno run -A bench/bench.ts [--quick] [--json] [--only P1,P2] [--no-install]`
 *
 * - `--quick`: small sizes, well under a minute; never installs packages.
 * - `--json`: print the report as JSON on stdout instead of the table.
 * - `--only P1,P4`: run only these figures (P4 and P5 always run together).
 * - `--no-install`: do not apt-get install missing peers (they are skipped).
 * - `--rounds N`: interleaved rounds for P1, P2, P3 and P6.
 * - `--skip websocketd,ssh,script`: leave these peers out (as if not installed).
 *
 * The peers run on 127.0.0.1 only, from a temporary directory that is removed
 * on exit; every process the bench starts is stopped on exit (also on SIGINT
 * and SIGTERM).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { BenchClient } from "./client.ts";
import {
  type BenchConfig,
  type BenchContext,
  type FigureSamples,
  FULL,
  median,
  p1,
  p2,
  p3,
  p4p5,
  p6,
  quantile,
  QUICK,
} from "./figures.ts";
import {
  APT_PACKAGES,
  Cleanup,
  ensurePackages,
  run,
  startServer,
  startSshd,
  startWebsocketd,
} from "./peers.ts";

/** Figure ids. */
export const FIGURES = ["P1", "P2", "P3", "P4", "P5", "P6"] as const;
/** A figure id. */
export type FigureId = typeof FIGURES[number];

/** One line of the results table. */
export interface Row {
  /** Figure id. */
  figure: FigureId;
  /** What is measured. */
  measure: string;
  /** The median (or the named statistic), null when skipped. */
  value: number | null;
  /** Unit of `value`. */
  unit: "ms" | "MB/s" | "MB" | "count";
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

/** One of the issue's targets, checked from this run's figures. */
export interface Target {
  /** Figure id. */
  figure: FigureId;
  /** The target, in words. */
  target: string;
  /** The measured ratio or value (null when it could not be measured). */
  value: number | null;
  /** How `value` is shown: a ratio (×), ms, MB or MB/s. */
  unit: "x" | "ms" | "MB" | "MB/s" | "count";
  /** True when met, false when missed, null when not measured. */
  met: boolean | null;
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
  peers: { websocketd: string | null; ssh: string | null; script: string | null };
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

function machineInfo(): BenchReport["machine"] {
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

const val = (s: { samples: number[] } | undefined) =>
  s && s.samples.length > 0 ? median(s.samples) : null;

/** Builds rows and targets from the figures' samples. */
export function summarize(
  results: Partial<Record<"P1" | "P2" | "P3" | "P4" | "P6", FigureSamples>>,
  config: BenchConfig,
): { rows: Row[]; targets: Target[] } {
  const rows: Row[] = [];
  const targets: Target[] = [];
  const ratio = (a: number | null, b: number | null) =>
    a === null || b === null || b === 0 ? null : a / b;
  const check = (
    figure: FigureId,
    target: string,
    value: number | null,
    unit: Target["unit"],
    ok: (v: number) => boolean,
  ) => targets.push({ figure, target, value, unit, met: value === null ? null : ok(value) });
  /** Rows for one interleaved figure; `subject` is exec-server's key. */
  const series = (
    figure: FigureId,
    r: FigureSamples,
    unit: Row["unit"],
    subject: string,
    ours: string[],
    lowerIsBetter: boolean,
    against: Record<string, string> = {},
  ) => {
    for (const [key, s] of Object.entries(r.series)) {
      const base = val(r.series[against[key] ?? subject]);
      const v = val(s);
      const mine = ours.includes(key);
      rows.push({
        figure,
        measure: s.name,
        value: v,
        unit,
        samples: s.samples.length,
        speedup: mine ? null : lowerIsBetter ? ratio(v, base) : ratio(base, v),
        note: s.note ?? null,
      });
    }
  };
  const P1 = results.P1;
  if (P1) {
    series("P1", P1, "ms", "server", ["server"], true);
    const server = val(P1.series.server);
    check(
      "P1",
      "median ≤ 1.3× local Deno.Command spawn+wait (piped)",
      ratio(server, val(P1.series.localPiped)),
      "x",
      (v) => v <= 1.3,
    );
    check(
      "P1",
      "≥ 1.5× faster than websocketd (connect + spawn + close)",
      ratio(val(P1.series.websocketd), server),
      "x",
      (v) => v >= 1.5,
    );
  }
  const P2 = results.P2;
  if (P2) {
    series("P2", P2, "MB/s", "binary", ["binary", "json"], false);
    const local = val(P2.series.local);
    check(
      "P2",
      "JSON mode ≥ 50% of the local read",
      ratio(val(P2.series.json), local),
      "x",
      (v) => v >= 0.5,
    );
    check(
      "P2",
      "binary frames ≥ 85% of the local read",
      ratio(val(P2.series.binary), local),
      "x",
      (v) => v >= 0.85,
    );
    check(
      "P2",
      "binary frames ≥ 1.5× ssh",
      ratio(val(P2.series.binary), val(P2.series.ssh)),
      "x",
      (v) => v >= 1.5,
    );
  }
  const P3 = results.P3;
  if (P3) {
    series("P3", P3, "MB/s", "binary", ["binary", "json", "backend"], false, {
      backendScript: "backend",
    });
    const spawn = (measure: string, value: number | undefined, speedup: number | null) =>
      rows.push({
        figure: "P3",
        measure,
        value: value ?? null,
        unit: "ms",
        samples: config.p3Backend.rounds * config.p3Backend.spawnRuns,
        speedup,
        note: value === undefined ? "not measured" : null,
      });
    const ours = P3.facts.backendSpawnMedianMs;
    const theirs = P3.facts.scriptSpawnMedianMs;
    if (ours !== undefined) {
      spawn("lib/process/pty.ts spawnPty `true` → exit and EOF (in-process)", ours, null);
      spawn(
        "util-linux script -qfec true (bench/pty.ts)",
        theirs,
        theirs === undefined ? null : theirs / ours,
      );
    }
    check(
      "P3",
      "PTY (binary frames, end to end) ≥ 90% of script -qfec",
      ratio(val(P3.series.binary), val(P3.series.script)),
      "x",
      (v) => v >= 0.9,
    );
  }
  const P4 = results.P4;
  if (P4) {
    const start = P4.series.start!.samples;
    const has = start.length > 0;
    const p50 = has ? quantile(start, 0.5) : null;
    const p99 = has ? quantile(start, 0.99) : null;
    const label = `${config.p4Clients} clients × ${config.p4Starts} starts`;
    rows.push(
      {
        figure: "P4",
        measure: `process/start latency p50 (${label})`,
        value: p50,
        unit: "ms",
        samples: start.length,
        speedup: null,
        note: null,
      },
      {
        figure: "P4",
        measure: `process/start latency p99 (${label})`,
        value: p99,
        unit: "ms",
        samples: start.length,
        speedup: null,
        note: null,
      },
      {
        figure: "P4",
        measure: "process/start throughput, starts per second",
        value: val(P4.series.startRate),
        unit: "count",
        samples: P4.series.startRate!.samples.length,
        speedup: null,
        note: null,
      },
      {
        figure: "P4",
        measure: "errors (failed starts, timeouts, non-zero exits)",
        value: P4.facts.errors ?? null,
        unit: "count",
        samples: P4.rounds,
        speedup: null,
        note: null,
      },
      {
        figure: "P4",
        measure: "peak concurrent processes",
        value: P4.facts.peakConcurrent ?? null,
        unit: "count",
        samples: P4.rounds,
        speedup: null,
        note: null,
      },
    );
    check("P4", "zero errors", P4.rounds > 0 ? P4.facts.errors! : null, "count", (v) => v === 0);
    check("P4", "p99 start latency < 20 ms", p99, "ms", (v) => v < 20);
    for (const key of ["rssIdle", "rssSessions", "rssPeak"]) {
      const s = P4.series[key]!;
      const v = val(s);
      rows.push({
        figure: "P5",
        measure: s.name,
        value: v === null ? null : v / 1e6,
        unit: "MB",
        samples: s.samples.length,
        speedup: null,
        note: null,
      });
    }
    const idle = val(P4.series.rssIdle);
    check("P5", "idle RSS ≤ 60 MB", idle === null ? null : idle / 1e6, "MB", (v) => v <= 60);
  }
  const P6 = results.P6;
  if (P6) {
    series("P6", P6, "MB/s", "server", ["server"], false);
    check("P6", "process/write ≥ 200 MB/s", val(P6.series.server), "MB/s", (v) => v >= 200);
  }
  return { rows, targets };
}

function num(v: number | null, unit: string): string {
  if (v === null || !Number.isFinite(v)) return "–";
  if (unit === "count") return String(Math.round(v));
  if (unit === "ms") return v < 10 ? v.toFixed(2) : v.toFixed(1);
  return v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : v.toFixed(0);
}

function table(head: string[], body: string[][], right: number[]): string {
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
      `load average ${m.loadAverageStart.map((x) => x.toFixed(2)).join(" ")} at start`,
  );
  out.push("");
  out.push(
    table(
      ["fig", "measure", "median", "unit", "exec-server speed vs row"],
      report.rows.map((r) => [
        r.figure,
        r.measure,
        r.value === null ? `skipped` : num(r.value, r.unit),
        r.unit === "count" ? "" : r.unit,
        r.speedup === null ? "" : `${r.speedup.toFixed(2)}×`,
      ]),
      [2, 4],
    ),
  );
  out.push("");
  out.push(
    table(
      ["fig", "target", "measured", "result"],
      report.targets.map((t) => [
        t.figure,
        t.target,
        t.value === null
          ? "–"
          : t.unit === "x"
          ? `${t.value.toFixed(2)}×`
          : `${num(t.value, t.unit)}${t.unit === "count" ? "" : ` ${t.unit}`}`,
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
    for (const n of report.notes) if (!seen.has(n)) out.push(`- ${n}`);
  }
  return out.join("\n");
}

/** Parses `--only P1,P2` (case-insensitive); P4 and P5 always go together. */
export function parseOnly(value: string | undefined): Set<FigureId> {
  if (!value) return new Set(FIGURES);
  const ids = value.split(",").map((s) => s.trim().toUpperCase()).filter(Boolean);
  const out = new Set<FigureId>();
  for (const id of ids) {
    if (!(FIGURES as readonly string[]).includes(id)) {
      throw new Error(`Unknown figure ${id} in --only: expected some of ${FIGURES.join(",")}`);
    }
    out.add(id as FigureId);
  }
  // P4 and P5 are measured on the same servers.
  if (out.has("P4") || out.has("P5")) {
    out.add("P4");
    out.add("P5");
  }
  return out;
}

/** Runs the bench and returns the report. */
export async function runBench(options: {
  quick?: boolean;
  only?: Set<FigureId>;
  install?: boolean;
  rounds?: number;
  skip?: Set<string>;
  progress?: (line: string) => void;
}): Promise<BenchReport> {
  const quick = options.quick ?? false;
  const config: BenchConfig = { ...(quick ? QUICK : FULL) };
  if (options.rounds) config.rounds = options.rounds;
  const only = options.only ?? new Set(FIGURES);
  const t0 = Date.now();
  const progress = (line: string) =>
    (options.progress ?? console.error)(`[${((Date.now() - t0) / 1000).toFixed(1)}s] ${line}`);
  const machine = machineInfo();
  const notes: string[] = [];
  const cleanup = new Cleanup();
  const onSignal = () => {
    progress("interrupted: cleaning up");
    cleanup.runAll().finally(() => Deno.exit(130));
  };
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  try {
    const dir = await Deno.makeTempDir({ prefix: "exec-server-bench-" });
    cleanup.add(`temporary directory ${dir}`, () => Deno.remove(dir, { recursive: true }));
    const needPeers = only.has("P1") || only.has("P2") || only.has("P6");
    if (needPeers) {
      const install = options.install ?? !quick;
      progress(install ? "checking peers (installing missing ones)" : "checking peers");
      notes.push(...await ensurePackages(install, progress));
    }
    let websocketd: string | null = null;
    let websocketdNote = "not needed";
    let websocketdVersion: string | null = null;
    const skip = options.skip ?? new Set<string>();
    if (skip.has("websocketd")) {
      websocketdNote = "websocketd skipped: --skip websocketd";
      notes.push(websocketdNote);
    } else if (only.has("P1") || only.has("P2")) {
      try {
        const w = await startWebsocketd(cleanup, dir);
        websocketd = w.url;
        websocketdVersion = w.version;
        progress(`websocketd on ${w.url}`);
      } catch (err) {
        websocketdNote = `websocketd skipped: ${(err as Error).message}`;
        notes.push(websocketdNote);
        progress(websocketdNote);
      }
    }
    let ssh: string[] | null = null;
    let sshNote = "not needed";
    let sshVersion: string | null = null;
    if (skip.has("ssh")) {
      sshNote = "ssh skipped: --skip ssh";
      notes.push(sshNote);
    } else if (needPeers) {
      try {
        const s = await startSshd(cleanup, dir);
        ssh = s.args;
        sshVersion = s.version;
        progress(`sshd on 127.0.0.1 with a ControlMaster connection (${s.version})`);
      } catch (err) {
        sshNote = `ssh skipped: ${(err as Error).message}`;
        notes.push(sshNote);
        progress(sshNote);
      }
    }
    let script = false;
    let scriptNote = "not needed";
    let scriptVersion: string | null = null;
    if (skip.has("script")) {
      scriptNote = "util-linux script skipped: --skip script";
      notes.push(scriptNote);
    } else if (only.has("P3")) {
      try {
        const r = await run("script", ["-qfec", "true", "/dev/null"], { timeoutMs: 10_000 });
        if (r.code !== 0) throw new Error(`exit code ${r.code}: ${r.stderr.trim()}`);
        script = true;
        scriptVersion = (await run("script", ["--version"], { timeoutMs: 5000 })).stdout.trim();
      } catch (err) {
        scriptNote = `util-linux script skipped: ${(err as Error).message}`;
        notes.push(scriptNote);
      }
    }
    const results: Partial<Record<"P1" | "P2" | "P3" | "P4" | "P6", FigureSamples>> = {};
    const shared = only.has("P1") || only.has("P2") || only.has("P3") || only.has("P6");
    if (shared) {
      // The shared server keeps finished processes readable for 30 s (the
      // default), so it is allowed more of them than the default 1024.
      const server = await startServer(cleanup, [
        "--log-level",
        "warn",
        "--max-processes",
        "65536",
      ]);
      progress(`exec-server on ${server.url} (pid ${server.pid})`);
      const json = await BenchClient.connect(server.url);
      const binary = await BenchClient.connect(server.url, { binaryOutput: true });
      const ctx: BenchContext = {
        config,
        cleanup,
        server,
        json,
        binary,
        websocketd,
        websocketdNote,
        ssh,
        sshNote,
        script,
        scriptNote,
        progress,
      };
      const figures = [["P1", p1], ["P2", p2], ["P3", p3], ["P6", p6]] as const;
      try {
        for (const [id, figure] of figures) {
          if (!only.has(id)) continue;
          try {
            results[id] = await figure(ctx);
          } catch (err) {
            const msg = `${id} failed: ${(err as Error).message}`;
            notes.push(msg);
            progress(msg);
          }
        }
      } finally {
        await json.close();
        await binary.close();
        await server.stop();
      }
    }
    if (only.has("P4")) {
      try {
        results.P4 = await p4p5({ config, cleanup, progress });
      } catch (err) {
        const msg = `P4/P5 failed: ${(err as Error).message}`;
        notes.push(msg);
        progress(msg);
      }
    }
    for (const r of Object.values(results)) notes.push(...r.notes);
    const { rows, targets } = summarize(results, config);
    machine.loadAverageEnd = Deno.loadavg();
    return {
      version: 1,
      quick,
      startedAt: new Date(t0).toISOString(),
      durationSeconds: (Date.now() - t0) / 1000,
      machine,
      peers: { websocketd: websocketdVersion, ssh: sshVersion, script: scriptVersion },
      config,
      figures: FIGURES.filter((f) => only.has(f)),
      rows,
      targets,
      notes,
    };
  } finally {
    await cleanup.runAll();
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
  }
}

const HELP = `Usage: deno task bench [--quick] [--json] [--only P1,P2] [--no-install] [--rounds N]
                       [--skip websocketd,ssh,script]

Benchmarks the exec-server against local Deno.Command, websocketd, OpenSSH and
util-linux script, interleaved in one run, and checks the targets of issue 10.
Missing peers are installed with apt-get (${APT_PACKAGES.join(", ")}) when running
as root, unless --quick or --no-install; a peer that cannot run is skipped with a note.
Progress goes to stderr; the table (or --json) to stdout.`;

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      quick: { type: "boolean" },
      json: { type: "boolean" },
      only: { type: "string" },
      "no-install": { type: "boolean" },
      skip: { type: "string" },
      install: { type: "boolean" },
      rounds: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(HELP);
    Deno.exit(0);
  }
  const rounds = values.rounds === undefined ? undefined : Number(values.rounds);
  if (rounds !== undefined && !(Number.isInteger(rounds) && rounds > 0 && rounds <= 100)) {
    console.error("--rounds must be an integer from 1 to 100");
    Deno.exit(2);
  }
  let only: Set<FigureId>;
  try {
    only = parseOnly(values.only);
  } catch (err) {
    console.error((err as Error).message);
    Deno.exit(2);
  }
  const install = values["no-install"] ? false : values.install ? true : undefined;
  const skip = new Set((values.skip ?? "").split(",").map((x) => x.trim()).filter(Boolean));
  for (const peer of skip) {
    if (!["websocketd", "ssh", "script"].includes(peer)) {
      console.error(`Unknown peer ${peer} in --skip: expected websocketd, ssh or script`);
      Deno.exit(2);
    }
  }
  const report = await runBench({
    quick: values.quick ?? false,
    only,
    ...(install === undefined ? {} : { install }),
    skip,
    ...(rounds === undefined ? {} : { rounds }),
  });
  console.log(values.json ? JSON.stringify(report, null, 2) : formatReport(report));
}
