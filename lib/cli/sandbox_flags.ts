// Copyright 2026 the exec-server authors. MIT license.
/**
 * The sandbox flags of `exec` (a profile for one command); `serve`'s are in
 * `serve_sandbox.ts`.
 *
 * @module
 */
import { type FileSystemSandboxContextInput, sandboxProfile } from "../protocol/sandbox.ts";
import { UsageError } from "./flags.ts";

/** `exec`'s sandbox flags, for its flag table. */
export const EXEC_SANDBOX_FLAGS = {
  "sandbox": { type: "string" },
  "writable": { type: "string", multiple: true },
  "read-only": { type: "boolean" },
  "network": { type: "boolean" },
  "no-network": { type: "boolean" },
} as const;

/** `exec --help` lines for them. */
export const EXEC_SANDBOX_HELP =
  `Sandbox (enforced by the server with bubblewrap; it refuses what it cannot enforce)
  --sandbox MODE           workspace-write (the --cwd directory, /tmp and $TMPDIR writable, the
                           rest read-only) or read-only; the network is cut off unless --network
  --writable DIR           another writable directory (repeatable; implies workspace-write)
  --read-only              same as --sandbox read-only
  --network                with a sandbox: let CMD reach the network
  --no-network             cut CMD off the network (alone: the file system stays unrestricted)
`;

/** Values of {@linkcode EXEC_SANDBOX_FLAGS}. */
export interface ExecSandboxValues {
  sandbox?: string | undefined;
  writable?: string[] | undefined;
  "read-only"?: boolean | undefined;
  network?: boolean | undefined;
  "no-network"?: boolean | undefined;
}

/**
 * The profile `exec`'s flags ask for, or undefined for none.
 *
 * @example
 * ```ts
 * import { execSandboxProfile } from "./sandbox_flags.ts";
 * import assert from "node:assert/strict";
 * assert.equal(execSandboxProfile({}, "/"), undefined);
 * const p = execSandboxProfile({ writable: ["/data"] }, "/src");
 * assert.deepEqual(p?.workspaceRoots, ["file:///src", "file:///data"]);
 * assert.equal(execSandboxProfile({ "no-network": true }, "/")?.permissions.type, "external");
 * ```
 *
 * @throws {UsageError} For contradicting flags or an unknown mode.
 */
export function execSandboxProfile(
  v: ExecSandboxValues,
  cwd: string,
): FileSystemSandboxContextInput | undefined {
  if (v.network && v["no-network"]) throw new UsageError("--network and --no-network contradict");
  let mode = v.sandbox;
  if (v["read-only"]) {
    if (mode !== undefined && mode !== "read-only") {
      throw new UsageError(`--read-only contradicts --sandbox ${mode}`);
    }
    mode = "read-only";
  }
  const writable = v.writable ?? [];
  if (writable.length > 0) {
    if (mode === "read-only") throw new UsageError("--writable contradicts a read-only sandbox");
    mode ??= "workspace-write";
  }
  for (const dir of writable) {
    if (!dir.startsWith("/")) throw new UsageError(`--writable ${dir}: must be an absolute path`);
  }
  if (mode === undefined) {
    if (v.network) throw new UsageError("--network needs --sandbox MODE");
    return v["no-network"] ? sandboxProfile({ mode: "network-only", cwd }) : undefined;
  }
  if (mode !== "workspace-write" && mode !== "read-only") {
    throw new UsageError(`--sandbox must be workspace-write or read-only, got ${mode}`);
  }
  return sandboxProfile({
    mode,
    writable: mode === "workspace-write" ? [cwd, ...writable] : [],
    cwd,
    network: v.network ?? false,
  });
}
