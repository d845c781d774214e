// Copyright 2026 the exec-server authors. MIT license.
/**
 * The sandbox flags of `serve`: an operator's default profile and the bwrap
 * to use. The profile schema loads only when `--sandbox` is given, so that
 * a server without one does not load the protocol's schemas at start.
 *
 * @module
 */
import type { FileSystemSandboxContextInput } from "../protocol/sandbox.ts";
import type { SandboxServiceOptions } from "../sandbox/service.ts";
import { UsageError } from "./flags.ts";
import { messageOf } from "../util/mod.ts";

/** `serve`'s sandbox flags, for its flag table. */
export const SERVE_SANDBOX_FLAGS = {
  "sandbox": { type: "string" },
  "sandbox-writable": { type: "string", multiple: true },
  "sandbox-network": { type: "boolean" },
  "bwrap": { type: "string" },
} as const;

/** `serve --help` lines for them. */
export const SERVE_SANDBOX_HELP = `Sandbox (bubblewrap; see the README's "Sandbox" section)
  --sandbox PROFILE        confine every process and fs/* call that brings no profile, and cap
                           every one that does (a client profile is intersected with it, so no
                           client gets more): workspace-write, read-only, network-only, or a
                           JSON file holding a codex FileSystemSandboxContext
  --sandbox-writable DIR   with --sandbox workspace-write: a writable directory (repeatable;
                           /tmp and $TMPDIR are writable too); none by default
  --sandbox-network        with --sandbox: let processes reach the network (default: cut off)
  --bwrap PATH             the bubblewrap executable (default: bwrap in this server's PATH, else
                           /usr/bin/bwrap). Without it, sandboxed starts fail; nothing runs
                           unconfined
`;

/** Values of {@linkcode SERVE_SANDBOX_FLAGS}. */
export interface ServeSandboxValues {
  sandbox?: string | undefined;
  "sandbox-writable"?: string[] | undefined;
  "sandbox-network"?: boolean | undefined;
  bwrap?: string | undefined;
}

/**
 * The sandbox service options `serve`'s flags ask for.
 *
 * @throws {UsageError} For an unknown profile, a bad JSON file, or flags
 * that need `--sandbox`.
 */
export async function serveSandboxOptions(v: ServeSandboxValues): Promise<SandboxServiceOptions> {
  const options: SandboxServiceOptions = {};
  if (v.bwrap !== undefined) options.bwrap = v.bwrap;
  const writable = v["sandbox-writable"] ?? [];
  if (v.sandbox === undefined) {
    if (writable.length > 0 || v["sandbox-network"]) {
      throw new UsageError("--sandbox-writable and --sandbox-network need --sandbox PROFILE");
    }
    return options;
  }
  // The profile schema (and zod) load only for a server started with --sandbox.
  const { FileSystemSandboxContextSchema, sandboxProfile } = await import(
    "../protocol/sandbox.ts"
  );
  let input: FileSystemSandboxContextInput;
  if (
    v.sandbox === "workspace-write" || v.sandbox === "read-only" || v.sandbox === "network-only"
  ) {
    if (writable.length > 0 && v.sandbox !== "workspace-write") {
      throw new UsageError("--sandbox-writable needs --sandbox workspace-write");
    }
    for (const dir of writable) {
      if (!dir.startsWith("/")) throw new UsageError(`--sandbox-writable ${dir}: must be absolute`);
    }
    input = sandboxProfile({
      mode: v.sandbox,
      writable,
      network: v["sandbox-network"] ?? false,
    });
  } else {
    if (writable.length > 0 || v["sandbox-network"]) {
      throw new UsageError(
        "--sandbox-writable and --sandbox-network apply to the built-in profiles; " +
          "put them in the JSON file instead",
      );
    }
    let raw: unknown;
    try {
      raw = JSON.parse(await Deno.readTextFile(v.sandbox));
    } catch (err) {
      throw new UsageError(
        `--sandbox ${v.sandbox}: not workspace-write, read-only or network-only, and not a ` +
          `readable JSON file (${messageOf(err)})`,
      );
    }
    input = raw as FileSystemSandboxContextInput;
  }
  const parsed = FileSystemSandboxContextSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new UsageError(
      `--sandbox ${v.sandbox}: ${issue.path.join(".") || "profile"}: ${issue.message}`,
    );
  }
  options.defaultProfile = parsed.data;
  return options;
}
