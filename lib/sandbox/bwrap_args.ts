// Copyright 2026 the exec-server authors. MIT license.
/**
 * The bubblewrap command line for a {@linkcode SandboxPolicy}. Pure: the file
 * system is seen through {@linkcode PlanFacts}; the host edge creates the
 * placeholders the plan lists before it runs bwrap, and removes them after.
 *
 * Mounts, in bwrap's order (a later mount shadows an earlier one, so rules go
 * from the broadest to the most specific):
 * 1. `/`: `--ro-bind / /` (root read), `--bind / /` (root write, with `/sys`
 *    kept read-only), or an ephemeral `--tmpfs /` when the policy shows only
 *    some paths; then `--dev /dev` and `--proc /proc` (this pid namespace's;
 *    read-only when the server runs as root). Read and write rules in /proc
 *    are not mounted (the sandbox's own /proc stays, as in codex), and write
 *    rules in /sys are read-only.
 * 2. Each rule: write `--bind P P`; read `--ro-bind P P`; deny a directory
 *    `--perms 000 --tmpfs P` (remounted read-only at the end), deny a file
 *    `--ro-bind EMPTY P` (an empty mode-000 file). A path that does not exist
 *    is skipped, unless it lies in a writable region, where the process could
 *    create it: then a placeholder (an empty directory for protected names,
 *    an empty file otherwise) is made on the host and masked.
 * 3. Namespaces: user, pid, ipc, and net when the network is restricted;
 *    `--die-with-parent`, `--cap-drop ALL`, and `--new-session` for piped
 *    children (a terminal keeps its controlling tty: it is the process's own).
 *
 * @module
 */
import { accessAt, depthOf, type PathRule, ruleAt, type SandboxPolicy } from "./policy.ts";
import { isWithin } from "../util/path.ts";

/** A host path the plan needs to exist while the sandbox runs. */
export interface Placeholder {
  /** Canonical absolute path (its parent exists). */
  path: string;
  /** An empty directory or an empty file. */
  type: "dir" | "file";
}

/** File-system facts the planner needs. */
export interface PlanFacts {
  /** What is at a canonical path. */
  kind(path: string): "dir" | "file" | "other" | "missing";
}

/** Host programs and files the command line names. */
export interface BwrapHost {
  /** The bwrap executable. */
  bwrap: string;
  /** An empty file with mode 000, bound over denied files. */
  emptyFile: string;
  /** A seccomp program file to load (via `sh` on fd 3), or null for none. */
  seccompFile: string | null;
  /** A POSIX shell on the host (opens the seccomp file). @default {"/bin/sh"} */
  shell?: string;
  /**
   * The server runs as root. Then uid 0 inside is the real root (without
   * capabilities), and root-owned files are writable wherever a mount is:
   * `/proc` is made read-only, or `/proc/sys/kernel/core_pattern` (run as
   * root on the host at the next crash) would be a way out.
   * @default {false}
   */
  root?: boolean;
}

/** The command to run sandboxed. */
export interface PlanCommand {
  /** Program and arguments (argv[0] is looked up inside, in env's PATH). */
  argv: readonly string[];
  /** The working directory inside (canonical; it must be visible). */
  cwd: string;
  /** The environment the process gets. */
  env: Readonly<Record<string, string>>;
  /** Whether the process runs on a terminal. */
  tty: boolean;
}

/** What to spawn. */
export interface BwrapPlan {
  /** The whole command line: `[sh, -c, …, bwrap, …]` or `[bwrap, …]`. */
  argv: string[];
  /** Host paths to create first (and remove once the sandbox is gone). */
  placeholders: Placeholder[];
}

/** Opens the seccomp program on fd 3 for `bwrap --seccomp 3`, adding nothing to the environment but PWD (which bwrap resets). */
const OPEN_FILTER = 'exec "$@" 3<"$0"';

