// Copyright 2026 the exec-server authors. MIT license.
// Deny globs (lib/sandbox/glob.ts): the same language the regular expression
// translation had, checked against it on random small patterns, but matched
// in linear time. The attack (review finding proc 1): a client's deny glob
// such as `*a*a*a*a*a*b` or `**/**/**/**/*a` made the backtracking regex take
// seconds to forever on one path, and every fs/* call and every launch checks
// paths against the profile's globs, so one request froze the whole server.
import assert from "node:assert/strict";
import fc from "fast-check";
import { accessAt, GLOB_MAX_LENGTH, GlobMatcher, type SandboxPolicy } from "../lib/sandbox/mod.ts";
import { ServerProcess, TestClient } from "./_harness.ts";
import { restricted, rootEntry, scratch, specialEntry } from "./_sandbox.ts";
import { pathToFileUri } from "../lib/protocol/sandbox.ts";

/** The old translation to a regular expression: the oracle for small inputs. */
function oracle(pattern: string): RegExp {
  const esc = (c: string) => /[.*+?^${}()|[\]\\/]/.test(c) ? `\\${c}` : c;
  const parts = pattern.split("/").filter((p) => p !== "");
  let source = "^";
  for (const part of parts) {
    if (part === "**") {
      source += "(?:/[^/]+)*";
      continue;
    }
    source += "/";
    let depth = 0;
    for (let i = 0; i < part.length; i++) {
      const ch = part[i]!;
      if (ch === "\\") source += esc(part[++i]!);
      else if (ch === "*") source += "[^/]*";
      else if (ch === "?") source += "[^/]";
      else if (ch === "[") {
        let end = i + 1;
        if (part[end] === "!" || part[end] === "^") end++;
        if (part[end] === "]") end++;
        end = part.indexOf("]", end);
        let body = part.slice(i + 1, end);
        const negate = body[0] === "!" || body[0] === "^";
        if (negate) body = body.slice(1);
        const chars = [...body].map((c) => c === "-" ? c : /[\\\]^[]/.test(c) ? `\\${c}` : c)
          .join("");
        source += negate ? `(?![${chars}])[^/]` : `[${chars}]`;
        i = end;
      } else if (ch === "{") {
        depth++;
        source += "(?:";
      } else if (ch === "," && depth > 0) source += "|";
      else if (ch === "}" && depth > 0) {
        depth--;
        source += ")";
      } else source += esc(ch);
    }
  }
  if (parts.length === 0) source += "/";
  return new RegExp(`${source}$`, "u");
}

const token = fc.constantFrom(
  "a",
  "b",
  "*",
  "?",
  "{a,b}",
  "{,a}",
  "{a,{b,*}}",
  "[ab]",
  "[!a]",
  "[^b]",
  "[a-c]",
  "[-a]",
  "[!-a]",
  "[]a]",
  "\\*",
  "}",
  ",",
);
const segment = fc.oneof(
  fc.constant("**"),
  fc.array(token, { minLength: 1, maxLength: 3 }).map((t) => t.join("")),
);
const patternArb = fc.array(segment, { maxLength: 4 }).map((s) => `/${s.join("/")}`);
const pathArb = fc.array(fc.constantFrom("a", "b", "ab", "ba", "c", "-", "]", "*", "aab", ""), {
  maxLength: 5,
}).map((s) => `/${s.join("/")}`);

