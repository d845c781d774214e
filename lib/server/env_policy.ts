// Copyright 2026 the exec-server authors. MIT license.
/**
 * Builds a child's environment from codex's `envPolicy`, in codex's order of
 * steps. Pure: the server's own environment is passed in.
 *
 * @module
 */
import type { EnvPolicy } from "../protocol/process.ts";
import { invalidParams } from "../protocol/errors.ts";

/** Variables kept by `inherit: "core"` on Unix. */
const CORE_ENV_VARS: readonly string[] = [
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
const DEFAULT_EXCLUDES: readonly string[] = [
  "*KEY*",
  "*SECRET*",
  "*TOKEN*",
];

/**
 * Most glob matching one `process/start` may do, in steps: trying a glob on a
 * name costs {@linkcode TEST_STEPS} plus about two steps per character of the
 * name (wildcards can make it up to name × glob length). Running out of steps
 * took 0.05 to 0.3 s of the server's only thread (measured on a busy 2-core
 * machine); within the budget fit, for instance, 65,536 names of 20
 * characters against 16 `*X*` globs. Globs without wildcards and `NAME*`
 * prefixes are looked up, not tried, and cost nothing. 65,536 names against
 * 4,096 `*X*` globs took 30 s before this bound.
 */
const MAX_GLOB_STEPS = 2 ** 26;
/** The fixed cost of one glob-name try, in steps (measured: about 30 character steps). */
const TEST_STEPS = 32;

const NON_ASCII = /[\u0080-\uffff]/;

/** One code point folded for case-insensitive comparison (its lowercase when that is one code point). */
function fold(cp: number): number {
  if (cp < 0x80) return cp >= 0x41 && cp <= 0x5a ? cp + 0x20 : cp;
  const lower = String.fromCodePoint(cp).toLowerCase();
  const first = lower.codePointAt(0)!;
  return lower.length === String.fromCodePoint(first).length ? first : cp;
}

function foldedCodes(s: string): number[] {
  const out: number[] = [];
  for (const ch of s) out.push(fold(ch.codePointAt(0)!));
  return out;
}

/** `s` folded code point by code point, as a string. */
function foldedString(s: string): string {
  if (!NON_ASCII.test(s)) return s.toLowerCase();
  let out = "";
  for (const ch of s) out += String.fromCodePoint(fold(ch.codePointAt(0)!));
  return out;
}

const STAR = -1;
const ANY = -2;

/** A glob as folded code points, `*` and `?` as STAR and ANY, runs of stars as one. */
function globPattern(glob: string): number[] {
  const out: number[] = [];
  for (const cp of foldedCodes(glob)) {
    if (cp === 0x2a) {
      if (out.at(-1) !== STAR) out.push(STAR);
    } else out.push(cp === 0x3f ? ANY : cp);
  }
  return out;
}

/** Steps left for one policy; running out is the caller's -32602. */
interface Budget {
  left: number;
}

/**
 * Whether pattern `p` matches all of `s`. It never backtracks further than
 * the last star it passed, so it takes at most O(|s| × |p|) steps, each one
 * charged to `budget`: `null` when the budget ran out.
 */
function matchFolded(p: readonly number[], s: readonly number[], budget: Budget): boolean | null {
  let left = budget.left - TEST_STEPS;
  let pi = 0;
  let si = 0;
  let starP = -1; // index in p just after the last star passed
  let starS = 0; // where in s that star's run currently ends
  let result: boolean | null = null;
  while (left-- > 0) {
    if (si === s.length) {
      result = pi === p.length || (pi === p.length - 1 && p[pi] === STAR);
      break;
    }
    const c = p[pi];
    if (pi < p.length && c !== STAR && (c === ANY || c === s[si])) {
      pi++;
      si++;
    } else if (c === STAR) {
      if (++pi === p.length) {
        result = true; // a trailing star takes the rest
        break;
      }
      starP = pi;
      starS = si;
    } else if (starP >= 0) {
      // Let the last star take one more character and retry what follows it.
      pi = starP;
      si = ++starS;
    } else {
      result = false;
      break;
    }
  }
  budget.left = left;
  return result;
}

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
  return (name) => matchFolded(pattern, foldedCodes(name), { left: Infinity }) === true;
}

