// Copyright 2026 the exec-server authors. MIT license.
/**
 * P4 (many clients starting processes at once: latency, errors) and P5 (the
 * server's memory, idle and under P4), measured on the same fresh servers.
 *
 * @module
 */
import { BenchClient, startParams } from "../client.ts";
import { memoryOf, startServer } from "../processes.ts";
import { fixed, percentile, type Unit } from "../stats.ts";
import {
  type BenchContext,
  emptySamples,
  type FigureSamples,
  newProcessId,
  type Series,
} from "./interleave.ts";

/**
 * P4 and P5 on a fresh server per round: idle RSS, RSS with N idle sessions,
 * then N clients × M sequential starts of `sleep S` at once (so all N×M
 * processes run concurrently), start latency, errors, and the peak RSS.
 * Samples: `start` in ms, the RSS series in bytes.
 */
export async function p4p5(
  ctx: Pick<BenchContext, "config" | "cleanup" | "progress">,
): Promise<{ P4: FigureSamples; P5: FigureSamples }> {
  const c = ctx.config;
  const P4 = emptySamples("start");
  const P5 = emptySamples("rssIdle");
  const ours = (name: string, unit: Unit): Series => ({ name, unit, samples: [], ours: true });
  const start = P4.series.start = ours("exec-server: process/start latency", "ms");
  const startRate = P4.series.startRate = ours("starts per second (all clients)", "count");
  const rssIdle = P5.series.rssIdle = ours("server RSS, idle", "MB");
  const rssSessions = P5.series.rssSessions = ours(
    `server RSS, ${c.p4Clients} idle sessions`,
    "MB",
  );
  const rssPeak = P5.series.rssPeak = ours("server RSS, peak under P4", "MB");
  const facts = P4.facts;
  Object.assign(facts, { errors: 0, processes: 0, peakConcurrent: 0, wallMs: 0 });
  const started = Date.now();
  for (let round = 0; round < c.p4Rounds; round++) {
    if (round > 0 && Date.now() - started > c.budgetMs) {
      P4.notes.push(`P4: stopped after ${round} rounds (time budget)`);
      break;
    }
    const server = await startServer(ctx.cleanup, ["--log-level", "warn"]);
    const clients: BenchClient[] = [];
    try {
      await new Promise((r) => setTimeout(r, 1000));
      const idle = memoryOf(server.pid);
      if (idle !== null) rssIdle.samples.push(idle / 1e6);
      for (let i = 0; i < c.p4Clients; i++) {
        clients.push(await BenchClient.connect(server.url));
      }
      await new Promise((r) => setTimeout(r, 500));
      const withSessions = memoryOf(server.pid);
      if (withSessions !== null) rssSessions.samples.push(withSessions / 1e6);
      ctx.progress(
        `P5 round ${round + 1}/${c.p4Rounds}: RSS idle ${fixed((idle ?? NaN) / 1e6, 1)} MB, ` +
          `with ${c.p4Clients} sessions ${fixed((withSessions ?? NaN) / 1e6, 1)} MB`,
      );
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
              startParams(id, ["sleep", String(c.p4SleepSeconds)]),
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
      const wall = performance.now() - t0;
      clearInterval(sampler);
      const hwm = memoryOf(server.pid, "VmHWM");
      rssPeak.samples.push(Math.max(peakRss, hwm ?? 0) / 1e6);
      start.samples.push(...latencies);
      facts.errors! += errors;
      facts.processes! += c.p4Clients * c.p4Starts;
      facts.peakConcurrent = Math.max(facts.peakConcurrent!, peak);
      facts.wallMs = Math.max(facts.wallMs!, wall);
      startRate.samples.push(latencies.length / ((lastStart - t0) / 1000));
      ctx.progress(
        `P4 round ${round + 1}/${c.p4Rounds}: ${c.p4Clients}×${c.p4Starts} starts, ` +
          `p50 ${fixed(percentile(latencies, 50))} ms, p99 ${
            fixed(percentile(latencies, 99))
          } ms, ` +
          `${errors} errors, ${peak} concurrent, peak RSS ${fixed(peakRss / 1e6, 1)} MB`,
      );
      P4.rounds++;
      P5.rounds++;
    } finally {
      await Promise.all(clients.map((cl) => cl.close()));
      await server.stop();
    }
  }
  return { P4, P5 };
}
