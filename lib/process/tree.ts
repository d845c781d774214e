// Copyright 2026 the exec-server authors. MIT license.
/**
 * Containment: every child the server starts is the root of a *tree* that
 * includes each of its descendants, also those that leave its process group
 * or session (`setsid`, `setsid -f`, `setpgrp`, double forks, `nohup` after
 * the leader exits). Terminate, timeouts, session close and shutdown act on
 * the whole tree.
 *
 * The server picks the strongest mechanism the host allows, once:
 *
 * 1. **cgroup** (`cgroup.ts`): a cgroup v2 per process under the server's own
 *    cgroup. Nothing escapes it; SIGKILL is `cgroup.kill` (race-free).
 * 2. **subreaper**: `PR_SET_CHILD_SUBREAPER` on the server (needs
 *    `--allow-ffi`), so orphans reparent to the server instead of init, and
 *    a tree is found in `/proc` by session, process group and parentage.
 * 3. **group**: the same `/proc` search without the subreaper.
 *
 * The `serve` command requests it (`EXEC_SERVER_CONTAINMENT=cgroup|subreaper|group`
 * asks for at most that one; see `containment_request.ts`), and the choice is
 * made when the first child starts; a library that embeds the server gets
 * `group` unless it calls {@linkcode enableContainment}.
 *
 * @module
 */
import type { PosixSignal } from "./child.ts";
import { C, type Libc, libc, SIGNAL_NUMBERS } from "./ffi_libc.ts";
import { processLog } from "./log.ts";
import { messageOf } from "../util/errors.ts";
import { cgroupContainment } from "./cgroup.ts";
import { type Entry, sysfs } from "./sysfs.ts";
import { type ContainmentMode, takeContainmentRequest } from "./containment_request.ts";

export type { ContainmentMode };

/** The processes of one started child: it and every descendant. */
export interface Tree {
  /** Runs `spawn` so that the child it starts (its pid returned) is inside the tree. */
  spawn(spawn: () => number): number;
  /** Signals every live process of the tree; a gone tree is not an error. */
  signal(signal: PosixSignal): void;
  /**
   * Signals the leader's process group once the leader was reaped, while the
   * group is still known to be the tree's: a member it knows (pid and start
   * time) is still in it, so the kernel has not reused the id. A group that
   * may be another's (every member gone, the id free for a new process) is
   * not signalled. Before the reap, `kill(-pid)` is safe: the leader (a
   * zombie at least) holds the id.
   */
  signalGroup(signal: PosixSignal): void;
  /**
   * The leader exited and is about to be reaped: the tree notes who is in
   * its group and session while the leader's zombie still holds the ids.
   */
  noteLeaderExit(): void;
  /** SIGKILLs every process of the tree. */
  kill(): void;
  /** Whether any process of the tree is alive (zombies do not count). */
  alive(): boolean;
  /** Kills what is left and frees what the tree holds; idempotent. */
  release(): void;
}

/** A containment mechanism. */
export interface Containment {
  /** Which one. */
  readonly kind: "cgroup" | "subreaper" | "group";
  /** Where, for logs and `--help`: e.g. the cgroup directory. */
  readonly detail: string;
  /** A tree for the next child. */
  newTree(): Tree;
}

let chosen: Containment | null = null;

/**
 * The containment children get. The first call takes up a pending request
 * (`serve`'s, see `containment_request.ts`) and makes the choice then. Until
 * {@linkcode enableContainment} is called or requested it is `group`, which
 * changes nothing about the server's own process: a library that embeds the
 * server is not moved between cgroups nor made a subreaper behind its back.
 *
 * @example
 * ```ts
 * import { containment } from "./tree.ts";
 * import assert from "node:assert/strict";
 * assert.ok(["cgroup", "subreaper", "group"].includes(containment().kind));
 * ```
 */
export function containment(): Containment {
  if (chosen !== null) return chosen;
  const request = takeContainmentRequest();
  if (request === null) return chosen = procContainment(false);
  const made = enableContainment(request.mode);
  request.chosen({ kind: made.kind, detail: made.detail });
  return made;
}

/**
 * Chooses the containment for every later child, once per process (the
 * `serve` command calls it at startup): `cgroup` where the host lets the
 * server make cgroups and move itself between them (this also kills what a
 * server that died left behind, and starts its watchdog), else `subreaper`
 * where FFI is allowed, else `group`. A mode asks for at most that strength.
 *
 * A process that hosts several JS isolates (such as `deno test --parallel`)
 * must not use `cgroup`: another isolate's spawn during the brief move would
 * land in the wrong cgroup.
 */
