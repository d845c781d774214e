// Copyright 2026 the exec-server authors. MIT license.
/**
 * Differential cases: `process/*`.
 *
 * Commands write in one piece per stream, so that chunking cannot differ,
 * and a command whose stdout and stderr could race is compared only through
 * its events' summary. Where seqs are compared, a command pauses after its
 * last write: codex may otherwise number its exit before that output (row
 * `exit-after-output` of the deliberate differences).
 *
 * @module
 */
import type { CallStep, Case } from "./_differential.ts";

const PATH = "/usr/bin:/bin";

/** A `process/start` step in the fixture directory (as a file URI). */
export function start(
  processId: string,
  argv: string[],
  extra: Record<string, unknown> = {},
  compared: Omit<CallStep, "call" | "params"> = {},
): CallStep {
  return {
    call: "process/start",
    params: { processId, argv, cwd: "$URI", env: { PATH }, tty: false, ...extra },
    ...compared,
  };
}

/** `sh -c SCRIPT`. */
function sh(script: string): string[] {
  return ["sh", "-c", script];
}

/** A terminated `sleep`: SIGKILL at once on codex, SIGTERM first on ours. */
const TERMINATED = {
  differs: "terminate-grace",
  expect: { codex: { exited: { exitCode: 137 } }, ours: { exited: { exitCode: 143 } } },
};

