// Copyright 2026 the exec-server authors. MIT license.
/**
 * Compiling a profile: entries become canonical path rules (with the
 * protected names of every writable root), and two policies intersect.
 * Pure: the file system is seen through {@linkcode PathFacts}. The meaning
 * and precedence are in policy.ts.
 *
 * @module
 */
import {
  type FileSystemEntry,
  type FileSystemSandboxContext,
  fileUriToPath,
} from "../protocol/sandbox.ts";
import { globBase, GlobMatcher } from "./glob.ts";
import {
  type CompileInput,
  depthOf,
  type Enforcement,
  type GlobRule,
  joinSubpath,
  MINIMAL_PATHS,
  normalizePath,
  type PathAccess,
  type PathFacts,
  type PathRule,
  PROTECTED_NAMES,
  ruleAt,
  SandboxError,
  type SandboxPolicy,
  settle,
} from "./policy.ts";

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
    let matcher: GlobMatcher;
    try {
      matcher = new GlobMatcher(abs);
    } catch (err) {
      throw new SandboxError(
        "sandboxPreparation",
        `cannot enforce the deny glob ${JSON.stringify(pattern)}: ${(err as Error).message}`,
      );
    }
    return { pattern: abs, base: globBase(abs), matcher, maxDepth };
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
