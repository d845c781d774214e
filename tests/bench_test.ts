// Copyright 2026 the exec-server authors. MIT license.
// Keeps `deno task bench` from rotting: runs `bench/bench.ts --quick --json`
// (a real server, real peers when installed) and checks the report's shape.
// Missing peers (codex, websocketd, sshd, script) must be skipped with a note, not fail.
import assert from "node:assert/strict";
import { type BenchReport, FIGURES, formatReport, parseOnly, summarize } from "../bench/bench.ts";
import { QUICK } from "../bench/config.ts";
import { readFirstLine } from "../bench/processes.ts";
import type { FigureSamples, Series } from "../bench/figures/mod.ts";
import { latencySummary, median, percentile, ratio } from "../bench/stats.ts";
import {
  evaluateTargets,
  factOf,
  medianOf,
  percentileOf,
  ratioOf,
  type Target,
  TARGETS,
  type TargetSpec,
} from "../bench/targets.ts";

const BENCH = new URL("../bench/bench.ts", import.meta.url).pathname;
const TIMEOUT_MS = 55_000;

async function runQuick(...extra: string[]): Promise<{ report: BenchReport; stderr: string }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", BENCH, "--quick", "--json", "--no-install", ...extra],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGTERM"), TIMEOUT_MS);
  const out = await child.output();
  clearTimeout(timer);
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, `bench --quick failed (code ${out.code}):\n${stderr}`);
  return { report: JSON.parse(new TextDecoder().decode(out.stdout)), stderr };
}

