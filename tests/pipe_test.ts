// Copyright 2026 the exec-server authors. MIT license.
// Piped children in the test's own process, where the resource sanitizer sees
// every pipe the spawner opens.
import assert from "node:assert/strict";
import { type ChildSink, type ExitStatus, StdinClosedError } from "../lib/process/child.ts";
import { spawnPipedCommand } from "../lib/process/pipe.ts";
import { spawnPipedFfi } from "../lib/process/pipe_ffi.ts";
import type { Spawner } from "../lib/process/child.ts";

/** Both pipe backends: FFI (posix_spawn on the reactor) and Deno.Command (no --allow-ffi). */
const BACKENDS: [string, Spawner][] = [["ffi", spawnPipedFfi], ["command", spawnPipedCommand]];
import { waitUntil } from "./_harness.ts";

/** A piped child with stdin, in `/` with a minimal PATH. */
function shSpec(argv: string[]): Parameters<Spawner>[0] {
  return {
    argv,
    arg0: null,
    cwd: "/",
    env: { PATH: "/usr/bin:/bin" },
    tty: false,
    pipeStdin: true,
    size: { rows: 24, cols: 80 },
  };
}

/** Records ends and the exit. */
function recorder(): ChildSink & { ends: number; status: ExitStatus | null; text: string } {
  return {
    ends: 0,
    status: null,
    text: "",
    output(_stream, data) {
      this.text += new TextDecoder().decode(data);
    },
    end() {
      this.ends++;
    },
    exit(status) {
      this.status = status;
    },
  };
}

for (const [name, spawnPiped] of BACKENDS) {
  Deno.test(`${name} pipes: a child that exits with stdin still open releases the pipe`, async () => {
    // Fails on the old code under --sanitize-resources: the stdin pipe (an fd
    // of the server) stayed open for as long as the server ran.
    const sink = recorder();
    const child = await spawnPiped(shSpec(["sh", "-c", "exit 7"]), sink);
    await waitUntil(() => sink.status !== null && sink.ends === 2, { message: "exit and EOF" });
    assert.deepEqual(sink.status, { code: 7, signal: null });
    await assert.rejects(child.write(new Uint8Array([1])), StdinClosedError);
    await child.closeStdin(); // nothing left to close: not an error
  });
}

for (const [name, spawnPiped] of BACKENDS) {
  Deno.test(`${name} pipes: a write to a child that closed its stdin reports stdin closed`, async () => {
    // Deno.Command's write failed with BrokenPipe, which the server reported
    // as -32603 "failed to write to process stdin: Broken pipe".
    const sink = recorder();
    const child = await spawnPiped(shSpec(["sh", "-c", "exec 0<&-; echo closed; sleep 0.2"]), sink);
    await waitUntil(() => sink.text.includes("closed"), { message: "stdin closed" });
    await assert.rejects(child.write(new Uint8Array(100_000)), StdinClosedError);
    await waitUntil(() => sink.status !== null && sink.ends === 2, { message: "exit and EOF" });
  });
}
