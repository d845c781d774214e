// Copyright 2026 the exec-server authors. MIT license.
/**
 * The benchmark figures P1–P6 of issue 10. Each figure runs the exec-server
 * and its baselines in the same run, interleaved round by round (the order
 * rotates every round), and returns every sample; `bench.ts` turns them into
 * medians, ratios and target checks.
 *
 * @module
 */
import { BenchClient, runRemote, startParams } from "./client.ts";
import { type Cleanup, rssOf, type ServerHandle, startServer } from "./peers.ts";

/** Sizes and counts for one bench run. */
export interface BenchConfig {
  /** Interleaved rounds for P1, P2, P3 and P6. */
  rounds: number;
  /** P1: round trips per variant per round. */
  p1Runs: number;
  /** P2: bytes per throughput run. */
  p2Bytes: number;
  /** P3: bytes per PTY throughput run. */
  p3Bytes: number;
  /** P3: options for `runPtyBench` (the backend-only comparison). */
  p3Backend: { rounds: number; bytes: number; spawnRuns: number };
  /** P4/P5: rounds, each on a fresh server. */
  p4Rounds: number;
  /** P4: clients. */
  p4Clients: number;
  /** P4: starts per client. */
  p4Starts: number;
  /** P4: how long each process sleeps, in seconds (so that all overlap). */
  p4SleepSeconds: number;
  /** P6: bytes written per run. */
  p6Bytes: number;
  /** P6: bytes per `process/write`. */
  p6ChunkBytes: number;
  /** P6: writes in flight. */
  p6Window: number;
  /** Time budget per figure in ms: no new round starts after it. */
  budgetMs: number;
}

/** The full run. */
export const FULL: BenchConfig = {
  rounds: 5,
  p1Runs: 100,
  p2Bytes: 1_000_000_000,
  p3Bytes: 100_000_000,
  p3Backend: { rounds: 3, bytes: 100_000_000, spawnRuns: 100 },
  p4Rounds: 3,
  p4Clients: 100,
  p4Starts: 10,
  p4SleepSeconds: 8,
  p6Bytes: 512 * 1024 * 1024,
  p6ChunkBytes: 1024 * 1024,
  p6Window: 4,
  budgetMs: 240_000,
};

/** `--quick`: the same code paths, small sizes, well under a minute. */
export const QUICK: BenchConfig = {
  rounds: 2,
  p1Runs: 15,
  p2Bytes: 20_000_000,
  p3Bytes: 5_000_000,
  p3Backend: { rounds: 1, bytes: 5_000_000, spawnRuns: 5 },
  p4Rounds: 1,
  p4Clients: 10,
  p4Starts: 10,
  p4SleepSeconds: 1,
  p6Bytes: 16 * 1024 * 1024,
  p6ChunkBytes: 1024 * 1024,
  p6Window: 4,
  budgetMs: 20_000,
};

/** One variant's samples (a skipped variant has none and a reason). */
export interface Series {
  /** Display name. */
  name: string;
  /** Samples (ms for latencies, MB/s for throughputs, bytes for RSS). */
  samples: number[];
  /** Why it was skipped or cut short, if so. */
  note?: string;
}

/** Samples of one figure. */
export interface FigureSamples {
  /** Series by key. */
  series: Record<string, Series>;
  /** Extra scalar facts (error counts, peaks). */
  facts: Record<string, number>;
  /** Notes for the reader (skips, budget cuts). */
  notes: string[];
  /** Rounds actually completed. */
  rounds: number;
}

/** Environment the figures run in. */
export interface BenchContext {
  /** Sizes and counts. */
  config: BenchConfig;
  /** Cleanup registry for everything started. */
  cleanup: Cleanup;
  /** The shared server (P1, P2, P3, P6). */
  server: ServerHandle;
  /** Client without binary frames (base64 JSON output). */
  json: BenchClient;
  /** Client with binary output frames. */
  binary: BenchClient;
  /** websocketd base URL, or null with `websocketdNote`. */
  websocketd: string | null;
  /** Why websocketd is not available. */
  websocketdNote: string;
  /** `ssh … target` args, or null with `sshNote`. */
  ssh: string[] | null;
  /** Why ssh is not available. */
  sshNote: string;
  /** Whether util-linux `script` works. */
  script: boolean;
  /** Why `script` is not available. */
  scriptNote: string;
  /** Progress line printer. */
  progress: (line: string) => void;
}

