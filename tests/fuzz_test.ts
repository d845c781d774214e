// Copyright 2026 the exec-server authors. MIT license.
// Fuzzing over a real socket with fast-check (see _fuzz.ts for what is
// generated and the model that judges each reply). FUZZ_RUNS and FUZZ_SEED
// override the case count and replay a failure; `deno task fuzz` runs longer.
import assert from "node:assert/strict";
import fc from "fast-check";
import { ServerProcess, TestClient } from "./_harness.ts";
import {
  assertOutsideUntouched,
  assertServerHealthy,
  expectationOf,
  FUZZ_LIMIT,
  fuzzDirs,
  fuzzServerArgs,
  type FuzzTarget,
  garbageStreamArb,
  garbageStreamCase,
  idKey,
  runFuzz,
} from "./_fuzz.ts";

const LIMIT = FUZZ_LIMIT;
const RUNS = Number(Deno.env.get("FUZZ_RUNS") ?? 10_000);
const SEED = Deno.env.get("FUZZ_SEED");

Deno.test("the model agrees with the protocol rules on hand-picked frames", () => {
  const e = (text: string) => expectationOf({ text }, LIMIT);
  assert.deepEqual(e("{not json"), { reply: idKey(-1) });
  assert.deepEqual(e('{"id":1e300,"method":"x"}'), { reply: idKey(1e300) });
  assert.deepEqual(e('{"id":1.5,"method":"x"}'), { reply: idKey(-1) });
  assert.deepEqual(e('{"id":-0,"method":"x"}'), { reply: idKey(0) });
  assert.deepEqual(e('{"method":"initialized"}'), { silent: true });
  assert.deepEqual(e('{"method":"other"}'), { close: 1008 });
  assert.deepEqual(e('{"id":1,"result":{}}'), { close: 1008 });
  assert.deepEqual(e('{"id":1}'), { reply: idKey(1) });
  assert.deepEqual(e("x".repeat(LIMIT + 1)), { close: 1009 });
  assert.deepEqual(expectationOf({ binary: new Uint8Array([0xff]) }, LIMIT), {
    reply: idKey(-1),
  });
});

Deno.test("fuzz: generated frames over a real socket; every parseable request is answered", async () => {
  const { base, root, outside } = await fuzzDirs();
  await using server = await ServerProcess.start(fuzzServerArgs(root));
  const target: FuzzTarget = { url: server.url, root, outside, maxMessageBytes: LIMIT };
  const started = performance.now();
  const report = await runFuzz(target, {
    numRuns: RUNS,
    ...(SEED ? { seed: Number(SEED) } : {}),
  });
  const seconds = (performance.now() - started) / 1000;
  console.log(
    `fuzz: ${report.batches} batches, ${report.frames} frames, ${report.replies} replies, ` +
      `${report.closes} closes in ${seconds.toFixed(1)} s; outcomes ${
        JSON.stringify(report.outcomes)
      }`,
  );
  assert.equal(report.batches, RUNS);
  assert.deepEqual(report.internalErrors, [], "unexpected exceptions reached the client");
  await assertServerHealthy(server);
  await assertOutsideUntouched(outside);
  await Deno.remove(base, { recursive: true });
});

Deno.test("fuzz: nesting 10,000 levels deep anywhere is answered, not a crash", async () => {
  await using server = await ServerProcess.start(["--max-message-bytes", String(LIMIT)]);
  await using c = await TestClient.connect(server.url);
  const deep = (n: number, kind: "array" | "object") =>
    kind === "array" ? "[".repeat(n) + "]".repeat(n) : '{"a":'.repeat(n) + "1" + "}".repeat(n);
  let id = 1;
  for (const kind of ["array", "object"] as const) {
    const nest = deep(10_000, kind);
    const frames: [string, number][] = [
      [nest, -1],
      [`{"id":${id},"method":"process/start","params":${nest}}`, id++],
      [`{"id":${nest},"method":"process/list"}`, -1],
      [`{"id":${id},"method":${nest}}`, id++],
      [
        `{"id":${id},"method":"process/start","params":{"processId":"d","argv":["true"],` +
        `"cwd":"/tmp","tty":false,"env":{"A":${nest}}}}`,
        id++,
      ],
      [`{"id":${id},"method":"fs/getMetadata","params":{"path":"/tmp","sandbox":${nest}}}`, id++],
      [`{"id":${id},"method":"process/list","params":{"extra":${nest}}}`, id++],
    ];
    for (const [frame, replyId] of frames) {
      const before = c.stray.filter((m) => m.id === replyId).length;
      c.sendRaw(frame);
      const reply = await c.waitUntil(
        () => c.stray.filter((m) => m.id === replyId)[before],
        10_000,
        `a reply to ${frame.slice(0, 60)}`,
      );
      if (frame.includes('"extra"')) assert.deepEqual(reply.result, { processes: [] });
      else if (frame.includes('"sandbox":{')) assert.ok(reply.result, "unknown keys are ignored");
      else assert.ok([-32600, -32602].includes(reply.error?.code), JSON.stringify(reply));
    }
  }
  await assertServerHealthy(server);
});

Deno.test("fuzz: garbage on the TCP stream drops only that connection", async () => {
  await using server = await ServerProcess.start([]);
  await using bystander = await TestClient.connect(server.url);
  await fc.assert(
    fc.asyncProperty(garbageStreamArb(), (bytes) => garbageStreamCase(server.url, bytes)),
    { numRuns: Math.max(20, Math.floor(RUNS / 50)), ...(SEED ? { seed: Number(SEED) } : {}) },
  );
  assert.deepEqual(await bystander.request("process/list"), { processes: [] });
  await assertServerHealthy(server);
});
