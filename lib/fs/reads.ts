// Copyright 2026 the exec-server authors. MIT license.
/**
 * The reading fs methods on resolved locations: `fs/readFile` (whole, or a
 * range) and the entries of `fs/readDirectory`. Like `writes.ts`, each works
 * on descriptors, never on a path, and throws an {@linkcode OsError} or an
 * {@linkcode RpcError} for the service to map.
 *
 * @module
 */

import { ErrorCode, invalidRequest, RpcError } from "../protocol/errors.ts";
import type * as P from "../protocol/fs.ts";
import { joinPath } from "../util/mod.ts";
import { openNode, readUpTo, yieldToLoop } from "./io.ts";
import { C, closeFd, type DirEntry, isDir, isFile, readDirBatch, statAt } from "./libc.ts";
import { notAFile } from "./paths.ts";
import type { FsRoots, Location } from "./roots.ts";

/**
 * `fs/readFile` at `at`: the whole file, or `length` bytes from `offset`
 * (only that range is read), at most `max` bytes. A FIFO or a device is read
 * up to the limit; a directory is codex's -32600 "not a file".
 */
export async function readWhole(
  at: Location,
  params: P.FsReadFileParams,
  max: number,
): Promise<P.FsReadFileResult> {
  const offset = params.offset ?? 0;
  const info = at.mustExist();
  if (isDir(info)) throw notAFile(params.path);
  const fd = openNode(at, C.O_RDONLY | C.O_NONBLOCK);
  try {
    const regular = isFile(info);
    if (!regular && offset > 0) {
      throw invalidRequest(`fs/readFile offset requires a regular file: ${params.path}`);
    }
    const available = regular ? Math.max(0, info.size - offset) : Infinity;
    const wanted = Math.min(params.length ?? Infinity, available);
    if (Number.isFinite(wanted) && wanted > max) throw tooLarge(params, wanted, max);
    // A whole read goes on to EOF (the file may have grown) but stops one
    // byte past the limit; a ranged read stops at its length.
    const cap = params.length === undefined ? max + 1 : wanted;
    const hint = Number.isFinite(wanted) ? wanted : 64 * 1024;
    const { data, end } = await readUpTo(fd, regular, offset, cap, hint);
    if (data.length > max) throw tooLarge(params, data.length, max, true);
    const size = data.length > 0 ? Math.max(info.size, offset + data.length) : info.size;
    const eof = end || offset + data.length >= size;
    return { dataBase64: data.toBase64(), size, eof };
  } finally {
    closeFd(fd);
  }
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

/**
 * The `fs/readDirectory` entries of the open directory `fd` (whose canonical
 * path is `base`), which it closes. Symlinked entries are followed in the
 * roots: one whose target is outside them is listed as neither file nor
 * directory, one whose target cannot be read is skipped.
 */
export async function listEntries(
  roots: FsRoots,
  fd: number,
  base: string,
): Promise<P.FsDirectoryEntry[]> {
  const entries: P.FsDirectoryEntry[] = [];
  try {
    const buffer = new Uint8Array(64 * 1024);
    for (let batch = 0;; batch++) {
      const found = readDirBatch(fd, buffer);
      if (found === null) break;
      for (const entry of found) {
        const listed = describe(roots, fd, base, entry);
        if (listed !== undefined) entries.push(listed);
      }
      if (batch % 16 === 15) await yieldToLoop();
    }
  } finally {
    closeFd(fd);
  }
  return entries;
}

/** One `fs/readDirectory` entry; undefined to skip it. */
function describe(
  roots: FsRoots,
  dir: number,
  base: string,
  entry: DirEntry,
): P.FsDirectoryEntry | undefined {
  const fileName = entry.name;
  let type = entry.type;
  if (type === C.DT_UNKNOWN) {
    try {
      const mode = statAt(dir, fileName).mode & C.S_IFMT;
      type = mode === C.S_IFDIR
        ? C.DT_DIR
        : mode === C.S_IFREG
        ? C.DT_REG
        : mode === C.S_IFLNK
        ? C.DT_LNK
        : -1;
    } catch {
      return undefined;
    }
  }
  if (type !== C.DT_LNK) {
    return { fileName, isDirectory: type === C.DT_DIR, isFile: type === C.DT_REG };
  }
  try {
    using target = roots.resolve(joinPath(base, fileName));
    const info = target.mustExist();
    return { fileName, isDirectory: isDir(info), isFile: isFile(info) };
  } catch (err) {
    const escapes = err instanceof RpcError && err.code === ErrorCode.InvalidRequest;
    return escapes ? { fileName, isDirectory: false, isFile: false } : undefined;
  }
}
