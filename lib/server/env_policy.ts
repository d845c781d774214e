// Copyright 2026 the exec-server authors. MIT license.
/**
 * Builds a child's environment from codex's `envPolicy`, in codex's order of
 * steps. Pure: the server's own environment is passed in.
 *
 * @module
 */
import type { EnvPolicy } from "../protocol/process.ts";

/** Variables kept by `inherit: "core"` on Unix. */
export const CORE_ENV_VARS: readonly string[] = [
  "PATH",
  "SHELL",
  "TMPDIR",
  "TEMP",
  "TMP",
  "HOME",
  "LANG",
  "LC_ALL",
  "LC_CTYPE",
  "LOGNAME",
  "USER",
];

/** Patterns dropped unless `ignoreDefaultExcludes` is true. */
export const DEFAULT_EXCLUDES: readonly string[] = [
  "*KEY*",
  "*SECRET*",
  "*TOKEN*",
];

/** One code point folded for case-insensitive comparison (its lowercase when that is one code point). */
function fold(cp: number): number {
  const lower = String.fromCodePoint(cp).toLowerCase();
  const first = lower.codePointAt(0)!;
  return lower.length === String.fromCodePoint(first).length ? first : cp;
}

function folded(s: string): number[] {
  const out: number[] = [];
  for (const ch of s) out.push(fold(ch.codePointAt(0)!));
  return out;
}

const STAR = -1;
const ANY = -2;

/**
 * Compiles a glob with `*` (any run, including none) and `?` (one character)
 * into a case-insensitive matcher of whole names. The match never backtracks
 * further than the last `*` it passed, so it takes at most
 * O(name length × glob length) steps: a regular expression built from the
 * glob would backtrack exponentially on names such as `*a*a*a…*b`.
 *
 * @example
 * ```ts
 * import { compileGlob } from "./env_policy.ts";
 * import assert from "node:assert/strict";
 * assert.equal(compileGlob("*token*")("GITHUB_TOKEN"), true);
 * assert.equal(compileGlob("a?c")("ABC"), true);
 * assert.equal(compileGlob("a.c")("abc"), false);
 * const slow = "*a".repeat(20) + "*b";
 * assert.equal(compileGlob(slow)("a".repeat(40)), false); // at once
 * ```
 */
export function compileGlob(glob: string): (name: string) => boolean {
  const pattern = globPattern(glob);
  return (name) => matchFolded(pattern, folded(name));
}

function globPattern(glob: string): number[] {
  return folded(glob).map((cp) => cp === 0x2a ? STAR : cp === 0x3f ? ANY : cp);
}

function matchFolded(p: readonly number[], s: readonly number[]): boolean {
  let pi = 0;
  let si = 0;
  let starP = -1; // index in p just after the last star passed
  let starS = 0; // where in s that star's run currently ends
  while (si < s.length) {
    const c = p[pi];
    if (pi < p.length && c !== STAR && (c === ANY || c === s[si])) {
      pi++;
      si++;
    } else if (c === STAR) {
      while (p[pi] === STAR) pi++;
      if (pi === p.length) return true; // a trailing star takes the rest
      starP = pi;
      starS = si;
    } else if (starP >= 0) {
      // Let the last star take one more character and retry what follows it.
      pi = starP;
      si = ++starS;
    } else {
      return false;
    }
  }
  while (p[pi] === STAR) pi++;
  return pi === p.length;
}

function matcher(globs: readonly string[]): (name: string) => boolean {
  const patterns = [...new Set(globs)].map(globPattern);
  return (name) => {
    const s = folded(name);
    return patterns.some((p) => matchFolded(p, s));
  };
}

/**
 * Applies a policy to `base` (the server's environment):
 * 1. start from all, core or no variables (`inherit`);
 * 2. unless `ignoreDefaultExcludes`, drop `*KEY*`, `*SECRET*`, `*TOKEN*`;
 * 3. drop names matching `exclude`;
 * 4. insert every `set` entry;
 * 5. when `includeOnly` is non-empty, keep only matching names.
 *
 * @example
 * ```ts
 * import { applyEnvPolicy } from "./env_policy.ts";
 * import assert from "node:assert/strict";
 * const env = applyEnvPolicy(
 *   { inherit: "core", ignoreDefaultExcludes: false, exclude: [], set: { A: "1" }, includeOnly: [] },
 *   { PATH: "/bin", API_KEY: "x", OTHER: "y" },
 * );
 * assert.equal(env.PATH, "/bin");
 * assert.equal(env.A, "1");
 * assert.ok(!("OTHER" in env));
 * ```
 */
export function applyEnvPolicy(
  policy: EnvPolicy,
  base: Readonly<Record<string, string>>,
): Record<string, string> {
  const env: Record<string, string> = {};
  if (policy.inherit === "all") Object.assign(env, base);
  else if (policy.inherit === "core") {
    const core = new Set(CORE_ENV_VARS);
    for (const [k, v] of Object.entries(base)) if (core.has(k)) env[k] = v;
  }
  const drop = (names: readonly string[]) => {
    if (names.length === 0) return;
    const match = matcher(names);
    for (const k of Object.keys(env)) if (match(k)) delete env[k];
  };
  if (!policy.ignoreDefaultExcludes) drop(DEFAULT_EXCLUDES);
  drop(policy.exclude);
  Object.assign(env, policy.set);
  if (policy.includeOnly.length > 0) {
    const keep = matcher(policy.includeOnly);
    for (const k of Object.keys(env)) if (!keep(k)) delete env[k];
  }
  return env;
}

/**
 * The child's environment for `process/start`: exactly `env` without a
 * policy; with one, the policy's result with `env` laid on top.
 */
export function childEnv(
  env: Readonly<Record<string, string>>,
  policy: EnvPolicy | null | undefined,
  base: Readonly<Record<string, string>>,
): Record<string, string> {
  if (!policy) return { ...env };
  return { ...applyEnvPolicy(policy, base), ...env };
}
