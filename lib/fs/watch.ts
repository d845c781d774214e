// Copyright 2026 the exec-server authors. MIT license.
/**
 * Filesystem watches (`fs/watch`, `fs/unwatch`, `fs/changed`).
 *
 * One {@linkcode FsWatchSet} belongs to one session: it survives a resume
 * (the session points its `onChange` listener at whichever connection is
 * current), and the session closes it when the session ends.
 *
 * The watched path is resolved in the roots, and each directory is watched
 * through the descriptor the resolver opened (see `inotify.ts`), never by
 * path. A recursive watch finds subdirectories itself, relative to
 * descriptors and without following symlinks (a directory it enters again
 * later is opened by its canonical path with no link followed on the way),
 * so it never leaves the tree it was given (Deno's recursive watcher follows links, out of the roots and
 * into `/usr`). A watch keeps the {@linkcode PathPolicy} of its call: the
 * watched path must be readable under it, a recursive watch does not enter a
 * directory it refuses, and a change to a path it refuses is not reported.
 * It watches at most
 * {@linkcode FsWatchSetOptions.maxDirectories} directories per session;
 * `fs/watch` fails past that, rather than watch part of a tree.
 *
 * @module
 */

import { invalidRequest } from "../protocol/errors.ts";
import type {
  FsChangedNotification,
  FsChangeKind,
  FsUnwatchResult,
  FsWatchParams,
  FsWatchResult,
} from "../protocol/fs.ts";
import { isWithin, joinPath } from "../util/mod.ts";
import { ALLOW_ALL, type PathPolicy } from "./confine.ts";
import { IN, type Inotify, type InotifyEvent, type InotifyWatch } from "./inotify.ts";
import { yieldToLoop } from "./io.ts";
import { C, closeFd, isDir, openat, OsError } from "./libc.ts";
import { toNativePath } from "./paths.ts";
import type { FsRoots } from "./roots.ts";
import { listAll } from "./tree.ts";

/** Receives every change; it must not throw (a throw is ignored). */
export type FsChangeListener = (notification: FsChangedNotification) => void;

/** Options for {@linkcode FsWatchSet}. */
export interface FsWatchSetOptions {
  /**
   * Most live watches in the set; `fs/watch` beyond it fails with -32600.
   *
   * @default {256}
   */
  maxWatches?: number;
  /**
   * Most directories watched by the set, over all its recursive watches.
   *
   * @default {8192}
   */
  maxDirectories?: number;
}

/** One `fs/watch`: its directories, by canonical path. */
interface Watch {
  root: string;
  recursive: boolean;
  /** What the watch may see; a refused path is neither watched nor reported. */
  policy: PathPolicy;
  dirs: Map<string, InotifyWatch>;
  /** Work still running for the watch (subtrees being added). */
  pending: Set<Promise<void>>;
  stopped: boolean;
}

/** Whether the watch's policy lets it see `path` (canonical). */
function visible(watch: Watch, path: string): boolean {
  if (watch.policy === ALLOW_ALL) return true;
  try {
    watch.policy.check(path, "read");
    return true;
  } catch {
    return false;
  }
}

/** The wire kind of an inotify event, or null to drop it. */
function kindOf(mask: number): FsChangeKind | null {
  if ((mask & IN.Q_OVERFLOW) !== 0) return "any";
  if ((mask & IN.CREATE) !== 0) return "create";
  if ((mask & (IN.DELETE | IN.DELETE_SELF)) !== 0) return "remove";
  if ((mask & (IN.MOVED_FROM | IN.MOVED_TO | IN.MOVE_SELF)) !== 0) return "rename";
  if ((mask & (IN.MODIFY | IN.ATTRIB)) !== 0) return "modify";
  return null;
}

/**
 * The live watches of one session.
 *
 * @example Watching a directory
 * ```ts
 * import { FileSystemService } from "./service.ts";
 * import { FsWatchSet } from "./watch.ts";
 * import assert from "node:assert/strict";
 * using fs = new FileSystemService();
 * const dir = await Deno.realPath(await Deno.makeTempDir());
 * await using set = new FsWatchSet(fs.resolver, fs.inotify, () => {});
 * const { watchId } = await set.watch({ path: dir });
 * assert.equal(set.size, 1);
 * await set.unwatch(watchId);
 * await Deno.remove(dir);
 * ```
 */
