// Copyright 2026 the exec-server authors. MIT license.
/**
 * cgroup v2 containment: each child gets its own cgroup,
 * `<server's cgroup>/exec-server.<server pid>/p<n>`, and so does everything it
 * ever forks; `cgroup.kill` ends them all at once, whatever sessions or
 * process groups they made.
 *
 * **The spawn race.** A child is in the cgroup of the task that forked it, so
 * moving the child after the spawn would let it fork first. Instead the
 * server moves *itself* into the new cgroup, spawns, and moves back: the
 * child is born inside (glibc 2.36 has no `CLONE_INTO_CGROUP` for
 * posix_spawn). Spawns are synchronous on the JS thread, so nothing else of
 * the server starts a process meanwhile; the two moves cost about 30 µs.
 *
 * **When the server dies.** A watchdog (`sh`, one per server, in its own
 * session) holds the read end of a pipe whose write end only the server
 * holds; when the server exits or is SIGKILLed, the watchdog reads EOF and
 * writes `cgroup.kill` of the server's whole subtree. A server that starts
 * later also kills and removes the subtrees of servers that died.
 *
 * @module
 */
import type { PosixSignal } from "./child.ts";
import { C, cString, type Libc, libc } from "./ffi_libc.ts";
import { processLog } from "./log.ts";
import { messageOf } from "../util/errors.ts";
import type { Containment, Tree } from "./tree.ts";
import { newProcTree, readStat, signalPid } from "./tree.ts";
import { posixSpawn } from "./spawn_ffi.ts";
import { type SysFs, sysfs } from "./sysfs.ts";

/** The outcome of probing the host. */
export type CgroupProbe = { ok: true; containment: Containment } | { ok: false; reason: string };

const PREFIX = "exec-server.";

/** Finds the server's cgroup v2 directory from /proc/self/{cgroup,mountinfo}. */
export function ownCgroupDir(): string | null {
  const fs = sysfs();
  const cgroup = fs.read("/proc/self/cgroup") ?? "";
  const mountinfo = fs.read("/proc/self/mountinfo") ?? "";
  const line = cgroup.split("\n").find((l) => l.startsWith("0::"));
  if (!line) return null;
  const path = line.slice(3).replace(/ \(deleted\)$/, "");
  for (const entry of mountinfo.split("\n")) {
    const [pre, post] = entry.split(" - ");
    if (!pre || !post || post.split(" ")[0] !== "cgroup2") continue;
    const fields = pre.split(" ");
    const root = unescape(fields[3] ?? "");
    const mount = unescape(fields[4] ?? "");
    if (root !== "/" && path !== root && !path.startsWith(`${root}/`)) continue;
    const rel = root === "/" ? path : path.slice(root.length);
    return `${mount}${rel === "/" ? "" : rel}`.replace(/\/+$/, "") || "/";
  }
  return null;
}

/** mountinfo escapes space, tab, newline and backslash as octal. */
function unescape(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, oct) => String.fromCharCode(parseInt(oct, 8)));
}

function write(path: string, text: string): void {
  sysfs().write(path, text);
}

/** Probes the host: may the server make cgroups and move itself between them? */
export function cgroupContainment(): CgroupProbe {
  if (Deno.build.os !== "linux") return { ok: false, reason: "not Linux" };
  let own: string | null;
  try {
    own = ownCgroupDir();
  } catch (error) {
    return { ok: false, reason: `cannot read /proc/self/cgroup: ${messageOf(error)}` };
  }
  if (own === null) return { ok: false, reason: "no cgroup v2 hierarchy is mounted" };
  const fs = sysfs();
  const base = `${own}/${PREFIX}${Deno.pid}`;
  try {
    removeStale(own);
    try {
      fs.mkdir(base);
    } catch (error) {
      if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
    }
    if (!fs.exists(`${base}/cgroup.kill`)) throw new Error("no cgroup.kill (Linux < 5.14)");
    const probe = `${base}/probe`;
    fs.mkdir(probe);
    try {
      write(`${probe}/cgroup.procs`, String(Deno.pid));
    } finally {
      write(`${own}/cgroup.procs`, String(Deno.pid));
      fs.rmdir(probe);
    }
  } catch (error) {
    try {
      fs.rmdir(base);
    } catch {
      // not made, or not empty
    }
    return { ok: false, reason: `cannot use cgroup ${own}: ${messageOf(error)}` };
  }
  const watchdog = startWatchdog(base);
  const detail = `a cgroup v2 per process under ${base}` +
    (watchdog ? "" : " (no watchdog without --allow-ffi)");
  processLog().debug(`containment: ${detail}`);
  return { ok: true, containment: new CgroupContainment(own, base, detail, fs) };
}

