// Copyright 2026 the exec-server authors. MIT license.
/**
 * Sandbox policies: what a codex permission profile (`FileSystemSandboxContext`)
 * plus the process's cwd and environment compile to (compile.ts), a
 * {@linkcode SandboxPolicy} of path rules, and how a path is evaluated
 * against one, with codex's precedence. Pure.
 *
 * Meaning (codex 0.171, measured):
 * - `root` is `/`; `minimal` the system directories (`/bin /etc /lib* /sbin
 *   /usr`); `project_roots` each of `workspaceRoots` (none when the list is
 *   empty or absent), with an optional relative `subpath`;
 *   `current_working_directory` is its alias; `tmpdir` the command's
 *   `$TMPDIR`; `slash_tmp` `/tmp`; `unknown` nothing.
 * - For a path, the rule with the most components wins; at equal depth deny
 *   beats write beats read; with no rule the path is invisible.
 * - Every writable root R gets `R/.git`, `R/.agents`, `R/.codex`, `R/.aws`
 *   read-only, whatever the profile says (a protected rule beats a write at
 *   the same path); a `.git` file's `gitdir:` target is protected too.
 * - `glob_pattern` entries matter only for `deny`.
 *
 * Where codex silently ignores something that would leave a path less
 * confined than asked (an invalid deny glob, an `unknown` deny, legacy
 * Landlock), the compiler throws a {@linkcode SandboxError} instead.
 *
 * @module
 */
import type { NetworkMode } from "../protocol/sandbox.ts";
import type { GlobMatcher } from "./glob.ts";
import { isWithin } from "../util/path.ts";

/** The access a rule grants. */
export type RuleAccess = "read" | "write" | "deny";

/** What a path gets under a policy: a rule's access, or `none` (invisible). */
export type PathAccess = RuleAccess | "none";

/** Names kept read-only under every writable root. */
export const PROTECTED_NAMES = [".git", ".agents", ".codex", ".aws"] as const;

/** What `minimal` makes readable (those that exist). */
export const MINIMAL_PATHS = [
  "/bin",
  "/etc",
  "/lib",
  "/lib32",
  "/lib64",
  "/libx32",
  "/sbin",
  "/usr",
] as const;

/** One path rule, at a canonical absolute path. */
export interface PathRule {
  /** Canonical absolute path (symlinks resolved). */
  path: string;
  /** What the path and everything under it (without a deeper rule) gets. */
  access: RuleAccess;
  /** A protected name (read-only under a writable root). */
  protected: boolean;
  /** For write rules: whether its protected names apply (false for an unrestricted file system). */
  protectNames: boolean;
  /** The path as the profile named it, when a symlink made it differ. */
  alias?: string;
  /** What asked for it, for messages: "project_roots", "path /x", "minimal", … */
  origin: string;
}

/** A deny glob: paths (or their ancestors) matching it are denied. */
export interface GlobRule {
  /** The absolute pattern. */
  pattern: string;
  /** The literal directory the pattern starts in. */
  base: string;
  /** Matches a full absolute path. */
  matcher: GlobMatcher;
  /** How deep under `base` a scan looks (null: no limit). */
  maxDepth: number | null;
}

/** A compiled policy. */
export interface SandboxPolicy {
  /** At most one rule per path, sorted by depth, then path. */
  rules: readonly PathRule[];
  /** Deny globs. */
  globs: readonly GlobRule[];
  /** Network mode. */
  network: NetworkMode;
}

/** What enforcing a profile needs. */
export type Enforcement =
  | { kind: "none"; why: string }
  | { kind: "bwrap"; policy: SandboxPolicy };

/** Why a sandbox cannot be set up; the server sends it as -32603 with `data.kind`. */
export class SandboxError extends Error {
  /** `sandboxUnavailable` (this host cannot) or `sandboxPreparation` (this profile cannot). */
  readonly kind: "sandboxUnavailable" | "sandboxPreparation";
  /** Creates the error. */
  constructor(kind: "sandboxUnavailable" | "sandboxPreparation", message: string) {
    super(message);
    this.name = "SandboxError";
    this.kind = kind;
  }
}

/** The file system as the compiler sees it (the host edge implements it). */
export interface PathFacts {
  /**
   * The canonical form of an absolute path: every symlink resolved, also in
   * a tail that does not exist (as `realpath -m` does).
   */
  resolve(path: string): string;
  /** What is at a canonical path. */
  kind(path: string): "dir" | "file" | "other" | "missing";
  /** The target of a `.git` file (`gitdir: X`), absolute, or null. */
  gitdir(path: string): string | null;
}

