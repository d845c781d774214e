// Copyright 2026 the exec-server authors. MIT license.
/**
 * `environment/info` and `environment/status` (codex 0.171): the executor's
 * facts, the same object `initialize` returns as `environmentInfo`, and its
 * readiness.
 *
 * @module
 */
import type { ENVIRONMENT_METHODS } from "../protocol/environment.ts";
import type { Handler } from "./process_handlers.ts";

/** The environment method handlers. */
export const ENVIRONMENT_HANDLERS: {
  [M in keyof typeof ENVIRONMENT_METHODS]: Handler<M>;
} = {
  // deno-lint-ignore require-await
  async "environment/info"(_params, ctx) {
    return ctx.server.environmentInfo();
  },
  // deno-lint-ignore require-await
  async "environment/status"() {
    return { status: "ready" };
  },
};
