// Copyright 2026 the exec-server authors. MIT license.
/**
 * The real codex 0.171 agent (`codex exec`, scripted by a loopback mock of
 * the Responses API) as a client of our server: one step per tool or
 * behaviour, each through a {@linkcode WsRelay} that logs the frames and can
 * cut the link. Each expected outcome was first checked against codex's own
 * `codex exec-server`; `EXEC_SERVER_AGENT_TARGET=codex` runs the same
 * scenarios against it again (to check a new scenario, or the fixture).
 *
 * @module
 */
import assert from "node:assert/strict";
import { CODEX_BIN, startCodexServer } from "./_codex.ts";
import {
  type CodexAgentOptions,
  type CodexAgentResult,
  processesWith,
  runCodexAgent,
  startCodexAgent,
} from "./_codex_agent.ts";
import { ServerProcess, waitUntil } from "./_harness.ts";
import { customToolCall, functionCall, message, type TurnContext } from "./_mock_model.ts";
import { WsRelay } from "./_relay.ts";

/** Which server the agent uses: ours (the default), or codex's own for reference. */
const TARGET = Deno.env.get("EXEC_SERVER_AGENT_TARGET") === "codex" ? "codex" : "ours";

/** Starts the server under test, with `ours` or `codex` auth flags. */
function startTarget(flags: { ours: string[]; codex: string[] } = { ours: [], codex: [] }) {
  return TARGET === "codex" ? startCodexServer(flags.codex) : ServerProcess.start(flags.ours);
}

/** A 1×1 red PNG. */
const PNG_1X1 = Uint8Array.fromBase64(
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==",
);

/** What a scenario gets: a relay in front of the server, and a fresh workdir. */
interface Setup {
  /** Logging relay in front of the server; the agent connects to `relay.url`. */
  relay: WsRelay;
  /** A fresh temporary directory, the agent's `-C`, removed afterwards. */
  dir: string;
  /** Bearer token the server wants, if any. */
  token?: string;
}