/** Where a profile is evaluated. */
export interface CompileInput {
  /** The process's working directory (native, absolute): `sandbox.cwd`'s default. */
  cwd: string;
  /** The command's environment (for `tmpdir`). */
  env: Readonly<Record<string, string>>;
}

// -- Path strings --

/** Number of components: "/" is 0, "/a/b" is 2. */
export function depthOf(path: string): number {
  return path === "/" ? 0 : path.split("/").length - 1;
}

/** Lexically normalized absolute path (`.`, `..`, repeated and trailing `/` removed). */
export function normalizePath(path: string): string {
  const out: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") out.pop();
    else out.push(part);
  }
  return `/${out.join("/")}`;
}

/** `base/sub` when `sub` stays inside `base`; null for an absolute or escaping subpath. */
export function joinSubpath(base: string, sub: string): string | null {
  if (sub.startsWith("/")) return null;
  const rel = normalizePath(`/${sub}`);
  // normalizePath drops a leading "..", so compare against the naive join.
  const parts = sub.split("/").filter((p) => p !== "" && p !== ".");
  let level = 0;
  for (const part of parts) {
    level += part === ".." ? -1 : 1;
    if (level < 0) return null;
  }
  return rel === "/" ? base : normalizePath(`${base}${rel}`);
}

// -- Evaluation --

const RANK: Record<RuleAccess, number> = { read: 1, write: 2, deny: 4 };

/** The rank of a rule at one path: deny > protected read > write > read. */
function rank(rule: Pick<PathRule, "access" | "protected">): number {
  return rule.protected && rule.access === "read" ? 3 : RANK[rule.access];
}

/** The rule deciding `path` (the deepest covering one), or undefined. */
export function ruleAt(policy: SandboxPolicy, path: string): PathRule | undefined {
  let best: PathRule | undefined;
  for (const rule of policy.rules) {
    if (isWithin(path, rule.path) && (!best || depthOf(rule.path) > depthOf(best.path))) {
      best = rule;
    }
  }
  return best;
}

/** The glob that denies `path` or one of its ancestors, if any. */
export function globAt(policy: SandboxPolicy, path: string): GlobRule | undefined {
  for (const glob of policy.globs) {
    // An ancestor above the base cannot match: the base is the pattern's literal start.
    if (isWithin(path, glob.base) && glob.matcher.testOrAncestor(path)) return glob;
  }
  return undefined;
}

/**
 * What `path` (canonical) gets under `policy`.
 *
 * @example
 * ```ts
 * import { accessAt, type SandboxPolicy } from "./policy.ts";
 * import assert from "node:assert/strict";
 * const rule = { protected: false, protectNames: true, origin: "test" };
 * const policy: SandboxPolicy = {
 *   rules: [
 *     { ...rule, path: "/", access: "read" },
 *     { ...rule, path: "/w", access: "write" },
 *     { ...rule, path: "/w/.git", access: "read", protected: true },
 *   ],
 *   globs: [],
 *   network: "restricted",
 * };
 * assert.equal(accessAt(policy, "/etc/passwd"), "read");
 * assert.equal(accessAt(policy, "/w/src/a.ts"), "write");
 * assert.equal(accessAt(policy, "/w/.git/config"), "read");
 * ```
 */
export function accessAt(policy: SandboxPolicy, path: string): PathAccess {
  if (globAt(policy, path)) return "deny";
  return ruleAt(policy, path)?.access ?? "none";
}

// -- Building rules --

/** Keeps one rule per path (the highest rank) and sorts by depth, then path. */
export function settle(rules: readonly PathRule[]): PathRule[] {
  const byPath = new Map<string, PathRule>();
  for (const rule of rules) {
    const known = byPath.get(rule.path);
    if (!known || rank(rule) > rank(known)) {
      const next = { ...rule };
      const alias = rule.alias ?? known?.alias;
      if (alias !== undefined) next.alias = alias;
      byPath.set(rule.path, next);
    } else if (rank(rule) === rank(known) && rule.access === "write" && rule.protectNames) {
      byPath.set(rule.path, { ...known, protectNames: true });
    }
  }
  return [...byPath.values()].sort((a, b) =>
    depthOf(a.path) - depthOf(b.path) || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)
  );
}
