// Copyright 2026 the exec-server authors. MIT license.
// Replays the README's example session against the real server, so the docs
// cannot drift from the code.
import assert from "node:assert/strict";
import { ServerProcess } from "./_harness.ts";
import { EnvironmentInfoSchema } from "../lib/protocol/environment.ts";

type Line = { dir: ">" | "<"; json: string };

async function exampleSession(): Promise<Line[]> {
  const readme = await Deno.readTextFile(new URL("../README.md", import.meta.url));
  const start = readme.indexOf("## Example session");
  const block = readme.slice(start).match(/```jsonl\n([\s\S]*?)```/);
  assert.ok(block, "README has a jsonl example session");
  return block[1]!.trim().split("\n").map((l) => ({ dir: l[0] as ">" | "<", json: l.slice(2) }));
}

Deno.test("README example session replays byte for byte (modulo the session id)", async () => {
  const lines = await exampleSession();
  assert.ok(lines.length > 10);
  await using server = await ServerProcess.start();
  const ws = new WebSocket(server.url);
  const received: string[] = [];
  let wake = () => {};
  ws.onmessage = (e) => {
    received.push(e.data as string);
    wake();
  };
  await new Promise((r) => (ws.onopen = r));
  let sessionId = "";
  let expectedCount = 0;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.dir === ">") {
      ws.send(line.json);
      continue;
    }
    expectedCount++;
    const deadline = Date.now() + 10_000;
    while (received.length < expectedCount) {
      if (Date.now() > deadline) {
        throw new Error(`no message for README line ${i + 1}: ${line.json}`);
      }
      await new Promise<void>((r) => {
        const t = setTimeout(r, 100);
        wake = () => {
          clearTimeout(t);
          r();
        };
      });
    }
    const got = JSON.parse(received[expectedCount - 1]!);
    if (got.result?.sessionId) sessionId = got.result.sessionId;
    let environmentInfo = "null";
    if (got.result?.environmentInfo) {
      // Host facts differ per machine: checked for shape, then stood in for.
      EnvironmentInfoSchema.parse(got.result.environmentInfo);
      environmentInfo = JSON.stringify(got.result.environmentInfo);
    }
    const want = JSON.parse(
      line.json.replaceAll("<session-id>", sessionId)
        .replaceAll('"<environment-info>"', environmentInfo),
    );
    assert.deepEqual(got, want, `README line ${i + 1}`);
  }
  ws.close();
  await new Promise((r) => (ws.onclose = r));
});
