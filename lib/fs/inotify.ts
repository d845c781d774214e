// Copyright 2026 the exec-server authors. MIT license.
/**
 * One inotify instance for the whole server, shared by `fs/watch` and
 * `fs/watchMissing`.
 *
 * A watch is added on a descriptor the resolver opened, through
 * `/proc/self/fd/N`, so the kernel watches exactly the inode that was
 * resolved and confined: no path is looked up again. Every watch uses the
 * same event mask, so two subscribers on one inode share its watch descriptor
 * without changing each other's events. One wait on a worker thread
 * (`poll` on the inotify descriptor and an eventfd that wakes it) runs while
 * anything is watched, and ends when the last subscriber leaves.
 *
 * @module
 */

import { closeFd } from "./libc.ts";
import {
  eventfdOpen,
  eventfdSignal,
  inotifyAddFd,
  inotifyInit,
  inotifyRemove,
  pollReadable,
  readNow,
} from "./libc_io.ts";

/** inotify event bits. */
export const IN = {
  MODIFY: 0x2,
  ATTRIB: 0x4,
  CLOSE_WRITE: 0x8,
  MOVED_FROM: 0x40,
  MOVED_TO: 0x80,
  CREATE: 0x100,
  DELETE: 0x200,
  DELETE_SELF: 0x400,
  MOVE_SELF: 0x800,
  UNMOUNT: 0x2000,
  Q_OVERFLOW: 0x4000,
  IGNORED: 0x8000,
  EXCL_UNLINK: 0x4000000,
  ISDIR: 0x40000000,
} as const;

/** The events every watch asks for. */
const MASK = IN.MODIFY | IN.ATTRIB | IN.MOVED_FROM | IN.MOVED_TO | IN.CREATE | IN.DELETE |
  IN.DELETE_SELF | IN.MOVE_SELF | IN.EXCL_UNLINK;

/** One event: `name` is the child's name, `""` for the watched inode itself. */
export interface InotifyEvent {
  /** `IN.*` bits. */
  mask: number;
  /** Pairs the two halves of a rename. */
  cookie: number;
  /** The entry the event is about, inside a watched directory. */
  name: string;
}

/** Receives the events of one watch; it must not throw (a throw is ignored). */
export type InotifyListener = (event: InotifyEvent) => void;

/** A subscription; `remove` stops it (idempotent). */
export interface InotifyWatch {
  /** Stops delivering events to this listener. */
  remove(): Promise<void>;
}

const decoder = new TextDecoder();

/** The server's inotify instance. */
export class Inotify {
  #fd = -1;
  #wake = -1;
  #watches = new Map<number, Set<InotifyListener>>();
  #loop: Promise<void> | null = null;
  #turn: (() => void)[] = [];
  #closed = false;

  /** Number of inodes watched. */
  get size(): number {
    return this.#watches.size;
  }

  /**
   * Watches the inode `fd` refers to (any descriptor, `O_PATH` included).
   *
   * @throws {OsError} When the watch cannot be added (for example ENOSPC
   * when the user's inotify watch limit is reached).
   */
  add(fd: number, listener: InotifyListener): InotifyWatch {
    if (this.#closed) throw new Error("the inotify instance is closed");
    if (this.#fd < 0) {
      this.#fd = inotifyInit();
      this.#wake = eventfdOpen();
    }
    const wd = inotifyAddFd(this.#fd, fd, MASK);
    let set = this.#watches.get(wd);
    if (set === undefined) this.#watches.set(wd, set = new Set());
    // The same function may subscribe twice; wrap it so each remove is its own.
    const own: InotifyListener = (event) => listener(event);
    set.add(own);
    this.#loop ??= this.#run();
    let removed = false;
    return {
      remove: async () => {
        if (removed) return;
        removed = true;
        await this.#remove(wd, own);
      },
    };
  }

  async #remove(wd: number, listener: InotifyListener): Promise<void> {
    const set = this.#watches.get(wd);
    if (set === undefined || !set.delete(listener)) return;
    if (set.size > 0) return;
    this.#watches.delete(wd);
    if (!this.#closed) inotifyRemove(this.#fd, wd);
    if (this.#watches.size === 0 && this.#loop !== null) {
      const turned = new Promise<void>((resolve) => this.#turn.push(resolve));
      eventfdSignal(this.#wake);
      await turned;
    }
  }

  async #run(): Promise<void> {
    const buffer = new Uint8Array(64 * 1024);
    for (;;) {
      const ready = await pollReadable([this.#fd, this.#wake]);
      if (ready.includes(1)) readNow(this.#wake, buffer.subarray(0, 8));
      if (ready.includes(0)) this.#drain(buffer);
      const done = this.#watches.size === 0;
      if (done) this.#loop = null;
      const waiting = this.#turn;
      this.#turn = [];
      for (const resolve of waiting) resolve();
      if (done) {
        if (this.#closed) this.#release();
        return;
      }
    }
  }

  #drain(buffer: Uint8Array<ArrayBuffer>): void {
    for (;;) {
      const n = readNow(this.#fd, buffer);
      if (n === null || n === 0) return;
      const view = new DataView(buffer.buffer, 0, n);
      for (let at = 0; at + 16 <= n;) {
        const wd = view.getInt32(at, true);
        const mask = view.getUint32(at + 4, true);
        const cookie = view.getUint32(at + 8, true);
        const len = view.getUint32(at + 12, true);
        let end = at + 16;
        while (end < at + 16 + len && buffer[end] !== 0) end++;
        const name = decoder.decode(buffer.subarray(at + 16, end));
        at += 16 + len;
        this.#deliver(wd, { mask, cookie, name });
      }
    }
  }

  #deliver(wd: number, event: InotifyEvent): void {
    const targets = (event.mask & IN.Q_OVERFLOW) !== 0
      ? [...this.#watches.values()].flatMap((s) => [...s])
      : [...(this.#watches.get(wd) ?? [])];
    // The kernel dropped the watch (the inode is gone): so do we.
    if ((event.mask & IN.IGNORED) !== 0) this.#watches.delete(wd);
    for (const listener of targets) {
      try {
        listener(event);
      } catch {
        // A failing listener must not stop the others.
      }
    }
  }

  #release(): void {
    if (this.#fd >= 0) closeFd(this.#fd);
    if (this.#wake >= 0) closeFd(this.#wake);
    this.#fd = this.#wake = -1;
  }

  /**
   * Stops every watch and closes the instance; idempotent. When the wait is
   * still running, the descriptors are closed as it ends.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const wd of this.#watches.keys()) inotifyRemove(this.#fd, wd);
    this.#watches.clear();
    if (this.#loop === null) this.#release();
    else eventfdSignal(this.#wake);
  }
}
