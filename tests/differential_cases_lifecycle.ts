// Copyright 2026 the exec-server authors. MIT license.
/**
 * Differential cases: the connection's lifecycle, the envelope, and what
 * closes the connection.
 *
 * @module
 */
import type { CallStep, Case } from "./_differential.ts";

/**
 * How `initialize`'s `environmentInfo` is compared: build- and host-specific
 * values by type; the capability flags and helper dirs (a deliberate
 * difference, shown by the environment cases) left out.
 */
export const ENVIRONMENT_INFO = {
  shape: ["result.environmentInfo.executorVersion", "result.environmentInfo.providerId"],
  omit: ["result.environmentInfo.capabilities", "result.environmentInfo.prependPathDirs"],
};

/** Codex drops the connection (no close frame: Deno reports 0); ours closes it with 1008. */
const VIOLATION = {
  differs: "violation-close",
  expect: { codex: { code: 0 }, ours: { code: 1008 } },
};

/**
 * A call of a method only ours has: -32601 from codex, and from ours
 * `oursReply` (a result by default).
 */
function oursOnly(call: string, params: unknown, oursReply: unknown = { result: {} }): CallStep {
  return {
    call,
    params,
    differs: "ours-only-methods",
    expect: { codex: { error: { code: -32601 } }, ours: oursReply },
  };
}

/** Lifecycle and envelope cases. */
export const LIFECYCLE_CASES: Case[] = [
  {
    name: "calls before initialize and before initialized are refused",
    raw: true,
    steps: [
      {
        call: "process/start",
        params: { processId: "p", argv: ["true"], cwd: "$URI", env: {}, tty: false },
        text: true,
      },
      // Malformed params are -32602 before the lifecycle is looked at.
      { call: "fs/open", params: {} },
      { call: "process/read", params: {} },
      { call: "process/start", params: { processId: 5 } },
      { call: "initialize", params: {} },
      { call: "initialize", params: { clientName: "differential" }, ...ENVIRONMENT_INFO },
      { call: "initialize", params: { clientName: "differential" }, text: true },
      { call: "fs/getMetadata", params: { path: "$URI" }, text: true },
      { call: "process/read", params: { processId: "p" } },
      { notify: "initialized", params: {} },
      { call: "fs/getMetadata", params: { path: "$URI" }, omit: ["result.size"] },
    ],
  },
  {
    name: "a resume of an unknown session fails and a fresh initialize may follow",
    raw: true,
    steps: [
      {
        call: "initialize",
        params: { clientName: "differential", resumeSessionId: "no-such-session" },
        text: true,
      },
      {
        call: "initialize",
        params: { clientName: "differential", resumeSessionId: null },
        ...ENVIRONMENT_INFO,
      },
    ],
  },
  {
    name: "unknown methods are -32601",
    steps: [
      { call: "no/such/method", params: {} },
      { call: "fs/unwatchMissing", params: {} },
      { call: "process/stat", params: { processId: "p" } },
    ],
  },
  {
    name: "params that are not an object are -32602",
    steps: [
      { call: "process/read", params: [] },
      { call: "process/read", params: 5 },
      { call: "fs/getMetadata" },
    ],
  },
  {
    name: "malformed frames get an error with id -1 and the connection stays open",
    steps: [
      { raw: "{not json" },
      { raw: "[]" },
      { raw: '"a string"' },
      { raw: '{"foo":1}' },
      { call: "process/terminate", params: { processId: "nope" } },
    ],
  },
  {
    name: "an unknown notification closes the connection",
    steps: [{ notify: "no/such/notification", params: {} }, {
      closed: true,
      ...VIOLATION,
    }],
  },
  {
    name: "a response sent by the client closes the connection",
    steps: [{ raw: '{"id":99,"result":{}}', noReply: true }, {
      closed: true,
      ...VIOLATION,
    }],
  },
  {
    name: "our own methods are unknown to codex",
    steps: [
      oursOnly("ping", {}),
      oursOnly("process/list", {}),
      oursOnly("fs/watch", { path: "$URI", recursive: false }),
      oursOnly("fs/unwatch", { watchId: "nope" }, { error: { code: -32600 } }),
      oursOnly("process/closeStdin", { processId: "nope" }),
      oursOnly("process/resize", { processId: "nope", rows: 10, cols: 10 }, { error: {} }),
    ],
  },
];
