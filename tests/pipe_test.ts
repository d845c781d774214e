// Copyright 2026 the exec-server authors. MIT license.
// Piped children in the test's own process, where the resource sanitizer sees
// every pipe the spawner opens.
import assert from "node:assert/strict";
import { type ChildSink, type ExitStatus, StdinClosedError } from "../lib/process/child.ts";
import { spawnPiped } from "../lib/process/pipe.ts";
import { waitUntil } from "./_harness.ts";

/** Records ends and the exit. */
function recorder(): ChildSink & { ends: number; status: ExitStatus | null } {
  return {
    ends: 0,
    status: null,
    output() {},
    end() {
      this.ends++;
    },
    exit(status) {
      this.status = status;
    },
  };
}

Deno.test("spawnPiped(): a child that exits with stdin still open releases the pipe", async () => {
  // Fails on the old code under --sanitize-resources: the stdin pipe (an fd
  // of the server) stayed open for as long as the server ran.
  const sink = recorder();
  const child = await spawnPiped({
    argv: ["sh", "-c", "exit 7"],
    arg0: null,
    cwd: "/",
    env: { PATH: "/usr/bin:/bin" },
    tty: false,
    pipeStdin: true,
    size: { rows: 24, cols: 80 },
  }, sink);
  await waitUntil(() => sink.status !== null && sink.ends === 2, { message: "exit and EOF" });
  assert.deepEqual(sink.status, { code: 7, signal: null });
  await assert.rejects(child.write(new Uint8Array([1])), StdinClosedError);
  await child.closeStdin(); // nothing left to close: not an error
});
