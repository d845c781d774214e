// Copyright 2026 the exec-server authors. MIT license.
/**
 * `fs/walk`: a bounded breadth-first listing of a tree, as codex 0.171 has
 * it.
 *
 * The root's children are depth 0; a directory at `maxDepth` is listed but
 * not read. Each directory's children are sorted bytewise by name, and
 * directories are read in the order they were listed. `maxDirectories`
 * counts the directories read (the root included) and `maxEntries` the
 * entries returned; `truncated` says one of them left something out (the
 * depth limit does not). Symlinks are left out unless
 * `followDirectorySymlinks`, and then only links to directories are listed
 * and descended, each directory once. FIFOs, sockets and devices are left
 * out. A directory that cannot be read is listed and reported in `errors`.
 *
 * Every directory is opened through the resolver from its canonical path,
 * following no link on the way (`canonical` in `roots.ts`),
 * so the directory listed is the one the sandbox policy was asked about and
 * a walk never leaves the roots: a link that leads outside is left out like
 * a dangling one, and a directory (or any directory above it) swapped for a
 * link while the walk runs is reported as an error, not followed.
 *
 * @module
 */

import { invalidRequest } from "../protocol/errors.ts";
import type { FsWalkEntry, FsWalkError, FsWalkParams, FsWalkResult } from "../protocol/fs.ts";
import { joinPath } from "../util/mod.ts";
import type { PathPolicy } from "./confine.ts";
import { yieldToLoop } from "./io.ts";
import { C, closeFd, type DirEntry, isDir, isLink, openat, OsError, statAt } from "./libc.ts";
import { toNativePath } from "./paths.ts";
import type { FsRoots } from "./roots.ts";
import { listAll } from "./tree.ts";

/** Largest values the walk options accept (codex's). */
export const WALK_MAXIMUMS = { depth: 64, directories: 10_000, entries: 50_000 } as const;

interface Queued {
  /** Canonical path, opened through the resolver. */
  canonical: string;
  /** Path as reported: under the walk's root, links kept. */
  shown: string;
  /** Depth of this directory (the root is -1). */
  depth: number;
}

const encoder = new TextEncoder();

/** Bytewise order of two names (UTF-8), as codex sorts. */
function byteOrder(a: DirEntry, b: DirEntry): number {
  const x = encoder.encode(a.name);
  const y = encoder.encode(b.name);
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return x.length - y.length;
}

/**
 * Walks `params.path`; `show` turns a native path into the wire form.
 *
 * @throws {RpcError} -32600 for limits out of range; resolution errors of
 * the root (-32004 when it does not exist).
 */
export async function walk(
  roots: FsRoots,
  policy: PathPolicy,
  params: FsWalkParams,
  show: (path: string) => string,
): Promise<FsWalkResult> {
  const { maxDepth, maxDirectories, maxEntries } = params.options;
  const follow = params.options.followDirectorySymlinks;
  const prune = params.options.pruneHiddenDirectories;
  if (maxDirectories === 0 || maxEntries === 0) {
    throw invalidRequest("filesystem walk limits must be greater than zero");
  }
  const max = WALK_MAXIMUMS;
  if (maxDepth > max.depth || maxDirectories > max.directories || maxEntries > max.entries) {
    throw invalidRequest(
      `filesystem walk limits exceed maximums: depth=${max.depth}, directories=${max.directories}, entries=${max.entries}`,
    );
  }
  const native = toNativePath(params.path);
  const entries: FsWalkEntry[] = [];
  const errors: FsWalkError[] = [];
  const seen = new Set<string>();
  const queue: Queued[] = [];
  {
    // The root must exist (a dangling link is -32004), but a link is only
    // walked when links are followed.
    using at = roots.resolve(native);
    const stat = at.mustExist();
    policy.check(at.path, "read");
    let link = false;
    if (!follow && native !== at.path) {
      using own = roots.resolve(native, { follow: false });
      link = isLink(own.mustExist());
    }
    if (link || !isDir(stat)) return { entries, errors, truncated: false };
    seen.add(stat.id);
    queue.push({ canonical: at.path, shown: native.replace(/(.)\/+$/, "$1"), depth: -1 });
  }
  let read = 0;
  let truncated = false;
  outer: for (let next = 0; next < queue.length; next++) {
    if (read >= maxDirectories) {
      truncated = true;
      break;
    }
    read++;
    if (read % 64 === 0) await yieldToLoop();
    const dir = queue[next]!;
    let fd: number;
    let listed: DirEntry[];
    try {
      policy.check(dir.canonical, "read");
      using at = roots.resolve(dir.canonical, { canonical: true });
      at.mustExist(); // gone since it was listed: ENOENT, not a bad descriptor
      fd = openat(at.node, ".", C.O_RDONLY | C.O_DIRECTORY);
      try {
        listed = listAll(fd).sort(byteOrder);
      } catch (err) {
        closeFd(fd);
        throw err;
      }
    } catch (err) {
      errors.push({ path: show(dir.shown), message: (err as Error).message });
      continue;
    }
    try {
      const depth = dir.depth + 1;
      for (const entry of listed) {
        const found = describe(roots, fd, dir, entry, follow);
        if (found === null) continue;
        if (entries.length >= maxEntries) {
          truncated = true;
          break outer;
        }
        const shown = joinPath(dir.shown, entry.name);
        entries.push({ path: show(shown), kind: found.directory ? "directory" : "file" });
        if (!found.directory || depth >= maxDepth) continue;
        if (prune && entry.name.startsWith(".")) continue;
        if (seen.has(found.id)) continue;
        seen.add(found.id);
        queue.push({ canonical: found.canonical, shown, depth });
      }
    } finally {
      closeFd(fd);
    }
  }
  return { entries, errors, truncated };
}

/** What an entry is, or null to leave it out. */
function describe(
  roots: FsRoots,
  dir: number,
  parent: Queued,
  entry: DirEntry,
  follow: boolean,
): { directory: boolean; id: string; canonical: string } | null {
  let stat;
  try {
    stat = statAt(dir, entry.name);
  } catch {
    return null; // gone since the listing
  }
  const canonical = joinPath(parent.canonical, entry.name);
  if (isLink(stat)) {
    if (!follow) return null;
    try {
      using target = roots.resolve(canonical);
      const info = target.mustExist();
      if (!isDir(info)) return null;
      return { directory: true, id: info.id, canonical: target.path };
    } catch (err) {
      if (err instanceof OsError || (err as { code?: number }).code !== undefined) return null;
      throw err;
    }
  }
  const mode = stat.mode & C.S_IFMT;
  if (mode === C.S_IFDIR) return { directory: true, id: stat.id, canonical };
  if (mode === C.S_IFREG) return { directory: false, id: stat.id, canonical };
  return null;
}
