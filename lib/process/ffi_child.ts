// Copyright 2026 the exec-server authors. MIT license.
/**
 * What the two FFI children (pipes in `pipe_ffi.ts`, terminals in `pty.ts`)
 * share: their state in the reactor, their tree, and signals, which go to
 * the process group while the leader is not reaped and through the tree
 * after (the group id may then belong to another process).
 *
 * @module
 */
import type { Child, PosixSignal, StreamName, TerminalSize } from "./child.ts";
import { C, errno, type Libc, osError, SIGNAL_NUMBERS } from "./ffi_libc.ts";
import { reactor, type ReactorChild } from "./reactor.ts";
import type { Tree } from "./tree.ts";

/** A child the reactor serves, inside a containment tree. */
export abstract class FfiChild implements Child {
  /** OS process id; also its process group's id. */
  readonly pid: number;
  /** The streams it produces. */
  abstract readonly streams: readonly StreamName[];
  /** libc, for the subclass's own calls. */
  protected readonly lib: Libc;
  /** Its state in the reactor. */
  protected readonly state: ReactorChild;
  readonly #tree: Tree;

  /** Wraps a child the reactor already serves. */
  constructor(lib: Libc, state: ReactorChild, tree: Tree) {
    this.pid = state.pid;
    this.lib = lib;
    this.state = state;
    this.#tree = tree;
  }

  /** See {@linkcode Child.write}. */
  abstract write(data: Uint8Array): Promise<void>;
  /** See {@linkcode Child.closeStdin}. */
  abstract closeStdin(): Promise<void>;
  /** See {@linkcode Child.resize}. */
  abstract resize(size: TerminalSize): void;

  /** Signals the process group (after the reap: the part the tree knows is its own). */
  signal(signal: PosixSignal): void {
    const num = SIGNAL_NUMBERS.get(signal);
    if (num === undefined) throw new TypeError(`Cannot send signal: unknown name "${signal}"`);
    // Once reaped, the group id may be free for another process to take.
    if (this.state.status !== null) return this.#tree.signalGroup(signal);
    if (this.lib.kill(-this.pid, num) !== 0) {
      const code = errno();
      if (code !== C.ESRCH) throw osError(code, `kill ${signal} -${this.pid}`);
    }
  }

  /** Signals every process of the tree. */
  signalTree(signal: PosixSignal): void {
    this.#tree.signal(signal);
  }

  /** Whether any process of the tree lives. */
  treeAlive(): boolean {
    return this.#tree.alive();
  }

  /** Kills what is left of the tree and lets go of the descriptors; idempotent. */
  release(): void {
    this.#tree.release();
    reactor(this.lib).abandon(this.state);
  }
}