/** A variant: a batch of measurements for one round. */
interface Variant {
  key: string;
  name: string;
  /** null = skipped with `note`. */
  batch: ((round: number) => Promise<number[]>) | null;
  note?: string;
}

let uniq = 0;
/** A process id unique within this bench run. */
function pid(prefix: string): string {
  return `${prefix}-${++uniq}`;
}

/** Median of the samples, the mean of the middle two for an even count (NaN when empty). */
export function median(values: number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Nearest-rank quantile (NaN when empty). */
export function quantile(values: number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil(q * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

function mbps(bytes: number, ms: number): number {
  return bytes / 1e6 / (ms / 1000);
}

function fmt(n: number, digits = 2): string {
  return Number.isFinite(n) ? n.toFixed(digits) : "-";
}

async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Runs variants interleaved: every round runs each variant's batch once, in
 * an order rotated by the round number. Stops early at the time budget.
 */
async function interleave(
  ctx: BenchContext,
  figure: string,
  variants: Variant[],
  unit: string,
): Promise<FigureSamples> {
  const series: Record<string, Series> = {};
  const notes: string[] = [];
  for (const v of variants) {
    series[v.key] = { name: v.name, samples: [] };
    if (!v.batch) series[v.key]!.note = v.note ?? "skipped";
  }
  const active = variants.filter((v) => v.batch);
  const started = Date.now();
  let rounds = 0;
  for (let round = 0; round < ctx.config.rounds; round++) {
    if (round > 0 && Date.now() - started > ctx.config.budgetMs) {
      notes.push(`${figure}: stopped after ${round} rounds (time budget)`);
      break;
    }
    const order = active.map((_, i) => active[(i + round) % active.length]!);
    for (const v of order) {
      const s = series[v.key]!;
      if (s.note && s.samples.length === 0 && round > 0) continue; // failed in round 0
      try {
        const got = await v.batch!(round);
        s.samples.push(...got);
        ctx.progress(
          `${figure} round ${round + 1}/${ctx.config.rounds}: ${v.name}: ` +
            `${fmt(median(got))} ${unit}${got.length > 1 ? ` (median of ${got.length})` : ""}`,
        );
      } catch (err) {
        const msg = `${v.name} failed: ${(err as Error).message}`;
        s.note = s.note ?? msg;
        notes.push(`${figure}: ${msg}`);
        ctx.progress(`${figure} round ${round + 1}: ${msg}`);
      }
    }
    rounds++;
  }
  return { series, facts: {}, notes, rounds };
}

// -- helpers shared by the variants --

async function drainCount(stream: ReadableStream<Uint8Array>): Promise<number> {
  let n = 0;
  const reader = stream.getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return n;
      n += value.byteLength;
    }
  } finally {
    reader.releaseLock();
  }
}

/** Spawns locally, drains stdout and stderr, waits; returns stdout bytes. */
async function runLocal(
  program: string,
  args: string[],
  timeoutMs: number,
): Promise<number> {
  const child = new Deno.Command(program, {
    args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch {
      // gone
    }
  }, timeoutMs);
  try {
    const [bytes, , status] = await Promise.all([
      drainCount(child.stdout),
      drainCount(child.stderr),
      child.status,
    ]);
    if (!status.success) {
      throw new Error(
        `${program} exited with ${status.code}${status.signal ? ` (${status.signal})` : ""}`,
      );
    }
    return bytes;
  } finally {
    clearTimeout(timer);
  }
}

/** Opens a WebSocket, counts binary/text bytes until the server closes it. */
function wsCount(url: string, timeoutMs: number): Promise<number> {
  const { promise, resolve, reject } = Promise.withResolvers<number>();
  const ws = new WebSocket(url);
  ws.binaryType = "arraybuffer";
  let bytes = 0;
  const timer = setTimeout(() => {
    ws.close();
    reject(new Error(`${url} did not finish within ${timeoutMs} ms`));
  }, timeoutMs);
  let opened = false;
  let error = "";
  ws.onopen = () => opened = true;
  ws.onmessage = (e) => {
    bytes += typeof e.data === "string" ? e.data.length : (e.data as ArrayBuffer).byteLength;
  };
  // websocketd 0.4.1 drops the TCP connection without a close frame when the
  // program exits, which Deno reports as an error ("Unexpected EOF") followed
  // by the close: that is the normal end here.
  ws.onerror = (e) => error = (e as ErrorEvent).message ?? "error";
  ws.onclose = () => {
    clearTimeout(timer);
    if (opened) resolve(bytes);
    else reject(new Error(`Cannot connect to ${url}: ${error || "closed"}`));
  };
  return promise;
}

async function timeIt(run: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await run();
  return performance.now() - t0;
}

/** Runs a command once on each connection to warm up both processes' JITs. */
async function warmRemote(
  ctx: BenchContext,
  argv: string[],
  extra: Record<string, unknown> = {},
): Promise<void> {
  for (const client of [ctx.json, ctx.binary]) {
    await runRemote(client, pid("warm"), argv, { extra, timeoutMs: 60_000 }).catch(() => {});
  }
}

/** Runs a peer once; on success enables it, on failure marks it skipped. */
async function warmUp(v: Variant, once: () => Promise<unknown>, enable: () => void) {
  try {
    await once();
    enable();
  } catch (err) {
    v.note = `${v.name} failed during warm-up: ${(err as Error).message}`;
  }
}

async function repeat(n: number, run: () => Promise<number>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(await run());
  return out;
}

function checkBytes(got: number, want: number, what: string): void {
  if (got !== want) throw new Error(`${what}: expected ${want} bytes, received ${got}`);
}

// -- P1 --

/** P1: exec round trip of `true`. Samples in ms. */
export async function p1(ctx: BenchContext): Promise<FigureSamples> {
  const n = ctx.config.p1Runs;
  const remote = async () => {
    const id = pid("p1");
    const t = await timeIt(async () => {
      const r = await runRemote(ctx.json, id, ["true"], { timeoutMs: 10_000 });
      if (r.exitCode !== 0) throw new Error(`true exited with ${r.exitCode}`);
    });
    return t;
  };
  const localPiped = () => timeIt(() => runLocal("true", [], 10_000));
  const localNull = () =>
    timeIt(async () => {
      const child = new Deno.Command("true", { stdin: "null", stdout: "null", stderr: "null" })
        .spawn();
      const s = await child.status;
      if (!s.success) throw new Error("true failed");
    });
  const wsd = ctx.websocketd;
  const ssh = ctx.ssh;
  const variants: Variant[] = [
    { key: "server", name: "exec-server: process/start `true` → process/closed", batch: null },
    { key: "localPiped", name: "local Deno.Command spawn+wait (stdout/stderr piped)", batch: null },
    { key: "localNull", name: "local Deno.Command spawn+wait (stdio null)", batch: null },
    {
      key: "websocketd",
      name: "websocketd: connect + spawn `true` + close",
      batch: null,
      note: ctx.websocketdNote,
    },
    {
      key: "ssh",
      name: "ssh 127.0.0.1 true (ControlMaster reused)",
      batch: null,
      note: ctx.sshNote,
    },
  ];
  const [server, piped, nul, w, s] = variants as [Variant, Variant, Variant, Variant, Variant];
  // Warm up every path (JIT, page cache, the mux connection) before measuring.
  for (let i = 0; i < 5; i++) {
    await remote();
    await localPiped();
    await localNull();
  }
  server.batch = () => repeat(n, remote);
  piped.batch = () => repeat(n, localPiped);
  nul.batch = () => repeat(n, localNull);
  if (wsd) {
    const once = () =>
      timeIt(async () => {
        await wsCount(`${wsd}/true`, 10_000);
      });
    await warmUp(w, once, () => w.batch = () => repeat(n, once));
  }
  if (ssh) {
    const once = () => timeIt(() => runLocal("ssh", [...ssh, "true"], 20_000));
    await warmUp(s, once, () => s.batch = () => repeat(Math.max(5, Math.ceil(n / 2)), once));
  }
  return await interleave(ctx, "P1", variants, "ms");
}

// -- P2 --

/** P2: stdout throughput of `head -c N /dev/zero`. Samples in MB/s. */
export async function p2(ctx: BenchContext): Promise<FigureSamples> {
  const bytes = ctx.config.p2Bytes;
  const head = ["head", "-c", String(bytes), "/dev/zero"];
  const timeoutMs = 120_000;
  const remote = (client: BenchClient) => async () => {
    let got = 0;
    const ms = await timeIt(async () => {
      got = (await runRemote(client, pid("p2"), head, { timeoutMs })).bytes;
    });
    checkBytes(got, bytes, "exec-server");
    return [mbps(bytes, ms)];
  };
  await warmRemote(ctx, ["head", "-c", "20000000", "/dev/zero"]);
  const variants: Variant[] = [
    { key: "json", name: "exec-server, JSON (base64) output", batch: remote(ctx.json) },
    { key: "binary", name: "exec-server, binary output frames", batch: remote(ctx.binary) },
    {
      key: "local",
      name: "local Deno.Command read",
      batch: async () => {
        let got = 0;
        const ms = await timeIt(async () => {
          got = await runLocal(head[0]!, head.slice(1), timeoutMs);
        });
        checkBytes(got, bytes, "local");
        return [mbps(bytes, ms)];
      },
    },
    {
      key: "ssh",
      name: "ssh 127.0.0.1 head … (ControlMaster reused)",
      batch: null,
      note: ctx.sshNote,
    },
    { key: "websocketd", name: "websocketd --binary", batch: null, note: ctx.websocketdNote },
  ];
  if (!ctx.binary.binaryOutput) {
    variants[1]!.batch = null;
    variants[1]!.note = "the server did not grant binaryOutput";
  }
  const ssh = ctx.ssh;
  if (ssh) {
    variants[3]!.batch = async () => {
      let got = 0;
      const ms = await timeIt(async () => {
        got = await runLocal("ssh", [...ssh, head.join(" ")], timeoutMs);
      });
      checkBytes(got, bytes, "ssh");
      return [mbps(bytes, ms)];
    };
  }
  const wsd = ctx.websocketd;
  if (wsd) {
    variants[4]!.batch = async () => {
      let got = 0;
      const ms = await timeIt(async () => {
        got = await wsCount(`${wsd}/zero?${bytes}`, timeoutMs);
      });
      checkBytes(got, bytes, "websocketd");
      return [mbps(bytes, ms)];
    };
  }
  return await interleave(ctx, "P2", variants, "MB/s");
}

// -- P3 --

/** P3: PTY throughput end to end vs `script -qfec`. Samples in MB/s. */
export async function p3(ctx: BenchContext): Promise<FigureSamples> {
  const bytes = ctx.config.p3Bytes;
  const head = ["head", "-c", String(bytes), "/dev/zero"];
  const timeoutMs = 120_000;
  const remote = (client: BenchClient) => async () => {
    let got = 0;
    const ms = await timeIt(async () => {
      got = (await runRemote(client, pid("p3"), head, {
        timeoutMs,
        extra: { tty: true, size: { rows: 24, cols: 80 } },
      })).bytes;
    });
    checkBytes(got, bytes, "exec-server PTY");
    return [mbps(bytes, ms)];
  };
  const variants: Variant[] = [
    { key: "binary", name: "exec-server, tty:true, binary frames", batch: remote(ctx.binary) },
    { key: "json", name: "exec-server, tty:true, JSON (base64)", batch: remote(ctx.json) },
    {
      key: "script",
      name: "util-linux script -qfec (local)",
      batch: null,
      note: ctx.scriptNote,
    },
  ];
  if (ctx.script) {
    variants[2]!.batch = async () => {
      let got = 0;
      const ms = await timeIt(async () => {
        got = await runLocal("script", ["-qfec", head.join(" "), "/dev/null"], timeoutMs);
      });
      checkBytes(got, bytes, "script");
      return [mbps(bytes, ms)];
    };
  }
  await warmRemote(ctx, ["head", "-c", "5000000", "/dev/zero"], { tty: true });
  const result = await interleave(ctx, "P3", variants, "MB/s");
  // The terminal backend alone (no server, no socket), from bench/pty.ts.
  try {
    const { runPtyBench } = await import("./pty.ts");
    ctx.progress("P3: backend comparison (bench/pty.ts: spawnPty vs script)");
    const r = await withTimeout(
      runPtyBench({ ...ctx.config.p3Backend, baseline: ctx.script }),
      ctx.config.budgetMs,
      "runPtyBench",
    );
    result.series.backend = {
      name: "PTY backend alone: lib/process/pty.ts spawnPty (in-process, no socket)",
      samples: r.throughput.pty,
    };
    result.series.backendScript = {
      name: "util-linux script -qfec, same loop (bench/pty.ts)",
      samples: r.throughput.script ?? [],
      ...(r.throughput.script ? {} : { note: r.note ?? "skipped" }),
    };
    result.facts.backendSpawnMedianMs = r.spawn.pty.median;
    if (r.spawn.script) result.facts.scriptSpawnMedianMs = r.spawn.script.median;
  } catch (err) {
    result.notes.push(`P3: bench/pty.ts could not run: ${(err as Error).message}`);
  }
  return result;
}

// -- P4 and P5 --

/**
 * P4 and P5 on a fresh server per round: idle RSS, RSS with N idle sessions,
 * then N clients × M sequential starts of `sleep S` at once (so all N×M
 * processes run concurrently), start latency, errors, and the peak RSS.
 * Samples: `start` in ms, the RSS series in bytes.
 */
export async function p4p5(
  ctx: Pick<BenchContext, "config" | "cleanup" | "progress">,
): Promise<FigureSamples> {
  const c = ctx.config;
  const series: Record<string, Series> = {
    start: { name: "exec-server: process/start latency", samples: [] },
    startRate: { name: "starts per second (all clients)", samples: [] },
    rssIdle: { name: "server RSS, idle", samples: [] },
    rssSessions: { name: `server RSS, ${c.p4Clients} idle sessions`, samples: [] },
    rssPeak: { name: `server RSS, peak under P4`, samples: [] },
  };
  const facts: Record<string, number> = {
    errors: 0,
    processes: 0,
    peakConcurrent: 0,
    wallMs: 0,
  };
  const notes: string[] = [];
  const started = Date.now();
  let rounds = 0;
  for (let round = 0; round < c.p4Rounds; round++) {
    if (round > 0 && Date.now() - started > c.budgetMs) {
      notes.push(`P4: stopped after ${round} rounds (time budget)`);
      break;
    }
    const server = await startServer(ctx.cleanup, ["--log-level", "warn"]);
    const clients: BenchClient[] = [];
    try {
      await new Promise((r) => setTimeout(r, 1000));
      const idle = rssOf(server.pid);
      if (idle !== null) series.rssIdle!.samples.push(idle);
      for (let i = 0; i < c.p4Clients; i++) {
        clients.push(await BenchClient.connect(server.url));
      }
      await new Promise((r) => setTimeout(r, 500));
      const withSessions = rssOf(server.pid);
      if (withSessions !== null) series.rssSessions!.samples.push(withSessions);
      ctx.progress(
        `P5 round ${round + 1}/${c.p4Rounds}: RSS idle ${fmt((idle ?? NaN) / 1e6, 1)} MB, ` +
          `with ${c.p4Clients} sessions ${fmt((withSessions ?? NaN) / 1e6, 1)} MB`,
      );
      let peakRss = 0;
      const sampler = setInterval(() => {
        peakRss = Math.max(peakRss, rssOf(server.pid) ?? 0);
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
          const id = pid("p4");
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
      const hwm = hwmOf(server.pid);
      series.rssPeak!.samples.push(Math.max(peakRss, hwm ?? 0));
      series.start!.samples.push(...latencies);
      facts.errors! += errors;
      facts.processes! += c.p4Clients * c.p4Starts;
      facts.peakConcurrent = Math.max(facts.peakConcurrent!, peak);
      facts.wallMs = Math.max(facts.wallMs!, wall);
      series.startRate!.samples.push(latencies.length / ((lastStart - t0) / 1000));
      ctx.progress(
        `P4 round ${round + 1}/${c.p4Rounds}: ${c.p4Clients}×${c.p4Starts} starts, ` +
          `p50 ${fmt(quantile(latencies, 0.5))} ms, p99 ${fmt(quantile(latencies, 0.99))} ms, ` +
          `${errors} errors, ${peak} concurrent, peak RSS ${fmt(peakRss / 1e6, 1)} MB`,
      );
      rounds++;
    } finally {
      await Promise.all(clients.map((cl) => cl.close()));
      await server.stop();
    }
  }
  return { series, facts, notes, rounds };
}

/** Peak resident set size (VmHWM) in bytes, or null. */
function hwmOf(pid: number): number | null {
  try {
    const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(Deno.readTextFileSync(`/proc/${pid}/status`));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

// -- P6 --

/** P6: stdin throughput into `cat >/dev/null`. Samples in MB/s. */
export async function p6(ctx: BenchContext): Promise<FigureSamples> {
  const c = ctx.config;
  const chunk = new Uint8Array(c.p6ChunkBytes);
  crypto.getRandomValues(chunk.subarray(0, 65536));
  for (let off = 65536; off < chunk.length; off += 65536) chunk.copyWithin(off, 0, 65536);
  const total = Math.ceil(c.p6Bytes / c.p6ChunkBytes) * c.p6ChunkBytes;
  const argv = ["sh", "-c", "cat >/dev/null"];
  const timeoutMs = 120_000;
  const remote = async () => {
    const id = pid("p6");
    const ms = await timeIt(async () => {
      const started = Promise.withResolvers<void>();
      const closed = runRemote(ctx.json, id, argv, {
        extra: { pipeStdin: true },
        timeoutMs,
        onStarted: started.resolve,
      });
      closed.catch(started.reject);
      await started.promise;
      // Writes in flight are bounded by the window, and each must be accepted.
      await new Promise<void>((resolve, reject) => {
        let sent = 0;
        let inFlight = 0;
        let failed = false;
        const pump = () => {
          while (!failed && inFlight < c.p6Window && sent < total) {
            sent += chunk.byteLength;
            inFlight++;
            ctx.json.request(
              "process/write",
              { processId: id, chunk: chunk.toBase64() },
              timeoutMs,
            ).then((r) => {
              inFlight--;
              const status = (r as { status: string }).status;
              if (status !== "accepted") throw new Error(`process/write: ${status}`);
              if (sent >= total && inFlight === 0) resolve();
              else pump();
            }).catch((err) => {
              failed = true;
              reject(err);
            });
          }
        };
        pump();
      });
      const r = await ctx.json.request("process/closeStdin", { processId: id }, timeoutMs) as {
        status: string;
      };
      if (r.status !== "accepted") throw new Error(`process/closeStdin: ${r.status}`);
      const res = await closed;
      if (res.exitCode !== 0) throw new Error(`cat exited with ${res.exitCode}`);
    });
    return [mbps(total, ms)];
  };
  const pipeInto = async (program: string, args: string[]) => {
    const ms = await timeIt(async () => {
      const child = new Deno.Command(program, {
        args,
        stdin: "piped",
        stdout: "null",
        stderr: "null",
      }).spawn();
      const timer = setTimeout(() => {
        try {
          child.kill("SIGKILL");
        } catch {
          // gone
        }
      }, timeoutMs);
      const w = child.stdin.getWriter();
      for (let sent = 0; sent < total; sent += chunk.byteLength) await w.write(chunk);
      await w.close();
      const s = await child.status;
      clearTimeout(timer);
      if (!s.success) throw new Error(`${program} exited with ${s.code}`);
    });
    return [mbps(total, ms)];
  };
  await remote(); // warm-up (JIT on both sides)
  const ssh = ctx.ssh;
  const variants: Variant[] = [
    { key: "server", name: "exec-server: process/write into cat >/dev/null", batch: remote },
    {
      key: "local",
      name: "local Deno.Command stdin into cat >/dev/null",
      batch: () => pipeInto(argv[0]!, argv.slice(1)),
    },
    {
      key: "ssh",
      name: "ssh 127.0.0.1 'cat >/dev/null' (ControlMaster reused)",
      batch: ssh ? () => pipeInto("ssh", [...ssh, "cat >/dev/null"]) : null,
      note: ctx.sshNote,
    },
  ];
  return await interleave(ctx, "P6", variants, "MB/s");
}
