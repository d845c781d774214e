// Copyright 2026 the exec-server authors. MIT license.
/**
 * The host facts behind `environmentInfo`, gathered from the OS once per
 * server: the server user's login shell (from the passwd entry, as codex
 * does, never `$SHELL`), home, cwd, temp directory and a host-stable provider
 * id. The core receives the result as an option; this is the only place they
 * are read.
 *
 * @module
 */
import { capabilitiesOf, type EnvironmentInfo, type ShellInfo } from "../protocol/environment.ts";
import { METHODS } from "../protocol/methods.ts";
import { pathToFileUri } from "../protocol/sandbox.ts";
import { sha256Hex } from "../util/sha256.ts";
import { VERSION } from "../util/version.ts";

/** What {@linkcode hostFacts} reads; each may be absent where a permission is missing. */
export interface HostFacts {
  /** The server user's uid, or null. */
  uid: number | null;
  /** `/etc/passwd`'s text, or null. */
  passwd: string | null;
  /** The process's environment (HOME, TMPDIR, SHELL). */
  env: Record<string, string | undefined>;
  /** The process's cwd. */
  cwd: string;
  /** `Deno.build.os`. */
  os: string;
  /** `/etc/machine-id` (or the hostname), for the provider id. */
  machineId: string;
}

function attempt<T>(read: () => T, fallback: T): T {
  try {
    return read();
  } catch {
    return fallback;
  }
}

/** Reads the facts from this process and host, never throwing. */
function hostFacts(): HostFacts {
  const env = attempt(() => Deno.env.toObject(), {} as Record<string, string>);
  return {
    uid: attempt(() => Deno.uid(), null),
    passwd: attempt(() => Deno.readTextFileSync("/etc/passwd"), null),
    env,
    cwd: attempt(() => Deno.cwd(), "/"),
    os: Deno.build.os,
    machineId: attempt(
      () => Deno.readTextFileSync("/etc/machine-id").trim(),
      attempt(() => Deno.hostname(), ""),
    ),
  };
}

/** The passwd entry of `uid`: `[name, pw, uid, gid, gecos, home, shell]`. */
function passwdEntry(passwd: string | null, uid: number | null): string[] | null {
  if (passwd === null || uid === null) return null;
  for (const line of passwd.split("\n")) {
    const fields = line.split(":");
    if (fields.length >= 7 && Number(fields[2]) === uid) return fields;
  }
  return null;
}

function shellOf(path: string): ShellInfo {
  return { name: path.slice(path.lastIndexOf("/") + 1), path };
}

const PLATFORM: Record<string, string> = { darwin: "macos", windows: "windows" };

/** The file URI of an absolute path, without a trailing slash (as codex sends them). */
function uri(path: string): string {
  const trimmed = path.replace(/\/+$/, "");
  return pathToFileUri(trimmed === "" ? "/" : trimmed);
}

/**
 * The `environmentInfo` object for `facts`, in codex's key order. The shell is
 * the passwd entry's (`$SHELL` only when there is no entry, then `/bin/sh`);
 * paths become file URIs; capability flags follow the method table.
 *
 * @example
 * ```ts
 * import { environmentInfoOf } from "./edge_host.ts";
 * import assert from "node:assert/strict";
 * const info = environmentInfoOf({
 *   uid: 1000, passwd: "me:x:1000:1000::/home/me:/usr/bin/zsh\n",
 *   env: { HOME: "/home/me", SHELL: "/bin/sh" }, cwd: "/srv", os: "linux", machineId: "m",
 * });
 * assert.deepEqual(info.shell, { name: "zsh", path: "/usr/bin/zsh" });
 * assert.equal(info.tempDir, "file:///tmp");
 * assert.deepEqual(info.temporaryDirectories, []);
 * ```
 */
export function environmentInfoOf(facts: HostFacts): EnvironmentInfo {
  const entry = passwdEntry(facts.passwd, facts.uid);
  const shellPath = entry?.[6] || facts.env.SHELL || "/bin/sh";
  const home = facts.env.HOME || entry?.[5] || "/";
  const tmpdir = facts.env.TMPDIR?.startsWith("/") ? facts.env.TMPDIR : undefined;
  const id = sha256Hex(`exec-server\0${facts.machineId}\0${facts.uid ?? ""}`);
  return {
    shell: shellOf(shellPath),
    executorVersion: VERSION,
    providerId: `sha256:${id}`,
    cwd: uri(facts.cwd),
    userHomeDir: uri(home.startsWith("/") ? home : "/"),
    platformOs: PLATFORM[facts.os] ?? facts.os,
    temporaryDirectories: tmpdir ? [uri(tmpdir)] : [],
    tempDir: uri(tmpdir ?? "/tmp"),
    capabilities: capabilitiesOf(METHODS),
  };
}

/** This server's `environmentInfo`, read from the host now. */
export function hostEnvironmentInfo(): EnvironmentInfo {
  return environmentInfoOf(hostFacts());
}