export class FsWatchSet implements AsyncDisposable {
  #roots: FsRoots;
  #inotify: Inotify;
  #onChange: FsChangeListener;
  #maxWatches: number;
  #maxDirectories: number;
  #watches = new Map<string, Watch>();
  #directories = 0;
  #nextId = 1;
  #closed = false;

  /**
   * Creates an empty set.
   *
   * @param roots Where watched paths are resolved.
   * @param inotify The server's inotify instance.
   * @param onChange Called once per change, for every watch.
   * @param options See {@linkcode FsWatchSetOptions}.
   */
  constructor(
    roots: FsRoots,
    inotify: Inotify,
    onChange: FsChangeListener,
    options: FsWatchSetOptions = {},
  ) {
    this.#roots = roots;
    this.#inotify = inotify;
    this.#onChange = onChange;
    this.#maxWatches = options.maxWatches ?? 256;
    this.#maxDirectories = options.maxDirectories ?? 8192;
  }

  /** Number of watches. */
  get size(): number {
    return this.#watches.size;
  }

  /** Directories (and files) watched over all watches. */
  get directories(): number {
    return this.#directories;
  }

  /** True once {@linkcode FsWatchSet.close} has been called. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Starts watching a path (resolved in the roots; a symlink is followed)
   * that `policy` lets the caller read.
   *
   * @returns The new watch id.
   * @throws {RpcError} -32600 when the set is closed or full, or a recursive
   * tree has more directories than the limit; -32004 when the path does not
   * exist; -32600 when it is outside the roots; the policy's error when it
   * refuses the path.
   */
  async watch(params: FsWatchParams, policy: PathPolicy = ALLOW_ALL): Promise<FsWatchResult> {
    if (this.#closed) throw invalidRequest("Cannot watch: session has ended");
    if (this.#watches.size >= this.#maxWatches) {
      throw invalidRequest(
        `Cannot watch ${params.path}: too many watches, limit is ${this.#maxWatches}`,
      );
    }
    const native = toNativePath(params.path);
    const watchId = `watch-${this.#nextId++}`;
    const watch: Watch = {
      root: "",
      recursive: params.recursive ?? false,
      policy,
      dirs: new Map(),
      pending: new Set(),
      stopped: false,
    };
    let directory: boolean;
    {
      using at = this.#roots.resolve(native);
      policy.check(at.path, "read");
      directory = isDir(at.mustExist());
      watch.root = at.path;
      this.#watches.set(watchId, watch);
      try {
        this.#subscribe(watchId, watch, at.path, at.node);
      } catch (err) {
        this.#watches.delete(watchId);
        throw err;
      }
    }
    if (watch.recursive && directory) {
      try {
        await this.#addTree(watchId, watch, watch.root, true);
      } catch (err) {
        await this.#stop(watchId, watch);
        throw err;
      }
    }
    return { watchId };
  }

  #subscribe(watchId: string, watch: Watch, path: string, fd: number): void {
    if (this.#directories >= this.#maxDirectories) {
      throw invalidRequest(
        `Cannot watch ${watch.root}: too many watched directories, limit is ${this.#maxDirectories}`,
      );
    }
    const sub = this.#inotify.add(fd, (event) => this.#event(watchId, watch, path, event));
    this.#directories++;
    watch.dirs.set(path, sub);
  }

