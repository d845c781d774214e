// Copyright 2026 the exec-server authors. MIT license.
/**
 * Runs the real `codex exec` (0.171) against an exec-server given by URL,
 * with a scripted {@linkcode MockModel} standing in for the Responses API.
 *
 * Every run gets a fresh `CODEX_HOME`, no `OPENAI_*` variables, plugins and
 * analytics off (otherwise codex attempts DNS lookups), and a deadline after
 * which the agent's process group is killed. The child is always awaited.
 *
 * @module
 */
import { codexBin } from "./_codex.ts";
import { isGone } from "./_harness.ts";
import { MockModel, type MockModelOptions, outputText, type ScriptedTurn } from "./_mock_model.ts";

/** Sandbox modes `codex exec -s` accepts. */
export type SandboxMode = "read-only" | "workspace-write" | "danger-full-access";

/** Options for {@linkcode startCodexAgent} and {@linkcode runCodexAgent}. */
export interface CodexAgentOptions {
  /** The exec-server (or relay) URL, `ws://HOST:PORT`. */
  execServerUrl: string;
  /**
   * Bearer token. When set, the server is configured through
   * `CODEX_HOME/environments.toml` with `auth_bearer_token`; otherwise
   * through `CODEX_EXEC_SERVER_URL`.
   */
  token?: string;
  /** The agent's working directory (`-C`), on the executor's file system. */
  workdir: string;
  /** The model's scripted replies. */
  turns: ScriptedTurn[];
  /**
   * Sandbox mode. Omitted: `--dangerously-bypass-approvals-and-sandbox`
   * (the client then sends `sandbox: null`).
   */
  sandbox?: SandboxMode;
  /** Kill the agent after this long. @default 60_000 */
  timeoutMs?: number;
  /** The user prompt. @default "run the scripted tools" */
  prompt?: string;
  /** Extra environment for the agent (e.g. `RUST_LOG`). */
  env?: Record<string, string>;
  /** Options for the mock model. */
  model?: MockModelOptions;
}

/** What one agent run produced. */
export interface CodexAgentResult {
  /** The agent's exit code (137 etc. when killed at the deadline). */
  exitCode: number;
  /** True when the deadline killed the agent. */
  timedOut: boolean;
  /** The agent's stdout (the final message, in `codex exec`). */
  stdout: string;
  /** The agent's stderr (its event log). */
  stderr: string;
  /** Bodies of the `/responses` requests, in order. */
  requests: Record<string, unknown>[];
  /** Tool output text by call id. */
  toolOutputs: Map<string, string>;
  /** Tool outputs as sent (a string, or a content-item list for images), by call id. */
  rawToolOutputs: Map<string, unknown>;
  /** Requests the mock did not recognise (method and path). */
  unknownRequests: string[];
  /** Wall-clock duration of the agent process. */
  durationMs: number;
}

/** A started agent run; `await using` it to guarantee cleanup. */
export interface CodexAgentRun extends AsyncDisposable {
  /** The mock model serving this run (its `requests` grow while it runs). */
  readonly model: MockModel;
  /** Resolves when the agent has exited and the mock is closed. */
  readonly result: Promise<CodexAgentResult>;
  /** Kills the agent's process group now (idempotent). */
  kill(): void;
}

/** Quotes a string as a TOML basic string. */
function tomlString(value: string): string {
  return JSON.stringify(value);
}

/** The `codex exec` argument list for one run. */
export function codexArgs(options: CodexAgentOptions, baseUrl: string): string[] {
  const provider = `{name="mock",base_url=${
    tomlString(baseUrl)
  },wire_api="responses",request_max_retries=0,stream_max_retries=0}`;
  const sandbox = options.sandbox
    ? ["-s", options.sandbox, "-c", 'approval_policy="never"']
    : ["--dangerously-bypass-approvals-and-sandbox"];
  return [
    "exec",
    "--skip-git-repo-check",
    "--ephemeral",
    "--color",
    "never",
    "-C",
    options.workdir,
    "-c",
    'model_provider="mock"',
    "-c",
    'model="gpt-5.5"',
    "-c",
    `model_providers.mock=${provider}`,
    "--disable",
    "plugins",
    "-c",
    "analytics.enabled=false",
    "-c",
    "check_for_update_on_startup=false",
    ...sandbox,
    options.prompt ?? "run the scripted tools",
  ];
}

/** The agent's environment: ours minus `OPENAI_*`, plus a fresh CODEX_HOME. */
function agentEnv(options: CodexAgentOptions, codexHome: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(Deno.env.toObject())) {
    if (!key.startsWith("OPENAI_") && !key.startsWith("CODEX_")) env[key] = value;
  }
  env.CODEX_HOME = codexHome;
  env.NO_COLOR = "1";
  if (options.token === undefined) env.CODEX_EXEC_SERVER_URL = options.execServerUrl;
  return { ...env, ...options.env };
}