/** Kills and removes the subtrees of servers that are no longer running. */
function removeStale(own: string): void {
  const fs = sysfs();
  for (const entry of fs.list(own)) {
    if (!entry.dir || !entry.name.startsWith(PREFIX)) continue;
    const pid = Number(entry.name.slice(PREFIX.length));
    if (!Number.isInteger(pid) || pid === Deno.pid) continue;
    if (serverMayRun(pid, fs)) continue;
    const dir = `${own}/${entry.name}`;
    try {
      const live = (fs.read(`${dir}/cgroup.events`) ?? "").includes("populated 1");
      write(`${dir}/cgroup.kill`, "1");
      if (live) processLog().warn(`containment: killed what server ${pid} left in ${dir}`);
    } catch {
      // raced with its watchdog
    }
    pending.add(dir);
  }
  sweep();
}

/**
 * Whether server `pid` (which made `exec-server.<pid>`) may still run. Only
 * a pid that is gone counts as a dead server: a pid that exists is skipped,
 * also when another process took it since (its leftovers then wait for the
 * next server after that process ends), and so is one that cannot be
 * checked. Nothing is ever killed on a reused pid.
 */
function serverMayRun(pid: number, fs: SysFs): boolean {
  try {
    return fs.exists(`/proc/${pid}`);
  } catch {
    return true;
  }
}

/** A failed per-process cgroup was reported (once). */
let warned = false;

/** cgroups waiting for their last process to die before they can be removed. */
const pending = new Set<string>();

/** Removes the pending cgroups that are empty now (children first). */
function sweep(fs: SysFs = sysfs()): void {
  for (const dir of pending) {
    if (removeTree(dir, fs)) pending.delete(dir);
  }
}

function removeTree(dir: string, fs: SysFs = sysfs()): boolean {
  try {
    for (const entry of fs.list(dir)) {
      if (entry.dir) removeTree(`${dir}/${entry.name}`, fs);
    }
    fs.rmdir(dir);
    return true;
  } catch (error) {
    return error instanceof Deno.errors.NotFound;
  }
}

/**
 * cgroup containment in `base` (made), for a server in `own`, through `fs`
 * (the host's, or a fake in tests). {@linkcode cgroupContainment} probes the
 * host and makes one.
 */
export function cgroupContainmentAt(own: string, base: string, fs: SysFs): Containment {
  return new CgroupContainment(own, base, `a cgroup v2 per process under ${base}`, fs);
}

class CgroupContainment implements Containment {
  readonly kind = "cgroup";
  readonly detail: string;
  readonly own: string;
  readonly fs: SysFs;
  readonly #base: string;
  #next = 1;
  /** The cgroup the server could not move out of, while it is there: never killed. */
  stuckIn: string | null = null;

  constructor(own: string, base: string, detail: string, fs: SysFs) {
    this.own = own;
    this.#base = base;
    this.detail = detail;
    this.fs = fs;
  }

  newTree(): Tree {
    return new CgroupTree(this, `${this.#base}/p${this.#next++}`);
  }

  /**
   * Moves the server back to its own cgroup when an earlier move failed
   * (the cgroup it was stuck in is removed once empty).
   *
   * @throws While it still cannot: no process may start inside that cgroup.
   */
  recover(): void {
    if (this.stuckIn === null) return;
    try {
      this.fs.write(`${this.own}/cgroup.procs`, String(Deno.pid));
    } catch (error) {
      throw new Error(`the server is stuck in cgroup ${this.stuckIn}: ${messageOf(error)}`);
    }
    processLog().warn(`containment: the server left ${this.stuckIn} at last`);
    pending.add(this.stuckIn);
    this.stuckIn = null;
  }
}

class CgroupTree implements Tree {
  readonly #cg: CgroupContainment;
  readonly #dir: string;
  #made = false;
  #released = false;
  /** Where the cgroup could not be made: the /proc search instead. */
  #fallback: Tree | null = null;
  #leader = -1;

  constructor(cg: CgroupContainment, dir: string) {
    this.#cg = cg;
    this.#dir = dir;
  }