export function enableContainment(mode: ContainmentMode = "auto"): Containment {
  if (chosen !== null && chosen.kind !== "group") return chosen;
  if (mode === "auto" || mode === "cgroup") {
    const cgroup = cgroupContainment();
    if (cgroup.ok) return chosen = cgroup.containment;
    const report = `containment: no cgroup: ${cgroup.reason}`;
    if (mode === "cgroup") processLog().warn(report);
    else processLog().debug(report);
  }
  chosen = procContainment(mode !== "group" && subreaper());
  return chosen;
}

/** Makes the server its descendants' subreaper; false when it cannot. */
function subreaper(): boolean {
  if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") return false;
  try {
    return libc().prctl(C.PR_SET_CHILD_SUBREAPER, 1n, 0n, 0n, 0n) === 0;
  } catch (error) {
    processLog().debug(`containment: no subreaper: ${messageOf(error)}`);
    return false;
  }
}

// -- Finding trees in /proc --

/** One process as /proc/<pid>/stat shows it. */
export interface ProcStat {
  pid: number;
  state: string;
  ppid: number;
  pgrp: number;
  session: number;
  starttime: number;
}

/** Parses /proc/<pid>/stat; null when the process is gone. */
export function readStat(pid: number): ProcStat | null {
  let text: string | null;
  try {
    text = sysfs().read(`/proc/${pid}/stat`);
  } catch {
    return null;
  }
  if (text === null) return null;
  const close = text.lastIndexOf(")");
  const f = text.slice(close + 2).split(" ");
  return {
    pid,
    state: f[0] ?? "?",
    ppid: Number(f[1]),
    pgrp: Number(f[2]),
    session: Number(f[3]),
    starttime: Number(f[19]),
  };
}

let snapshot: { at: number; list: ProcStat[] } | null = null;

/** What a {@linkcode ProcTree} sees of the processes and how it signals them (fakes in tests). */
export interface ProcSource {
  /** Every process, or null without /proc. */
  processes(): ProcStat[] | null;
  /** One process, or null when it is gone. */
  stat(pid: number): ProcStat | null;
  /** Sends a signal (a negative pid: a group); a gone one is not an error. */
  kill(pid: number, signal: PosixSignal): void;
  /** Forgets a cached view after signals. */
  invalidate(): void;
}

const HOST_SOURCE: ProcSource = {
  processes: () => processes(),
  stat: readStat,
  kill: (pid, signal) => signalPid(pid, signal),
  invalidate: () => {
    snapshot = null;
  },
};

/**
 * Every process, or null without /proc (Deno refuses it without FFI or
 * --allow-all); one read of /proc serves the calls of a few milliseconds.
 */
function processes(): ProcStat[] | null {
  const now = performance.now();
  if (snapshot !== null && now - snapshot.at < 5) return snapshot.list;
  const list: ProcStat[] = [];
  let entries: Entry[];
  try {
    entries = sysfs().list("/proc");
  } catch {
    return null;
  }
  for (const entry of entries) {
    const pid = Number(entry.name);
    if (!Number.isInteger(pid) || pid <= 0) continue;
    const stat = readStat(pid);
    if (stat !== null) list.push(stat);
  }
  snapshot = { at: now, list };
  return list;
}

const gone = (p: ProcStat) => p.state === "Z" || p.state === "X";

/**
 * A tree found in /proc: the leader's session and process group, every
 * process seen as a member before (by pid and start time), and their
 * children, to a fixpoint. With the server as subreaper, a member whose
 * parent exits stays the server's child and is still found by the members
 * seen before.
 *
 * The session and group ids count only while they are known to be the
 * leader's: the leader itself is there (alive or a zombie: it holds the id),
 * or a member seen before is still in that session or group (the kernel does
 * not reuse an id while any process has it). Once every one of them is gone
 * the id is free, and a new process that got it is not ours.
 */
class ProcTree implements Tree {
  readonly #source: ProcSource;
  #leader = -1;
  #members = new Map<number, number>(); // pid → starttime
  #released = false;
  /** Once no member is left none can appear: the ids are not searched again. */
  #ended = false;

  constructor(source: ProcSource = HOST_SOURCE) {
    this.#source = source;
  }

  spawn(spawn: () => number): number {
    this.#leader = spawn();
    const stat = this.#source.stat(this.#leader);
    if (stat) this.#members.set(stat.pid, stat.starttime);
    this.#source.invalidate();
    return this.#leader;
  }

