// Copyright 2026 the exec-server authors. MIT license.
import assert from "node:assert/strict";
import fc from "fast-check";
import { applyEnvPolicy, childEnv, compileGlob } from "../lib/server/env_policy.ts";
import { inheritEnv } from "../lib/protocol/process.ts";
import { startParams } from "../lib/client/options.ts";
import { RpcError } from "../lib/protocol/errors.ts";
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

/** 65,536 variables as `set`, the most a start may carry. */
function manyNames(n = 65_536): Record<string, string> {
  const set: Record<string, string> = {};
  for (let i = 0; i < n; i++) set[`VARIABLE_NAME_${i}`] = "x";
  return set;
}

Deno.test("applyEnvPolicy() bounds glob work: too many wildcard tries is -32602 at once, not seconds of the only thread", () => {
  // 65,536 names x 4,096 `*X*` globs took the server 30 s; 64 globs (0.5 s
  // before) are already past the bound, so the old code fails this quickly.
  const set = manyNames();
  for (const count of [64, 4_096]) {
    const includeOnly = Array.from({ length: count }, (_, i) => `*G${i}*`);
    const start = performance.now();
    assert.throws(
      () => applyEnvPolicy(inheritEnv({ inherit: "none", set, includeOnly }), {}),
      (err: unknown) => {
        assert.ok(err instanceof RpcError);
        assert.equal(err.code, -32602);
        assert.match(
          err.message,
          new RegExp(
            `^envPolicy\\.includeOnly: matching ${count} globs against 65536 variables is too much work .*use fewer globs or fewer variables$`,
          ),
        );
        return true;
      },
    );
    const ms = performance.now() - start;
    assert.ok(ms < 3_000, `${count} globs took ${ms.toFixed(0)} ms`);
  }
  // exclude is bounded the same way, over the inherited variables.
  assert.throws(
    () =>
      applyEnvPolicy(
        inheritEnv({ exclude: Array.from({ length: 64 }, (_, i) => `?x${i}*`) }),
        manyNames(),
      ),
    /^RpcError: envPolicy\.exclude: matching 64 globs against 65536 variables is too much work/,
  );
});

Deno.test("applyEnvPolicy() within the bound: 16 wildcard globs, and any number of exact names and NAME* prefixes, over 65,536 variables", () => {
  const set = manyNames();
  const tried = Array.from({ length: 16 }, (_, i) => `*E_${i + 10}?`);
  const env = applyEnvPolicy(inheritEnv({ inherit: "none", set, includeOnly: tried }), {});
  // *E_10? .. *E_25? keep VARIABLE_NAME_100..109, ..., 250..259.
  assert.equal(Object.keys(env).length, 160);
  assert.ok("VARIABLE_NAME_257" in env && !("VARIABLE_NAME_25" in env));
  const lookedUp = [
    ...Array.from({ length: 4_096 }, (_, i) => `variable_name_${i * 16}`),
    ...Array.from({ length: 4_096 }, (_, i) => `NO_SUCH_${i}*`),
    "VARIABLE_NAME_6553*",
  ];
  const start = performance.now();
  const kept = applyEnvPolicy(inheritEnv({ inherit: "none", set, includeOnly: lookedUp }), {});
  const ms = performance.now() - start;
  const want = new Set(Array.from({ length: 4_096 }, (_, i) => `VARIABLE_NAME_${i * 16}`));
  for (const n of [65530, 65531, 65532, 65533, 65534, 65535, 6553]) want.add(`VARIABLE_NAME_${n}`);
  assert.deepEqual(new Set(Object.keys(kept)), want);
  assert.ok(ms < 3_000, `took ${ms.toFixed(0)} ms`);
});

Deno.test("applyEnvPolicy() keeps exactly the names some glob matches, looked up or tried (property)", () => {
  // Exact names and NAME* prefixes take a shortcut; the result must be what
  // trying every glob gives, case folding and surrogate pairs included.
  const unit = fc.constantFrom("a", "A", "b", "_", "é", "É", "😀", "\ud83d", "\ude00", "ß", "İ");
  const name = fc.array(unit, { maxLength: 6 }).map((u) => u.join(""));
  const glob = fc.array(fc.oneof(unit, fc.constantFrom("*", "?")), { maxLength: 5 }).map((u) =>
    u.join("")
  );
  fc.assert(
    fc.property(
      fc.uniqueArray(name, { maxLength: 12 }),
      fc.array(glob, { maxLength: 6 }),
      (names, globs) => {
        const set = Object.fromEntries(names.map((n) => [n, "v"]));
        const env = applyEnvPolicy(inheritEnv({ inherit: "none", set, includeOnly: globs }), {});
        const expected = globs.length === 0
          ? names
          : names.filter((n) => globs.some((g) => compileGlob(g)(n)));
        assert.deepEqual(Object.keys(env).sort(), [...expected].sort());
        const dropped = applyEnvPolicy(inheritEnv({ exclude: globs }), set);
        const left = names.filter((n) => !globs.some((g) => compileGlob(g)(n)));
        assert.deepEqual(Object.keys(dropped).sort(), left.sort());
      },
    ),
    { numRuns: 2_000 },
  );
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