Deno.test("GlobMatcher matches exactly what the regular expression matched", () => {
  fc.assert(
    fc.property(patternArb, pathArb, (pattern, path) => {
      const re = oracle(pattern);
      const glob = new GlobMatcher(pattern);
      assert.equal(glob.test(path), re.test(path), `${pattern} on ${path}`);
      // path or an ancestor, as globAt walked it
      let any = false;
      for (let p = path;; p = p.slice(0, Math.max(1, p.lastIndexOf("/")))) {
        if (re.test(p)) any = true;
        if (p === "/" || p === "") break;
      }
      assert.equal(glob.testOrAncestor(path), any, `${pattern} on ${path} or an ancestor`);
    }),
    { numRuns: 3000 },
  );
  for (
    const [pattern, path, want] of [
      ["/w/**/*.{env,key}", "/w/a.env", true],
      ["/w/**/*.{env,key}", "/w/d/e/b.key", true],
      ["/w/**", "/w", true],
      ["/w/*.env", "/w/sub/a.env", false],
      ["/w/{a,b}[0-9]?.key", "/w/b7x.key", true],
      ["/w/[!-a]", "/w/-", false],
      ["/w/[!-a]", "/w/b", true],
      ["/w/?", "/w/\u{1F600}", true], // one code point
      ["/", "/", true],
    ] as const
  ) {
    assert.equal(new GlobMatcher(pattern).test(path), want, `${pattern} on ${path}`);
  }
  for (const bad of ["/w/[", "/w/{a,b", "/w/a\\", "/w/[z-a]", `/${"a".repeat(GLOB_MAX_LENGTH)}`]) {
    assert.throws(() => new GlobMatcher(bad), SyntaxError, bad);
  }
});

/** A policy that only has deny globs. */
function globPolicy(patterns: string[]): SandboxPolicy {
  const globs = patterns.map((pattern) => ({
    pattern,
    base: "/w",
    matcher: new GlobMatcher(pattern),
    maxDepth: null,
  }));
  return {
    rules: [{ path: "/", access: "read", origin: "root", protected: false, protectNames: false }],
    globs,
    network: "restricted",
  };
}

Deno.test("deny globs that made the regex backtrack are checked in linear time (review proc 1)", () => {
  const policy = globPolicy([`/w/${"*a".repeat(5)}*b`, `/w${"/**".repeat(8)}/*c`]);
  // The old regex took 2 s, 3.6 s and 5.2 s on these three paths (one more *a: 106 s).
  // Matching both globs against all of them here is a matter of milliseconds.
  const paths = [`/w/${"a".repeat(100)}`, `/w${"/x".repeat(30)}/b`, `/w${"/x".repeat(40)}/b`];
  const started = performance.now();
  for (const path of paths) assert.equal(accessAt(policy, path), "read", path);
  assert.equal(accessAt(policy, `/w/${"a".repeat(100)}b`), "deny");
  assert.equal(accessAt(policy, `/w${"/x".repeat(30)}/bc/under`), "deny", "an ancestor matches");
  const elapsed = performance.now() - started;
  assert.ok(elapsed < 1000, `took ${elapsed.toFixed(0)} ms`);
});

Deno.test("a client's backtracking deny glob does not freeze the server (review proc 1)", async () => {
  await using srv = await ServerProcess.start(["--log-level", "warn"]);
  await using client = await TestClient.connect(srv.url);
  await using tmp = await scratch();
  const w = `${tmp.dir}/w`;
  await Deno.mkdir(w);
  const name = "a".repeat(200);
  await Deno.writeTextFile(`${w}/${name}`, "kept\n");
  const profile = restricted([
    rootEntry("read"),
    specialEntry("project_roots", "write"),
    {
      // On the old code this one call held the event loop for far longer than any deadline.
      path: { type: "glob_pattern", pattern: `codex-project-roots://${"*a".repeat(16)}*b` },
      access: "deny",
    },
  ], { roots: [w], cwd: w });
  const started = performance.now();
  const read = await client.call("fs/readFile", {
    path: pathToFileUri(`${w}/${name}`),
    sandbox: profile,
  }, { timeoutMs: 5000 });
  assert.equal(read.error, undefined, JSON.stringify(read.error));
  assert.equal(new TextDecoder().decode(Uint8Array.fromBase64(read.result.dataBase64)), "kept\n");
  const denied = await client.call("fs/readFile", {
    path: pathToFileUri(`${w}/${name}b`),
    sandbox: profile,
  }, { timeoutMs: 5000 });
  assert.match(denied.error?.message ?? "", /denied by the sandbox profile/);
  assert.ok((await client.call("ping", {}, { timeoutMs: 5000 })).result !== undefined);
  const elapsed = performance.now() - started;
  assert.ok(elapsed < 3000, `took ${elapsed.toFixed(0)} ms`);
});
