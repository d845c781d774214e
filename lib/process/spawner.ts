// Copyright 2026 the exec-server authors. MIT license.
/**
 * Picks the backend for a start: a pseudo-terminal, FFI pipes (posix_spawn
 * and the shared reactor) where FFI is allowed, else `Deno.Command` pipes.
 *
 * @module
 */
import type { Spawner } from "./child.ts";
import { internalError } from "../protocol/errors.ts";
import { spawnPipedCommand } from "./pipe.ts";
import { spawnPipedFfi } from "./pipe_ffi.ts";
import { libc } from "./ffi_libc.ts";

/** The PTY module, loaded on the first `tty:true` start (it dlopens libc). */
let pty: Promise<typeof import("./pty.ts")> | null = null;
/**
 * Spawns a piped child: over FFI where allowed (no extra exec, reads into
 * frames on the shared reactor), else with `Deno.Command`.
 */
export const spawnPiped: Spawner = (options, sink) =>
  ffiPipesAllowed() ? spawnPipedFfi(options, sink) : spawnPipedCommand(options, sink);

let ffiAllowed: boolean | null = null;

/** Linux with glibc and the --allow-ffi permission (as for terminals). */
function ffiPipesAllowed(): boolean {
  if (ffiAllowed !== null) return ffiAllowed;
  const { os, arch } = Deno.build;
  if (os !== "linux" || (arch !== "x86_64" && arch !== "aarch64")) return ffiAllowed = false;
  if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") return ffiAllowed = false;
  try {
    libc();
    return ffiAllowed = true;
  } catch {
    return ffiAllowed = false;
  }
}

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
