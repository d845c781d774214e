// Copyright 2026 the exec-server authors. MIT license.
// The default detached-session TTL outlasts the codex 0.171 client's 45 s
// recovery window with a margin, as codex's server does (about 75-80 s).
import assert from "node:assert/strict";
import { createServerCore } from "../lib/server/core.ts";
import { DEFAULT_SESSION_TTL_MS } from "../lib/server/session.ts";
import { NULL_LOGGER } from "../lib/util/logger.ts";
import { FAKE_ENVIRONMENT_INFO, FakeSpawner, ManualClock, RecordingPeer } from "./_fakes.ts";

Deno.test("a detached session is resumable for 80 s by default, then it and its processes are gone", async () => {
  assert.ok(DEFAULT_SESSION_TTL_MS >= 75_000);
  const clock = new ManualClock();
  const spawner = new FakeSpawner();
  const core = createServerCore({
    logger: NULL_LOGGER,
    clock,
    spawn: spawner.spawn,
    environmentInfo: FAKE_ENVIRONMENT_INFO,
  });
  try {
    const first = core.connect(new RecordingPeer());
    const init = await first.receive('{"id":1,"method":"initialize","params":{"clientName":"c"}}');
    const sessionId = (init as { result: { sessionId: string } }).result.sessionId;
    await first.receive('{"method":"initialized"}');
    const start = { processId: "p", argv: ["x"], cwd: "/", env: {}, tty: false };
    await first.receive(JSON.stringify({ id: 2, method: "process/start", params: start }));
    first.transportClosed();
    const resume = (id: number) =>
      core.connect(new RecordingPeer()).receive(JSON.stringify({
        id,
        method: "initialize",
        params: { clientName: "c", resumeSessionId: sessionId },
      })) as Promise<{ result?: unknown; error?: { message: string } }>;
    // 45 s of the client retrying, plus a margin: still there.
    await clock.advanceAsync(DEFAULT_SESSION_TTL_MS - 1);
    const resumed = core.connect(new RecordingPeer());
    const ok = await resumed.receive(JSON.stringify({
      id: 3,
      method: "initialize",
      params: { clientName: "c", resumeSessionId: sessionId },
    })) as { result?: { sessionId: string } };
    assert.equal(ok.result?.sessionId, sessionId, "resumed just before the TTL");
    resumed.transportClosed();
    await clock.advanceAsync(DEFAULT_SESSION_TTL_MS);
    const gone = await resume(4);
    assert.equal(gone.error?.message, `unknown session id ${sessionId}`);
    assert.equal(spawner.children[0]?.signals.includes("SIGTERM"), true, "its processes ended");
  } finally {
    await core.registry.shutdown();
  }
});
