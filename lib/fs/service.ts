// Copyright 2026 the exec-server authors. MIT license.
/**
 * The filesystem RPCs (`fs/*`), one async method per RPC. Every method takes
 * the parsed params (see `lib/protocol/fs.ts`) and returns the result object, or
 * throws an {@linkcode RpcError}: -32004 not found; -32600 invalid input,
 * permission denied or "not permitted"; -32602 a relative path or bad URI;
 * -32603 any other I/O error.
 *
 * Every path goes through {@linkcode PathConfinement} first and the method
 * then works on the canonical path; see `confine.ts` for the confinement
 * rules and the remaining time-of-check/time-of-use window. File contents are
 * never logged.
 *
 * @module
 */

import { constants as fsConstants } from "node:fs";
import { type FileHandle, open } from "node:fs/promises";
import { ErrorCode, invalidRequest, RpcError } from "../protocol/errors.ts";
import { isWithin, mapFsError, type PathAccess, PathConfinement } from "./confine.ts";
import type * as P from "../protocol/fs.ts";
import type { FsWatchSet } from "./watch.ts";
import { joinPath, messageOf } from "../util/mod.ts";

/** Default for {@linkcode FileSystemOptions.maxReadBytes}: 12 MiB. */
export const DEFAULT_MAX_READ_BYTES = 12 * 1024 * 1024;

// O_NOFOLLOW and O_NONBLOCK are POSIX-only; where missing, the guards they
// give are simply absent. O_NONBLOCK keeps a FIFO or terminal from parking a
// thread of Deno's small blocking pool forever; it is a no-op on regular files.
const { O_RDONLY, O_WRONLY, O_CREAT, O_TRUNC, O_APPEND } = fsConstants;
const O_NOFOLLOW = fsConstants.O_NOFOLLOW ?? 0;
const O_NONBLOCK = fsConstants.O_NONBLOCK ?? 0;

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
}

/**
 * Implements the `fs/*` RPCs.
 *
 * @example Reading a file in ranges
 * ```ts
 * import { FileSystemService } from "./service.ts";
 * import assert from "node:assert/strict";
 * const fs = new FileSystemService();
 * const path = await Deno.makeTempFile();
 * await Deno.writeTextFile(path, "hello world");
 * const part = await fs.readFile({ path, offset: 6, length: 5 });
 * assert.equal(part.dataBase64, btoa("world"));
 * assert.ok(part.eof);
 * await Deno.remove(path);
 * ```
 */
export class FileSystemService {
  #confine: PathConfinement;
  #maxReadBytes: number;

  /**
   * Creates the service; canonicalizes the roots.
   *
   * @throws {Error} When a root cannot be resolved.
   */
  constructor(options: FileSystemOptions = {}) {
    this.#confine = new PathConfinement(options.roots ?? []);
    this.#maxReadBytes = options.maxReadBytes ?? DEFAULT_MAX_READ_BYTES;
  }

  /** The canonical roots; empty means the whole filesystem. */
  get roots(): readonly string[] {
    return this.#confine.roots;
  }

  /** Most bytes one `fs/readFile` may return. */
  get maxReadBytes(): number {
    return this.#maxReadBytes;
  }

