// Copyright 2026 the exec-server authors. MIT license.
/**
 * The policy compiler: a codex permission profile (`FileSystemSandboxContext`)
 * plus the process's cwd and environment become a {@linkcode SandboxPolicy},
 * a list of path rules with codex's precedence already applied. Pure: the
 * file system is seen through injected {@linkcode PathFacts}.
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
import {
  type FileSystemEntry,
  type FileSystemSandboxContext,
  fileUriToPath,
  type NetworkMode,
} from "../protocol/sandbox.ts";
import { globBase, globToRegExp } from "./glob.ts";

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
  regex: RegExp;
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

/** Whether `path` is `root` or lies under it. */
export function isWithin(path: string, root: string): boolean {
  if (root === "/") return true;
  return path === root || path.startsWith(`${root}/`);
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
    if (!isWithin(path, glob.base)) continue;
    for (let p = path; isWithin(p, glob.base); p = p === "/" ? "" : parentPath(p)) {
      if (glob.regex.test(p)) return glob;
      if (p === glob.base) break;
    }
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

function parentPath(path: string): string {
  const i = path.lastIndexOf("/");
  return i <= 0 ? "/" : path.slice(0, i);
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

interface Resolved {
  rules: PathRule[];
  globs: GlobRule[];
}

/** Where an entry points, as native paths before canonicalization. */
function entryTargets(
  entry: FileSystemEntry,
  roots: readonly string[],
  input: CompileInput,
): { paths: string[]; origin: string } | "ignore" {
  const { path } = entry;
  if (path.type === "path") {
    const native = fileUriToPath(path.path);
    return { paths: [native], origin: `path ${native}` };
  }
  if (path.type === "glob_pattern") return "ignore"; // handled by the caller
  const value = path.value;
  switch (value.kind) {
    case "root":
      return { paths: ["/"], origin: "root" };
    case "minimal":
      return { paths: [...MINIMAL_PATHS], origin: "minimal" };
    case "slash_tmp":
      return { paths: ["/tmp"], origin: "slash_tmp" };
    case "tmpdir": {
      const tmp = input.env.TMPDIR;
      if (tmp === undefined || !tmp.startsWith("/")) return "ignore";
      return { paths: [normalizePath(tmp)], origin: "tmpdir ($TMPDIR)" };
    }
    case "project_roots":
    case "current_working_directory": {
      const sub = value.subpath ?? null;
      if (sub === null || sub === "") return { paths: [...roots], origin: value.kind };
      const joined = roots.map((root) => joinSubpath(root, sub));
      if (joined.some((p) => p === null)) {
        // A subpath that leaves its root grants nothing (as in codex); a
        // deny there is still applied, to the path it names.
        if (entry.access !== "deny") return "ignore";
        return {
          paths: roots.map((root) => normalizePath(sub.startsWith("/") ? sub : `${root}/${sub}`)),
          origin: `${value.kind} subpath ${sub}`,
        };
      }
      return { paths: joined as string[], origin: `${value.kind} subpath ${sub}` };
    }
    case "unknown":
      if (entry.access === "deny") {
        throw new SandboxError(
          "sandboxPreparation",
          `cannot enforce a deny entry on the special path ${JSON.stringify(value.path)}: ` +
            "this server does not know what it names",
        );
      }
      return "ignore"; // granting less than asked never widens the sandbox
  }
}

/** Turns a deny glob into rules for each base it applies to. */
function denyGlobs(
  pattern: string,
  roots: readonly string[],
  policyCwd: string,
  maxDepth: number | null,
): GlobRule[] {
  const PROJECT = "codex-project-roots://";
  const absolute = pattern.startsWith(PROJECT)
    ? roots.map((root) => `${root === "/" ? "" : root}/${pattern.slice(PROJECT.length)}`)
    : [pattern.startsWith("/") ? pattern : `${policyCwd === "/" ? "" : policyCwd}/${pattern}`];
  return absolute.map((abs) => {
    let regex: RegExp;
    try {
      regex = globToRegExp(abs);
    } catch (err) {
      throw new SandboxError(
        "sandboxPreparation",
        `cannot enforce the deny glob ${JSON.stringify(pattern)}: ${(err as Error).message}`,
      );
    }
    return { pattern: abs, base: globBase(abs), regex, maxDepth };
  });
}

function canonical(
  facts: PathFacts,
  paths: readonly string[],
): { path: string; alias?: string }[] {
  const out: { path: string; alias?: string }[] = [];
  for (const lexical of paths) {
    const path = facts.resolve(lexical);
    out.push(path === lexical ? { path } : { path, alias: lexical });
  }
  return out;
}

/**
 * The rules a managed, restricted profile asks for (protected names not yet
 * added).
 */
function resolveEntries(
  entries: readonly FileSystemEntry[],
  context: FileSystemSandboxContext,
  input: CompileInput,
  facts: PathFacts,
  maxDepth: number | null,
): Resolved {
  const policyCwd = context.cwd ? fileUriToPath(context.cwd) : input.cwd;
  const roots: string[] = [];
  for (const uri of context.workspaceRoots ?? []) {
    roots.push(facts.resolve(fileUriToPath(uri)));
  }
  const rules: PathRule[] = [];
  const globs: GlobRule[] = [];
  for (const entry of entries) {
    if (entry.path.type === "glob_pattern") {
      if (entry.access === "deny") {
        const canonicalCwd = facts.resolve(policyCwd);
        globs.push(...denyGlobs(entry.path.pattern, roots, canonicalCwd, maxDepth));
      }
      continue; // read and write globs grant nothing in codex either
    }
    const targets = entryTargets(entry, roots, input);
    if (targets === "ignore") continue;
    for (const { path, alias } of canonical(facts, targets.paths)) {
      if (targets.origin === "minimal" && (facts.kind(path)) === "missing") continue;
      const rule: PathRule = {
        path,
        access: entry.access,
        protected: false,
        protectNames: true,
        origin: targets.origin,
      };
      if (alias !== undefined) rule.alias = alias;
      rules.push(rule);
    }
  }
  return { rules, globs };
}

/** Adds the protected names of every writable root. */
function protect(rules: readonly PathRule[], facts: PathFacts): PathRule[] {
  const settled = settle(rules);
  const out = [...settled];
  for (const rule of settled) {
    if (rule.access !== "write" || !rule.protectNames) continue;
    for (const name of PROTECTED_NAMES) {
      const lexical = rule.path === "/" ? `/${name}` : `${rule.path}/${name}`;
      const path = facts.resolve(lexical);
      const guarded: PathRule = {
        path,
        access: "read",
        protected: true,
        protectNames: false,
        origin: `protected ${name} of ${rule.path}`,
      };
      if (path !== lexical) guarded.alias = lexical;
      out.push(guarded);
      if (name === ".git" && (facts.kind(path)) === "file") {
        const target = facts.gitdir(path);
        if (target !== null) {
          out.push({
            path: facts.resolve(target),
            access: "read",
            protected: true,
            protectNames: false,
            origin: `gitdir of ${path}`,
          });
        }
      }
    }
  }
  return settle(out);
}

/**
 * Compiles a profile into what enforcing it takes: nothing (`disabled`, or
 * an unrestricted file system with the network enabled), or a bubblewrap
 * policy.
 *
 * @throws {SandboxError} When the profile asks for something this server
 * cannot enforce.
 */
export function compileProfile(
  context: FileSystemSandboxContext,
  input: CompileInput,
  facts: PathFacts,
): Enforcement {
  const permissions = context.permissions;
  if (permissions.type === "disabled") return { kind: "none", why: "the profile is disabled" };
  const network = permissions.network;
  const unrestricted = permissions.type === "external" ||
    permissions.file_system.type === "unrestricted";
  if (unrestricted) {
    if (network === "enabled") {
      return { kind: "none", why: "the file system is unrestricted and the network enabled" };
    }
    const root: PathRule = {
      path: "/",
      access: "write",
      protected: false,
      protectNames: false,
      origin: permissions.type === "external" ? "external" : "unrestricted",
    };
    return { kind: "bwrap", policy: { rules: [root], globs: [], network } };
  }
  if (permissions.type !== "managed" || permissions.file_system.type !== "restricted") {
    throw new SandboxError("sandboxPreparation", "unexpected permission profile");
  }
  if (context.useLegacyLandlock === true) {
    throw new SandboxError(
      "sandboxUnavailable",
      "useLegacyLandlock: this server enforces file-system profiles with bubblewrap only " +
        "(Landlock is not supported); send useLegacyLandlock: false",
    );
  }
  const fs = permissions.file_system;
  const resolved = resolveEntries(
    fs.entries,
    context,
    input,
    facts,
    fs.glob_scan_max_depth ?? null,
  );
  return {
    kind: "bwrap",
    policy: { rules: protect(resolved.rules, facts), globs: resolved.globs, network },
  };
}

/**
 * The intersection of two policies: every path gets the lesser of what
 * either grants (invisible/deny < read < write), the network is restricted
 * when either restricts it, deny globs add up. Used to apply an operator's
 * `serve --sandbox` profile on top of a client's: no client can widen it.
 */
export function intersect(
  a: SandboxPolicy,
  b: SandboxPolicy,
  facts: PathFacts,
): SandboxPolicy {
  const paths = [...new Set([...a.rules, ...b.rules].map((r) => r.path))].sort((x, y) =>
    depthOf(x) - depthOf(y)
  );
  const rules: PathRule[] = [];
  const sofar: SandboxPolicy = { rules, globs: [], network: "restricted" };
  for (const path of paths) {
    const ra = ruleAt(a, path);
    const rb = ruleAt(b, path);
    const both = [ra?.access ?? "none", rb?.access ?? "none"];
    let result: PathAccess = both.includes("deny")
      ? "deny"
      : both.includes("none")
      ? "none"
      : both.includes("read")
      ? "read"
      : "write";
    if (result === "none") {
      // Invisible in one of them: hide it, unless nothing above it shows.
      const above = ruleAt(sofar, path)?.access;
      if (above === undefined || above === "deny") continue;
      result = "deny";
    }
    const source = [ra, rb].find((r) => r?.path === path) ?? ra ?? rb!;
    rules.push({
      path,
      access: result,
      protected: (ra?.protected ?? false) || (rb?.protected ?? false),
      protectNames: result === "write" &&
        ((ra?.access === "write" && ra.protectNames) ||
          (rb?.access === "write" && rb.protectNames)),
      origin: source.origin,
      ...(source.alias !== undefined ? { alias: source.alias } : {}),
    });
  }
  return {
    rules: protect(rules, facts),
    globs: [...a.globs, ...b.globs],
    network: a.network === "restricted" || b.network === "restricted" ? "restricted" : "enabled",
  };
}
