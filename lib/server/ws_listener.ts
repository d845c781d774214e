// Copyright 2026 the exec-server authors. MIT license.
/**
 * The accept loop of the WebSocket edge. It outlives accept errors (EMFILE,
 * ENFILE and the like: it backs off and tries again), keeps the sockets it
 * holds below a share of the descriptor limit, and bounds the connections
 * that have not finished their request yet: each has a deadline, and when
 * there are too many the oldest is dropped for the newest.
 *
 * @module
 */
import { messageOf } from "../util/errors.ts";
import type { Logger } from "../util/logger.ts";
import type { Clock } from "../util/clock.ts";

/** Options for {@linkcode acceptLoop}. */
export interface AcceptOptions {
  /** Connections still sending their request head. */
  maxPending: number;
  /** Every socket the loop may hold: pending ones plus those `active()` counts. */
  maxSockets: number;
  /** Upgraded sockets now. */
  active(): number;
  /** Serves one accepted connection; `done` must be called once it no longer pending. */
  serve(conn: Deno.Conn, done: () => void): void;
  /** For logs and backoff. */
  log: Logger;
  /** Backoff timers. */
  clock: Clock;
}

/**
 * The soft limit on open file descriptors (RLIMIT_NOFILE), read from
 * /proc/self/limits; null where that is unavailable. Deno refuses /proc
 * without `--allow-all`, so under the permissions the server ships with the
 * file is read through libc (when FFI is allowed), loaded only then.
 *
 * @example
 * ```ts ignore
 * const limit = await openFileLimit(); // e.g. 1024, or 20000 under a raised limit
 * ```
 */
export async function openFileLimit(): Promise<number | null> {
  let text: string | null;
  try {
    text = await Deno.readTextFile(LIMITS);
  } catch {
    try {
      const { sysfs } = await import("../process/sysfs.ts");
      text = sysfs().read(LIMITS);
    } catch {
      return null;
    }
  }
  const m = text === null ? null : /^Max open files\s+(\d+|unlimited)/m.exec(text);
  if (!m) return null;
  return m[1] === "unlimited" ? null : Number(m[1]);
}

const LIMITS = "/proc/self/limits";

function isGone(err: unknown): boolean {
  return err instanceof Deno.errors.BadResource || err instanceof Deno.errors.Interrupted;
}

/**
 * Accepts connections until the listener is closed. Resolves then; never
 * rejects.
 */
export async function acceptLoop(listener: Deno.Listener, options: AcceptOptions): Promise<void> {
  const { log, clock } = options;
  const pending = new Map<Deno.Conn, () => void>(); // insertion order: oldest first
  let backoffMs = 0;
  let lastWarn = -Infinity;
  for (;;) {
    let conn: Deno.Conn;
    try {
      conn = await listener.accept();
      backoffMs = 0;
    } catch (err) {
      if (isGone(err)) break;
      // EMFILE, ENFILE, ENOMEM, ECONNABORTED…: the listener itself is fine.
      backoffMs = Math.min(1000, Math.max(10, backoffMs * 2));
      if (clock.now() - lastWarn >= 5000) {
        lastWarn = clock.now();
        log.warn(`accepting a connection failed: ${messageOf(err)}; retrying in ${backoffMs} ms`);
      }
      await new Promise<void>((resolve) => clock.setTimer(resolve, backoffMs));
      continue;
    }
    if (conn.remoteAddr.transport === "tcp" && "setNoDelay" in conn) {
      try {
        (conn as Deno.TcpConn).setNoDelay(true);
      } catch {
        // not a TCP socket after all
      }
    }
    // Make room: the oldest pending connection goes first (a real client
    // sends its request at once, a slow or idle one is the oldest).
    while (
      pending.size > 0 &&
      (pending.size >= options.maxPending || pending.size + options.active() >= options.maxSockets)
    ) {
      const [oldest, drop] = pending.entries().next().value!;
      pending.delete(oldest);
      drop();
    }
    if (pending.size + options.active() >= options.maxSockets) {
      if (clock.now() - lastWarn >= 5000) {
        lastWarn = clock.now();
        log.warn(
          `too many connections: ${options.active()} open, the limit is ${options.maxSockets}`,
        );
      }
      closeQuietly(conn);
      continue;
    }
    let settled = false;
    const done = () => {
      if (settled) return;
      settled = true;
      pending.delete(conn);
    };
    pending.set(conn, () => {
      done();
      closeQuietly(conn);
    });
    try {
      options.serve(conn, done);
    } catch (err) {
      log.error(`serving a connection failed: ${messageOf(err)}`);
      done();
      closeQuietly(conn);
    }
  }
  for (const drop of [...pending.values()]) drop();
}

/** Closes a connection that may already be closed. */
export function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // already closed
  }
}