  /**
   * Watches every directory below `top` (breadth first, links not
   * followed). When `strict`, running out of room fails the watch;
   * otherwise (a directory created later) the rest is left unwatched.
   */
  async #addTree(watchId: string, watch: Watch, top: string, strict: boolean): Promise<void> {
    const queue = [top];
    let work = 0;
    for (let i = 0; i < queue.length; i++) {
      if (watch.stopped) return;
      // A turn of the event loop every few hundred system calls keeps a big
      // tree from stalling other clients.
      if (work > 256) {
        work = 0;
        await yieldToLoop();
      }
      let names: string[];
      let fd: number;
      try {
        using at = this.#roots.resolve(queue[i]!, { canonical: true });
        fd = openat(at.node, ".", C.O_RDONLY | C.O_DIRECTORY);
      } catch {
        continue; // gone or replaced since it was listed
      }
      try {
        names = listAll(fd).filter((e) => e.type === C.DT_DIR || e.type === C.DT_UNKNOWN)
          .map((e) => e.name);
        work += 2 + 2 * names.length;
        for (const name of names) {
          let child: number;
          try {
            child = openat(fd, name, C.O_RDONLY | C.O_DIRECTORY | C.O_NOFOLLOW);
          } catch (err) {
            if (err instanceof OsError) continue; // not a directory (or a link): not descended
            throw err;
          }
          const path = joinPath(queue[i]!, name);
          if (!visible(watch, path)) {
            closeFd(child);
            continue;
          }
          try {
            if (!watch.dirs.has(path)) {
              try {
                this.#subscribe(watchId, watch, path, child);
              } catch (err) {
                if (strict) throw err;
                return;
              }
            }
          } finally {
            closeFd(child);
          }
          queue.push(path);
        }
      } finally {
        closeFd(fd);
      }
    }
  }

  #event(watchId: string, watch: Watch, dir: string, event: InotifyEvent): void {
    if (watch.stopped || this.#watches.get(watchId) !== watch) return;
    const path = event.name === "" ? dir : joinPath(dir, event.name);
    if ((event.mask & IN.IGNORED) !== 0) {
      // The directory is gone: forget its subscription.
      if (watch.dirs.delete(dir)) this.#directories--;
      return;
    }
    const kind = kindOf(event.mask);
    if (kind === null) return;
    if (event.name !== "" && !visible(watch, path)) return;
    if (watch.recursive && (event.mask & IN.ISDIR) !== 0 && event.name !== "") {
      if ((event.mask & (IN.CREATE | IN.MOVED_TO)) !== 0) this.#grow(watchId, watch, path);
      if ((event.mask & IN.MOVED_FROM) !== 0) this.#prune(watch, path);
    }
    try {
      this.#onChange({ watchId, kind, paths: [event.mask & IN.Q_OVERFLOW ? watch.root : path] });
    } catch {
      // A failing listener must not end the watch.
    }
  }

  /** Watches a directory that appeared inside a recursive watch, and its subtree. */
  #grow(watchId: string, watch: Watch, path: string): void {
    const job = (async () => {
      try {
        using at = this.#roots.resolve(path, { canonical: true });
        if (!isDir(at.mustExist()) || watch.dirs.has(path)) return;
        this.#subscribe(watchId, watch, path, at.node);
      } catch {
        return; // gone already, or no room left
      }
      await this.#addTree(watchId, watch, path, false).catch(() => {});
    })();
    watch.pending.add(job);
    job.finally(() => watch.pending.delete(job));
  }

  /** Forgets the subscriptions of a directory moved away. */
  #prune(watch: Watch, path: string): void {
    for (const [dir, sub] of watch.dirs) {
      if (!isWithin(dir, path)) continue;
      watch.dirs.delete(dir);
      this.#directories--;
      void sub.remove();
    }
  }

  /**
   * Stops one watch. No notification for it is sent after this resolves.
   *
   * @throws {RpcError} -32600 for an unknown watch id.
   */
  async unwatch(watchId: string): Promise<FsUnwatchResult> {
    const watch = this.#watches.get(watchId);
    if (watch === undefined) throw invalidRequest(`Unknown watchId: ${watchId}`);
    await this.#stop(watchId, watch);
    return {};
  }

  async #stop(watchId: string, watch: Watch): Promise<void> {
    this.#watches.delete(watchId);
    watch.stopped = true;
    await Promise.all(watch.pending);
    const subs = [...watch.dirs.values()];
    this.#directories -= watch.dirs.size;
    watch.dirs.clear();
    await Promise.all(subs.map((s) => s.remove()));
  }

  /** Stops every watch. Idempotent; later `watch` calls fail. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const all = [...this.#watches.entries()];
    await Promise.all(all.map(([id, w]) => this.#stop(id, w)));
  }

  /** Same as {@linkcode FsWatchSet.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