/** Runs `fn` through a fresh relay in front of `url`, in a fresh workdir. */
async function withSetup(
  url: string,
  fn: (setup: Setup) => Promise<void>,
  token?: string,
): Promise<void> {
  await using relay = new WsRelay(url);
  const dir = await Deno.makeTempDir({ prefix: "agent-wd-" });
  try {
    await fn({ relay, dir, ...(token ? { token } : {}) });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Agent options common to every scenario: through the relay, in the workdir. */
function agentOptions(setup: Setup, turns: CodexAgentOptions["turns"]): CodexAgentOptions {
  return {
    execServerUrl: setup.relay.url,
    workdir: setup.dir,
    turns,
    timeoutMs: 45_000,
    ...(setup.token ? { token: setup.token } : {}),
  };
}

/** Asserts the agent sent each of `methods` to the server at least once. */
function assertCalled(relay: WsRelay, ...methods: string[]): void {
  const seen = relay.methodsCalled();
  for (const method of methods) {
    assert.ok(seen.includes(method), `the agent never called ${method}; saw ${seen.join(", ")}`);
  }
}

/** The output text for `callId`, failing with the agent's stderr when absent. */
function outputOf(result: CodexAgentResult, callId: string): string {
  const out = result.toolOutputs.get(callId);
  assert.ok(out !== undefined, `no output for ${callId}; stderr:\n${result.stderr.slice(-4000)}`);
  return out;
}

/** Asserts the agent ended normally with the final scripted message. */
function assertFinished(result: CodexAgentResult, finalText = "fin"): void {
  assert.equal(result.timedOut, false, `agent timed out; stderr:\n${result.stderr.slice(-4000)}`);
  assert.equal(result.exitCode, 0, `agent failed; stderr:\n${result.stderr.slice(-4000)}`);
  assert.equal(result.stdout.trim(), finalText);
}

/** The `session_id` an `exec_command` output reports for a still-running process. */
function sessionIdOf(outputs: Map<string, string>, callId: string): number {
  const match = /Process running with session ID (\d+)/.exec(outputs.get(callId) ?? "");
  if (!match) throw new Error(`no session id in ${JSON.stringify(outputs.get(callId))}`);
  return Number(match[1]);
}

/** Asserts the agent reconnected through the relay and resumed its first session. */
function assertResumed(relay: WsRelay): void {
  const inits = relay.requests("initialize");
  assert.ok(inits.length >= 2, `expected a second initialize, saw ${inits.length}`);
  const first = relay.frames.find((f) =>
    f.direction === "toClient" && f.connId === inits[0]!.connId && f.json?.id === inits[0]!.json!.id
  )?.json?.result;
  assert.equal(inits.at(-1)!.json!.params.resumeSessionId, first?.sessionId);
}

/** A command that prints, waits for a `GO` file, prints again and touches `DONE`. */
function gatedCommand(token: string): string {
  return `echo started-${token}; while [ ! -e GO ]; do sleep 0.05; done; echo finished-${token}; touch DONE`;
}

/** Starts the agent on {@linkcode gatedCommand} and waits until its first output arrived. */
async function startGated(setup: Setup, token: string) {
  const run = await startCodexAgent(agentOptions(setup, [
    functionCall("c1", "exec_command", { cmd: gatedCommand(token), yield_time_ms: 30000 }),
    message("fin"),
  ]));
  try {
    await setup.relay.waitForFrame(
      (f) => f.direction === "toClient" && f.json?.method === "process/output",
      { timeoutMs: 20_000, message: "the command's first output" },
    );
  } catch (err) {
    await run[Symbol.asyncDispose]();
    throw err;
  }
  return run;
}

/** A scenario: a name and what it does with a {@linkcode Setup}. */
type Scenario = [name: string, fn: (setup: Setup) => Promise<void>];

const SCENARIOS: Scenario[] = [
  ["exec_command runs a one-shot command and returns its output and exit code", async (setup) => {
    const result = await runCodexAgent(agentOptions(setup, [
      functionCall("c1", "exec_command", { cmd: "echo hello-agent; pwd; echo to-stderr >&2" }),
      message("fin"),
    ]));
    assertFinished(result);
    const out = outputOf(result, "c1");
    assert.match(out, /Process exited with code 0/);
    assert.match(out, /hello-agent/);
    assert.match(out, /to-stderr/);
    assert.ok(out.includes(setup.dir), out);
    assertCalled(setup.relay, "initialize", "process/start");
    // The agent talks to the mock only through POST /v1/responses.
    assert.deepEqual(result.unknownRequests, []);
  }],

  ["exec_command reports the exit codes of failing commands", async (setup) => {
    const result = await runCodexAgent(agentOptions(setup, [
      functionCall("c1", "exec_command", { cmd: "echo before; exit 7" }),
      functionCall("c2", "exec_command", { cmd: "no-such-command-xyz" }),
      functionCall("c3", "exec_command", { cmd: "kill -KILL $$" }),
      message("fin"),
    ]));
    assertFinished(result);
    assert.match(outputOf(result, "c1"), /Process exited with code 7\n[\s\S]*before/);
    assert.match(outputOf(result, "c2"), /Process exited with code 127\n[\s\S]*not found/);
    assert.match(outputOf(result, "c3"), /Process exited with code 137/);
  }],

  ["exec_command with tty keeps a session that write_stdin drives", async (setup) => {
    const result = await runCodexAgent(agentOptions(setup, [
      functionCall("c1", "exec_command", {
        cmd: "tty; read -r line; echo got:$line",
        tty: true,
        yield_time_ms: 500,
      }),
      ({ outputs }: TurnContext) =>
        functionCall("c2", "write_stdin", {
          session_id: sessionIdOf(outputs, "c1"),
          chars: "ping\n",
          yield_time_ms: 5000,
        }),
      message("fin"),
    ]));
    assertFinished(result);
    const first = outputOf(result, "c1");
    assert.match(first, /Process running with session ID \d+/);
    const second = outputOf(result, "c2");
    // On a loaded machine `tty`'s line may come after the first call's 500 ms.
    assert.match(first + second, /\/dev\/pts\//);
    assert.match(second, /got:ping/);
    assert.match(second, /Process exited with code 0/);
    assertCalled(setup.relay, "process/start", "process/write");
  }],

  ["a reconnect while the command is still running recovers its output", async (setup) => {
    const { relay, dir } = setup;
    const token = crypto.randomUUID().slice(0, 8);
    await using run = await startGated(setup, token);
    await relay.cut({ refuse: true });
    await waitUntil(() => relay.refused >= 2, { message: "refused reconnects" });
    relay.allow();
    // Let the client finish its recovery read while the command still runs.
    await waitUntil(() => relay.requests("process/read").length >= 1, {
      message: "the recovery read",
    });
    await Deno.writeTextFile(`${dir}/GO`, "");
    const result = await run.result;
    assertFinished(result);
    const out = outputOf(result, "c1");
    assert.match(out, new RegExp(`started-${token}[\\s\\S]*finished-${token}`));
    assert.match(out, /Process exited with code 0/);
    assertResumed(relay);
  }],

  ["a command that exits during an outage is recovered after reconnecting", async (setup) => {
    const { relay, dir } = setup;
    const token = crypto.randomUUID().slice(0, 8);
    await using run = await startGated(setup, token);
    await relay.cut({ refuse: true });
    await Deno.writeTextFile(`${dir}/GO`, "");
    await waitUntil(() => processesWith(`finished-${token}`).length === 0, {
      message: "the command to exit",
    });
    await waitUntil(() => relay.refused >= 1, { message: "a refused reconnect" });
    relay.allow();
    const result = await run.result;
    assertFinished(result);
    const out = outputOf(result, "c1");
    assert.match(out, new RegExp(`started-${token}[\\s\\S]*finished-${token}`));
    assert.match(out, /Process exited with code 0/);
    assertResumed(relay);
  }],

  ["apply_patch adds, edits, deletes and moves files on the executor", async (setup) => {
    const { dir } = setup;
    await Deno.writeTextFile(`${dir}/edit.txt`, "keep\nold line\n");
    await Deno.writeTextFile(`${dir}/gone.txt`, "bye\n");
    await Deno.writeTextFile(`${dir}/move_src.txt`, "a\n");
    const patch = [
      "*** Begin Patch",
      "*** Add File: added/new.txt",
      "+fresh",
      "*** Update File: edit.txt",
      "@@",
      " keep",
      "-old line",
      "+new line",
      "*** Delete File: gone.txt",
      "*** Update File: move_src.txt",
      "*** Move to: moved/dst.txt",
      "@@",
      "-a",
      "+b",
      "*** End Patch",
      "",
    ].join("\n");
    const result = await runCodexAgent(agentOptions(setup, [
      customToolCall("p1", "apply_patch", patch),
      message("fin"),
    ]));
    assertFinished(result);
    assert.match(outputOf(result, "p1"), /Success/);
    assert.equal(await Deno.readTextFile(`${dir}/added/new.txt`), "fresh\n");
    assert.equal(await Deno.readTextFile(`${dir}/edit.txt`), "keep\nnew line\n");
    assert.equal(await Deno.readTextFile(`${dir}/moved/dst.txt`), "b\n");
    await assert.rejects(Deno.stat(`${dir}/gone.txt`), Deno.errors.NotFound);
    await assert.rejects(Deno.stat(`${dir}/move_src.txt`), Deno.errors.NotFound);
    assertCalled(setup.relay, "fs/readFile", "fs/writeFile", "fs/remove");
  }],

  ["view_image returns the image read through the executor", async (setup) => {
    await Deno.writeFile(`${setup.dir}/dot.png`, PNG_1X1);
    const result = await runCodexAgent(agentOptions(setup, [
      functionCall("v1", "view_image", { path: `${setup.dir}/dot.png` }),
      message("fin"),
    ]));
    assertFinished(result);
    const raw = result.rawToolOutputs.get("v1");
    assert.ok(Array.isArray(raw), `expected content items, got ${JSON.stringify(raw)}`);
    const image = raw.find((part: Record<string, unknown>) => part.type === "input_image");
    assert.ok(image, JSON.stringify(raw));
    assert.equal(String(image.image_url), `data:image/png;base64,${PNG_1X1.toBase64()}`);
    assertCalled(setup.relay, "fs/readFile");
  }],

  ["AGENTS.md in the workdir reaches the model", async (setup) => {
    await Deno.writeTextFile(`${setup.dir}/AGENTS.md`, "Marker: AGENTS-MARKER-7f3a\n");
    const result = await runCodexAgent(agentOptions(setup, [message("fin")]));
    assertFinished(result);
    const first = JSON.stringify(result.requests[0]);
    assert.ok(first.includes("AGENTS-MARKER-7f3a"), "AGENTS.md marker missing from the request");
    assertCalled(setup.relay, "fs/getMetadata", "fs/readFile");
  }],

  ["exec_command takes an explicit shell from the environment's shell", async (setup) => {
    const result = await runCodexAgent(agentOptions(setup, [
      functionCall("c1", "exec_command", { cmd: 'echo "shell=$0"', shell: "bash" }),
      functionCall("c2", "exec_command", { cmd: "echo unreachable", shell: "zsh" }),
      message("fin"),
    ]));
    assertFinished(result);
    const out = outputOf(result, "c1");
    assert.match(out, /Process exited with code 0/);
    assert.match(out, /shell=\/(usr\/)?bin\/bash/);
    // The client resolves `shell` against initialize's environmentInfo.shell.
    assert.equal(outputOf(result, "c2"), "environment `remote` only supports `bash`");
  }],

  [".agents/skills in the workdir reach the model", async (setup) => {
    const { dir } = setup;
    await Deno.mkdir(`${dir}/.agents/skills/marker-skill`, { recursive: true });
    await Deno.writeTextFile(
      `${dir}/.agents/skills/marker-skill/SKILL.md`,
      "---\nname: marker-skill\ndescription: SKILL-MARKER-91bc test skill\n---\n\nDo nothing.\n",
    );
    const result = await runCodexAgent(agentOptions(setup, [message("fin")]));
    assertFinished(result);
    const first = JSON.stringify(result.requests[0]);
    assert.ok(first.includes("SKILL-MARKER-91bc"), "skill marker missing from the request");
  }],
];

Deno.test({
  name: `the codex 0.171 agent works through ${TARGET === "ours" ? "our" : "codex's"} server`,
  ignore: !CODEX_BIN,
  async fn(t) {
    await using server = await startTarget();
    for (const [name, fn] of SCENARIOS) {
      await t.step(name, () => withSetup(server.url, fn));
    }
  },
});

Deno.test({
  name: "the codex agent authenticates with a bearer token from environments.toml",
  ignore: !CODEX_BIN,
  async fn() {
    const token = crypto.randomUUID();
    const tokenFile = await Deno.makeTempFile({ prefix: "agent-token-" });
    try {
      await Deno.writeTextFile(tokenFile, token);
      await using server = await startTarget({
        ours: ["--token-file", tokenFile],
        codex: ["--ws-auth", "capability-token", "--ws-token-file", tokenFile],
      });
      await withSetup(server.url, async (setup) => {
        const turns = [functionCall("c1", "exec_command", { cmd: "echo authed" }), message("fin")];
        const good = await runCodexAgent(agentOptions(setup, turns));
        assertFinished(good);
        assert.match(outputOf(good, "c1"), /authed/);
        const bad = await runCodexAgent({ ...agentOptions(setup, turns), token: "wrong" });
        // A refused environment does not fail the agent: each tool says so.
        assert.match(outputOf(bad, "c1"), /No usable execution environment/);
      }, token);
    } finally {
      await Deno.remove(tokenFile);
    }
  },
});
