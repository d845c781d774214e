// Copyright 2026 the exec-server authors. MIT license.
/**
 * Benchmarks the FFI terminal backend (`lib/process/pty.ts`) against util-linux
 * `script`, in interleaved rounds: throughput of `head -c N /dev/zero` and
 * the latency of starting `true` until its exit and end-of-file.
 *
 * Usage: `./scripts/deno run -A bench/pty.ts [--quick] [--json]`
 *
 * @module
 */
import { parseArgs } from "node:util";
import type { ChildSink, SpawnOptions } from "../lib/process/child.ts";
import { spawnPty } from "../lib/process/pty.ts";
import { messageOf } from "../lib/util/mod.ts";
import {
  formatRatio,
  formatValue,
  type LatencySummary,
  latencySummary,
  markdownTable,
  mbps,
  median,
} from "./stats.ts";

export type { LatencySummary };

/** Options for {@linkcode runPtyBench}. */
export interface PtyBenchOptions {
  /** Interleaved rounds. @default {5} */
  rounds?: number;
  /** Bytes of zeros per throughput run. @default {100_000_000} */
  bytes?: number;
  /** Spawns of `true` per round and backend. @default {200} */
  spawnRuns?: number;
  /** Compare with util-linux `script` when it is installed. @default {true} */
  baseline?: boolean;
}

/** Figures from {@linkcode runPtyBench}; `script` fields are null when it is skipped. */
export interface PtyBenchResult {
  /** The options used, with defaults filled in. */
  options: Required<PtyBenchOptions>;
  /** Throughput in MB/s (10^6 bytes per second), one figure per round. */
  throughput: {
    pty: number[];
    script: number[] | null;
    ptyMedian: number;
    scriptMedian: number | null;
    /** `ptyMedian / scriptMedian`; above 1 means the FFI PTY is faster. */
    ratio: number | null;
  };
  /** Spawn-to-exit-and-EOF latency of `true`, over all rounds. */
  spawn: {
    pty: LatencySummary;
    script: LatencySummary | null;
    /** `script.median / pty.median`; above 1 means the FFI PTY is faster. */
    ratio: number | null;
    /** Every latency in ms, in the order measured. */
    samples: { pty: number[]; script: number[] | null };
  };
  /** Why the `script` baseline was skipped, or null. */
  note: string | null;
}

