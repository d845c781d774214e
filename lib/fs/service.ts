// Copyright 2026 the exec-server authors. MIT license.
/**
 * The filesystem RPCs (`fs/*`), one async method per RPC. Every method takes
 * the parsed params (see `lib/protocol/fs.ts`) and returns the result object, or
 * throws an {@linkcode RpcError}: -32004 not found; -32600 invalid input,
 * permission denied or "not permitted"; -32602 a relative path or bad URI;
 * -32603 any other I/O error.
 *
 * Every path is resolved by {@linkcode FsRoots} (see `roots.ts`): component
 * by component, relative to descriptors the server holds, so confinement has
 * no check-then-use window. The method then works on those descriptors, never
 * on a path string. `fs/writeFile` (without `append`) and `fs/copy` build the
 * new file under a temporary name in the target's directory and rename it
 * into place, so a failure (a full disk) leaves the old file as it was. File
 * contents are never logged.
 *
 * This is the facade, one short method per RPC; the work is in `reads.ts`,
 * `writes.ts`, `walk.ts`, `watch.ts`, `watch_missing.ts` and `handles.ts`,
 * and a call's policy is built in `confine.ts`.
 *
 * @module
 */

import { pathToFileURL } from "node:url";
import { ErrorCode, invalidRequest } from "../protocol/errors.ts";
import type * as P from "../protocol/fs.ts";
import { messageOf } from "../util/mod.ts";
import {
  ALLOW_ALL,
  callPolicy,
  mapFsError,
  type PathAccess,
  type PathPolicy,
  type SandboxPolicyFactory,
} from "./confine.ts";
import { FileHandles, HandleBudget } from "./handles.ts";
import { Inotify } from "./inotify.ts";
import { openNode, retryChanged } from "./io.ts";
import {
  C,
  fsUnavailableReason,
  isDir,
  isFile,
  isLink,
  openat,
  OsError,
  type Stat,
} from "./libc.ts";
import { notAFile, toNativePath } from "./paths.ts";
import { FsRoots, type Location } from "./roots.ts";

export { checkFsRoots } from "./roots.ts";
export type { SandboxPolicyFactory } from "./confine.ts";
import { copyAt, makeDirectories, removeAt, writeAt } from "./writes.ts";
import { listEntries, readWhole } from "./reads.ts";
import { walk } from "./walk.ts";
import { FsWatchSet } from "./watch.ts";
import { MissingWatch } from "./watch_missing.ts";

/** Default for {@linkcode FileSystemOptions.maxReadBytes}: 12 MiB. */
export const DEFAULT_MAX_READ_BYTES = 12 * 1024 * 1024;

/** Options for {@linkcode FileSystemService}. */
export interface FileSystemOptions {
  /**
   * Directories every fs call is confined to (`serve --fs-root`). They must
   * exist. Empty or absent means the whole filesystem.
   */
  roots?: string[];
  /**
   * Most bytes one `fs/readFile` may return. Derive it from the max message
   * size: base64 inflates by 4/3, plus room for the JSON envelope.
   *
   * @default {12582912}
   */
  maxReadBytes?: number;
  /**
   * Most `fs/open` handles open at once across all sessions (each session
   * also has its own limit of 128).
   *
   * @default {4096}
   */
  maxOpenHandles?: number;
  /**
   * The policy for a `sandbox` that is not `{readOnly, writableRoots}`.
   * Without one, such a call fails with -32600 rather than run unconfined.
   */
  sandboxPolicy?: SandboxPolicyFactory;
}

/** The wire form of a result path: a `file://` URI when the client sent one. */
function present(raw: string, path: string): string {
  return /^file:/i.test(raw) ? pathToFileURL(path).href : path;
}

/**
 * Implements the `fs/*` RPCs.
 *
 * @example Reading a file in ranges
 * ```ts
 * import { FileSystemService } from "./service.ts";
 * import assert from "node:assert/strict";
 * using fs = new FileSystemService();
 * const path = await Deno.makeTempFile();
 * await Deno.writeTextFile(path, "hello world");
 * const part = await fs.readFile({ path, offset: 6, length: 5 });
 * assert.equal(part.dataBase64, btoa("world"));
 * assert.ok(part.eof);
 * await Deno.remove(path);
 * ```
 */
