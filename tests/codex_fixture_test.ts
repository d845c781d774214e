// Copyright 2026 the exec-server authors. MIT license.
/**
 * Tests of the fixture that drives the codex agent: the frame decoder, the
 * mock model's SSE body, the relay's refusals, and the agent's deadline.
 *
 * @module
 */
import assert from "node:assert/strict";
import { CODEX_BIN } from "./_codex.ts";
import { processesWith, runCodexAgent } from "./_codex_agent.ts";
import { ServerProcess, waitUntil } from "./_harness.ts";
import { encodeSse, functionCall, message, turnEvents } from "./_mock_model.ts";
import { WsRelay } from "./_relay.ts";
import { FrameDecoder, OPCODE } from "./_ws_frames.ts";

/** Builds one client frame (masked) with `payload`. */
function maskedFrame(opcode: number, fin: boolean, payload: Uint8Array): Uint8Array {
  const mask = [1, 2, 3, 4];
  const header = payload.length < 126
    ? [(fin ? 0x80 : 0) | opcode, 0x80 | payload.length]
    : [(fin ? 0x80 : 0) | opcode, 0x80 | 126, payload.length >> 8, payload.length & 0xff];
  const body = payload.map((b, i) => b ^ mask[i % 4]!);
  return Uint8Array.from([...header, ...mask, ...body]);
}

Deno.test("FrameDecoder.push() skips the HTTP head and joins masked fragments", () => {
  const decoder = new FrameDecoder();
  const text = new TextEncoder().encode(`{"id":1,"method":"x","pad":"${"p".repeat(200)}"}`);
  const bytes = Uint8Array.from([
    ...new TextEncoder().encode("GET / HTTP/1.1\r\nUpgrade: websocket\r\n\r\n"),
    ...maskedFrame(OPCODE.text, false, text.subarray(0, 150)),
    ...maskedFrame(OPCODE.ping, true, new Uint8Array(0)),
    ...maskedFrame(OPCODE.continuation, true, text.subarray(150)),
  ]);
  // Feed it byte by byte, the worst case for an incremental decoder.
  const frames = [...bytes].flatMap((b) => decoder.push(Uint8Array.of(b)));
  assert.equal(decoder.head, "GET / HTTP/1.1\r\nUpgrade: websocket");
  assert.deepEqual(frames.map((f) => f.opcode), [OPCODE.ping, OPCODE.text]);
  assert.deepEqual(frames[1]!.payload, text);
});

Deno.test("encodeSse() writes event and data lines for each turn event", () => {
  const body = encodeSse(turnEvents(functionCall("c1", "exec_command", { cmd: "true" }), "r1"));
  const events = body.trimEnd().split("\n\n").map((block) => block.split("\n"));
  assert.deepEqual(events.map((lines) => lines[0]), [
    "event: response.created",
    "event: response.output_item.done",
    "event: response.completed",
  ]);
  const item = JSON.parse(events[1]![1]!.slice("data: ".length)).item;
  assert.deepEqual(item, {
    type: "function_call",
    call_id: "c1",
    name: "exec_command",
    arguments: '{"cmd":"true"}',
  });
});

Deno.test("WsRelay logs both directions and answers 503 while refusing", async () => {
  await using server = await ServerProcess.start();
  await using relay = new WsRelay(server.url);
  const ws = new WebSocket(relay.url);
  const reply = await new Promise<string>((resolve, reject) => {
    ws.onopen = () => ws.send(JSON.stringify({ id: 1, method: "initialize", params: {} }));
    ws.onmessage = (e) => resolve(String(e.data));
    ws.onerror = () => reject(new Error("socket error"));
  });
  const closed = new Promise((resolve) => ws.onclose = resolve);
  ws.close();
  await closed;
  assert.equal(JSON.parse(reply).id, 1);
  assert.equal(relay.requests("initialize").length, 1);
  await relay.waitForFrame((f) => f.direction === "toClient" && f.json?.id === 1);
  relay.refuse();
  const refused = await fetch(relay.url.replace(/^ws/, "http") + "/readyz");
  await refused.body?.cancel();
  assert.equal(refused.status, 503);
  assert.equal(relay.refused, 1);
});

Deno.test({
  name: "runCodexAgent() kills the agent at its deadline and reports it",
  ignore: !CODEX_BIN,
  async fn() {
    const token = crypto.randomUUID().slice(0, 8);
    await using server = await ServerProcess.start();
    const dir = await Deno.makeTempDir({ prefix: "agent-wd-" });
    try {
      const result = await runCodexAgent({
        execServerUrl: server.url,
        workdir: dir,
        turns: [
          functionCall("c1", "exec_command", { cmd: `sleep 30; : ${token}`, yield_time_ms: 30000 }),
          message("fin"),
        ],
        timeoutMs: 3000,
      });
      assert.equal(result.timedOut, true);
      assert.notEqual(result.exitCode, 0);
      assert.ok(result.durationMs < 8000, `took ${result.durationMs} ms`);
      // Killing the agent detaches its session; the command runs on.
      assert.notDeepEqual(processesWith(token), [], "the command never started");
    } finally {
      await server[Symbol.asyncDispose]();
      await Deno.remove(dir, { recursive: true });
    }
    // The agent's command went with the server (graceful shutdown ends every session).
    await waitUntil(() => processesWith(token).length === 0, {
      message: "the agent's command to end",
    });
  },
});
