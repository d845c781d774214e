// Copyright 2026 the exec-server authors. MIT license.
/**
 * Filesystem watches (`fs/watch`, `fs/unwatch`, `fs/changed`).
 *
 * One {@linkcode FsWatchSet} belongs to one session: it survives a resume
 * (the session points its `onChange` listener at whichever connection is
 * current, and drops or buffers notifications while detached), and the
 * session closes it when the session ends.
 *
 * The set does no path checks of its own. The core calls
 * `FileSystemService.watch(set, params)`, which resolves and confines the
 * path and then calls {@linkcode FsWatchSet.watch} with the canonical path.
 *
 * @module
 */

import { invalidRequest } from "../protocol/errors.ts";
import { isWithin, mapFsError } from "./confine.ts";
import type {
  FsChangedNotification,
  FsChangeKind,
  FsUnwatchResult,
  FsWatchParams,
  FsWatchResult,
} from "../protocol/fs.ts";
import { parentOf } from "../util/mod.ts";

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
}

interface Watch {
  watcher: Deno.FsWatcher;
  done: Promise<void>;
}

/**
 * The live watches of one session.
 *
 * @example Watching a directory
 * ```ts
 * import { FsWatchSet } from "./watch.ts";
 * const dir = await Deno.makeTempDir();
 * const seen: string[] = [];
 * await using set = new FsWatchSet((n) => seen.push(n.kind));
 * const { watchId } = set.watch({ path: dir }, dir);
 * await set.unwatch(watchId);
 * await Deno.remove(dir);
 * ```
 */
export class FsWatchSet implements AsyncDisposable {
  #onChange: FsChangeListener;
  #maxWatches: number;
  #watches = new Map<string, Watch>();
  #nextId = 1;
  #closed = false;

  /**
   * Creates an empty set.
   *
   * @param onChange Called once per change, in order, for every watch.
   * @param options See {@linkcode FsWatchSetOptions}.
   */
  constructor(onChange: FsChangeListener, options: FsWatchSetOptions = {}) {
    this.#onChange = onChange;
    this.#maxWatches = options.maxWatches ?? 256;
  }

  /** Number of watches, including ones whose watcher has ended by itself. */
  get size(): number {
    return this.#watches.size;
  }

  /** True once {@linkcode FsWatchSet.close} has been called. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Starts watching an already resolved and confined path.
   *
   * @param params The `fs/watch` params (`recursive` defaults to false).
   * @param resolvedPath The canonical path to watch. Only changes below it
   * are reported (Deno does not follow symlinks into other trees).
   * @returns The new watch id.
   * @throws {RpcError} -32600 when the set is closed or full; a mapped OS
   * error when the path cannot be watched (-32004 if it does not exist).
   */
  watch(
    params: FsWatchParams,
    resolvedPath: string,
  ): FsWatchResult {
    if (this.#closed) throw invalidRequest("Cannot watch: session has ended");
    if (this.#watches.size >= this.#maxWatches) {
      throw invalidRequest(
        `Cannot watch ${params.path}: too many watches, limit is ${this.#maxWatches}`,
      );
    }
    let watcher: Deno.FsWatcher;
    try {
      watcher = Deno.watchFs(resolvedPath, {
        recursive: params.recursive ?? false,
      });
    } catch (err) {
      throw mapFsError(err);
    }
    const watchId = `watch-${this.#nextId++}`;
    // Deno shares one OS watcher between FsWatchers, so a flat watch can be
    // handed events from deeper levels: keep only what this watch covers.
    const covers = params.recursive === true
      ? (path: string) => isWithin(path, resolvedPath)
      : (path: string) => path === resolvedPath || parentOf(path) === resolvedPath;
    const done = this.#pump(watchId, watcher, covers);
    this.#watches.set(watchId, { watcher, done });
    return { watchId };
  }

  /**
   * Stops one watch. No notification for it is sent after this resolves.
   *
   * @throws {RpcError} -32600 for an unknown watch id.
   */
  async unwatch(watchId: string): Promise<FsUnwatchResult> {
    const watch = this.#watches.get(watchId);
    if (watch === undefined) {
      throw invalidRequest(`Unknown watchId: ${watchId}`);
    }
    this.#watches.delete(watchId);
    await stop(watch);
    return {};
  }

  /** Stops every watch. Idempotent; later `watch` calls fail. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const all = [...this.#watches.values()];
    this.#watches.clear();
    await Promise.all(all.map(stop));
  }

  /** Same as {@linkcode FsWatchSet.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #pump(
    watchId: string,
    watcher: Deno.FsWatcher,
    covers: (path: string) => boolean,
  ): Promise<void> {
    try {
      for await (const event of watcher) {
        const kind = KINDS[event.kind];
        if (kind === undefined) continue;
        const paths = event.paths.filter(covers);
        // unwatch() may have run while this event was queued.
        if (paths.length === 0 || this.#watches.get(watchId) === undefined) {
          continue;
        }
        try {
          this.#onChange({ watchId, kind, paths });
        } catch {
          // A failing listener must not end the watch.
        }
      }
    } catch {
      // The watcher failed (for example its directory vanished); the watch
      // stays registered, silent, until fs/unwatch or session end.
    }
  }
}

/** Deno's event kinds mapped to wire kinds; `access` is dropped. */
const KINDS: Partial<Record<Deno.FsEvent["kind"], FsChangeKind>> = {
  any: "any",
  other: "any",
  create: "create",
  modify: "modify",
  remove: "remove",
  rename: "rename",
};

async function stop(watch: Watch): Promise<void> {
  try {
    watch.watcher.close();
  } catch {
    // Already closed.
  }
  await watch.done;
}
