// Copyright 2026 the exec-server authors. MIT license.
import assert from "node:assert/strict";
import { applyEnvPolicy } from "../lib/server/env_policy.ts";
import { mcpStartParams } from "../lib/mcp/config.ts";

Deno.test("mcpStartParams() starts with tty false and a piped stdin", () => {
  const p = mcpStartParams(
    "mcp-stdio-1",
    { command: "node", args: ["server.js"], cwd: "/srv" },
    {},
  );
  assert.deepEqual(p.argv, ["node", "server.js"]);
  assert.equal(p.tty, false);
  assert.equal(p.pipeStdin, true);
  assert.equal(p.cwd, "/srv");
  assert.deepEqual(p.envPolicy, {
    inherit: "core",
    ignoreDefaultExcludes: true,
    exclude: [],
    set: {},
    includeOnly: [],
  });
});

Deno.test("mcpStartParams() requires a cwd", () => {
  assert.throws(() => mcpStartParams("m", { command: "x" }, {}), /requires an explicit cwd/);
});

Deno.test("mcpStartParams() sends local variables and the literal env, not PATH or HOME", () => {
  const local = { PATH: "/local/bin", HOME: "/home/me", API_URL: "https://x", TOKEN_X: "t" };
  const p = mcpStartParams("m", {
    command: "x",
    cwd: "/",
    env: { MODE: "test" },
    envVars: ["API_URL", { name: "TOKEN_X", source: "local" }, "MISSING"],
  }, local);
  assert.deepEqual(p.env, { API_URL: "https://x", TOKEN_X: "t", MODE: "test" });
});

Deno.test("mcpStartParams() takes remote variables from the executor host via includeOnly", () => {
  const p = mcpStartParams("m", {
    command: "x",
    cwd: "/",
    envVars: [{ name: "REMOTE_ONLY", source: "remote" }],
  }, { REMOTE_ONLY: "local-value-must-not-be-sent" });
  assert.deepEqual(p.env, {});
  assert.equal(p.envPolicy.inherit, "all");
  assert.ok(p.envPolicy.includeOnly.includes("REMOTE_ONLY"));
  assert.ok(p.envPolicy.includeOnly.includes("PATH"));
  const host = { REMOTE_ONLY: "host-value", PATH: "/usr/bin", SECRET_STUFF: "no" };
  assert.deepEqual(applyEnvPolicy(p.envPolicy, host), {
    REMOTE_ONLY: "host-value",
    PATH: "/usr/bin",
  });
});

Deno.test("mcpStartParams() rejects any other source with a clear message", () => {
  assert.throws(
    () =>
      mcpStartParams(
        "m",
        { command: "x", cwd: "/", envVars: [{ name: "A", source: "cloud" }] },
        {},
      ),
    /unsupported env_vars source "cloud" for A; expected `local` or `remote`/,
  );
});