  /** The canonical path of `params.path`, confined for `access` and to `params.sandbox`. */
  async #confined(
    params: { path: string; sandbox?: P.FsSandboxParam | null | undefined },
    access: PathAccess,
  ): Promise<string> {
    return (await this.#confine.resolve(params.path, { access, sandbox: params.sandbox })).path;
  }

  /**
   * `fs/readFile`: reads the whole file, or `length` bytes from `offset`
   * (only that range is read). Fails with -32600 when the bytes to return
   * exceed {@linkcode FileSystemService.maxReadBytes}.
   */
  async readFile(params: P.FsReadFileParams): Promise<P.FsReadFileResult> {
    const path = await this.#confined(params, "read");
    const offset = params.offset ?? 0;
    const max = this.#maxReadBytes;
    const handle = await openNoFollow(path, params.path, O_RDONLY);
    try {
      const info = await handle.stat();
      if (info.isDirectory()) {
        throw new Deno.errors.IsADirectory(`Is a directory: ${params.path}`);
      }
      const regular = info.isFile();
      if (!regular && offset > 0) {
        throw invalidRequest(
          `fs/readFile offset requires a regular file: ${params.path}`,
        );
      }
      const available = regular ? Math.max(0, info.size - offset) : Infinity;
      const wanted = Math.min(params.length ?? Infinity, available);
      if (Number.isFinite(wanted) && wanted > max) {
        throw tooLarge(params, wanted, max);
      }
      // A whole read goes on to EOF (the file may have grown) but stops one
      // byte past the limit; a ranged read stops at its length.
      const cap = params.length === undefined ? max + 1 : wanted;
      const hint = Number.isFinite(wanted) ? wanted : 64 * 1024;
      const { data, end } = await readAt(
        handle,
        regular ? offset : null,
        cap,
        hint,
      );
      if (data.length > max) throw tooLarge(params, data.length, max, true);
      // The file may have grown since the stat.
      const size = data.length > 0 ? Math.max(info.size, offset + data.length) : info.size;
      const eof = end || offset + data.length >= size;
      return { dataBase64: data.toBase64(), size, eof };
    } catch (err) {
      throw mapFsError(err);
    } finally {
      await handle.close();
    }
  }

  /** `fs/writeFile`: creates or truncates the file, or appends to it. */
  async writeFile(params: P.FsWriteFileParams): Promise<P.FsWriteFileResult> {
    let data: Uint8Array;
    try {
      data = Uint8Array.fromBase64(params.dataBase64);
    } catch (err) {
      const detail = messageOf(err);
      throw invalidRequest(
        `fs/writeFile requires valid base64 dataBase64: ${detail}`,
      );
    }
    const path = await this.#confined(params, "write");
    const mode = params.append === true ? O_APPEND : O_TRUNC;
    const handle = await openNoFollow(
      path,
      params.path,
      O_WRONLY | O_CREAT | mode,
    );
    try {
      let written = 0;
      while (written < data.length) {
        const { bytesWritten } = await handle.write(data, written);
        written += bytesWritten;
      }
    } catch (err) {
      throw mapFsError(err);
    } finally {
      await handle.close();
    }
    return {};
  }

  /** `fs/createDirectory`: mkdir, or mkdir -p when `recursive` (default). */
  async createDirectory(
    params: P.FsCreateDirectoryParams,
  ): Promise<P.FsCreateDirectoryResult> {
    const path = await this.#confined(params, "write");
    await fsCall(Deno.mkdir(path, { recursive: params.recursive ?? true }));
    return {};
  }

  /**
   * `fs/getMetadata`: follows a symlink for `isDirectory`, `isFile` and
   * `size` (the target must be inside the roots); `isSymlink` describes the
   * path itself.
   */
  async getMetadata(
    params: P.FsGetMetadataParams,
  ): Promise<P.FsGetMetadataResult> {
    const options = { access: "read", sandbox: params.sandbox } as const;
    const link = await this.#confine.resolve(params.path, {
      ...options,
      followFinal: false,
    });
    const own = await fsCall(Deno.lstat(link.path));
    let info = own;
    if (own.isSymlink) {
      const target = await this.#confine.resolve(params.path, options);
      info = await fsCall(Deno.stat(target.path));
    }
    return {
      isDirectory: info.isDirectory,
      isFile: info.isFile,
      isSymlink: own.isSymlink,
      size: info.size,
      createdAtMs: info.birthtime?.getTime() ?? 0,
      modifiedAtMs: info.mtime?.getTime() ?? 0,
    };
  }

  /**
   * `fs/readDirectory`: symlinked entries are followed; an entry whose target
   * is outside the roots is listed as neither file nor directory, and an
   * entry whose metadata cannot be read is skipped.
   */
  async readDirectory(
    params: P.FsReadDirectoryParams,
  ): Promise<P.FsReadDirectoryResult> {
    const path = await this.#confined(params, "read");
    const entries: P.FsDirectoryEntry[] = [];
    try {
      for await (const entry of Deno.readDir(path)) {
        const fileName = entry.name;
        if (!entry.isSymlink) {
          const { isDirectory, isFile } = entry;
          entries.push({ fileName, isDirectory, isFile });
          continue;
        }
        const followed = await this.#follow(joinPath(path, fileName));
        if (followed !== undefined) entries.push({ fileName, ...followed });
      }
    } catch (err) {
      throw mapFsError(err);
    }
    return { entries };
  }

  /**
   * `fs/remove`: removes a file, a symlink (never its target) or a
   * directory (with its contents when `recursive`, the default). With
   * `force` (the default) a missing path is not an error.
   */
  async remove(params: P.FsRemoveParams): Promise<P.FsRemoveResult> {
    const force = params.force ?? true;
    try {
      const { path } = await this.#confine.resolve(params.path, {
        access: "write",
        followFinal: false,
        sandbox: params.sandbox,
      });
      if (path === "/") {
        throw invalidRequest("fs/remove cannot remove the root directory /");
      }
      await Deno.remove(path, { recursive: params.recursive ?? true });
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
   * files are skipped; a special file as the source is rejected.
   */
  async copy(params: P.FsCopyParams): Promise<P.FsCopyResult> {
    const { sandbox } = params;
    const source = await this.#confine.resolve(params.sourcePath, {
      access: "read",
      field: "sourcePath",
      followFinal: false,
      sandbox,
    });
    const destination = await this.#confine.resolve(params.destinationPath, {
      access: "write",
      field: "destinationPath",
      sandbox,
    });
    const from = source.path;
    const to = destination.path;
    try {
      const info = await Deno.lstat(from);
      if (info.isSymlink) {
        await Deno.symlink(await Deno.readLink(from), to);
      } else if (info.isDirectory) {
        if (!params.recursive) {
          throw invalidRequest(
            "fs/copy requires recursive: true when sourcePath is a directory",
          );
        }
        if (isWithin(to, from)) {
          throw invalidRequest(
            "fs/copy cannot copy a directory to itself or one of its descendants",
          );
        }
        await copyTree(from, to);
      } else if (info.isFile) {
        await Deno.copyFile(from, to);
      } else {
        throw invalidRequest(
          "fs/copy only supports regular files, directories, and symlinks",
        );
      }
    } catch (err) {
      throw mapFsError(err);
    }
    return {};
  }

  /**
   * `fs/watch`: confines the path (it must be inside the roots), then starts
   * a watch on its canonical form in the session's set.
   */
  async watch(
    set: FsWatchSet,
    params: P.FsWatchParams,
  ): Promise<P.FsWatchResult> {
    const { path } = await this.#confine.resolve(params.path, {
      access: "read",
    });
    return set.watch(params, path);
  }

  /** `fs/unwatch`: stops a watch of the session's set. */
  unwatch(
    set: FsWatchSet,
    params: P.FsUnwatchParams,
  ): Promise<P.FsUnwatchResult> {
    return set.unwatch(params.watchId);
  }

  /** Follows a symlinked directory entry, within the roots. */
  async #follow(
    path: string,
  ): Promise<{ isDirectory: boolean; isFile: boolean } | undefined> {
    try {
      const target = await this.#confine.resolve(path, { access: "read" });
      const { isDirectory, isFile } = await Deno.stat(target.path);
      return { isDirectory, isFile };
    } catch (err) {
      const escapes = err instanceof RpcError &&
        err.code === ErrorCode.InvalidRequest;
      return escapes ? { isDirectory: false, isFile: false } : undefined;
    }
  }
}

