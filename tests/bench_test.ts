// Copyright 2026 the exec-server authors. MIT license.
// Keeps `deno task bench` from rotting: runs `bench/bench.ts --quick --json`
// (a real server, real peers when installed) and checks the report's shape.
// Missing peers (websocketd, sshd, script) must be skipped with a note, not fail.
import assert from "node:assert/strict";
import { type BenchReport, FIGURES, formatReport, parseOnly, summarize } from "../bench/bench.ts";
import { QUICK } from "../bench/figures.ts";

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
  assert.equal(ours("P4", /^errors/)?.value, 0, "P4 has no errors");

  assert.equal(report.targets.length, 10);
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
  const { report } = await runQuick("--only", "P1,P3", "--skip", "websocketd,ssh,script");
  assert.deepEqual(report.figures, ["P1", "P3"]);
  for (const name of [/^websocketd/, /^ssh/, /^util-linux script -qfec \(local\)/]) {
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

Deno.test("bench targets are computed from medians of the same run", () => {
  const s = (name: string, samples: number[]) => ({ name, samples });
  const { rows, targets } = summarize({
    P1: {
      series: {
        server: s("exec-server", [2, 2, 2]),
        localPiped: s("local", [1, 1, 1]),
        websocketd: { name: "websocketd", samples: [], note: "websocketd skipped: not installed" },
      },
      facts: {},
      notes: [],
      rounds: 1,
    },
  }, QUICK);
  const local = rows.find((r) => r.measure === "local")!;
  assert.equal(local.speedup, 0.5);
  assert.equal(
    rows.find((r) => r.measure === "websocketd")!.note,
    "websocketd skipped: not installed",
  );
  assert.deepEqual(targets.map((t) => [t.value, t.met]), [[2, false], [null, null]]);
});
