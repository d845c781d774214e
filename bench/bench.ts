// Copyright 2026 the exec-server authors. MIT license.
/**
 * `deno task bench`: the exec-server against its baselines (local
 * `Deno.Command`, codex's own `codex exec-server`, websocketd, OpenSSH,
 * util-linux `script`), interleaved round by round in one run. Prints
 * medians, ratios and the issues' targets as a table (or JSON with
 * `--json`), with progress on stderr, and the load average at the start and
 * the end (the machine may be shared: a busy one shows there).
 *
 * Usage: `deno run -A bench/bench.ts [--quick] [--json] [--only P1,P2] [--no-install]`
 *
 * - `--quick`: small sizes, well under a minute; never installs packages
 *   (codex is measured when `scripts/codex` installed it before).
 * - `--json`: print the report as JSON on stdout instead of the table.
 * - `--only P1,P4`: run only these figures (P4 and P5 always run together).
 * - `--no-install`: do not apt-get install missing peers (they are skipped).
 * - `--rounds N`: interleaved rounds for P1, P2, P3 and P6.
 * - `--skip codex,websocketd,ssh,script`: leave these peers out (as if not installed).
 *
 * The peers run on 127.0.0.1 only, from a temporary directory that is removed
 * on exit; every process the bench starts is stopped on exit (also on SIGINT
 * and SIGTERM).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { BenchClient } from "./client.ts";
import { type BenchConfig, type FigureId, FIGURES, FULL, QUICK } from "./config.ts";
import { type BenchContext, type FigureSamples, p1, p2, p3, p4p5, p6 } from "./figures/mod.ts";
import { APT_PACKAGES, CODEX_VERSION, PEER_NAMES, PEERS, startPeers } from "./peers.ts";
import { Cleanup, startServer } from "./processes.ts";
import { type BenchReport, formatReport, machineInfo, summarize } from "./report.ts";
import type { Results } from "./targets.ts";
import { messageOf } from "../lib/util/mod.ts";

export { type FigureId, FIGURES } from "./config.ts";
export { type BenchReport, formatReport, type Row, summarize } from "./report.ts";
export type { Target } from "./targets.ts";

/** The figures that run on the shared server, in order. */
const SHARED: readonly [FigureId, (ctx: BenchContext) => Promise<FigureSamples>][] = [
  ["P1", p1],
  ["P2", p2],
  ["P3", p3],
  ["P6", p6],
];

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
  progress(
    `load average at the start: ${machine.loadAverageStart.map((x) => x.toFixed(2)).join(" ")}`,
  );
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
    const peers = await startPeers({
      only,
      skip: options.skip ?? new Set(),
      install: options.install ?? !quick,
      cleanup,
      dir,
      notes,
      progress,
    });
    const results: Results = {};
    const failed = (id: string, err: unknown) => {
      const msg = `${id} failed: ${messageOf(err)}`;
      notes.push(msg);
      progress(msg);
    };
    if (SHARED.some(([id]) => only.has(id))) {
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
      const codex = peers.codex.value ? await BenchClient.connect(peers.codex.value.url) : null;
      const ctx: BenchContext = { config, cleanup, server, json, binary, codex, peers, progress };
      try {
        for (const [id, figure] of SHARED) {
          if (!only.has(id)) continue;
          try {
            results[id] = await figure(ctx);
          } catch (err) {
            failed(id, err);
          }
        }
      } finally {
        await json.close();
        await binary.close();
        await codex?.close();
        await server.stop();
      }
    }
    if (only.has("P4")) {
      try {
        Object.assign(results, await p4p5({ config, cleanup, progress, codex: peers.codex }));
      } catch (err) {
        failed("P4/P5", err);
      }
    }
    for (const r of Object.values(results)) notes.push(...r.notes);
    const { rows, targets } = summarize(results, config);
    machine.loadAverageEnd = Deno.loadavg();
    progress(
      `load average at the end: ${machine.loadAverageEnd.map((x) => x.toFixed(2)).join(" ")}`,
    );
    return {
      version: 1,
      quick,
      startedAt: new Date(t0).toISOString(),
      durationSeconds: (Date.now() - t0) / 1000,
      machine,
      peers: Object.fromEntries(PEER_NAMES.map((n) => [n, peers[n].version])) as BenchReport[
        "peers"
      ],
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
                       [--skip ${PEER_NAMES.join(",")}]

Benchmarks the exec-server against local Deno.Command and its peers
(${PEER_NAMES.map((n) => PEERS[n].label).join(", ")}), interleaved in one run, and checks
the targets of issues 10 and 18. Missing peers are installed unless --quick or
--no-install: codex ${CODEX_VERSION} from npm into .tools/ (scripts/codex), the others
with apt-get (${APT_PACKAGES.join(", ")}) when running as root; a peer that cannot run
is skipped with a note. Progress goes to stderr; the table (or --json) to stdout; the
load average at the start and the end is in both.`;

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
    console.error(messageOf(err));
    Deno.exit(2);
  }
  const install = values["no-install"] ? false : values.install ? true : undefined;
  const skip = new Set((values.skip ?? "").split(",").map((x) => x.trim()).filter(Boolean));
  for (const peer of skip) {
    if (!(PEER_NAMES as string[]).includes(peer)) {
      console.error(`Unknown peer ${peer} in --skip: expected some of ${PEER_NAMES.join(",")}`);
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
