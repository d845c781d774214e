// Copyright 2026 the exec-server authors. MIT license.
/**
 * P4 (many clients starting processes at once: latency, rate, errors) and P5
 * (the server's memory, idle and under P4), measured on fresh servers, ours
 * and codex's, and against the local spawn rate, in the same rounds.
 *
 * @module
 */
import { BenchClient, benchStartParams } from "../client.ts";
import type { BenchConfig } from "../config.ts";
import type { CodexPeer, PeerState } from "../peers.ts";
import { memoryOf, type ServerHandle, startServer } from "../processes.ts";
import { messageOf } from "../../lib/util/mod.ts";
import { fixed, percentile, type Unit } from "../stats.ts";
import {
  type BenchContext,
  emptySamples,
  type FigureSamples,
  newProcessId,
  type Series,
} from "./interleave.ts";

/** What one round on one server measured. */
interface ScaleRound {
  /** RSS 1 s after start, in bytes (null when unreadable). */
  idle: number | null;
  /** RSS with every client connected and initialized. */
  sessions: number | null;
  /** The peak RSS while the processes ran (sampled, and VmHWM). */
  peak: number;
  /** Latency of every successful `process/start`, in ms. */
  latencies: number[];
  /** Successful starts per second, from the first request to the last response. */
  rate: number;
  /** Failed starts, timeouts and non-zero exits. */
  errors: number;
  /** Most processes running at once. */
  concurrent: number;
  /** Wall time from the first start to the last close, in ms. */
  wallMs: number;
}

/**
 * One round on a fresh server: idle RSS, RSS with N idle sessions, then N
 * clients × M sequential starts of `sleep S` at once (so all N×M processes
 * run concurrently), start latency, errors, and the peak RSS.
 */
async function scaleRound(c: BenchConfig, server: ServerHandle): Promise<ScaleRound> {
  const clients: BenchClient[] = [];
  try {
    await new Promise((r) => setTimeout(r, 1000));
    const idle = memoryOf(server.pid);
    for (let i = 0; i < c.p4Clients; i++) clients.push(await BenchClient.connect(server.url));
    await new Promise((r) => setTimeout(r, 500));
    const sessions = memoryOf(server.pid);
    let peakRss = 0;
    const sampler = setInterval(() => {
      peakRss = Math.max(peakRss, memoryOf(server.pid) ?? 0);
    }, 20);
    let live = 0;
    let peak = 0;
    let errors = 0;
    const latencies: number[] = [];
    const t0 = performance.now();
    let lastStart = t0;
    const closes: Promise<void>[] = [];
    const deadlineMs = 60_000 + c.p4SleepSeconds * 1000;
    const perClient = async (client: BenchClient) => {
      for (let k = 0; k < c.p4Starts; k++) {
        const id = newProcessId("p4");
        const { promise, resolve } = Promise.withResolvers<void>();
        closes.push(promise);
        const timer = setTimeout(() => {
          errors++;
          client.unlisten(id);
          resolve();
        }, deadlineMs);
        client.listen(id, {
          exited: (code) => {
            live--;
            if (code !== 0) errors++;
          },
          closed: () => {
            clearTimeout(timer);
            resolve();
          },
        });
        const ts = performance.now();
        try {
          await client.request(
            "process/start",
            benchStartParams(id, ["sleep", String(c.p4SleepSeconds)]),
            deadlineMs,
          );
          const now = performance.now();
          latencies.push(now - ts);
          lastStart = Math.max(lastStart, now);
          live++;
          peak = Math.max(peak, live);
        } catch {
          errors++;
          clearTimeout(timer);
          client.unlisten(id);
          resolve();
        }
      }
    };
    await Promise.all(clients.map(perClient));
    await Promise.all(closes);
    const wallMs = performance.now() - t0;
    clearInterval(sampler);
    const hwm = memoryOf(server.pid, "VmHWM");
    return {
      idle,
      sessions,
      peak: Math.max(peakRss, hwm ?? 0),
      latencies,
      rate: latencies.length / ((lastStart - t0) / 1000),
      errors,
      concurrent: peak,
      wallMs,
    };
  } finally {
    await Promise.all(clients.map((cl) => cl.close()));
    await server.stop();
  }
}

/**
 * The local baseline of the start rate: the same N×M `sleep S` spawned in
 * this process with `Deno.Command` (stdout and stderr piped, as the servers
 * pipe them), as fast as it goes; then every child is waited for.
 */
async function localRound(c: BenchConfig): Promise<number> {
  const n = c.p4Clients * c.p4Starts;
  const children: Deno.ChildProcess[] = [];
  const t0 = performance.now();
  try {
    for (let i = 0; i < n; i++) {
      children.push(
        new Deno.Command("sleep", {
          args: [String(c.p4SleepSeconds)],
          stdin: "null",
          stdout: "piped",
          stderr: "piped",
        }).spawn(),
      );
    }
    return n / ((performance.now() - t0) / 1000);
  } finally {
    await Promise.all(children.map(async (child) => {
      await Promise.all([child.stdout.cancel(), child.stderr.cancel()]);
      await child.status;
    }));
  }
}

/** The P4 and P5 series of one server. */
interface ServerSeries {
  start: Series;
  startRate: Series;
  rssIdle: Series;
  rssSessions: Series;
  rssPeak: Series;
  /** Prefix of its facts ("" for ours, "codex" for codex). */
  facts: string;
}

