// Copyright 2026 the exec-server authors. MIT license.
/**
 * In-process servers for tests: a real server core reached through the
 * in-memory transport, quiet by default.
 *
 * @module
 */
import { MemoryServer, type MemoryServerOptions } from "../lib/memory/mod.ts";
import { ptySupport } from "../lib/process/pty.ts";
import { NULL_LOGGER } from "../lib/util/mod.ts";

// A server opens libc once, for its first terminal, and keeps it for good.
// Opening it here, outside any test, keeps the resource sanitizer from
// counting that one-time load against whichever test starts a terminal first.
ptySupport();

/** Starts an in-process server (silent unless `logger` is given). */
export function memoryServer(options: MemoryServerOptions = {}): Promise<MemoryServer> {
  return MemoryServer.start({ logger: NULL_LOGGER, ...options });
}
