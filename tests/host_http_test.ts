// Copyright 2026 the exec-server authors. MIT license.
// http/request's bounds, with a server core in this process (its peer's send
// queue is a number the test sets) and a real loopback origin: requests per
// connection, whole bodies no bigger than a reply, streams that wait for a
// congested peer, the reply before the first bodyDelta, and a closed
// connection ending its streams.
import assert from "node:assert/strict";
import { createServerCore } from "../lib/server/core.ts";
import { NULL_LOGGER } from "../lib/util/logger.ts";
import { RecordingPeer } from "./_fakes.ts";
import { type Message, waitUntil } from "./_harness.ts";
import { HttpOrigin } from "./_http_origin.ts";

type Sent = Message;

async function open(options: Parameters<typeof createServerCore>[0] = {}) {
  const core = createServerCore({ logger: NULL_LOGGER, ...options });
  const peer = new RecordingPeer();
  const conn = core.connect(peer);
  await conn.receive(JSON.stringify({ id: 0, method: "initialize", params: { clientName: "t" } }));
  await conn.receive(JSON.stringify({ method: "initialized", params: {} }));
  let id = 1;
  const call = (params: Record<string, unknown>) =>
    conn.receive(JSON.stringify({
      id: id++,
      method: "http/request",
      params: { method: "GET", requestId: "r", ...params },
    })) as Promise<Sent>;
  const sent = () => peer.sent as Sent[];
  const deltas = (requestId: string) =>
    sent().filter((m) => m.method === "http/request/bodyDelta" && m.params.requestId === requestId);
  return {
    core,
    peer,
    conn,
    call,
    sent,
    deltas,
    [Symbol.asyncDispose]: async () => {
      conn.transportClosed();
      await core.registry.shutdown();
    },
  };
}

Deno.test("http/request: at most maxHttpRequests per connection, streams included", async () => {
  await using origin = new HttpOrigin();
  await using t = await open({ maxHttpRequests: 2 });
  const slow = t.call({ url: `${origin.base}/slow?ms=300` });
  const streaming = await t.call({
    url: `${origin.base}/slowbody?n=3&gap=150`,
    requestId: "s",
    streamResponse: true,
  });
  assert.equal(streaming.result.status, 200);
  const third = await t.call({ url: `${origin.base}/echo` });
  assert.equal(third.error.code, -32600);
  assert.match(third.error.message, /too many http requests on this connection: the limit is 2/);
  assert.equal((await slow).result.status, 200);
  // The stream still counts until its last frame; then both slots are free.
  await waitUntil(() => t.deltas("s").some((m) => m.params.done), { message: "the stream's end" });
  const [a, b] = await Promise.all([
    t.call({ url: `${origin.base}/echo` }),
    t.call({ url: `${origin.base}/echo` }),
  ]);
  assert.deepEqual([a.result.status, b.result.status], [200, 200]);
});

Deno.test("http/request: a whole body larger than one reply is refused; streamed, it arrives", async () => {
  await using origin = new HttpOrigin();
  await using t = await open({ maxMessageBytes: 256 * 1024 });
  const whole = await t.call({ url: `${origin.base}/bytes?n=400000` });
  assert.equal(whole.error.code, -32603);
  assert.match(whole.error.message, /response body is larger than \d+ bytes.*streamResponse/);
  const reply = await t.call({
    url: `${origin.base}/bytes?n=400000`,
    requestId: "big",
    streamResponse: true,
  });
  assert.equal(reply.result.bodyBase64, "");
  await waitUntil(() => t.deltas("big").some((m) => m.params.done), {
    message: "the stream's end",
  });
  const bytes = t.deltas("big").flatMap((m) => [...Uint8Array.fromBase64(m.params.deltaBase64)]);
  assert.equal(bytes.length, 400000);
  assert.ok(bytes.every((b, i) => b === (i & 0xff)));
  // The reply went out before the first piece of its body.
  const order = t.sent().map((m) => m.id === reply.id ? "reply" : m.method);
  assert.ok(order.indexOf("reply") < order.indexOf("http/request/bodyDelta"));
});

Deno.test("http/request streamResponse: a congested peer pauses the stream (and the origin); it resumes when drained", async () => {
  await using origin = new HttpOrigin();
  await using t = await open();
  t.peer.buffered = 64 * 1024 * 1024;
  await t.call({ url: `${origin.base}/firehose`, requestId: "f", streamResponse: true });
  await waitUntil(() => t.deltas("f").length >= 1, { message: "the first piece" });
  // Nothing more is sent while the queue stays over the high-water mark,
  // and the origin stops being read soon after.
  let last = -1;
  await waitUntil(async () => {
    const now = origin.firehoses[0]!.produced;
    const still = now === last;
    last = now;
    await new Promise((r) => setTimeout(r, 200));
    return still;
  }, { timeoutMs: 20_000, message: "the origin to stop producing" });
  assert.equal(t.deltas("f").length, 1, "one piece sent into a congested queue, then a pause");
  assert.ok(origin.firehoses[0]!.produced < 16 * 1024 * 1024);
  t.peer.buffered = 0;
  await waitUntil(() => t.deltas("f").length > 20, { message: "the stream to resume" });
  t.conn.transportClosed();
  await waitUntil(() => origin.firehoses[0]!.cancelled, {
    message: "the origin's stream cancelled",
  });
  const count = t.deltas("f").length;
  assert.ok(t.deltas("f").every((m) => !m.params.done), "no frame after the connection closed");
  assert.equal(t.deltas("f").length, count);
});
