// Copyright 2026 the exec-server authors. MIT license.
/**
 * `fs/watchMissing` and its notification `fs/missingChanged`, as codex 0.171
 * has them: a session has at most one armed watch; each registration needs
 * a higher `watchId` than the last one (a lower or equal id answers
 * `watching: false` and changes nothing) and replaces the armed watch, even
 * when it answers `watching: false`; a watch fires once and is then spent.
 *
 * It fires when a `missing` path, or the first missing component on its way,
 * is created in its nearest existing ancestor, or when that ancestor goes; and
 * when a `present` path is modified or goes. `watching: false` means nothing
 * was armed: `missing` is empty, one of them exists already, or a `present`
 * path does not exist. Unlike codex, `present` may also be a list, and the
 * watch belongs to the session, so it survives a resume.
 *
 * Paths are resolved in the roots like every fs path, and each directory is
 * watched through the descriptor the resolver opened.
 *
 * @module
 */

import { invalidRequest } from "../protocol/errors.ts";
import type {
  FsMissingChangedNotification,
  FsWatchMissingParams,
  FsWatchMissingResult,
} from "../protocol/fs.ts";
import type { PathPolicy } from "./confine.ts";
import { IN, type Inotify, type InotifyWatch } from "./inotify.ts";
import { C, OsError } from "./libc.ts";
import { toNativePath } from "./paths.ts";
import type { FsRoots } from "./roots.ts";

/** Most paths (`missing` and `present` together) one registration may name. */
export const MAX_WATCH_MISSING_PATHS = 256;

interface Armed {
  watchId: number;
  subs: InotifyWatch[];
  fired: boolean;
  /** Something changed while the watch was being set up. */
  early: boolean;
}

/**
 * The missing-path watch of one session.
 *
 * @example
 * ```ts
 * import { FileSystemService } from "./service.ts";
 * import assert from "node:assert/strict";
 * using fs = new FileSystemService();
 * const dir = await Deno.realPath(await Deno.makeTempDir());
 * await using watch = fs.missingWatch(() => {});
 * const none = { check() {} };
 * assert.deepEqual(await watch.arm({ watchId: 1, missing: [`${dir}/x`] }, none), { watching: true });
 * assert.deepEqual(await watch.arm({ watchId: 1, missing: [`${dir}/y`] }, none), { watching: false });
 * await Deno.remove(dir);
 * ```
 */
export class MissingWatch implements AsyncDisposable {
  #roots: FsRoots;
  #inotify: Inotify;
  #notify: (n: FsMissingChangedNotification) => void;
  #lastId = -1;
  #armed: Armed | null = null;
  #dropping = new Set<Promise<void>>();
  #closed = false;

  /** A watch that sends its notification through `notify`. */
  constructor(
    roots: FsRoots,
    inotify: Inotify,
    notify: (n: FsMissingChangedNotification) => void,
  ) {
    this.#roots = roots;
    this.#inotify = inotify;
    this.#notify = notify;
  }

  /** The armed watch's id, or null. */
  get armed(): number | null {
    return this.#armed?.watchId ?? null;
  }

  /**
   * Registers a watch (see the module doc for the rules).
   *
   * @throws {RpcError} -32600 when a path is outside the roots or too many
   * are named; -32602 when one is not absolute.
   */
  async arm(params: FsWatchMissingParams, policy: PathPolicy): Promise<FsWatchMissingResult> {
    if (this.#closed) throw invalidRequest("the session is closed");
    const present = params.present === undefined || params.present === null
      ? []
      : Array.isArray(params.present)
      ? params.present
      : [params.present];
    if (params.missing.length + present.length > MAX_WATCH_MISSING_PATHS) {
      throw invalidRequest(
        `fs/watchMissing accepts at most ${MAX_WATCH_MISSING_PATHS} paths (missing and present together)`,
      );
    }
    // Every path is converted first, so a bad one is an error whatever the id.
    const missing = params.missing.map((raw, i) => toNativePath(raw, `missing[${i}]`));
    const presentPaths = present.map((raw, i) => toNativePath(raw, `present[${i}]`));
    const armed: Armed = { watchId: params.watchId, subs: [], fired: false, early: false };
    const fire = () => this.#fire(armed);
    let watching = missing.length > 0;
    try {
      for (const native of missing) {
        using at = this.#roots.resolve(native);
        policy.check(at.path, "read");
        if (at.exists) {
          watching = false;
          continue;
        }
        const name = at.missing[0]!;
        armed.subs.push(this.#inotify.add(at.parent, (event) => {
          const self = event.name === "" && (event.mask & (IN.DELETE_SELF | IN.MOVE_SELF)) !== 0;
          const born = event.name === name && (event.mask & (IN.CREATE | IN.MOVED_TO)) !== 0;
          if (self || born) fire();
        }));
      }
      for (const native of presentPaths) {
        using at = this.#roots.resolve(native);
        policy.check(at.path, "read");
        if (!at.exists) {
          watching = false;
          continue;
        }
        const mask = IN.MODIFY | IN.ATTRIB | IN.DELETE_SELF | IN.MOVE_SELF;
        armed.subs.push(this.#inotify.add(at.node, (event) => {
          if (event.name === "" && (event.mask & mask) !== 0) fire();
        }));
      }
    } catch (err) {
      await this.#drop(armed);
      // A path below a file can never appear.
      if (err instanceof OsError && err.errno === C.ENOTDIR) watching = false;
      else throw err;
    }
    // Another registration (or close) may have run while this one awaited
    // above: from here to the swap nothing awaits, so two registrations in
    // flight cannot both end up armed, and none is armed after close.
    // Only a higher id replaces the armed watch (even one that arms nothing).
    if (this.#closed || params.watchId <= this.#lastId) {
      await this.#drop(armed);
      return { watching: false };
    }
    this.#lastId = params.watchId;
    const previous = this.#armed;
    this.#armed = watching ? armed : null;
    if (previous !== null) await this.#drop(previous);
    if (!watching) {
      await this.#drop(armed);
      return { watching: false };
    }
    // A change between subscribing and now is not lost.
    if (armed.early) this.#fire(armed);
    return { watching: true };
  }

  #fire(armed: Armed): void {
    if (armed.fired) return;
    if (this.#armed !== armed) {
      armed.early = true;
      return;
    }
    armed.fired = true;
    this.#armed = null;
    const dropping = this.#drop(armed);
    this.#dropping.add(dropping);
    dropping.finally(() => this.#dropping.delete(dropping));
    try {
      this.#notify({ watchId: armed.watchId });
    } catch {
      // The session decides what happens to a notification nobody can take.
    }
  }

  async #disarm(): Promise<void> {
    const armed = this.#armed;
    this.#armed = null;
    if (armed !== null) await this.#drop(armed);
  }

  async #drop(armed: Armed): Promise<void> {
    const subs = armed.subs;
    armed.subs = [];
    await Promise.all(subs.map((s) => s.remove()));
  }

  /** Disarms the watch; idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#disarm();
    await Promise.all(this.#dropping);
  }

  /** Same as {@linkcode MissingWatch.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