Deno.test("deno task bench --quick runs every figure and reports rows and targets", async () => {
  const { report, stderr } = await runQuick();
  assert.match(stderr, /P1 round 1\//, "progress is printed on stderr");
  assert.equal(report.version, 1);
  assert.equal(report.quick, true);
  assert.deepEqual(report.figures, [...FIGURES]);
  assert.ok(report.machine.cores > 0 && report.machine.deno.length > 0);

  for (const figure of FIGURES) {
    assert.ok(report.rows.some((r) => r.figure === figure), `a row for ${figure}`);
  }
  for (const row of report.rows) {
    assert.ok(["ms", "MB/s", "MB", "count"].includes(row.unit), `unit of ${row.measure}`);
    if (row.value === null) {
      assert.ok(row.note, `a skipped row says why: ${row.figure} ${row.measure}`);
    } else {
      assert.ok(Number.isFinite(row.value) && row.value >= 0, `${row.measure}: ${row.value}`);
    }
  }
  // exec-server's own figures are always measured, peers or not.
  const ours = (figure: string, pattern: RegExp) =>
    report.rows.find((r) => r.figure === figure && pattern.test(r.measure));
  for (
    const [figure, pattern] of [
      ["P1", /^exec-server/],
      ["P2", /^exec-server, JSON/],
      ["P2", /^exec-server, binary/],
      ["P3", /^exec-server, tty:true, binary/],
      ["P4", /latency p99/],
      ["P5", /idle$/],
      ["P6", /^exec-server/],
    ] as const
  ) {
    const row = ours(figure, pattern);
    assert.ok(row && row.value !== null && row.value > 0, `${figure} ${pattern}: ${row?.value}`);
  }
  assert.equal(ours("P4", /^exec-server: errors/)?.value, 0, "P4 has no errors");

  // codex exec-server has a row in every figure: measured when scripts/codex
  // installed it before (--quick never installs), else skipped with a note.
  const codexRan = report.peers.codex !== null;
  for (const figure of FIGURES) {
    const rows = report.rows.filter((r) => r.figure === figure && /^codex/.test(r.measure));
    assert.ok(rows.length > 0, `${figure} has a codex row`);
    for (const row of rows) {
      if (codexRan) assert.ok(row.value !== null, `${figure} ${row.measure} measured`);
      else assert.match(row.note ?? "", /codex.*skipped/, `${figure} ${row.measure} says why`);
    }
  }

  assert.equal(report.targets.length, TARGETS.length);
  for (const t of report.targets) {
    assert.ok(FIGURES.includes(t.figure));
    if (t.value === null) assert.equal(t.met, null);
    else assert.equal(typeof t.met, "boolean");
  }
  // Ratios against peers are measured only when the peer ran.
  const peerRow = (name: RegExp) => report.rows.find((r) => name.test(r.measure));
  const websocketd = peerRow(/^websocketd/);
  const wsTarget = report.targets.find((t) => /websocketd/.test(t.target))!;
  assert.equal(wsTarget.value === null, websocketd?.value === null);

  const table = formatReport(report);
  assert.match(table, /\| fig \| measure/);
  assert.match(table, /\| fig \| target/);
  for (const figure of FIGURES) assert.match(table, new RegExp(`\\| ${figure} `));
});

Deno.test("bench without peers skips their rows with a note and still checks its own", async () => {
  const { report } = await runQuick("--only", "P1,P3", "--skip", "codex,websocketd,ssh,script");
  assert.deepEqual(report.figures, ["P1", "P3"]);
  for (const name of [/^websocketd/, /^ssh/, /^util-linux script -qfec \(local\)/, /^codex/]) {
    const row = report.rows.find((r) => name.test(r.measure))!;
    assert.equal(row.value, null, `${name} is skipped`);
    assert.match(row.note ?? "", /skipped/);
  }
  const p1 = report.rows.find((r) => /^exec-server/.test(r.measure))!;
  assert.ok(p1.value !== null && p1.value > 0);
  const websocketd = report.targets.find((t) => /websocketd/.test(t.target))!;
  assert.deepEqual([websocketd.value, websocketd.met], [null, null]);
  assert.ok(report.notes.some((n) => /ssh skipped/.test(n)));
  assert.match(formatReport(report), /not measured/);
});

Deno.test("bench --only accepts figure ids and keeps P4 and P5 together", () => {
  assert.deepEqual([...parseOnly("p1,P2")].sort(), ["P1", "P2"]);
  assert.deepEqual([...parseOnly("P5")].sort(), ["P4", "P5"]);
  assert.equal(parseOnly(undefined).size, FIGURES.length);
  assert.throws(() => parseOnly("P9"), /Unknown figure P9/);
});

const series = (name: string, samples: number[], extra: Partial<Series> = {}): Series => ({
  name,
  unit: "ms",
  samples,
  ...extra,
});

function figure(subject: string, s: Record<string, Series>, rounds = 1): FigureSamples {
  return { series: s, subject, facts: {}, notes: [], rounds };
}

Deno.test("bench rows and targets are computed from medians of the same run", () => {
  const { rows, targets } = summarize({
    P1: figure("server", {
      server: series("exec-server", [2, 2, 2], { ours: true }),
      localPiped: series("local", [1, 1, 1]),
      websocketd: series("websocketd", [], { note: "websocketd skipped: not installed" }),
    }),
  }, QUICK);
  const local = rows.find((r) => r.measure === "local")!;
  assert.equal(local.speedup, 0.5, "a latency twice the local one is half its speed");
  assert.equal(rows.find((r) => r.measure === "exec-server")!.speedup, null);
  assert.equal(
    rows.find((r) => r.measure === "websocketd")!.note,
    "websocketd skipped: not installed",
  );
  assert.deepEqual(targets.map((t) => [t.value, t.met]), [[2, false], [null, null], [
    null,
    null,
  ]]);
  assert.equal(targets[1]!.note, "no samples of codex", "a series that is not there");
  assert.equal(targets[2]!.note, "websocketd skipped: not installed", "says why not measured");
});

Deno.test("bench throughput rows: above 1 means exec-server moves more; `against` picks the base", () => {
  const mbps = (name: string, samples: number[], extra: Partial<Series> = {}) =>
    series(name, samples, { unit: "MB/s", ...extra });
  const { rows } = summarize({
    P3: figure("binary", {
      binary: mbps("ours", [300], { ours: true }),
      script: mbps("script", [100]),
      backend: mbps("backend", [50], { ours: true }),
      backendScript: mbps("backend script", [100], { against: "backend" }),
    }),
  }, QUICK);
  assert.deepEqual(rows.map((r) => r.speedup), [null, 3, null, 0.5]);
});

Deno.test("bench P4 rows: codex's and the local rate are compared with ours; a skipped peer says why", () => {
  const count = (name: string, samples: number[], extra: Partial<Series> = {}) =>
    series(name, samples, { unit: "count", ...extra });
  const p4 = (codex: boolean): FigureSamples => ({
    ...figure("start", {
      start: series("start", [10, 10, 10, 40], { ours: true }),
      startRate: count("rate", [600], { ours: true }),
      codexStart: codex ? series("codex", [20, 20, 20, 20]) : series("codex", [], {
        note: "codex exec-server 0.171.0 skipped: not installed",
      }),
      codexStartRate: count("codex rate", codex ? [200] : []),
      localStartRate: count("local rate", [1200]),
    }),
    facts: { errors: 0, peakConcurrent: 4, ...(codex ? { codexErrors: 1 } : {}) },
  });
  const measured = summarize({ P4: p4(true) }, QUICK);
  const row = (re: RegExp) => measured.rows.find((r) => re.test(r.measure))!;
  assert.equal(row(/^codex.*p50/).speedup, 2, "a p50 twice ours");
  assert.equal(row(/^codex.*starts per second/).speedup, 3, "a third of our rate");
  assert.equal(row(/^local.*spawns per second/).speedup, 0.5);
  assert.equal(row(/^codex.*errors/).value, 1);
  assert.equal(row(/^exec-server: starts/).speedup, null);
  const target = (t: { targets: Target[] }, re: RegExp) =>
    t.targets.find((x) => re.test(x.target))!;
  assert.deepEqual([target(measured, /p99 ≤ 3× p50/).value, target(measured, /p99/).met], [
    4,
    false,
  ]);
  assert.equal(target(measured, /≥ 2× codex/).value, 3);
  assert.equal(target(measured, /local spawn rate/).value, 0.5);
  const skipped = summarize({ P4: p4(false) }, QUICK);
  const codexErrors = skipped.rows.find((r) => /^codex.*errors/.test(r.measure))!;
  assert.deepEqual(
    [codexErrors.value, codexErrors.note],
    [null, "codex exec-server 0.171.0 skipped: not installed"],
  );
  assert.equal(target(skipped, /≥ 2× codex/).met, null);
});

Deno.test("bench target table: one evaluator, every comparator, missing figures left out", () => {
  const p4: FigureSamples = {
    ...figure("start", { start: series("start", [1, 2, 3, 4, 100]) }),
    facts: { errors: 0 },
  };
  const specs: TargetSpec[] = [
    { figure: "P4", target: "no errors", metric: factOf("errors"), is: "==", threshold: 0 },
    { figure: "P4", target: "p99 < 20", metric: percentileOf("start", 99), is: "<", threshold: 20 },
    { figure: "P4", target: "median ≤ 3", metric: medianOf("start"), is: "<=", threshold: 3 },
    { figure: "P4", target: "median > 3", metric: medianOf("start"), is: ">", threshold: 3 },
    { figure: "P4", target: "ratio", metric: ratioOf("start", "start"), is: ">=", threshold: 1 },
    { figure: "P4", target: "absent", metric: medianOf("nothing"), is: ">=", threshold: 1 },
    { figure: "P1", target: "not run", metric: medianOf("server"), is: ">=", threshold: 1 },
  ];
  const got = evaluateTargets({ P4: p4 }, specs);
  assert.deepEqual(
    got.map((t) => [t.target, t.value, t.unit, t.met]),
    [
      ["no errors", 0, "count", true],
      ["p99 < 20", 100, "ms", false],
      ["median ≤ 3", 3, "ms", true],
      ["median > 3", 3, "ms", false],
      ["ratio", 1, "x", true],
      ["absent", null, "count", null],
    ],
  );
  assert.match(got[5]!.note!, /nothing/);
  const none = evaluateTargets({ P4: { ...p4, rounds: 0 } }, specs.slice(0, 1));
  assert.deepEqual([none[0]!.value, none[0]!.met], [null, null], "no round, no verdict");
});

Deno.test("bench targets say in words the comparison and threshold they check", () => {
  const symbol = { "<": "<", "<=": "≤", "==": "zero", ">=": "≥", ">": ">" } as const;
  for (const t of TARGETS) {
    assert.ok(t.target.includes(symbol[t.is]), `${t.target}: ${t.is}`);
    const shown = [String(t.threshold), `${Math.round(t.threshold * 100)}%`];
    assert.ok(
      t.is === "==" || shown.some((x) => t.target.includes(x)),
      `${t.target} names ${t.threshold}`,
    );
  }
});

Deno.test("bench statistics: median, nearest-rank percentiles, null-safe ratio", () => {
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.equal(median([7]), 7);
  assert.ok(Number.isNaN(median([])));
  const hundred = Array.from({ length: 100 }, (_, i) => 100 - i);
  assert.deepEqual([percentile(hundred, 50), percentile(hundred, 99)], [50, 99]);
  assert.equal(percentile([5], 99), 5);
  assert.deepEqual(latencySummary([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]), {
    median: 5.5,
    p90: 9,
    p99: 10,
  });
  assert.deepEqual([ratio(1, 4), ratio(null, 1), ratio(1, 0), ratio(NaN, 1)], [
    0.25,
    null,
    null,
    null,
  ]);
});

Deno.test("readFirstLine(): the first line and what followed, or a clear failure", async () => {
  const bytes = (s: string) => new TextEncoder().encode(s);
  const first = await readFirstLine(
    ReadableStream.from(["ws://", "h:1\nlog 1\n", "x"].map(bytes)),
    1000,
  );
  assert.deepEqual([first.line, first.rest], ["ws://h:1", "log 1\n"]);
  assert.deepEqual(await first.reader.read(), { value: "x", done: false });
  await first.reader.cancel();
  await assert.rejects(readFirstLine(ReadableStream.from([bytes("no newline")]), 1000), {
    message: 'stdout ended before a line: "no newline"',
  });
  let cancelled = false;
  const silent = new ReadableStream<Uint8Array>({ cancel: () => void (cancelled = true) });
  await assert.rejects(readFirstLine(silent, 20), { message: "no line on stdout within 20 ms" });
  assert.ok(cancelled, "a stream that timed out is cancelled");
});