function seriesFor(
  P4: FigureSamples,
  P5: FigureSamples,
  c: BenchConfig,
  key: (k: string) => string,
  who: string,
  ours: boolean,
  against: (k: string) => string,
): ServerSeries {
  const make = (fig: FigureSamples, k: string, name: string, unit: Unit): Series =>
    fig.series[key(k)] = {
      name,
      unit,
      samples: [],
      ...(ours ? { ours: true } : { against: against(k) }),
    };
  return {
    start: make(P4, "start", `${who}: process/start latency`, "ms"),
    startRate: make(P4, "startRate", `${who}: starts per second (all clients)`, "count"),
    rssIdle: make(P5, "rssIdle", `${who}: RSS, idle`, "MB"),
    rssSessions: make(P5, "rssSessions", `${who}: RSS, ${c.p4Clients} idle sessions`, "MB"),
    rssPeak: make(
      P5,
      "rssPeak",
      `${who}: RSS, peak with ${c.p4Clients * c.p4Starts} processes (P4)`,
      "MB",
    ),
    facts: ours ? "" : "codex",
  };
}

function record(
  P4: FigureSamples,
  s: ServerSeries,
  r: ScaleRound,
  c: BenchConfig,
): void {
  const fact = (k: string) => s.facts ? `${s.facts}${k[0]!.toUpperCase()}${k.slice(1)}` : k;
  if (r.idle !== null) s.rssIdle.samples.push(r.idle / 1e6);
  if (r.sessions !== null) s.rssSessions.samples.push(r.sessions / 1e6);
  s.rssPeak.samples.push(r.peak / 1e6);
  s.start.samples.push(...r.latencies);
  s.startRate.samples.push(r.rate);
  const f = P4.facts;
  f[fact("errors")] = (f[fact("errors")] ?? 0) + r.errors;
  f[fact("processes")] = (f[fact("processes")] ?? 0) + c.p4Clients * c.p4Starts;
  f[fact("peakConcurrent")] = Math.max(f[fact("peakConcurrent")] ?? 0, r.concurrent);
  f[fact("wallMs")] = Math.max(f[fact("wallMs")] ?? 0, r.wallMs);
}

function describe(who: string, c: BenchConfig, r: ScaleRound): string {
  const mb = (b: number | null) => fixed((b ?? NaN) / 1e6, 1);
  return `${who}: RSS idle ${mb(r.idle)} MB, with ${c.p4Clients} sessions ${mb(r.sessions)} MB; ` +
    `${c.p4Clients}×${c.p4Starts} starts, ${fixed(r.rate, 0)}/s, p50 ${
      fixed(percentile(r.latencies, 50))
    } ms, ` +
    `p99 ${fixed(percentile(r.latencies, 99))} ms, ${r.errors} errors, ${r.concurrent} ` +
    `concurrent, peak RSS ${mb(r.peak)} MB`;
}

/**
 * P4 and P5, each round on fresh servers: ours, codex's (when it runs) and
 * the local spawn rate, in an order that rotates by round. Samples: latencies
 * in ms, rates in starts per second, RSS in MB.
 */
export async function p4p5(
  ctx: Pick<BenchContext, "config" | "cleanup" | "progress"> & {
    codex: PeerState<CodexPeer>;
  },
): Promise<{ P4: FigureSamples; P5: FigureSamples }> {
  const c = ctx.config;
  const P4 = emptySamples("start");
  const P5 = emptySamples("rssIdle");
  const ours = seriesFor(P4, P5, c, (k) => k, "exec-server", true, (k) => k);
  const cap = (k: string) => `codex${k[0]!.toUpperCase()}${k.slice(1)}`;
  const codex = seriesFor(P4, P5, c, cap, "codex exec-server", false, (k) => k);
  if (!ctx.codex.value) {
    for (
      const s of [codex.start, codex.startRate, codex.rssIdle, codex.rssSessions, codex.rssPeak]
    ) {
      s.note = ctx.codex.note;
    }
  }
  const local: Series = P4.series.localStartRate = {
    name: "local Deno.Command spawn rate, same processes (starts per second)",
    unit: "count",
    samples: [],
    against: "startRate",
  };
  Object.assign(P4.facts, { errors: 0, processes: 0, peakConcurrent: 0, wallMs: 0 });
  if (ctx.codex.value) Object.assign(P4.facts, { codexErrors: 0, codexProcesses: 0 });
  const runs: { what: string; run: () => Promise<void> }[] = [
    {
      what: "exec-server",
      run: async () => {
        const r = await scaleRound(c, await startServer(ctx.cleanup, ["--log-level", "warn"]));
        record(P4, ours, r, c);
        return void ctx.progress(`P4/P5 ${describe("exec-server", c, r)}`);
      },
    },
    {
      what: "local",
      run: async () => {
        const rate = await localRound(c);
        local.samples.push(rate);
        ctx.progress(`P4 local Deno.Command: ${fixed(rate, 0)} spawns/s`);
      },
    },
  ];
  const peer = ctx.codex.value;
  if (peer) {
    runs.push({
      what: "codex",
      run: async () => {
        const r = await scaleRound(c, await peer.start(ctx.cleanup));
        record(P4, codex, r, c);
        ctx.progress(`P4/P5 ${describe("codex", c, r)}`);
      },
    });
  }
  const started = Date.now();
  for (let round = 0; round < c.p4Rounds; round++) {
    if (round > 0 && Date.now() - started > c.budgetMs) {
      P4.notes.push(`P4: stopped after ${round} rounds (time budget)`);
      break;
    }
    ctx.progress(`P4/P5 round ${round + 1}/${c.p4Rounds}`);
    for (let i = 0; i < runs.length; i++) {
      const { what, run } = runs[(i + round) % runs.length]!;
      try {
        await run();
      } catch (err) {
        if (what === "exec-server") throw err;
        const msg = `P4: ${what} failed: ${messageOf(err)}`;
        P4.notes.push(msg);
        ctx.progress(msg);
      }
    }
    P4.rounds++;
    P5.rounds++;
  }
  return { P4, P5 };
}