/** Process cases. */
export const PROCESS_CASES: Case[] = [
  {
    name: "a command's output, exit code and seqs, pushed and read",
    steps: [
      start("p", sh("printf 'out\\n'; sleep 0.2; exit 3")),
      { events: "p" },
      { call: "process/read", params: { processId: "p", afterSeq: 0 } },
      { call: "process/read", params: { processId: "p", afterSeq: 1 } },
      { call: "process/read", params: { processId: "p", afterSeq: 100 } },
    ],
  },
  {
    name: "stdout and stderr arrive as their streams",
    steps: [start("p", sh("printf out; printf err >&2; exit 1")), { events: "p" }],
  },
  {
    name: "maxBytes cuts a read short, but the first chunk always comes",
    steps: [
      // The pause after the last write lets codex number the output before the exit.
      start("p", sh("printf aaaa; sleep 0.1; printf bbbb; sleep 0.1; printf cccc; sleep 0.2")),
      { events: "p" },
      { call: "process/read", params: { processId: "p", afterSeq: 0, maxBytes: 1 } },
      { call: "process/read", params: { processId: "p", afterSeq: 0, maxBytes: 8 } },
      { call: "process/read", params: { processId: "p", afterSeq: 0, maxBytes: null } },
    ],
  },
  {
    name: "a long-poll read of a silent process returns empty after waitMs",
    steps: [
      start("p", ["sleep", "5"]),
      { call: "process/read", params: { processId: "p", afterSeq: 0, waitMs: 100 } },
      { call: "process/terminate", params: { processId: "p" } },
      { events: "p", ...TERMINATED },
    ],
  },
  {
    name: "process/start refuses bad params",
    steps: [
      start("p", []),
      start("p", ["true"], { cwd: "relative/dir" }),
      start("p", ["true"], { env: undefined }),
      start("p", ["true"], { tty: "yes" }),
      start("p", ["true"], { envPolicy: { inherit: "some" } }),
    ],
  },
  {
    name: "a duplicate process id is -32600",
    steps: [
      start("p", ["true"]),
      start("p", ["true"], {}, { text: true }),
      { events: "p" },
    ],
  },
  {
    name: "spawn failures are -32603 with data.kind, and free the id",
    files: { "noexec.sh": { text: "#!/bin/sh\necho hi\n", mode: 0o644 }, "d": { dir: true } },
    steps: [
      start("p", ["/nonexistent/prog"]),
      start("p", ["no-such-prog-xyz"]),
      start("p", ["$DIR/noexec.sh"]),
      start("p", ["$DIR/d"]),
      start("p", ["true"], { cwd: "$URI/missing" }),
      start("p", ["true"]),
      { events: "p" },
    ],
  },
  {
    name: "write to stdin, with writeId; a repeated writeId writes once",
    steps: [
      start("p", ["head", "-c", "6"], { pipeStdin: true }),
      { call: "process/write", params: { processId: "p", chunk: "YWJj", writeId: "1" } },
      { call: "process/write", params: { processId: "p", chunk: "YWJj", writeId: "1" } },
      { call: "process/write", params: { processId: "p", chunk: "ZGVm", writeId: "2" } },
      { events: "p" },
    ],
  },
  {
    name: "write statuses: no stdin pipe, unknown process, bad base64",
    steps: [
      start("p", ["sleep", "0.2"]),
      { call: "process/write", params: { processId: "p", chunk: "YQ==", writeId: "1" } },
      { call: "process/write", params: { processId: "zz", chunk: "YQ==", writeId: "1" } },
      { call: "process/write", params: { processId: "p", chunk: "!!", writeId: "2" } },
      { call: "process/write", params: { processId: "p", chunk: "YQ==", writeId: "" } },
      { events: "p" },
    ],
  },
  {
    name: "a write without writeId",
    steps: [
      start("p", ["sleep", "0.2"], { pipeStdin: true }),
      {
        call: "process/write",
        params: { processId: "p", chunk: "YQ==" },
        differs: "write-id-optional",
        expect: { codex: { error: { code: -32602 } }, ours: { result: { status: "accepted" } } },
      },
      { events: "p" },
    ],
  },
  {
    name: "interrupt reaches the process group; an unknown or exited process is a no-op",
    steps: [
      start("p", sh("trap 'exit 42' INT; printf ready; while :; do sleep 0.05; done")),
      { notification: "process/output" },
      { call: "process/signal", params: { processId: "p", signal: "interrupt" } },
      { events: "p" },
      { call: "process/signal", params: { processId: "p", signal: "interrupt" } },
      { call: "process/signal", params: { processId: "zz", signal: "interrupt" } },
    ],
  },
  {
    name: "signals other than interrupt",
    steps: [
      start("p", ["sleep", "5"]),
      {
        call: "process/signal",
        params: { processId: "p", signal: "terminate" },
        differs: "more-signals",
        expect: { codex: { error: { code: -32602 } }, ours: { result: {} } },
      },
      { call: "process/signal", params: { processId: "p", signal: "bogus" } },
      // Codex still runs it (the signal was refused); ours has just ended it.
      { call: "process/terminate", params: { processId: "p" }, omit: ["result"] },
      { events: "p", omit: ["exited"] },
    ],
  },
  {
    name: "terminate kills the process group",
    steps: [
      start("p", sh("sleep 5 & sleep 5; wait")),
      { call: "process/terminate", params: { processId: "p" } },
      { events: "p", ...TERMINATED },
      { call: "process/terminate", params: { processId: "p" } },
      { call: "process/terminate", params: { processId: "zz" } },
    ],
  },
  {
    name: "death by a signal is 128+N for pipes",
    steps: [start("p", sh("kill -KILL $$")), { events: "p" }],
  },
  {
    name: "a terminal: output as pty, the tty is the controlling terminal",
    steps: [
      start("p", sh("test -t 0 && test -t 1 && printf 'tty ok'"), { tty: true }),
      { events: "p" },
    ],
  },
  {
    name: "a terminal killed by a signal",
    steps: [start("p", sh("kill -KILL $$"), { tty: true }), {
      events: "p",
      differs: "tty-signal-exit",
      expect: { codex: { exited: { exitCode: 1 } }, ours: { exited: { exitCode: 137 } } },
    }],
  },
  {
    name: "envPolicy builds the environment in codex's order, env on top",
    steps: [
      start("p", sh('printf "%s|%s|%s|%s" "$A" "$B" "$C" "${HOME-unset}"'), {
        env: { PATH, B: "from-env", C: "env-wins" },
        envPolicy: {
          inherit: "none",
          ignoreDefaultExcludes: false,
          exclude: [],
          set: { A: "from-set", C: "set" },
          includeOnly: [],
        },
      }),
      { events: "p" },
      start("q", sh('printf "%s|%s" "${SECRET_X-dropped}" "${KEEP_TOKEN-dropped}"'), {
        env: { PATH },
        envPolicy: {
          inherit: "none",
          ignoreDefaultExcludes: false,
          exclude: [],
          set: { SECRET_X: "s", KEEP_TOKEN: "t" },
          includeOnly: [],
        },
      }),
      { events: "q" },
    ],
  },
  {
    name: "without envPolicy the environment is exactly env",
    steps: [start("p", ["/usr/bin/env"], { env: { ONLY: "this" } }), { events: "p" }],
  },
  {
    name: "arg0 is what the program sees as argv[0]",
    steps: [start("p", sh('printf %s "$0"'), { arg0: "custom0" }), { events: "p" }],
  },
  {
    name: "cwd as a native path",
    steps: [
      start("p", ["pwd"], { cwd: "$DIR" }, {
        differs: "native-paths",
        expect: { codex: { error: { code: -32602 } }, ours: { result: { processId: "p" } } },
      }),
      start("q", ["pwd"], { cwd: "file://localhost$DIR" }),
      { events: "q" },
    ],
  },
  {
    name: "nextSeq after everything was read counts the exit and the close",
    steps: [
      start("p", sh("printf aaaa; sleep 0.05; printf bbbb; sleep 0.2; exit 2")),
      { events: "p" },
      { call: "process/read", params: { processId: "p", afterSeq: 0 } },
      { call: "process/read", params: { processId: "p", afterSeq: 2 } },
    ],
  },
  {
    name: "a long-polling read does not hold up other calls on the connection",
    steps: [
      start("p", ["sleep", "1"]),
      {
        race: [
          { call: "process/read", params: { processId: "p", afterSeq: 0, waitMs: 700 } },
          { call: "fs/getMetadata", params: { path: "$URI" } },
        ],
        differs: "concurrent-requests",
        expect: { codex: [0, 1], ours: [1, 0] },
      },
      { events: "p" },
    ],
  },
  {
    name: "a resumed session keeps its process and its output",
    steps: [
      start("p", sh("printf before; sleep 0.3; printf after; sleep 0.2")),
      { resume: true, omit: ["result.environmentInfo"] },
      // What was pushed to the old connection before it closed depends on timing.
      { events: "p", omit: ["output"] },
      { call: "process/read", params: { processId: "p", afterSeq: 0 } },
    ],
  },
];
