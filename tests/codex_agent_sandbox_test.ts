// Copyright 2026 the exec-server authors. MIT license.
/**
 * The codex 0.171 agent in `workspace-write` and `read-only` mode (the
 * client then sends a permission profile with each `process/start`): the
 * same commands must be allowed and denied through our server as through
 * codex's own. Each command's outcome is its exit code and whether its
 * output reads as a denial.
 *
 * @module
 */
import assert from "node:assert/strict";
import { CODEX_BIN, startCodexServer } from "./_codex.ts";
import { runCodexAgent, type SandboxMode } from "./_codex_agent.ts";
import { ServerProcess } from "./_harness.ts";
import { functionCall, message } from "./_mock_model.ts";

/** What one command came to. */
interface Outcome {
  /** The command. */
  cmd: string;
  /** Its exit code, as the tool output reports it (null when it did not run). */
  exitCode: number | null;
  /** Whether its output reads as a denial. */
  denied: boolean;
}

const DENIAL = /Read-only file system|Permission denied|Operation not permitted/;

/** Runs `cmds` through the agent in `mode` against `url`; returns each outcome. */
async function outcomes(url: string, mode: SandboxMode, cmds: string[]): Promise<Outcome[]> {
  const workdir = await Deno.makeTempDir({ prefix: "agent-sandbox-" });
  try {
    const result = await runCodexAgent({
      execServerUrl: url,
      workdir,
      sandbox: mode,
      timeoutMs: 45_000,
      turns: [
        ...cmds.map((cmd, i) => functionCall(`c${i}`, "exec_command", { cmd })),
        message("fin"),
      ],
    });
    assert.equal(result.exitCode, 0, `agent failed; stderr:\n${result.stderr.slice(-3000)}`);
    return cmds.map((cmd, i) => {
      const out = result.toolOutputs.get(`c${i}`) ?? "";
      const code = /Process exited with code (-?\d+)/.exec(out);
      return { cmd, exitCode: code ? Number(code[1]) : null, denied: DENIAL.test(out) };
    });
  } finally {
    await Deno.remove(workdir, { recursive: true });
  }
}

/** Commands per mode; `TOKEN` becomes a fresh token (the probe files' names). */
const COMMANDS: Record<"workspace-write" | "read-only", string[]> = {
  "workspace-write": [
    "touch inside.txt && echo inside-ok",
    "touch /usr/local/agent-probe-TOKEN",
    "cat /etc/hostname > /dev/null && echo read-ok",
    "echo t > /tmp/agent-probe-TOKEN && echo tmp-ok",
    "mkdir -p .codex && echo x > .codex/probe && echo codex-dir-ok",
    "mkdir -p .git && echo x > .git/probe && echo git-dir-ok",
  ],
  "read-only": [
    "touch inside.txt",
    "cat /etc/hostname > /dev/null && echo read-ok",
    "ls / > /dev/null && echo ls-ok",
    "echo t > /tmp/agent-probe-TOKEN",
  ],
};

Deno.test({
  name: "sandboxed agent commands are allowed and denied as on codex's own server",
  ignore: !CODEX_BIN,
  async fn(t) {
    await using codex = await startCodexServer();
    await using ours = await ServerProcess.start();
    for (const mode of ["workspace-write", "read-only"] as const) {
      await t.step(mode, async () => {
        const token = crypto.randomUUID().slice(0, 8);
        const cmds = COMMANDS[mode].map((c) => c.replaceAll("TOKEN", token));
        const probes = [`/usr/local/agent-probe-${token}`, `/tmp/agent-probe-${token}`];
        try {
          const expected = await outcomes(codex.url, mode, cmds);
          for (const p of probes) await Deno.remove(p).catch(() => {});
          const actual = await outcomes(ours.url, mode, cmds);
          assert.deepEqual(actual, expected);
          // The outside write is denied on codex's server: the comparison means something.
          assert.ok(expected.some((o) => o.denied), JSON.stringify(expected));
        } finally {
          for (const p of probes) await Deno.remove(p).catch(() => {});
        }
      });
    }
  },
});
