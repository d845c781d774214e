// Copyright 2026 the exec-server authors. MIT license.
/**
 * How the figures measure: time a run, turn bytes and time into MB/s with a
 * byte-count check, run a program locally or a command remotely, count a
 * WebSocket's bytes, and warm a path up before it counts.
 *
 * @module
 */
import { type BenchClient, runRemote } from "../client.ts";
import { mbps } from "../stats.ts";
import { messageOf } from "../../lib/util/mod.ts";
import { type BenchContext, newProcessId, type Variant } from "./interleave.ts";

/** Milliseconds `run` takes. */
export async function timeIt(run: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await run();
  return performance.now() - t0;
}

/** `run` `n` times in a row; one sample each. */
export async function repeat(n: number, run: () => Promise<number>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(await run());
  return out;
}

/**
 * Times `run`, which resolves with the bytes it moved, checks that they are
 * `bytes`, and returns one sample in MB/s.
 */
export async function throughput(
  bytes: number,
  what: string,
  run: () => Promise<number>,
): Promise<number[]> {
  let got = 0;
  const ms = await timeIt(async () => {
    got = await run();
  });
  if (got !== bytes) throw new Error(`${what}: expected ${bytes} bytes, received ${got}`);
  return [mbps(bytes, ms)];
}

/** Rejects with a clear error when `p` takes longer than `ms`. */
export async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
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
export async function runLocal(
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
export function wsCount(url: string, timeoutMs: number): Promise<number> {
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

/** Runs `argv` remotely to its close; resolves with the output byte count. */
export async function remoteBytes(
  client: BenchClient,
  prefix: string,
  argv: string[],
  options: { extra?: Record<string, unknown>; timeoutMs?: number } = {},
): Promise<number> {
  return (await runRemote(client, newProcessId(prefix), argv, options)).bytes;
}

/** Runs a command once on each connection (codex's too) to warm up the servers and this client. */
export async function warmRemote(
  ctx: BenchContext,
  argv: string[],
  extra: Record<string, unknown> = {},
): Promise<void> {
  for (const client of [ctx.json, ctx.binary, ...(ctx.codex ? [ctx.codex] : [])]) {
    await runRemote(client, newProcessId("warm"), argv, { extra, timeoutMs: 60_000 })
      .catch(() => {});
  }
}

/**
 * Runs a variant's measurement once to warm it up; when that fails the
 * variant is skipped, with the reason.
 */
export async function warmUp(v: Variant, once: () => Promise<unknown>): Promise<void> {
  if (!v.batch) return;
  try {
    await once();
  } catch (err) {
    v.batch = null;
    v.note = `${v.name} failed during warm-up: ${messageOf(err)}`;
  }
}