function ptyOptions(argv: string[]): SpawnOptions {
  return {
    argv,
    arg0: null,
    cwd: "/",
    env: { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin" },
    tty: true,
    pipeStdin: false,
    size: { rows: 24, cols: 80 },
  };
}

/** Runs `argv` on a PTY; resolves with the byte count once it exited and hit EOF. */
async function runPty(argv: string[]): Promise<number> {
  const { promise, resolve } = Promise.withResolvers<number>();
  let bytes = 0;
  let ended = false;
  let exited = false;
  const sink: ChildSink = {
    output: (_stream, data) => {
      bytes += data.length;
    },
    end: () => {
      ended = true;
      if (exited) resolve(bytes);
    },
    exit: () => {
      exited = true;
      if (ended) resolve(bytes);
    },
  };
  await spawnPty(ptyOptions(argv), sink);
  return await promise;
}

/** Runs `script -qfec command /dev/null`; resolves with the bytes it printed. */
async function runScript(command: string): Promise<number> {
  const child = new Deno.Command("script", {
    args: ["-qfec", command, "/dev/null"],
    stdin: "null",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  let bytes = 0;
  for await (const chunk of child.stdout) bytes += chunk.length;
  const status = await child.status;
  if (!status.success) throw new Error(`Cannot run script: exit code ${status.code}`);
  return bytes;
}

async function timed(run: () => Promise<number>, expected: number | null): Promise<number> {
  const start = performance.now();
  const bytes = await run();
  const elapsed = performance.now() - start;
  if (expected !== null && bytes !== expected) {
    throw new Error(`Cannot trust the run: expected ${expected} bytes, received ${bytes}`);
  }
  return elapsed;
}

async function scriptAvailable(): Promise<string | null> {
  try {
    await runScript("true");
    return null;
  } catch (error) {
    return error instanceof Deno.errors.NotFound
      ? "util-linux `script` is not installed: the baseline is skipped"
      : `util-linux \`script\` does not work (${messageOf(error)}): the baseline is skipped`;
  }
}

/**
 * Measures throughput and spawn latency of `spawnPty` and, when available,
 * of util-linux `script`, alternating between them round by round.
 *
 * Needs `--allow-ffi --allow-run --allow-env --allow-read`.
 *
 * @param options Rounds and sizes; see {@linkcode PtyBenchOptions}.
 * @returns The figures.
 */
export async function runPtyBench(options: PtyBenchOptions = {}): Promise<PtyBenchResult> {
  const opts: Required<PtyBenchOptions> = {
    rounds: options.rounds ?? 5,
    bytes: options.bytes ?? 100_000_000,
    spawnRuns: options.spawnRuns ?? 200,
    baseline: options.baseline ?? true,
  };
  const note = opts.baseline ? await scriptAvailable() : "baseline disabled";
  const withScript = note === null;
  const head = ["head", "-c", String(opts.bytes), "/dev/zero"];
  const ptyRates: number[] = [];
  const scriptRates: number[] = [];
  const ptySpawns: number[] = [];
  const scriptSpawns: number[] = [];
  const rate = (ms: number) => mbps(opts.bytes, ms);
  await runPty(["true"]); // warm up: loads libc, JIT-compiles the reactor
  for (let round = 0; round < opts.rounds; round++) {
    ptyRates.push(rate(await timed(() => runPty(head), opts.bytes)));
    if (withScript) {
      scriptRates.push(rate(await timed(() => runScript(head.join(" ")), opts.bytes)));
    }
    for (let i = 0; i < opts.spawnRuns; i++) {
      ptySpawns.push(await timed(() => runPty(["true"]), null));
    }
    if (withScript) {
      for (let i = 0; i < opts.spawnRuns; i++) {
        scriptSpawns.push(await timed(() => runScript("true"), null));
      }
    }
  }
  const ptyMedian = median(ptyRates);
  const scriptMedian = withScript ? median(scriptRates) : null;
  const pty = latencySummary(ptySpawns);
  const script = withScript ? latencySummary(scriptSpawns) : null;
  return {
    options: opts,
    throughput: {
      pty: ptyRates,
      script: withScript ? scriptRates : null,
      ptyMedian,
      scriptMedian,
      ratio: scriptMedian === null ? null : ptyMedian / scriptMedian,
    },
    spawn: {
      pty,
      script,
      ratio: script === null ? null : script.median / pty.median,
      samples: { pty: ptySpawns, script: withScript ? scriptSpawns : null },
    },
    note,
  };
}

function formatTable(result: PtyBenchResult): string {
  const { options: o, throughput: tp, spawn } = result;
  const ms = (n: number | undefined) => formatValue(n ?? null, "ms");
  const body: string[][] = [
    [
      "throughput MB/s (median)",
      formatValue(tp.ptyMedian, "MB/s"),
      formatValue(tp.scriptMedian, "MB/s"),
      formatRatio(tp.ratio),
    ],
    [
      "spawn `true` ms (median)",
      ms(spawn.pty.median),
      ms(spawn.script?.median),
      spawn.ratio === null ? "–" : `${formatRatio(spawn.ratio, 1)} faster`,
    ],
    ["spawn `true` ms (p90)", ms(spawn.pty.p90), ms(spawn.script?.p90), ""],
    ["spawn `true` ms (p99)", ms(spawn.pty.p99), ms(spawn.script?.p99), ""],
  ];
  const title = `PTY benchmark: ${o.rounds} rounds, ${o.bytes / 1e6} MB of zeros, ` +
    `${o.spawnRuns} spawns per round`;
  const table = markdownTable(["measure", "spawnPty", "script", "ratio"], body, [1, 2, 3]);
  return [title, table, ...(result.note === null ? [] : [`note: ${result.note}`])].join("\n");
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: { quick: { type: "boolean" }, json: { type: "boolean" } },
  });
  const result = await runPtyBench(
    values.quick ? { rounds: 2, spawnRuns: 100 } : {},
  );
  console.log(values.json ? JSON.stringify(result, null, 2) : formatTable(result));
}
