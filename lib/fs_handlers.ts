// Copyright 2026 the exec-server authors. MIT license.
/**
 * Binds the `fs/*` methods of the method table to a
 * {@linkcode FileSystemService}; watches belong to the caller's session.
 *
 * @module
 */
import type { FileSystemService } from "./fs.ts";
import type { FsMethodName } from "./fs_protocol.ts";
import { FsWatchSet } from "./fs_watch.ts";
import type { Handler } from "./handlers.ts";
import type { Session } from "./session.ts";

const WATCHES = new WeakMap<Session, FsWatchSet>();

/** The session's watch set, created on first use and closed with the session. */
function watchesOf(session: Session): FsWatchSet {
  let set = WATCHES.get(session);
  if (!set) {
    const created = new FsWatchSet((n) => session.notify("fs/changed", n));
    session.own(created);
    WATCHES.set(session, created);
    set = created;
  }
  return set;
}

/** Handlers for every `fs/*` method. */
export function fsHandlers(fs: FileSystemService): { [M in FsMethodName]: Handler<M> } {
  return {
    "fs/readFile": (p) => fs.readFile(p),
    "fs/writeFile": (p) => fs.writeFile(p),
    "fs/createDirectory": (p) => fs.createDirectory(p),
    "fs/getMetadata": (p) => fs.getMetadata(p),
    "fs/readDirectory": (p) => fs.readDirectory(p),
    "fs/remove": (p) => fs.remove(p),
    "fs/copy": (p) => fs.copy(p),
    "fs/watch": (p, ctx) => fs.watch(watchesOf(ctx.session), p),
    "fs/unwatch": (p, ctx) => fs.unwatch(watchesOf(ctx.session), p),
  };
}
