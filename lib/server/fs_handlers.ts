// Copyright 2026 the exec-server authors. MIT license.
/**
 * Binds the `fs/*` methods of the method table to a
 * {@linkcode FileSystemService}; watches belong to the caller's session.
 *
 * @module
 */
import { invalidRequest } from "../protocol/errors.ts";
import type { FileSystemService } from "../fs/service.ts";
import type { FsMethodName } from "../protocol/fs.ts";
import { FsWatchSet } from "../fs/watch.ts";
import type { Handler } from "./process_handlers.ts";
import type { Session } from "./session.ts";

const WATCHES = new WeakMap<Session, FsWatchSet>();

/** Whole-file reads a session may have in memory at once; the rest wait their turn. */
const CONCURRENT_READS = 2;

/** A counting semaphore. */
class Slots {
  #free: number;
  readonly #waiting: (() => void)[] = [];

  constructor(size: number) {
    this.#free = size;
  }

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#free > 0) this.#free--;
    else await new Promise<void>((resolve) => this.#waiting.push(resolve));
    try {
      return await fn();
    } finally {
      const next = this.#waiting.shift();
      if (next) next();
      else this.#free++;
    }
  }
}

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

/** The session's watch set, created on first use and closed with the session. */
function watchesOf(session: Session): FsWatchSet {
  if (session.closed) throw invalidRequest(`session ${session.id} is closed`);
  let set = WATCHES.get(session);
  if (!set) {
    const created = new FsWatchSet((n) => session.notify("fs/changed", n));
    session.own(created);
    WATCHES.set(session, created);
    set = created;
  }
  return set;
}

/**
 * Handlers for every `fs/*` method. The service comes from `service()`, so a
 * server can load it (and Node's fs layer) on the first call.
 */
export function fsHandlers(
  service: () => Promise<FileSystemService>,
): { [M in FsMethodName]: Handler<M> } {
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
    "fs/watch": async (p, ctx) => (await service()).watch(watchesOf(ctx.session), p),
    "fs/unwatch": async (p, ctx) => (await service()).unwatch(watchesOf(ctx.session), p),
  };
}
