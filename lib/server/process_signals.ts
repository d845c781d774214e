// Copyright 2026 the exec-server authors. MIT license.
/**
 * The signals of a managed process's tree: terminate (SIGTERM to the child
 * and every descendant, SIGKILL after the grace period), kill, and whether
 * anything of the tree is alive. Runtime-neutral: the OS side is a
 * {@linkcode Child}, the grace timer one of the process's {@linkcode Timers}.
 *
 * @module
 */
import type { Child, PosixSignal } from "../process/child.ts";
import type { Timers } from "./process_waits.ts";

/** What {@linkcode TreeSignals} needs to know about its process. */
export interface SignalledProcess {
  /** The started child, or null while starting. */
  child(): Child | null;
  /** Whether the leader has not exited. */
  leaderRunning(): boolean;
  /** Whether a stream of the child is still open. */
  streamsOpen(): boolean;
  /** Whether the process was disposed. */
  disposed(): boolean;
}

/** Runs `deliver` from a timer or teardown, where nobody can take an error. */
export function quietly(deliver: () => unknown): void {
  try {
    deliver();
  } catch {
    // EPERM (the group changed uid) or similar: nothing more can be done.
  }
}

/** Terminate, kill and liveness of one process's tree. */
export class TreeSignals {
  readonly #process: SignalledProcess;
  readonly #timers: Timers;
  readonly #killGraceMs: number;
  #terminating = false;
  #requested = false;

  /** Signals for `process`; the kill grace runs on `timers`. */
  constructor(process: SignalledProcess, timers: Timers, killGraceMs: number) {
    this.#process = process;
    this.#timers = timers;
    this.#killGraceMs = killGraceMs;
  }

  /** A terminate asked for while the process was starting, to run once it is handed over. */
  get requested(): boolean {
    return this.#requested;
  }

  /**
   * SIGTERM to the whole tree (the child and every descendant, also those
   * that left its process group), SIGKILL after the grace period. Acts while
   * anything of the tree is left, even after the leader exited and the
   * process closed. Returns whether the leader was still running.
   */
  terminate(): boolean {
    const child = this.#process.child();
    if (!child) {
      // Still starting: terminate as soon as the child is handed over.
      if (this.#process.disposed()) return false;
      this.#requested = true;
      return true;
    }
    const wasRunning = this.#process.leaderRunning();
    if (!wasRunning && !this.#process.streamsOpen() && !this.alive()) return false;
    if (this.#terminating) return wasRunning;
    this.#terminating = true;
    // SIGKILL the tree even if the leader exits early: descendants that
    // ignore SIGTERM must not survive a terminate.
    this.#timers.set(() => {
      this.#terminating = false;
      this.kill();
    }, this.#killGraceMs);
    this.#signalTree(child, "SIGTERM");
    return wasRunning;
  }

  /** Whether anything of the tree is alive: the leader, or a descendant where the child can tell. */
  alive(): boolean {
    const child = this.#process.child();
    if (!child) return false;
    try {
      return child.treeAlive ? child.treeAlive() : this.#process.leaderRunning();
    } catch {
      return this.#process.leaderRunning();
    }
  }

  /** SIGKILLs the whole tree now (teardown after the grace period); never throws. */
  kill(): void {
    const child = this.#process.child();
    if (child) quietly(() => this.#signalTree(child, "SIGKILL"));
  }

  #signalTree(child: Child, signal: PosixSignal): void {
    if (child.signalTree) child.signalTree(signal);
    else child.signal(signal);
  }
}