/**
 * A list of globs, grouped so that most cost nothing per name: globs without
 * wildcards are a set of folded names, `LITERAL*` globs a sorted list of
 * prefixes (none a prefix of another, so only the greatest one not after the
 * name can match), and only the rest are tried one by one, against a budget.
 */
class GlobSet {
  readonly #exact = new Set<string>();
  readonly #prefixes: string[] = [];
  readonly #tried: number[][] = [];

  constructor(globs: readonly string[]) {
    const prefixes: string[] = [];
    for (const glob of new Set(globs)) {
      const p = globPattern(glob);
      const wild = p.findIndex((c) => c === STAR || c === ANY);
      const literal = () =>
        p.slice(0, wild < 0 ? p.length : wild).map((c) => String.fromCodePoint(c)).join("");
      if (wild < 0) this.#exact.add(literal());
      else if (wild === p.length - 1 && p[wild] === STAR && !highSurrogate(p[wild - 1])) {
        // (A prefix ending in half a surrogate pair would match the pair's
        // string but not its code point: such globs are tried.)
        prefixes.push(literal());
      } else this.#tried.push(p);
    }
    prefixes.sort();
    for (const p of prefixes) {
      const last = this.#prefixes.at(-1);
      if (last === undefined || !p.startsWith(last)) this.#prefixes.push(p);
    }
  }

  /** Whether any glob matches `name`; null when `budget` ran out. */
  matches(name: string, budget: Budget): boolean | null {
    const s = foldedString(name);
    if (this.#exact.has(s) || this.#prefixMatch(s)) return true;
    if (this.#tried.length === 0) return false;
    const codes = foldedCodes(name);
    for (const p of this.#tried) {
      const hit = matchFolded(p, codes, budget);
      if (hit !== false) return hit;
    }
    return false;
  }

  #prefixMatch(s: string): boolean {
    const list = this.#prefixes;
    let lo = 0;
    let hi = list.length; // the greatest prefix <= s is list[lo - 1]
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (list[mid]! <= s) lo = mid + 1;
      else hi = mid;
    }
    return lo > 0 && s.startsWith(list[lo - 1]!);
  }
}

function highSurrogate(cp: number | undefined): boolean {
  return cp !== undefined && cp >= 0xd800 && cp <= 0xdbff;
}

/**
 * Applies a policy to `base` (the server's environment):
 * 1. start from all, core or no variables (`inherit`);
 * 2. unless `ignoreDefaultExcludes`, drop `*KEY*`, `*SECRET*`, `*TOKEN*`;
 * 3. drop names matching `exclude`;
 * 4. insert every `set` entry;
 * 5. when `includeOnly` is non-empty, keep only matching names.
 *
 * Matching globs with wildcards is bounded ({@linkcode MAX_GLOB_STEPS}
 * steps in all): past that it throws -32602.
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
  const budget: Budget = { left: MAX_GLOB_STEPS };
  const filter = (globs: readonly string[], keep: boolean, what: string) => {
    if (globs.length === 0) return;
    const set = new GlobSet(globs);
    const names = Object.keys(env);
    for (const k of names) {
      const hit = set.matches(k, budget);
      if (hit === null) {
        throw invalidParams(
          `envPolicy.${what}: matching ${globs.length} globs against ${names.length} variables ` +
            `is too much work (a start may spend about 2^26 character steps on globs ` +
            `with wildcards; globs without wildcards and NAME* prefixes cost nothing): use fewer ` +
            `globs or fewer variables`,
        );
      }
      if (hit !== keep) delete env[k];
    }
  };
  if (!policy.ignoreDefaultExcludes) filter(DEFAULT_EXCLUDES, false, "default excludes");
  filter(policy.exclude, false, "exclude");
  Object.assign(env, policy.set);
  filter(policy.includeOnly, true, "includeOnly");
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
