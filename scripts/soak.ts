// Copyright 2026 the exec-server authors. MIT license.
/**
 * `deno task soak`: the attack suite of issue 15 (tests/_soak.ts), each
 * attack against a fresh server, bounded in time, then a table:
 *
 *   | attack | row | tried | server alive | peak RSS | survivors | escapes | result |
 *
 * A server passes an attack when it is still alive and serving, its peak RSS
 * stayed within the attack's bound, no process the attack started outlived
 * its owner (checked after the server shut down), and nothing got past
 * --fs-root. Exits 1 if any attack did not pass.
 *
 *   deno task soak [--quick] [--json] [--only NAME,NAME]
 *
 * `--quick` (the form tests/soak_test.ts runs) uses smaller attempts, well
 * under a minute; the full run takes a few minutes.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { isGone, TestClient } from "../tests/_harness.ts";
import { pidsByArgv } from "../tests/_wire.ts";
import { type Attack, type AttackContext, ATTACKS, scratch, startServer } from "../tests/_soak.ts";
import { messageOf } from "../lib/util/mod.ts";

/** One row of the table. */
export interface SoakRow {
  /** Attack name. */
  attack: string;
  /** Issue 15 row. */
  row: string;
  /** Attempts. */
  tried: number;
  /** Alive and serving afterwards (null: the attack killed it on purpose). */
  alive: boolean | null;
  /** The server's peak RSS (VmHWM), in MiB. */
  peakRssMib: number;
  /** Processes that outlived the server. */
  survivors: number;
  /** Reads or writes past --fs-root. */
  escapes: number;
  /** What the attack measured. */
  note: string;
  /** Why it did not pass, or null. */
  failure: string | null;
}

/** Peak RSS any attack may take the server to, in MiB (the Limits table's worst case here). */
const MAX_RSS_MIB = 768;
/** Time one attack may take. */
const ATTACK_MS = 120_000;

function peakMib(pid: number): number {
  try {
    const status = Deno.readTextFileSync(`/proc/${pid}/status`);
    return Math.round(Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024);
  } catch {
    return 0;
  }
}

async function serves(ctx: AttackContext): Promise<boolean> {
  if (isGone(ctx.server.pid)) return false;
  try {
    await using c = await TestClient.connect(ctx.server.url, {
      ...(ctx.token ? { headers: { Authorization: `Bearer ${ctx.token}` } } : {}),
    });
    await c.start("soak-alive", ["true"]);
    await c.untilClosed("soak-alive");
    return true;
  } catch {
    return false;
  }
}

function timeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    p,
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`did not finish within ${ms / 1000} s`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** Runs one attack against a fresh server and judges it. */
export async function runAttack(attack: Attack, quick: boolean): Promise<SoakRow> {
  const dir = await scratch();
  const token = attack.token ? crypto.getRandomValues(new Uint8Array(24)).toHex() : null;
  const server = await startServer(attack, dir, token);
  const ctx: AttackContext = { server, token, dir, quick };
  const row: SoakRow = {
    attack: attack.name,
    row: attack.row,
    tried: 0,
    alive: false,
    peakRssMib: 0,
    survivors: 0,
    escapes: 0,
    note: "",
    failure: null,
  };
  let markers: string[][] = [];
  // Sampled too, for an attack that kills the server (VmHWM dies with it).
  const sampler = setInterval(() => {
    row.peakRssMib = Math.max(row.peakRssMib, peakMib(server.pid));
  }, 200);
  try {
    const outcome = await timeout(attack.run(ctx), ATTACK_MS);
    row.tried = outcome.tried;
    row.escapes = outcome.escapes ?? 0;
    row.note = outcome.note ?? "";
    row.failure = outcome.failure ?? null;
    markers = outcome.markers ?? [];
  } catch (err) {
    row.failure = `the attack failed: ${messageOf(err)}`;
  }
  row.alive = attack.killsServer ? null : await serves(ctx);
  clearInterval(sampler);
  row.peakRssMib = Math.max(row.peakRssMib, peakMib(server.pid));
  await server[Symbol.asyncDispose]();
  // Whatever the attack started must be gone with the server.
  const deadline = Date.now() + 5000;
  let left = markers.flatMap(pidsByArgv);
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    left = left.filter((pid) => !isGone(pid));
  }
  row.survivors = left.length;
  for (const pid of left) {
    try {
      Deno.kill(pid, "SIGKILL");
    } catch {
      // gone
    }
  }
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  if (row.alive === false) row.failure ??= "the server died or stopped serving";
  if (row.peakRssMib > MAX_RSS_MIB) {
    row.failure ??= `peak RSS ${row.peakRssMib} MiB > ${MAX_RSS_MIB}`;
  }
  if (row.survivors > 0) row.failure ??= `${row.survivors} processes outlived the server`;
  if (row.escapes > 0) row.failure ??= `${row.escapes} escapes from --fs-root`;
  return row;
}

/** The table. */
export function formatTable(rows: SoakRow[]): string {
  const head = [
    "attack",
    "row",
    "tried",
    "server alive",
    "peak RSS",
    "survivors",
    "escapes",
    "result",
  ];
  const body = rows.map((r) => [
    r.attack,
    r.row,
    String(r.tried),
    r.alive === null ? "killed" : r.alive ? "yes" : "NO",
    `${r.peakRssMib} MiB`,
    String(r.survivors),
    String(r.escapes),
    r.failure ? `FAILED: ${r.failure}` : r.note ? `ok (${r.note})` : "ok",
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(" | ")} |`;
  return [line(head), line(widths.map((w) => "-".repeat(w))), ...body.map(line)].join("\n");
}

async function main(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      quick: { type: "boolean" },
      json: { type: "boolean" },
      only: { type: "string" },
    },
  });
  const only = values.only ? new Set(values.only.split(",")) : null;
  const attacks = ATTACKS.filter((a) => !only || only.has(a.name));
  const started = performance.now();
  const rows: SoakRow[] = [];
  for (const attack of attacks) {
    console.error(`soak: ${attack.name} …`);
    const row = await runAttack(attack, values.quick ?? false);
    console.error(`soak: ${attack.name}: ${row.failure ?? "ok"}`);
    rows.push(row);
  }
  const seconds = (performance.now() - started) / 1000;
  if (values.json) console.log(JSON.stringify({ rows, seconds }, null, 2));
  else {
    console.log(
      `exec-server soak${values.quick ? " (quick)" : ""}: ${rows.length} attacks, ${
        seconds.toFixed(0)
      } s\n`,
    );
    console.log(formatTable(rows));
  }
  return rows.every((r) => r.failure === null) ? 0 : 1;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
