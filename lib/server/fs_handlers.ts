// Copyright 2026 the exec-server authors. MIT license.
/**
 * Binds the `fs/*` methods of the method table to a
 * {@linkcode FileSystemService}; watches, the missing-path watch and file
 * handles belong to the caller's session (so they survive a resume) and end
 * with it.
 *
 * @module
 */
import { invalidRequest } from "../protocol/errors.ts";
import type { FileSystemService } from "../fs/service.ts";
import type { FsMethodName } from "../protocol/fs.ts";
import type { FsWatchSet } from "../fs/watch.ts";
import type { FileHandles } from "../fs/handles.ts";
import type { MissingWatch } from "../fs/watch_missing.ts";
import { Slots } from "../util/slots.ts";
import type { Handler } from "./process_handlers.ts";
import type { Session, SessionResource } from "./session.ts";

/** One per-session object of each kind, created on first use and closed with the session. */
function perSession<T extends SessionResource>(
  make: (session: Session) => T,
): (session: Session) => T {
  const all = new WeakMap<Session, T>();
  return (session) => {
    if (session.closed) throw invalidRequest(`session ${session.id} is closed`);
    let found = all.get(session);
    if (!found) {
      found = make(session);
      session.own(found);
      all.set(session, found);
    }
    return found;
  };
}

/** Whole-file reads a session may have in memory at once; the rest wait their turn. */
const CONCURRENT_READS = 2;

const READ_SLOTS = new WeakMap<Session, Slots>();

/**
 * Runs an `fs/readFile` within the session's read slots, once the peer has
 * taken what was already sent: each reply can be as big as the message limit,
 * so a client that fires many at once must neither make the server hold them
 * all in memory nor overflow its own send queue.
 */
function limitedRead<T>(session: Session, fn: () => Promise<T>): Promise<T> {
  let slots = READ_SLOTS.get(session);
  if (!slots) READ_SLOTS.set(session, slots = new Slots(CONCURRENT_READS));
  return slots.run(async () => {
    await session.attachment?.congested();
    return await fn();
  });
}

/**
 * Handlers for every `fs/*` method. The service comes from `service()`, so a
 * server can load it (and Node's fs layer) on the first call.
 */
export function fsHandlers(
  service: () => Promise<FileSystemService>,
): { [M in FsMethodName]: Handler<M> } {
  let watches: ((s: Session) => FsWatchSet) | null = null;
  let handles: ((s: Session) => FileHandles) | null = null;
  let missing: ((s: Session) => MissingWatch) | null = null;
  const watchesOf = (fs: FileSystemService, session: Session) =>
    (watches ??= perSession((s) => fs.watchSet((n) => s.notify("fs/changed", n))))(session);
  const handlesOf = (fs: FileSystemService, session: Session) =>
    (handles ??= perSession(() => fs.handleTable()))(session);
  const missingOf = (fs: FileSystemService, session: Session) =>
    (missing ??= perSession((s) => fs.missingWatch((n) => s.notify("fs/missingChanged", n))))(
      session,
    );
  return {
    "fs/readFile": async (p, ctx) => {
      const fs = await service();
      return await limitedRead(ctx.session, () => fs.readFile(p));
    },
    "fs/writeFile": async (p) => (await service()).writeFile(p),
    "fs/createDirectory": async (p) => (await service()).createDirectory(p),
    "fs/getMetadata": async (p) => (await service()).getMetadata(p),
    "fs/readDirectory": async (p) => (await service()).readDirectory(p),
    "fs/remove": async (p) => (await service()).remove(p),
    "fs/copy": async (p) => (await service()).copy(p),
    "fs/watch": async (p, ctx) => {
      const fs = await service();
      return await fs.watch(watchesOf(fs, ctx.session), p);
    },
    "fs/unwatch": async (p, ctx) => {
      const fs = await service();
      return await fs.unwatch(watchesOf(fs, ctx.session), p);
    },
    "fs/canonicalize": async (p) => (await service()).canonicalize(p),
    "fs/walk": async (p) => (await service()).walk(p),
    "fs/open": async (p, ctx) => {
      const fs = await service();
      return await fs.open(handlesOf(fs, ctx.session), p);
    },
    "fs/readBlock": async (p, ctx) => {
      const fs = await service();
      return await limitedRead(ctx.session, () => fs.readBlock(handlesOf(fs, ctx.session), p));
    },
    "fs/writeBlock": async (p, ctx) => {
      const fs = await service();
      return await fs.writeBlock(handlesOf(fs, ctx.session), p);
    },
    "fs/close": async (p, ctx) => {
      const fs = await service();
      return await fs.closeHandle(handlesOf(fs, ctx.session), p);
    },
    "fs/watchMissing": async (p, ctx) => {
      const fs = await service();
      return await fs.watchMissing(missingOf(fs, ctx.session), p);
    },
  };
}