/** Writes `environments.toml` naming the server as the default environment. */
async function writeEnvironments(codexHome: string, url: string, token: string): Promise<void> {
  const toml = [
    'default = "remote"',
    "include_local = false",
    "",
    "[[environments]]",
    'id = "remote"',
    `url = ${tomlString(url)}`,
    `auth_bearer_token = ${tomlString(token)}`,
    "",
  ].join("\n");
  await Deno.writeTextFile(`${codexHome}/environments.toml`, toml);
}

/**
 * Starts the mock and `codex exec`. The returned run's `result` resolves
 * after the agent exits (or is killed at the deadline) and the mock closed.
 */
export async function startCodexAgent(options: CodexAgentOptions): Promise<CodexAgentRun> {
  const codexHome = await Deno.makeTempDir({ prefix: "codex-home-" });
  if (options.token !== undefined) {
    await writeEnvironments(codexHome, options.execServerUrl, options.token);
  }
  const model = MockModel.start(options.turns, options.model);
  const started = Date.now();
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(codexBin(), {
      args: codexArgs(options, model.baseUrl),
      env: agentEnv(options, codexHome),
      clearEnv: true,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      detached: true,
    }).spawn();
  } catch (err) {
    await model.close();
    await Deno.remove(codexHome, { recursive: true });
    throw err;
  }
  let timedOut = false;
  let killed = false;
  const leaderStart = statOf(child.pid)?.startTime ?? null;
  const kill = () => {
    if (killed) return;
    killed = true;
    killGroup(child.pid, leaderStart);
  };
  const timer = setTimeout(() => {
    timedOut = true;
    kill();
  }, options.timeoutMs ?? 60_000);
  const stdout = new Response(child.stdout).text();
  const stderr = new Response(child.stderr).text();
  const result = (async (): Promise<CodexAgentResult> => {
    try {
      const status = await child.status;
      const durationMs = Date.now() - started;
      // The agent may leave helpers in its group; reap them with it.
      killed = true;
      killGroup(child.pid, leaderStart);
      const raw = model.toolOutputs();
      return {
        exitCode: status.code,
        timedOut,
        stdout: await stdout,
        stderr: await stderr,
        requests: model.responseRequests,
        toolOutputs: new Map([...raw].map(([id, out]) => [id, outputText(out)])),
        rawToolOutputs: raw,
        unknownRequests: model.unknownRequests.map((r) => `${r.method} ${r.path}`),
        durationMs,
      };
    } finally {
      clearTimeout(timer);
      await model.close();
      await Deno.remove(codexHome, { recursive: true }).catch(() => {});
    }
  })();
  return {
    model,
    result,
    kill,
    async [Symbol.asyncDispose]() {
      kill();
      await result.catch(() => {});
    },
  };
}

/** Runs the agent to completion; see {@linkcode startCodexAgent}. */
export async function runCodexAgent(options: CodexAgentOptions): Promise<CodexAgentResult> {
  const run = await startCodexAgent(options);
  return await run.result;
}

/** The process group and start time (clock ticks after boot) of a pid, from `/proc`. */
function statOf(pid: number): { pgid: number; startTime: string } | null {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    // Fields after the command's ")": state, ppid, pgrp, …; starttime is field 22.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return { pgid: Number(fields[2]), startTime: fields[19] ?? "" };
  } catch {
    return null;
  }
}

/**
 * SIGKILLs the agent's process group `pgid`, but only while that number
 * still names it. A pid, and so a group id, is not reused while anything
 * holds it: the leader (ours if its start time is the one recorded at spawn)
 * or another member of the group. With neither left, the group is gone and
 * the number may belong to someone else, so nothing is sent.
 */
function killGroup(pgid: number, leaderStart: string | null): void {
  const leader = statOf(pgid);
  let held = leader !== null && leaderStart !== null && leader.startTime === leaderStart;
  if (!held) {
    for (const entry of Deno.readDirSync("/proc")) {
      const pid = Number(entry.name);
      if (Number.isInteger(pid) && pid !== pgid && statOf(pid)?.pgid === pgid) {
        held = true;
        break;
      }
    }
  }
  if (!held) return;
  try {
    Deno.kill(-pgid, "SIGKILL");
  } catch {
    // the group ended meanwhile
  }
}

/**
 * Pids of live (not zombie) processes whose command line contains `token`:
 * how a test finds the commands it had the agent run.
 */
export function processesWith(token: string): number[] {
  const pids: number[] = [];
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    const pid = Number(entry.name);
    try {
      if (Deno.readTextFileSync(`/proc/${pid}/cmdline`).includes(token) && !isGone(pid)) {
        pids.push(pid);
      }
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}