export class FileSystemService implements Disposable {
  #roots: FsRoots;
  #maxReadBytes: number;
  #sandboxPolicy: SandboxPolicyFactory | undefined;
  #budget: HandleBudget;
  #inotify: Inotify;

  /**
   * Opens the roots.
   *
   * @throws {Error} When fs calls cannot run here or a root cannot be used.
   */
  constructor(options: FileSystemOptions = {}) {
    const reason = fsUnavailableReason();
    if (reason !== null) throw new Error(reason);
    this.#roots = FsRoots.open(options.roots ?? []);
    this.#maxReadBytes = options.maxReadBytes ?? DEFAULT_MAX_READ_BYTES;
    this.#sandboxPolicy = options.sandboxPolicy;
    this.#budget = new HandleBudget(options.maxOpenHandles ?? 4096);
    this.#inotify = new Inotify();
  }

  /** The canonical roots; empty means the whole filesystem. */
  get roots(): readonly string[] {
    return this.#roots.paths;
  }

  /** The resolver, for the watch sets and handle tables built on this service. */
  get resolver(): FsRoots {
    return this.#roots;
  }

  /** The server's one inotify instance. */
  get inotify(): Inotify {
    return this.#inotify;
  }

  /** Most bytes one `fs/readFile` may return. */
  get maxReadBytes(): number {
    return this.#maxReadBytes;
  }

  /** Closes the root descriptors and the inotify instance. */
  close(): void {
    this.#inotify.close();
    this.#roots.close();
  }