/**
 * Plans the bwrap command line for a policy.
 *
 * @example
 * ```ts
 * import { planBwrap } from "./bwrap_args.ts";
 * import assert from "node:assert/strict";
 * const rule = { protected: false, protectNames: true, origin: "test" };
 * const plan = planBwrap({
 *   rules: [{ ...rule, path: "/", access: "read" }, { ...rule, path: "/w", access: "write" }],
 *   globs: [],
 *   network: "restricted",
 * }, { argv: ["true"], cwd: "/w", env: {}, tty: false }, {
 *   bwrap: "/usr/bin/bwrap", emptyFile: "/run/empty", seccompFile: null,
 * }, { kind: (p) => p === "/w" || p === "/" ? "dir" : "missing" });
 * assert.deepEqual(plan.argv.slice(0, 8), [
 *   "/usr/bin/bwrap", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc",
 * ]);
 * assert.ok(plan.argv.join(" ").includes("--bind /w /w"));
 * assert.ok(plan.argv.includes("--unshare-net"));
 * ```
 */
export function planBwrap(
  policy: SandboxPolicy,
  command: PlanCommand,
  host: BwrapHost,
  facts: PlanFacts & ScanFacts,
): BwrapPlan {
  const args: string[] = [];
  const placeholders: Placeholder[] = [];
  const made = new Map<string, Placeholder["type"]>();
  const kind = (path: string) => {
    const type = made.get(path);
    if (type !== undefined) return type;
    // Under a placeholder nothing exists.
    for (const [p] of made) if (isWithin(path, p)) return "missing";
    return facts.kind(path);
  };
  const root = policy.rules.find((r) => r.path === "/");
  if (root?.access === "read") args.push("--ro-bind", "/", "/");
  else if (root?.access === "write") args.push("--bind", "/", "/");
  else args.push("--tmpfs", "/");
  args.push("--dev", "/dev", "--proc", "/proc");
  // Kernel interfaces stay read-only whatever the profile: a writable /sys
  // (root write) would hand out uevent_helper and the cgroup tree.
  if (root?.access === "write") args.push("--ro-bind", "/sys", "/sys");

  const remount: string[] = [];
  const rules = policy.rules.filter((r) => r.path !== "/" && !ownProc(r));
  for (const rule of rules) {
    const at = kind(rule.path);
    // Nothing can be created in /proc or /sys: no placeholders there.
    const region = isKernelFs(rule.path) ? "read" : regionOf(policy, rule);
    if (at === "missing") {
      if (rule.access === "write" || region !== "write") continue;
      // The process could create it on the host: mask a placeholder instead.
      const top = highestMissing(rule.path, kind);
      const type: Placeholder["type"] = top !== rule.path || rule.protected ? "dir" : "file";
      placeholders.push({ path: top, type });
      made.set(top, type);
      if (rule.access === "deny" && type === "file") args.push("--ro-bind", host.emptyFile, top);
      else args.push("--ro-bind", top, top);
      continue;
    }
    if (rule.access === "write" && !isWithin(rule.path, "/sys")) {
      args.push("--bind", rule.path, rule.path);
    } else if (rule.access !== "deny") args.push("--ro-bind", rule.path, rule.path);
    else if (at === "dir") {
      // Deeper rules stay reachable through it: search, but no listing.
      const inner = rules.some((r) => r !== rule && isWithin(r.path, rule.path));
      args.push("--perms", inner ? "111" : "000", "--tmpfs", rule.path);
      remount.push(rule.path);
    } else {
      args.push("--ro-bind", host.emptyFile, rule.path);
    }
  }
  // A path the profile named through a symlink stays usable where only the
  // shown paths exist (the root is a tmpfs).
  if (root === undefined || root.access === "deny") {
    for (const rule of rules) {
      if (rule.alias === undefined || rule.access === "deny" || isKernelFs(rule.alias)) continue;
      if (accessAt(policy, rule.alias) !== "none") continue;
      args.push("--symlink", rule.path, rule.alias);
    }
  }
  for (const glob of globMatches(policy, kind, facts)) {
    if (glob.type === "dir") {
      args.push("--perms", "000", "--tmpfs", glob.path);
      remount.push(glob.path);
    } else {
      args.push("--ro-bind", host.emptyFile, glob.path);
    }
  }
  for (const path of remount) args.push("--remount-ro", path);
  if (host.root === true) args.push("--remount-ro", "/proc");

  args.push("--unshare-user", "--unshare-pid", "--unshare-ipc");
  if (policy.network === "restricted") args.push("--unshare-net");
  if (!command.tty) args.push("--new-session");
  args.push("--die-with-parent", "--cap-drop", "ALL");
  if (host.seccompFile !== null) args.push("--seccomp", "3");
  args.push("--chdir", command.cwd);
  if (command.env.PWD === undefined) args.push("--unsetenv", "PWD");
  else args.push("--setenv", "PWD", command.env.PWD);
  args.push("--", ...command.argv);

  const argv = host.seccompFile === null
    ? [host.bwrap, ...args]
    : [host.shell ?? "/bin/sh", "-c", OPEN_FILTER, host.seccompFile, host.bwrap, ...args];
  return { argv, placeholders };
}

