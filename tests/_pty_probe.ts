// Copyright 2026 the exec-server authors. MIT license.
/**
 * Terminal scenarios that measure this process's own fds and threads, run by
 * tests/pty_test.ts as `deno run -A tests/_pty_probe.ts SCENARIO`; prints one
 * JSON object.
 *
 * - `rejects`: every start of REJECTED_STARTS, and the fds open before and after.
 * - `many`: 200 terminals at once on one reactor, with the fds and threads
 *   before, during and after, and how long unrelated file reads took meanwhile.
 *
 * @module
 */
import { spawnPty } from "../lib/process/pty.ts";
import { messageOf } from "../lib/util/mod.ts";
import { Collector, fdCount, options, REJECTED_STARTS, run, threadCount } from "./_pty.ts";

async function tryStarts(): Promise<{ message: string; notFound: boolean }[]> {
  const failures: { message: string; notFound: boolean }[] = [];
  for (const start of REJECTED_STARTS) {
    try {
      await spawnPty(start.options, new Collector());
      failures.push({ message: "started", notFound: false });
    } catch (error) {
      failures.push({ message: messageOf(error), notFound: error instanceof Deno.errors.NotFound });
    }
  }
  return failures;
}

async function rejects(): Promise<unknown> {
  await run(["true"]); // loads libc and starts the reactor
  const before = fdCount();
  const failures = await tryStarts();
  return { before, after: fdCount(), failures };
}

/**
 * 200 terminals at once, each printing 1 MB, while this measures how long
 * unrelated async file reads take and how many threads the process has.
 */
async function terminals(): Promise<Record<string, unknown>> {
  const count = 200;
  const size = 1_000_000;
  const t0 = performance.now();
  const sinks = Array.from({ length: count }, () => new Collector(() => {}));
  await Promise.all(
    sinks.map((sink) => spawnPty(options(["head", "-c", String(size), "/dev/zero"]), sink)),
  );
  const all = Promise.all(sinks.map((sink) => sink.until(() => sink.done, "exit", 60_000)));
  let finished = false;
  all.finally(() => finished = true).catch(() => {});
  const threadsBefore = threadCount();
  let maxThreads = threadsBefore;
  let slowest = 0;
  let reads = 0;
  while (!finished) {
    const t0 = performance.now();
    await Deno.readTextFile("/proc/self/stat");
    slowest = Math.max(slowest, performance.now() - t0);
    maxThreads = Math.max(maxThreads, threadCount());
    reads++;
  }
  await all;
  const burstMs = performance.now() - t0;
  const wrong = sinks.filter((s) =>
    s.bytes !== size || s.bytesAtExit !== size || s.status?.code !== 0 ||
    s.status.signal !== null || s.ends !== 1
  ).map((s) => ({ bytes: s.bytes, bytesAtExit: s.bytesAtExit, status: s.status, ends: s.ends }));
  return { count, wrong, burstMs, reads, slowest, threadsBefore, maxThreads };
}

async function many(): Promise<unknown> {
  await run(["true"]);
  const before = fdCount();
  return { ...await terminals(), before, after: fdCount() };
}

const scenarios: Record<string, () => Promise<unknown>> = { rejects, many };
const scenario = scenarios[Deno.args[0] ?? ""];
if (!scenario) throw new Error(`usage: _pty_probe.ts ${Object.keys(scenarios).join("|")}`);
console.log(JSON.stringify(await scenario()));
