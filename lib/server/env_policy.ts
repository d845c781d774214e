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

/**
 * Compiles a glob with `*` and `?` into a case-insensitive, anchored RegExp.
 *
 * @example
 * ```ts
 * import { globToRegExp } from "./env_policy.ts";
 * console.assert(globToRegExp("*token*").test("GITHUB_TOKEN"));
 * ```
 */
export function globToRegExp(glob: string): RegExp {
  let source = "";
  for (const ch of glob) {
    if (ch === "*") source += ".*";
    else if (ch === "?") source += ".";
    else source += ch.replace(/[.+^${}()|[\]\\/-]/g, "\\$&");
  }
  return new RegExp(`^${source}$`, "is");
}

function matcher(globs: readonly string[]): (name: string) => boolean {
  const res = globs.map(globToRegExp);
  return (name) => res.some((re) => re.test(name));
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
 * const env = applyEnvPolicy(
 *   { inherit: "core", ignoreDefaultExcludes: false, exclude: [], set: { A: "1" }, includeOnly: [] },
 *   { PATH: "/bin", API_KEY: "x", OTHER: "y" },
 * );
 * console.assert(env.PATH === "/bin" && env.A === "1" && !("OTHER" in env));
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
