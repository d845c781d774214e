// Copyright 2026 the exec-server authors. MIT license.
// Sessions over real sockets: detach on drop, resume, lossless replay, expiry.
import assert from "node:assert/strict";
import {
  assertAllGone,
  concat,
  CuttableProxy,
  type Message,
  ResponseError,
  ServerProcess,
  TestClient,
  text,
} from "./_harness.ts";

/** Resumes `sessionId` through `url`, retrying while the server still sees the old link. */
async function resume(url: string, sessionId: string, timeoutMs = 10_000): Promise<TestClient> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const c = await TestClient.connect(url, { initialize: false });
    try {
      await c.initialize(sessionId);
      return c;
    } catch (err) {
      await c.close();
      if (!(err instanceof ResponseError) || err.code !== -32010 || Date.now() > deadline) {
        throw err;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

/** Applies chunks in seq order, ignoring duplicates; returns the contiguous cursor. */
class Reassembler {
  cursor = 0;
  closed = false;
  readonly parts: Uint8Array[] = [];
  readonly #pending = new Map<number, Message>();
  gaps = 0;

  /** Accepts a pushed event or a read chunk (`{seq, chunk?}` or closed/exited). */
  accept(seq: number, event: { chunk?: string; closed?: boolean }): void {
    if (seq <= this.cursor) return;
    this.#pending.set(seq, event);
    for (;;) {
      const next = this.#pending.get(this.cursor + 1);
      if (!next) break;
      this.#pending.delete(this.cursor + 1);
      this.cursor++;
      if (next.chunk !== undefined) this.parts.push(Uint8Array.fromBase64(next.chunk));
      if (next.closed) this.closed = true;
    }
  }

  acceptNotification(m: Message, processId: string): void {
    if (m.params?.processId !== processId) return;
    if (m.method === "process/output") this.accept(m.params.seq, { chunk: m.params.chunk });
    else if (m.method === "process/exited") this.accept(m.params.seq, {});
    else if (m.method === "process/closed") this.accept(m.params.seq, { closed: true });
  }

  /** Reads from the cursor until caught up (or closed). */
  async catchUp(c: TestClient, processId: string): Promise<void> {
    for (;;) {
      const r = await c.request("process/read", {
        processId,
        afterSeq: this.cursor,
        maxBytes: 1 << 20,
      });
      if (r.gap) this.gaps++;
      for (const ch of r.chunks) this.accept(ch.seq, { chunk: ch.chunk });
      // Terminal events have seqs too: nextSeq counts them.
      if (r.chunks.length === 0) {
        if (r.exited && r.closed) {
          for (let s = this.cursor + 1; s < r.nextSeq; s++) {
            this.accept(s, { closed: s === r.nextSeq - 1 });
          }
        } else if (r.exited && r.nextSeq - 1 === this.cursor + 1) {
          this.accept(this.cursor + 1, {});
        }
        return;
      }
    }
  }

  get bytes(): Uint8Array {
    return concat(this.parts);
  }
}

Deno.test("abrupt drop mid-stream, resume, read from the last seq: byte-exact", async () => {
  await using server = await ServerProcess.start();
  await using proxy = new CuttableProxy(server.url);
  const c1 = await TestClient.connect(proxy.url);
  const script =
    'for i in $(seq 1 3000); do echo "line $i"; [ $((i % 100)) -eq 0 ] && sleep 0.01; done; true';
  await c1.start("numbers", ["sh", "-c", script]);
  const r = new Reassembler();
  await c1.waitUntil(() => c1.eventsOf("numbers").length >= 3 || undefined, 10_000, "some output");
  await proxy.cut();
  await c1.closed;
  for (const m of c1.notifications) r.acceptNotification(m, "numbers");
  const seen = r.cursor;
  assert.ok(seen >= 1);
  const c2 = await resume(server.url, c1.sessionId);
  assert.equal(c2.sessionId, c1.sessionId);
  while (!r.closed) {
    await r.catchUp(c2, "numbers");
    for (const m of c2.notifications) r.acceptNotification(m, "numbers");
    if (!r.closed) {
      await c2.waitUntil(() => c2.notifications.length > 0 || undefined, 10_000, "more");
    }
    for (const m of c2.notifications) r.acceptNotification(m, "numbers");
  }
  const expected = Array.from({ length: 3000 }, (_, i) => `line ${i + 1}\n`).join("");
  assert.equal(text(r.bytes), expected);
  assert.equal(r.gaps, 0);
  await c2.close();
});

Deno.test("soak: 50 abrupt disconnects during a 20 MB stream lose and duplicate nothing", async () => {
  await using server = await ServerProcess.start(["--retained-bytes", String(64 * 1024 * 1024)]);
  const script = "for i in $(seq 0 99); do seq $((i*27000+1)) $((i*27000+27000)); sleep 0.08; done";
  const r = new Reassembler();
  let proxy = new CuttableProxy(server.url);
  let c = await TestClient.connect(proxy.url);
  const sessionId = c.sessionId;
  await c.start("soak", ["sh", "-c", script]);
  let cuts = 0;
  let consumed = 0;
  while (!r.closed) {
    // Apply what this connection pushed so far.
    for (; consumed < c.notifications.length; consumed++) {
      r.acceptNotification(c.notifications[consumed]!, "soak");
    }
    if (r.closed) break;
    if (cuts < 50) {
      await new Promise((res) => setTimeout(res, 10 + Math.random() * 40));
      for (; consumed < c.notifications.length; consumed++) {
        r.acceptNotification(c.notifications[consumed]!, "soak");
      }
      await proxy.cut();
      await c.closed;
      await proxy[Symbol.asyncDispose]();
      cuts++;
      proxy = new CuttableProxy(server.url);
      c = await resume(proxy.url, sessionId);
      consumed = 0;
      try {
        await r.catchUp(c, "soak");
      } catch {
        // The read itself may be cut on the next round.
      }
    } else {
      await r.catchUp(c, "soak");
      if (!r.closed) {
        await c.waitUntil(() => c.notifications.length > consumed || undefined, 10_000, "more");
      }
    }
  }
  await c.close();
  await proxy[Symbol.asyncDispose]();
  const expected = Array.from({ length: 2_700_000 }, (_, i) => `${i + 1}\n`).join("");
  const got = text(r.bytes);
  assert.equal(got.length, expected.length);
  assert.ok(got === expected, "reassembled stream is byte-exact");
  assert.equal(r.gaps, 0);
  assert.equal(cuts, 50, "all 50 cuts happened during the stream");
});

Deno.test("session rules: double attach, unknown id, expiry, gap, list", async (t) => {
  await using server = await ServerProcess.start([
    "--session-ttl",
    "0.3",
    "--retained-bytes",
    "16",
  ]);

  await t.step(
    "resuming a session attached elsewhere is -32010; initialize can be retried",
    async () => {
      await using c1 = await TestClient.connect(server.url);
      await using c2 = await TestClient.connect(server.url, { initialize: false });
      const r = await c2.call("initialize", { clientName: "t", resumeSessionId: c1.sessionId });
      assert.equal(r.error.code, -32010);
      assert.equal(
        r.error.message,
        `session ${c1.sessionId} is already attached to another connection`,
      );
      const fresh = await c2.request("initialize", { clientName: "t" });
      assert.notEqual(fresh.sessionId, c1.sessionId);
    },
  );

  await t.step("an unknown session id is -32600", async () => {
    await using c = await TestClient.connect(server.url, { initialize: false });
    const id = crypto.randomUUID();
    const r = await c.call("initialize", { clientName: "t", resumeSessionId: id });
    assert.equal(r.error.code, -32600);
    assert.equal(r.error.message, `unknown session id ${id}`);
  });

  await t.step("expiry terminates the session's process tree", async () => {
    const c = await TestClient.connect(server.url);
    await c.start("bg", ["sh", "-c", "sleep 100 & echo $!; wait"]);
    const pid = await c.waitUntil(
      () => {
        const s = text(c.outputOf("bg")).trim();
        return s ? Number(s) : undefined;
      },
      5000,
      "pid",
    );
    const list = await c.request("process/list");
    const shell = list.processes[0].pid;
    await c.close();
    await assertAllGone([pid, shell], 10_000);
    await using c2 = await TestClient.connect(server.url, { initialize: false });
    const r = await c2.call("initialize", { clientName: "t", resumeSessionId: c.sessionId });
    assert.equal(r.error.message, `unknown session id ${c.sessionId}`);
  });

  await t.step("a detached session keeps running and resumes within the TTL", async () => {
    const c = await TestClient.connect(server.url);
    await c.start("later", ["sh", "-c", "sleep 0.1; printf done"]);
    await c.close();
    await using c2 = await resume(server.url, c.sessionId);
    const r = await c2.request("process/read", { processId: "later", waitMs: 5000 });
    assert.equal(text(Uint8Array.fromBase64(r.chunks[0].chunk)), "done");
  });

  await t.step("evicted chunks are reported as an explicit gap", async () => {
    await using c = await TestClient.connect(server.url);
    await c.start("chatty", ["sh", "-c", "for i in 1 2 3 4 5 6; do echo line$i; sleep 0.02; done"]);
    await c.untilClosed("chatty");
    const r = await c.request("process/read", { processId: "chatty", afterSeq: 0 });
    assert.ok(r.gap, "gap reported");
    assert.equal(r.gap.afterSeq, 0);
    assert.equal(r.gap.throughSeq, r.chunks[0].seq - 1);
    const retained = r.chunks.reduce(
      (n: number, ch: Message) => n + Uint8Array.fromBase64(ch.chunk).byteLength,
      0,
    );
    assert.equal(r.gap.bytes + retained, 36);
    const fromLast = await c.request("process/read", {
      processId: "chatty",
      afterSeq: r.gap.throughSeq,
    });
    assert.equal(fromLast.gap, undefined, "no gap once past the evicted range");
  });
});