  /** Same as {@linkcode FileSystemService.close}. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** A new handle table for one session (see {@linkcode FileHandles}). */
  handleTable(): FileHandles {
    return new FileHandles(this.#budget);
  }

  /** A new set of `fs/watch` watches for one session (see {@linkcode FsWatchSet}). */
  watchSet(notify: (n: P.FsChangedNotification) => void): FsWatchSet {
    return new FsWatchSet(this.#roots, this.#inotify, notify);
  }

  /** A new missing-path watch for one session (see {@linkcode MissingWatch}). */
  missingWatch(notify: (n: P.FsMissingChangedNotification) => void): MissingWatch {
    return new MissingWatch(this.#roots, this.#inotify, notify);
  }

  /**
   * The policy for a request's sandbox: for a codex permission profile, the
   * {@linkcode FileSystemOptions.sandboxPolicy} factory's, or, without one,
   * -32603 `sandboxUnavailable` (the call is refused, never run unsandboxed);
   * otherwise ours for `{readOnly, writableRoots}` (none for `null` or
   * absent), together with what the factory answers for no profile (an
   * operator's `serve --sandbox`).
   */
  policy(sandbox: P.FsSandboxParam | null | undefined): PathPolicy {
    return callPolicy(sandbox, this.#roots, this.#sandboxPolicy);
  }

  /**
   * Converts, resolves and checks one path: the roots first, then the
   * request's sandbox on the canonical path. The caller disposes the result.
   */
  locate(
    raw: string,
    access: PathAccess,
    options: { field?: string; follow?: boolean; policy: PathPolicy },
  ): Location {
    const native = toNativePath(raw, options.field ?? "path");
    const at = this.#roots.resolve(native, { follow: options.follow ?? true });
    try {
      options.policy.check(at.path, access);
    } catch (err) {
      at.close();
      throw err;
    }
    return at;
  }

  /**
   * `fs/readFile`: reads the whole file, or `length` bytes from `offset`
   * (only that range is read). Fails with -32600 when the bytes to return
   * exceed {@linkcode FileSystemService.maxReadBytes}.
   */
  async readFile(params: P.FsReadFileParams): Promise<P.FsReadFileResult> {
    const policy = this.policy(params.sandbox);
    return await fsCall(() =>
      retryChanged(async () => {
        using at = this.locate(params.path, "read", { policy });
        return await readWhole(at, params, this.#maxReadBytes);
      })
    );
  }

  /**
   * `fs/writeFile`: replaces the file atomically (a temporary file renamed
   * over it), or appends to it. A failed append is cut back to the old size.
   */
  async writeFile(params: P.FsWriteFileParams): Promise<P.FsWriteFileResult> {
    let data: Uint8Array;
    try {
      data = Uint8Array.fromBase64(params.dataBase64);
    } catch (err) {
      throw invalidRequest(`fs/writeFile requires valid base64 dataBase64: ${messageOf(err)}`);
    }
    const policy = this.policy(params.sandbox);
    await fsCall(() =>
      retryChanged(async () => {
        using at = this.locate(params.path, "write", { policy });
        await writeAt(at, data, params.append === true);
      })
    );
    return {};
  }

  /** `fs/createDirectory`: mkdir, or mkdir -p when `recursive` (default). */
  async createDirectory(params: P.FsCreateDirectoryParams): Promise<P.FsCreateDirectoryResult> {
    const policy = this.policy(params.sandbox);
    const recursive = params.recursive ?? true;
    await fsCall(() =>
      retryChanged(() => {
        using at = this.locate(params.path, "write", { policy });
        makeDirectories(at, recursive, writeCheck(policy));
        return Promise.resolve();
      })
    );
    return {};
  }

  /**
   * `fs/getMetadata`: follows a symlink for `isDirectory`, `isFile` and
   * `size` (the target must be inside the roots); `isSymlink` describes the
   * path itself.
   */
  async getMetadata(params: P.FsGetMetadataParams): Promise<P.FsGetMetadataResult> {
    const policy = this.policy(params.sandbox);
    return await fsCall(() => {
      let own: Stat;
      {
        using link = this.locate(params.path, "read", { policy, follow: false });
        own = link.mustExist();
      }
      let info = own;
      if (isLink(own)) {
        using target = this.locate(params.path, "read", { policy });
        info = target.mustExist();
      }
      return Promise.resolve({
        isDirectory: isDir(info),
        isFile: isFile(info),
        isSymlink: isLink(own),
        size: info.size,
        createdAtMs: info.birthtimeMs,
        modifiedAtMs: info.mtimeMs,
      });
    });
  }

  /**
   * `fs/readDirectory`: symlinked entries are followed; an entry whose target
   * is outside the roots is listed as neither file nor directory, and an
   * entry whose target cannot be read is skipped.
   */
  async readDirectory(params: P.FsReadDirectoryParams): Promise<P.FsReadDirectoryResult> {
    const policy = this.policy(params.sandbox);
    return await fsCall(async () => {
      let base: string;
      let fd: number;
      {
        using at = this.locate(params.path, "read", { policy });
        at.mustExist();
        fd = openat(at.node, ".", C.O_RDONLY | C.O_DIRECTORY);
        base = at.path;
      }
      return { entries: await listEntries(this.#roots, fd, base) };
    });
  }

  /**
   * `fs/remove`: removes a file, a symlink (never its target) or a
   * directory (with its contents when `recursive`, the default). With
   * `force` (the default) a missing path is not an error.
   */
  async remove(params: P.FsRemoveParams): Promise<P.FsRemoveResult> {
    const force = params.force ?? true;
    try {
      const policy = this.policy(params.sandbox);
      await fsCall(async () => {
        using at = this.locate(params.path, "write", { policy, follow: false });
        await removeAt(at, params.recursive ?? true, writeCheck(policy));
      });
    } catch (err) {
      const mapped = mapFsError(err);
      if (force && mapped.code === ErrorCode.NotFound) return {};
      throw mapped;
    }
    return {};
  }

  /**
   * `fs/copy`: copies a file, a symlink (as a link) or, with `recursive`, a
   * directory tree. Inside a tree, symlinks are copied as links and special
   * files are skipped; a special file as the source is rejected. Files are
   * written under a temporary name and renamed into place; a tree copied to a
   * new name is built under a temporary name and renamed as a whole.
   */
  async copy(params: P.FsCopyParams): Promise<P.FsCopyResult> {
    const policy = this.policy(params.sandbox);
    await fsCall(() =>
      retryChanged(async () => {
        using from = this.locate(params.sourcePath, "read", {
          policy,
          field: "sourcePath",
          follow: false,
        });
        using to = this.locate(params.destinationPath, "write", {
          policy,
          field: "destinationPath",
        });
        const check = policy === ALLOW_ALL
          ? null
          : (path: string, access: PathAccess) => policy.check(path, access);
        await copyAt(from, to, params.recursive, check);
      })
    );
    return {};
  }

  /** `fs/canonicalize`: the path with every symlink, `.` and `..` resolved; it must exist. */
  async canonicalize(params: P.FsCanonicalizeParams): Promise<P.FsCanonicalizeResult> {
    const policy = this.policy(params.sandbox);
    return await fsCall(() => {
      using at = this.locate(params.path, "read", { policy });
      at.mustExist();
      return Promise.resolve({ path: present(params.path, at.path) });
    });
  }

  /** `fs/walk`: a bounded breadth-first listing; see `walk.ts`. */
  async walk(params: P.FsWalkParams): Promise<P.FsWalkResult> {
    const policy = this.policy(params.sandbox);
    return await fsCall(() =>
      walk(this.#roots, policy, params, (path) => present(params.path, path))
    );
  }

  /**
   * `fs/open`: a read handle on a regular file, or a replace handle that
   * writes a temporary file `fs/close` renames over the path.
   */
  async open(handles: FileHandles, params: P.FsOpenParams): Promise<P.FsOpenResult> {
    const policy = this.policy(params.sandbox);
    const mode = params.mode ?? "read";
    handles.reserve(params.handleId);
    try {
      return await fsCall(() =>
        retryChanged(() => {
          using at = this.locate(params.path, mode === "read" ? "read" : "write", { policy });
          if (mode === "read") {
            const info = at.mustExist();
            if (!isFile(info)) throw notAFile(params.path);
            handles.addReader(params.handleId, openNode(at, C.O_RDONLY | C.O_NONBLOCK));
          } else {
            const info = at.stat;
            if (info !== null && isDir(info)) throw new OsError(C.EISDIR);
            handles.addReplacer(params.handleId, at.parentDir, at.name, info);
          }
          return Promise.resolve({ handleId: params.handleId });
        })
      );
    } finally {
      handles.release(params.handleId);
    }
  }

  /** `fs/readBlock`: up to `len` bytes at `offset` of a read handle. */
  async readBlock(handles: FileHandles, params: P.FsReadBlockParams): Promise<P.FsReadBlockResult> {
    return await fsCall(() => handles.read(params.handleId, params.offset, params.len));
  }

  /** `fs/writeBlock`: writes a chunk at `offset` of a replace handle. */
  async writeBlock(
    handles: FileHandles,
    params: P.FsWriteBlockParams,
  ): Promise<P.FsWriteBlockResult> {
    return await fsCall(() => handles.write(params.handleId, params.offset, params.chunk));
  }

  /** `fs/close`: closes a handle; a replace handle's file is renamed into place. */
  async closeHandle(handles: FileHandles, params: P.FsCloseParams): Promise<P.FsCloseResult> {
    return await fsCall(() => handles.closeHandle(params.handleId));
  }

  /** `fs/watchMissing`: arms the session's one missing-path watch. */
  async watchMissing(
    watch: MissingWatch,
    params: P.FsWatchMissingParams,
  ): Promise<P.FsWatchMissingResult> {
    const policy = this.policy(params.sandbox);
    return await fsCall(() => watch.arm(params, policy));
  }

  /**
   * `fs/watch`: resolves and confines the path, checks the request's sandbox
   * (and the operator's) as `fs/readFile` does, then starts a watch on it in
   * the session's set that keeps that policy.
   */
  async watch(set: FsWatchSet, params: P.FsWatchParams): Promise<P.FsWatchResult> {
    const policy = this.policy(params.sandbox);
    return await fsCall(() => set.watch(params, policy));
  }

  /** `fs/unwatch`: stops a watch of the session's set. */
  unwatch(set: FsWatchSet, params: P.FsUnwatchParams): Promise<P.FsUnwatchResult> {
    return set.unwatch(params.watchId);
  }
}

/**
 * The check a recursive operation runs on every path it would change below
 * the one it was asked about, or null when the policy allows everything.
 */
function writeCheck(policy: PathPolicy): ((path: string) => void) | null {
  return policy === ALLOW_ALL ? null : (path) => policy.check(path, "write");
}

/** Runs an fs operation and maps whatever it throws to a wire error. */
async function fsCall<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw mapFsError(err);
  }
}
