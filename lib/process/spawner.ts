// Copyright 2026 the exec-server authors. MIT license.
/**
 * Picks the backend for a start: pipes (`Deno.Command`) or a pseudo-terminal.
 *
 * @module
 */
import type { Spawner } from "./child.ts";
import { internalError } from "../protocol/errors.ts";
import { spawnPiped } from "./pipe.ts";

/** The PTY module, loaded on the first `tty:true` start (it dlopens libc). */
let pty: Promise<typeof import("./pty.ts")> | null = null;

/**
 * The default spawner: `tty:true` runs on a PTY (when FFI is permitted),
 * everything else on pipes.
 */
export const defaultSpawner: Spawner = async (options, sink) => {
  if (!options.tty) return await spawnPiped(options, sink);
  const { ptySupport, spawnPty } = await (pty ??= import("./pty.ts"));
  const support = ptySupport();
  if (!support.ok) throw internalError(support.reason);
  return await spawnPty(options, sink);
};

/** The server's own environment, which an `envPolicy` inherits from. */
export const hostEnv = (): Record<string, string> => Deno.env.toObject();
