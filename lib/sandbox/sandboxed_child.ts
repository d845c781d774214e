// Copyright 2026 the exec-server authors. MIT license.
/**
 * The started bwrap child, wrapped so that signals reach the sandboxed
 * command rather than bwrap itself.
 *
 * @module
 */
import type { Child, PosixSignal } from "../process/child.ts";
import { sysfs } from "../process/sysfs.ts";

/**
 * A bwrap child whose signals reach the sandboxed command: bwrap does not
 * forward them, and killing bwrap itself would SIGKILL everything inside
 * (`--die-with-parent`) instead of letting the command handle, say, SIGTERM.
 * A signal goes to the processes inside that share the command's process
 * group; SIGKILL, or a sandbox still being set up, goes to bwrap's group.
 */
export class SandboxedChild implements Child {
  readonly #child: Child;
  readonly #tty: boolean;

  /** The inner child's, where it can tell. */
  readonly treeAlive?: () => boolean;

  constructor(child: Child, tty: boolean) {
    this.#child = child;
    this.#tty = tty;
    if (child.treeAlive) this.treeAlive = () => child.treeAlive!();
  }

  get pid(): number {
    return this.#child.pid;
  }

  get streams() {
    return this.#child.streams;
  }

  write(data: Uint8Array): Promise<void> {
    return this.#child.write(data);
  }

  closeStdin(): Promise<void> {
    return this.#child.closeStdin();
  }

  resize(size: { rows: number; cols: number }): void {
    this.#child.resize(size);
  }

  // The tree (bwrap, its namespace's init, the command and everything they
  // fork) is the inner child's: its containment covers what bwrap started.
  // SIGKILL goes to all of it; a graceful signal only to the command inside,
  // as signal() forwards it (bwrap itself would die of it, not the command).
  signalTree(signal: PosixSignal): void {
    if (signal === "SIGKILL" && this.#child.signalTree) this.#child.signalTree(signal);
    else this.signal(signal);
  }

  release(): void {
    this.#child.release?.();
  }

  signal(signal: PosixSignal): void {
    if (signal === "SIGKILL" || !this.#forward(signal)) this.#child.signal(signal);
  }

  /** Signals the command's group inside; false when there is none yet. */
  #forward(signal: PosixSignal): boolean {
    // Outer bwrap → its child, the namespace's init (bwrap's reaper) → the command.
    const init = childrenOf(this.#child.pid)[0];
    if (init === undefined) return false;
    if (!this.#tty) {
      // --new-session made the init a session and group leader; the command
      // is in its group (the init ignores signals from outside).
      try {
        Deno.kill(-init, signal);
        return true;
      } catch {
        return false;
      }
    }
    // A terminal keeps bwrap's group (the foreground one): signal its members
    // inside the namespace, not bwrap.
    const group = pgidOf(this.#child.pid);
    let sent = false;
    for (const pid of descendantsOf(init)) {
      if (group === null || pgidOf(pid) !== group) continue;
      try {
        Deno.kill(pid, signal);
        sent = true;
      } catch {
        // gone meanwhile
      }
    }
    return sent;
  }
}

// /proc goes through sysfs(): Deno refuses it without --allow-all, which the
// shipped permissions do not have (the signal then went to the outer bwrap).
function childrenOf(pid: number): number[] {
  try {
    return (sysfs().read(`/proc/${pid}/task/${pid}/children`) ?? "").trim().split(/\s+/)
      .filter((s) => s !== "").map(Number);
  } catch {
    return [];
  }
}

function descendantsOf(pid: number): number[] {
  const out: number[] = [];
  const queue = [pid];
  while (queue.length > 0 && out.length < 10_000) {
    for (const child of childrenOf(queue.shift()!)) {
      out.push(child);
      queue.push(child);
    }
  }
  return out;
}

function pgidOf(pid: number): number | null {
  try {
    const stat = sysfs().read(`/proc/${pid}/stat`);
    if (stat === null) return null;
    // pid (comm) state ppid pgrp …; comm may hold spaces and parentheses.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return Number(fields[2]);
  } catch {
    return null;
  }
}
