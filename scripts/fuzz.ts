// Copyright 2026 the exec-server authors. MIT license.
/**
 * The long fuzz run (`deno task fuzz`): the generator and model of
 * tests/fuzz_test.ts, for many more cases, against one server.
 *
 *   deno task fuzz [--runs N] [--seed S]
 *
 * Defaults to 200,000 batches (about 5 minutes on 2 cores). A failure prints
 * fast-check's seed; replay it with `--seed` (or `FUZZ_SEED=S deno task test
 * tests/fuzz_test.ts`).
 *
 * @module
 */
import { parseArgs } from "node:util";
import fc from "fast-check";
import { ServerProcess } from "../tests/_harness.ts";
import {
  assertOutsideUntouched,
  assertServerHealthy,
  FUZZ_LIMIT,
  fuzzDirs,
  fuzzServerArgs,
  garbageStreamArb,
  garbageStreamCase,
  runFuzz,
} from "../tests/_fuzz.ts";
import { messageOf } from "../lib/util/mod.ts";

async function main(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { runs: { type: "string" }, seed: { type: "string" }, help: { type: "boolean" } },
  });
  if (values.help) {
    console.log("Usage: deno task fuzz [--runs N] [--seed S]");
    return 0;
  }
  const runs = Number(values.runs ?? 200_000);
  const seed = values.seed !== undefined
    ? Number(values.seed)
    : Date.now() ^ (Math.random() * 2 ** 31);
  if (!Number.isInteger(runs) || runs <= 0 || !Number.isInteger(seed)) {
    console.error("fuzz: --runs and --seed must be integers");
    return 2;
  }
  console.log(`fuzz: ${runs} batches, seed ${seed}`);
  const { base, root, outside } = await fuzzDirs();
  const server = await ServerProcess.start(fuzzServerArgs(root));
  const started = performance.now();
  let ok = false;
  try {
    const report = await runFuzz(
      { url: server.url, root, outside, maxMessageBytes: FUZZ_LIMIT },
      { numRuns: runs, seed, log: (line) => console.log(`fuzz: ${line}`) },
    );
    await fc.assert(
      fc.asyncProperty(garbageStreamArb(), (bytes) => garbageStreamCase(server.url, bytes)),
      { numRuns: Math.max(100, Math.floor(runs / 50)), seed },
    );
    await assertServerHealthy(server);
    await assertOutsideUntouched(outside);
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    console.log(
      `fuzz: ok: ${report.batches} batches, ${report.frames} frames, ${report.replies} replies, ` +
        `${report.closes} closes in ${seconds} s; outcomes ${JSON.stringify(report.outcomes)}`,
    );
    if (report.internalErrors.length > 0) {
      console.log(`fuzz: unexpected exceptions:\n${report.internalErrors.join("\n")}`);
    } else ok = true;
  } catch (err) {
    console.error(`fuzz: FAILED (seed ${seed}):\n${messageOf(err)}`);
  } finally {
    const stderr = await server.stderr();
    if (!ok && stderr.trim() !== "") console.error(`fuzz: server log:\n${stderr.slice(-20_000)}`);
    await Deno.remove(base, { recursive: true });
  }
  return ok ? 0 : 1;
}

Deno.exit(await main(Deno.args));