  spawn(spawn: () => number): number {
    const fs = this.#cg.fs;
    this.#cg.recover();
    sweep(fs);
    const self = String(Deno.pid);
    try {
      fs.mkdir(this.#dir);
      this.#made = true;
      fs.write(`${this.#dir}/cgroup.procs`, self);
    } catch (error) {
      // cgroup.max.descendants, say: a start never fails for want of a cgroup.
      if (this.#made) removeTree(this.#dir, fs);
      this.#made = false;
      if (!warned) processLog().warn(`containment: no cgroup for a process: ${messageOf(error)}`);
      warned = true;
      this.#fallback = newProcTree();
      return this.#fallback.spawn(spawn);
    }
    let pid: number;
    try {
      pid = spawn();
    } catch (error) {
      this.#leave(self);
      throw error;
    }
    try {
      this.#leave(self);
    } catch (error) {
      // Born in a cgroup that holds the server too: it cannot be contained
      // (cgroup.kill would kill the server), so it does not run at all. The
      // caller reaps it.
      signalPid(pid, "SIGKILL");
      throw new Error(
        `cannot start a process: the server could not leave cgroup ${this.#dir} ` +
          `(the process was killed): ${messageOf(error)}`,
      );
    }
    return this.#leader = pid;
  }

  /** Moves the server back to its own cgroup; never leaves it inside a child's. */
  #leave(self: string): void {
    for (let attempt = 0;; attempt++) {
      try {
        this.#cg.fs.write(`${this.#cg.own}/cgroup.procs`, self);
        return;
      } catch (error) {
        if (attempt === 2) {
          this.#cg.stuckIn = this.#dir;
          processLog().error(`containment: cannot leave ${this.#dir}: ${messageOf(error)}`);
          throw error;
        }
      }
    }
  }

  signal(signal: PosixSignal): void {
    if (this.#fallback) return this.#fallback.signal(signal);
    if (!this.#made) return;
    if (signal === "SIGKILL") return this.kill();
    for (const pid of this.#procs()) signalPid(pid, signal);
  }

  signalGroup(signal: PosixSignal): void {
    if (this.#fallback) return this.#fallback.signalGroup(signal);
    if (!this.#made) return;
    // Whatever is in the cgroup is the tree's: its members in the leader's group.
    for (const pid of this.#procs()) {
      if (readStat(pid)?.pgrp === this.#leader) signalPid(pid, signal);
    }
  }

  noteLeaderExit(): void {
    this.#fallback?.noteLeaderExit();
  }

  /** The pids in the cgroup (never the server's). */
  #procs(): number[] {
    let procs: string;
    try {
      procs = this.#cg.fs.read(`${this.#dir}/cgroup.procs`) ?? "";
    } catch {
      return []; // removed: nothing left
    }
    return procs.split("\n").filter((p) => p !== "").map(Number).filter((n) => n !== Deno.pid);
  }

  kill(): void {
    if (this.#fallback) return this.#fallback.kill();
    if (!this.#made) return;
    // Never kill the server itself: if it could not move out, do not.
    if (this.#cg.stuckIn === this.#dir) return;
    try {
      this.#cg.fs.write(`${this.#dir}/cgroup.kill`, "1");
    } catch {
      // removed already: nothing left to kill
    }
  }

  alive(): boolean {
    if (this.#fallback) return this.#fallback.alive();
    if (!this.#made) return false;
    try {
      return (this.#cg.fs.read(`${this.#dir}/cgroup.events`) ?? "").includes("populated 1");
    } catch {
      return false;
    }
  }

  release(): void {
    if (this.#fallback) return this.#fallback.release();
    if (this.#released) return;
    this.#released = true;
    if (!this.#made) return;
    if (this.alive()) this.kill();
    pending.add(this.#dir);
    sweep(this.#cg.fs);
  }
}

/**
 * Starts the watchdog of `base` (see the module doc), or returns false when
 * it cannot (no FFI: a Deno child would hold resources Deno tracks).
 */
function startWatchdog(base: string): boolean {
  if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") return false;
  let lib: Libc;
  try {
    lib = libc();
  } catch {
    return false;
  }
  const fds = new Int32Array(2);
  if (lib.pipe2(fds, C.O_CLOEXEC) !== 0) return false;
  const [readEnd, writeEnd] = [fds[0]!, fds[1]!];
  const script = 'read _; d=$1; echo 1 > "$d/cgroup.kill"; i=0; ' +
    'while [ $i -lt 200 ] && ! grep -q "populated 0" "$d/cgroup.events"; do ' +
    'sleep 0.05; i=$((i+1)); done; for c in "$d"/*/; do rmdir "$c"; done; rmdir "$d"';
  try {
    posixSpawn(lib, {
      program: "/bin/sh",
      argv: ["exec-server-watchdog", "-c", script, "sh", base],
      env: ["PATH=/usr/bin:/bin"],
      cwd: cString("/"),
      fileActions: [
        { dup2: readEnd, to: 0 },
        { open: 1, path: cString("/dev/null"), flags: C.O_WRONLY },
        { open: 2, path: cString("/dev/null"), flags: C.O_WRONLY },
      ],
      what: "/bin/sh (watchdog)",
    });
  } catch (error) {
    lib.close(readEnd);
    lib.close(writeEnd);
    processLog().warn(`containment: no watchdog: ${messageOf(error)}`);
    return false;
  }
  // The write end stays open (close-on-exec) for as long as the server runs;
  // the watchdog is never reaped (it outlives the server by design).
  lib.close(readEnd);
  return true;
}