/** Awaits a Deno fs call and maps its error. */
async function fsCall<T>(promise: Promise<T>): Promise<T> {
  try {
    return await promise;
  } catch (err) {
    throw mapFsError(err);
  }
}

/**
 * Opens a canonical path without following a final symlink. A symlink there
 * means the path changed since it was checked, so the open is refused.
 */
async function openNoFollow(
  path: string,
  raw: string,
  flags: number,
): Promise<FileHandle> {
  try {
    return await open(path, flags | O_NOFOLLOW | O_NONBLOCK, 0o666);
  } catch (err) {
    if (O_NOFOLLOW !== 0 && errorCodeOf(err) === "ELOOP") {
      throw invalidRequest(
        `path ${raw} is not permitted: it became a symbolic link after it was checked`,
      );
    }
    throw mapFsError(err);
  }
}

function errorCodeOf(err: unknown): unknown {
  return typeof err === "object" && err !== null && "code" in err ? err.code : undefined;
}

/**
 * Reads up to `cap` bytes at `position` (or from the current position when
 * null), growing the buffer from `hint`. `end` is true when EOF was reached.
 */
async function readAt(
  handle: FileHandle,
  position: number | null,
  cap: number,
  hint: number,
): Promise<{ data: Uint8Array; end: boolean }> {
  let buffer = new Uint8Array(Math.min(cap, Math.max(hint, 1)));
  let filled = 0;
  while (filled < cap) {
    if (filled === buffer.length) {
      const grown = new Uint8Array(Math.min(cap, buffer.length * 2));
      grown.set(buffer);
      buffer = grown;
    }
    const at = position === null ? null : position + filled;
    const { bytesRead } = await handle.read(
      buffer,
      filled,
      buffer.length - filled,
      at,
    );
    if (bytesRead === 0) return { data: buffer.subarray(0, filled), end: true };
    filled += bytesRead;
  }
  return { data: buffer.subarray(0, filled), end: false };
}

/** The error for a read over the limit; `more` when `bytes` is a lower bound. */
function tooLarge(
  params: P.FsReadFileParams,
  bytes: number,
  max: number,
  more = false,
): RpcError {
  const n = more ? `more than ${max}` : `${bytes}`;
  const what = params.offset === undefined && params.length === undefined
    ? `file is too large to read: ${params.path} is ${n} bytes`
    : `requested range is too large to read: ${n} bytes of ${params.path}`;
  return invalidRequest(
    `${what}, limit is ${max} bytes per message; read it in ranges with offset and length`,
  );
}

/** Copies a directory tree; symlinks as links, special files skipped. */
async function copyTree(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const entry of Deno.readDir(from)) {
    const source = joinPath(from, entry.name);
    const target = joinPath(to, entry.name);
    if (entry.isSymlink) {
      await Deno.symlink(await Deno.readLink(source), target);
    } else if (entry.isDirectory) {
      await copyTree(source, target);
    } else if (entry.isFile) {
      await Deno.copyFile(source, target);
    }
    // FIFOs, sockets and devices are skipped silently, as codex does.
  }
}