/**
 * A read or write rule in /proc: the sandbox keeps its own /proc (its pid
 * namespace's processes), as under codex, which mounts /proc after every
 * bind. A bind of the host's /proc would show every host process (their
 * command lines and, as the same user, more). Deny rules still mask.
 */
function ownProc(rule: PathRule): boolean {
  return rule.access !== "deny" && isWithin(rule.path, "/proc");
}

function isKernelFs(path: string): boolean {
  return isWithin(path, "/proc") || isWithin(path, "/sys");
}

/** The access of the region a rule's path lies in (its nearest covering ancestor rule). */
function regionOf(policy: SandboxPolicy, rule: PathRule): "read" | "write" | "deny" | "none" {
  const parent = rule.path.slice(0, rule.path.lastIndexOf("/")) || "/";
  const above: SandboxPolicy = {
    ...policy,
    rules: policy.rules.filter((r) => depthOf(r.path) < depthOf(rule.path)),
  };
  return ruleAt(above, parent)?.access ?? "none";
}

/** The highest ancestor of `path` (or `path`) that is missing, below an existing one. */
function highestMissing(
  path: string,
  kind: (p: string) => string,
): string {
  let top = path;
  for (;;) {
    const parent = top.slice(0, top.lastIndexOf("/")) || "/";
    if (parent === top || (kind(parent)) !== "missing") return top;
    top = parent;
  }
}

/** Most entries a deny-glob scan visits before the start is refused. */
export const GLOB_SCAN_LIMIT = 50_000;

/** File-system facts a glob scan needs. */
export interface ScanFacts {
  /** The entries of a directory (names and types, symlinks not followed), or null if unreadable. */
  list?(dir: string): { name: string; type: "dir" | "file" | "other" }[] | null;
}

/** Existing paths matching the deny globs (a matching directory is not descended). */
function globMatches(
  policy: SandboxPolicy,
  kind: (p: string) => string,
  facts: PlanFacts & ScanFacts,
): Placeholder[] {
  if (policy.globs.length === 0) return [];
  if (!facts.list) throw new Error("deny globs need a directory lister");
  const list = facts.list.bind(facts);
  const found = new Map<string, Placeholder["type"]>();
  let visited = 0;
  for (const glob of policy.globs) {
    const baseKind = kind(glob.base);
    if (baseKind === "missing") continue;
    if (glob.matcher.test(glob.base)) {
      found.set(glob.base, baseKind === "dir" ? "dir" : "file");
      continue;
    }
    const queue: { dir: string; depth: number }[] = [{ dir: glob.base, depth: 0 }];
    while (queue.length > 0) {
      const { dir, depth } = queue.shift()!;
      if (glob.maxDepth !== null && depth >= glob.maxDepth) continue;
      const entries = list(dir);
      if (entries === null) continue;
      for (const entry of entries) {
        if (++visited > GLOB_SCAN_LIMIT) {
          throw new GlobScanError(glob.pattern, GLOB_SCAN_LIMIT);
        }
        const path = dir === "/" ? `/${entry.name}` : `${dir}/${entry.name}`;
        const visible = accessAt({ ...policy, globs: [] }, path) !== "none";
        if (glob.matcher.test(path)) {
          if (visible) found.set(path, entry.type === "dir" ? "dir" : "file");
        } else if (
          entry.type === "dir" && (visible || policy.rules.some((r) => isWithin(r.path, path)))
        ) {
          queue.push({ dir: path, depth: depth + 1 });
        }
      }
    }
  }
  return [...found].map(([path, type]) => ({ path, type }))
    .sort((a, b) => depthOf(a.path) - depthOf(b.path));
}

/** A deny glob would scan too much to be enforced at launch. */
export class GlobScanError extends Error {
  /** Creates the error. */
  constructor(pattern: string, limit: number) {
    super(
      `the deny glob ${JSON.stringify(pattern)} scans more than ${limit} entries; ` +
        "narrow it or set glob_scan_max_depth",
    );
    this.name = "GlobScanError";
  }
}
