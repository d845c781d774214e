// Copyright 2026 the exec-server authors. MIT license.
/**
 * Differential cases: `environment/*` and the environment info.
 *
 * @module
 */
import type { Case } from "./_differential.ts";

/** `environment/info`'s result compared as `initialize`'s `environmentInfo` is. */
const INFO = {
  shape: ["result.executorVersion", "result.providerId"],
  omit: ["result.capabilities", "result.prependPathDirs"],
};

/** Environment cases. */
export const ENVIRONMENT_CASES: Case[] = [
  {
    name: "environment/info and environment/status take no params",
    steps: [
      { call: "environment/info", params: null, ...INFO },
      { call: "environment/info", ...INFO },
      { call: "environment/info", params: {}, ...INFO },
      { call: "environment/info", params: { foo: 1 } },
      { call: "environment/info", params: [] },
      { call: "environment/status", params: null },
      { call: "environment/status", params: {} },
      { call: "environment/status", params: { foo: 1 } },
    ],
  },
  {
    name: "environment methods before initialize",
    raw: true,
    steps: [
      { call: "environment/info", params: null, text: true },
      { call: "environment/status", params: null, text: true },
    ],
  },
  {
    name: "capability flags: only what we implement",
    steps: [{
      call: "environment/info",
      params: null,
      omit: ["result.shell", "result.executorVersion", "result.providerId", "result.cwd"],
      differs: "environment-info",
      expect: { ours: { result: { capabilities: { windowsMxc: false } } } },
    }],
  },
];
