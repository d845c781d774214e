// Copyright 2026 the exec-server authors. MIT license.
// The real codex 0.171 agent (`codex exec -s MODE`) runs the same tools
// through codex's own exec-server and through ours: under workspace-write
// and read-only, each command and each patch must be allowed or refused
// alike, and the files on disk must end up the same.
import assert from "node:assert/strict";
import { CODEX_BIN, startCodexServer } from "./_codex.ts";
import { type CodexAgentResult, runCodexAgent, type SandboxMode } from "./_codex_agent.ts";
import { ServerProcess } from "./_harness.ts";
import { customToolCall, functionCall, message } from "./_mock_model.ts";
import { BWRAP_WORKS } from "./_sandbox.ts";

const TURNS = [
  functionCall("c1", "exec_command", {
    cmd: "touch /usr/local/sbx-agent; echo usr=$?; touch ./inwork; echo work=$?",
  }),
  customToolCall(
    "p1",
    "apply_patch",
    "*** Begin Patch\n*** Add File: patched.txt\n+hello\n*** End Patch\n",
  ),
  customToolCall(
    "p2",
    "apply_patch",
    "*** Begin Patch\n*** Update File: patched.txt\n@@\n-hello\n+hello2\n*** End Patch\n",
  ),
  message("fin"),
];

interface Seen {
  usr: string;
  work: string;
  erofs: boolean;
  patch1: boolean;
  patch2: boolean;
  files: string[];
  patched: string | null;
}

async function runOn(url: string, mode: SandboxMode): Promise<Seen> {
  // Not under /tmp, which workspace-write makes writable anyway.
  const dir = await Deno.realPath(
    await Deno.makeTempDir({ dir: "/var/tmp", prefix: "sbx-agent-" }),
  );
  try {
    const result: CodexAgentResult = await runCodexAgent({
      execServerUrl: url,
      workdir: dir,
      turns: TURNS,
      sandbox: mode,
      timeoutMs: 60_000,
    });
    assert.equal(result.timedOut, false, result.stderr.slice(-3000));
    assert.equal(result.exitCode, 0, result.stderr.slice(-3000));
    const c1 = result.toolOutputs.get("c1") ?? "";
    const ok = (id: string) =>
      /Success\. Updated the following files/.test(result.toolOutputs.get(id) ?? "");
    const files: string[] = [];
    for await (const e of Deno.readDir(dir)) files.push(e.name);
    let patched: string | null = null;
    try {
      patched = await Deno.readTextFile(`${dir}/patched.txt`);
    } catch { /* not there */ }
    return {
      usr: /usr=(\d+)/.exec(c1)?.[1] ?? "?",
      work: /work=(\d+)/.exec(c1)?.[1] ?? "?",
      erofs: /Read-only file system/.test(c1),
      patch1: ok("p1"),
      patch2: ok("p2"),
      files: files.sort(),
      patched,
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test({
  name:
    "the codex agent under workspace-write and read-only: same outcomes on codex's server and ours",
  ignore: !CODEX_BIN || !BWRAP_WORKS,
  async fn(t) {
    await using codex = await startCodexServer();
    await using ours = await ServerProcess.start(["--log-level", "warn"]);
    for (const mode of ["workspace-write", "read-only"] as const) {
      await t.step(mode, async () => {
        const [fromCodex, fromOurs] = await Promise.all([
          runOn(codex.url, mode),
          runOn(ours.url, mode),
        ]);
        assert.deepEqual(fromOurs, fromCodex);
        if (mode === "workspace-write") {
          assert.deepEqual(
            [fromOurs.usr, fromOurs.work, fromOurs.erofs, fromOurs.patched],
            ["1", "0", true, "hello2\n"],
          );
        } else {
          assert.deepEqual([fromOurs.usr, fromOurs.work, fromOurs.patch1], ["1", "1", false]);
        }
      });
    }
  },
});
