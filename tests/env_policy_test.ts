// Copyright 2026 the exec-server authors. MIT license.
import assert from "node:assert/strict";
import { applyEnvPolicy, childEnv, compileGlob } from "../lib/server/env_policy.ts";
import { inheritEnv } from "../lib/protocol/process.ts";
import { startParams } from "../lib/client/options.ts";
import { mcpStartParams } from "../lib/mcp/config.ts";

const BASE = {
  PATH: "/bin",
  HOME: "/home/u",
  API_KEY: "k",
  MY_SECRET_X: "s",
  GH_TOKEN: "t",
  EDITOR: "vi",
  lang: "lower",
};

Deno.test("compileGlob() matches * and ? case-insensitively, and nothing else is special", () => {
  const match = (glob: string, name: string) => compileGlob(glob)(name);
  assert.ok(match("*key*", "API_KEY"));
  assert.ok(match("A?C", "abc"));
  assert.ok(!match("A.C", "ABC"));
  assert.ok(match("A.C", "a.c"));
  assert.ok(!match("PATH", "XPATH"));
  assert.ok(!match("PATH", "PATHX"));
  assert.ok(match("*", ""));
  assert.ok(!match("?", ""));
  assert.ok(match("**a**", "xxAxx"));
  assert.ok(match("a*b*c", "aXbYbZc"));
  assert.ok(!match("a*b*c", "aXbYbZ"));
  assert.ok(match("*ab", "aab"), "the star gives back characters to the rest");
  assert.ok(match("[x](y)+^$|\\", "[X](Y)+^$|\\"), "regex syntax is literal");
  assert.ok(match("é?", "ÉZ"), "case folding is not ASCII only");
  assert.ok(match("?", "😀"), "? is one code point");
});

Deno.test("compileGlob() runs in polynomial time: *a*a…*b no longer takes seconds (issue 15 row 6)", () => {
  // A backtracking regular expression took 27 s on a 34-character key with
  // this shape, blocking every other client; the matcher takes microseconds.
  const glob = "*a".repeat(16) + "*b";
  const names = ["a".repeat(34), "a".repeat(200), "a".repeat(4096) + "c"];
  const start = performance.now();
  for (const name of names) assert.equal(compileGlob(glob)(name), false);
  const policy = inheritEnv({ inherit: "all", exclude: [glob], includeOnly: [glob] });
  assert.deepEqual(applyEnvPolicy(policy, { [names[0]!]: "x" }), {});
  const ms = performance.now() - start;
  assert.ok(ms < 500, `took ${ms.toFixed(0)} ms`);
});

Deno.test("applyEnvPolicy() step 1: inherit all, core or none", () => {
  assert.deepEqual(applyEnvPolicy(inheritEnv({ inherit: "all" }), BASE), BASE);
  assert.deepEqual(applyEnvPolicy(inheritEnv({ inherit: "none" }), BASE), {});
  assert.deepEqual(applyEnvPolicy(inheritEnv({ inherit: "core" }), BASE), {
    PATH: "/bin",
    HOME: "/home/u",
  });
});

Deno.test("applyEnvPolicy() step 2: default excludes unless ignored", () => {
  const env = applyEnvPolicy(inheritEnv({ ignoreDefaultExcludes: false }), BASE);
  assert.ok(!("API_KEY" in env) && !("MY_SECRET_X" in env) && !("GH_TOKEN" in env));
  assert.equal(env.EDITOR, "vi");
  assert.equal(applyEnvPolicy(inheritEnv({ ignoreDefaultExcludes: true }), BASE).API_KEY, "k");
});

Deno.test("applyEnvPolicy() step 3: exclude globs", () => {
  const env = applyEnvPolicy(inheritEnv({ exclude: ["ed*", "LANG"] }), BASE);
  assert.ok(!("EDITOR" in env) && !("lang" in env));
  assert.equal(env.PATH, "/bin");
});

Deno.test("applyEnvPolicy() step 4: set overrides, after excludes", () => {
  const env = applyEnvPolicy(
    inheritEnv({ exclude: ["EDITOR"], set: { EDITOR: "nano", NEW: "1" } }),
    BASE,
  );
  assert.equal(env.EDITOR, "nano");
  assert.equal(env.NEW, "1");
});

Deno.test("applyEnvPolicy() step 5: includeOnly runs last and can drop set entries", () => {
  const env = applyEnvPolicy(
    inheritEnv({ set: { NEW: "1", PATH: "/x" }, includeOnly: ["PATH", "h*"] }),
    BASE,
  );
  assert.deepEqual(env, { PATH: "/x", HOME: "/home/u" });
});

Deno.test("childEnv() is exactly env without a policy, and env overlays a policy", () => {
  assert.deepEqual(childEnv({ A: "1" }, null, BASE), { A: "1" });
  assert.deepEqual(childEnv({ A: "1" }, undefined, BASE), { A: "1" });
  const env = childEnv({ PATH: "/mine", A: "1" }, inheritEnv({ inherit: "core" }), BASE);
  assert.deepEqual(env, { PATH: "/mine", HOME: "/home/u", A: "1" });
});

Deno.test("inheritEnv(): the one pass-through policy, used by the CLI, the client and MCP", () => {
  const all = inheritEnv();
  assert.deepEqual(all, {
    inherit: "all",
    ignoreDefaultExcludes: true,
    exclude: [],
    set: {},
    includeOnly: [],
  });
  assert.deepEqual(applyEnvPolicy(all, BASE), BASE, "nothing dropped, not even *TOKEN*");
  assert.notEqual(inheritEnv().exclude, inheritEnv().exclude, "a fresh object each time");
  assert.deepEqual(inheritEnv({ inherit: "core", includeOnly: ["PATH"] }), {
    ...all,
    inherit: "core",
    includeOnly: ["PATH"],
  });
  assert.deepEqual(startParams({ argv: ["ls"] })[0].envPolicy, all);
  assert.deepEqual(
    mcpStartParams(
      "m",
      { command: "srv", cwd: "/", envVars: [{ name: "R", source: "remote" }] },
      {},
    )
      .envPolicy.includeOnly.at(-1),
    "R",
  );
});
