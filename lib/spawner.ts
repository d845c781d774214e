// Copyright 2026 the exec-server authors. MIT license.
/**
 * Picks the backend for a start: pipes (`Deno.Command`) or a pseudo-terminal.
 *
 * @module
 */
import type { Spawner } from "./child.ts";
import { internalError } from "./errors.ts";
import { spawnPiped } from "./process.ts";
import { ptySupport, spawnPty } from "./pty.ts";

/**
 * The default spawner: `tty:true` runs on a PTY (when FFI is permitted),
 * everything else on pipes.
 */
export const defaultSpawner: Spawner = (options, sink) => {
  if (!options.tty) return spawnPiped(options, sink);
  const support = ptySupport();
  if (!support.ok) return Promise.reject(internalError(support.reason));
  return spawnPty(options, sink);
};