  /** Whether the leader's session and group ids are still the tree's, in `all`. */
  #anchors(all: readonly ProcStat[]): { session: boolean; group: boolean } {
    let session = false;
    let group = false;
    for (const p of all) {
      if (this.#members.get(p.pid) !== p.starttime) continue;
      if (p.pid === this.#leader) return { session: true, group: true };
      if (p.session === this.#leader) session = true;
      if (p.pgrp === this.#leader) group = true;
    }
    return { session, group };
  }

  /** The live members now. */
  #find(): ProcStat[] {
    if (this.#leader < 0 || this.#ended) return [];
    const all = this.#source.processes();
    if (all === null) return this.#groupOnly();
    const anchors = this.#anchors(all);
    const found = new Map<number, ProcStat>();
    let grew = true;
    while (grew) {
      grew = false;
      for (const p of all) {
        if (found.has(p.pid)) continue;
        const member = this.#members.get(p.pid) === p.starttime ||
          (anchors.session && p.session === this.#leader) ||
          (anchors.group && p.pgrp === this.#leader) || found.has(p.ppid);
        if (!member) continue;
        found.set(p.pid, p);
        this.#members.set(p.pid, p.starttime);
        grew = true;
      }
    }
    for (const [pid, start] of this.#members) {
      const p = found.get(pid);
      if (!p || p.starttime !== start) this.#members.delete(pid);
    }
    const live = [...found.values()].filter((p) => !gone(p));
    if (live.length === 0) this.#ended = true;
    return live;
  }

  /**
   * Without /proc only the leader's process group can be found: it is
   * probed with SIGCONT (harmless to a running process); gone is ESRCH.
   * (Whether the id was reused cannot be told without /proc.)
   */
  #groupOnly(): ProcStat[] {
    try {
      Deno.kill(-this.#leader, "SIGCONT");
    } catch {
      this.#ended = true;
      return [];
    }
    const unknown = { ppid: 0, pgrp: this.#leader, session: this.#leader, starttime: 0 };
    return [{ pid: -this.#leader, state: "?", ...unknown }];
  }

  /** Whether the leader's group id is still the tree's. */
  #groupIsOurs(): boolean {
    if (this.#leader < 0 || this.#ended) return false;
    const all = this.#source.processes();
    return all === null || this.#anchors(all).group;
  }

  signal(signal: PosixSignal): void {
    const num = SIGNAL_NUMBERS.get(signal) ?? 15;
    // The leader's group first: without /proc it is all that can be found.
    if (this.#groupIsOurs()) this.#source.kill(-this.#leader, signal);
    // SIGKILL again until nothing is left: a member may fork between the
    // search and the kill.
    for (let round = 0; round < (num === 9 ? 8 : 1); round++) {
      const live = this.#find();
      if (live.length === 0) return;
      for (const p of live) this.#source.kill(p.pid, signal);
      this.#source.invalidate();
    }
  }

  signalGroup(signal: PosixSignal): void {
    if (this.#groupIsOurs()) this.#source.kill(-this.#leader, signal);
  }

  noteLeaderExit(): void {
    this.#source.invalidate();
    this.#find();
  }

  kill(): void {
    this.signal("SIGKILL");
  }

  alive(): boolean {
    return this.#find().length > 0;
  }

  release(): void {
    if (this.#released) return;
    this.#released = true;
    this.kill();
    if (this.#source === HOST_SOURCE) reapOrphans(this.#members, this.#leader);
    this.#members.clear();
  }
}

/** Sends `signal` to `pid`; a gone process is not an error. */
export function signalPid(pid: number, signal: PosixSignal): void {
  try {
    Deno.kill(pid, signal);
  } catch {
    // ESRCH (gone) or EPERM (it changed uid): nothing more to do.
  }
}

/**
 * Reaps members that reparented to the server (its subreaper role) and died.
 * Only members: the server's other children are Deno's to reap.
 */
function reapOrphans(members: ReadonlyMap<number, number>, leader: number): void {
  if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") return;
  let lib: Libc;
  try {
    lib = libc();
  } catch {
    return;
  }
  for (const pid of members.keys()) {
    if (pid === leader) continue; // the reactor reaps the leader
    const stat = readStat(pid);
    if (stat && stat.ppid === Deno.pid && gone(stat)) {
      lib.waitpid(pid, new Int32Array(1), C.WNOHANG);
    }
  }
}

/**
 * A tree found by the /proc search (the fallback of a cgroup that could not
 * be made); `source` replaces the host's /proc and kill(2) in tests.
 */
export function newProcTree(source?: ProcSource): Tree {
  return new ProcTree(source);
}

function procContainment(isSubreaper: boolean): Containment {
  return {
    kind: isSubreaper ? "subreaper" : "group",
    detail: isSubreaper
      ? "the server is its descendants' subreaper; trees are found in /proc"
      : "trees are found in /proc by session, process group and parentage",
    newTree: () => new ProcTree(),
  };
}
