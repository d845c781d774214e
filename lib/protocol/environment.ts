// Copyright 2026 the exec-server authors. MIT license.
/**
 * What the executor tells a client about itself, as codex 0.171 has it:
 * `environmentInfo` in the `initialize` result and the `environment/info`
 * result (the same object), `environment/status`, and the capability flags a
 * client gates features on. A flag is true only for what this server
 * implements: {@linkcode capabilitiesOf} derives each one from the method
 * table, so a method added to the table turns its flag on by itself.
 *
 * @module
 */
import { z } from "npm:zod@^4.1.0";
import type { EnvironmentInfo, ShellInfo } from "./wire.ts";

/** The login shell of the server's user: `{name, path}` (e.g. bash, /bin/bash). */
export const ShellInfoSchema = z.object({ name: z.string(), path: z.string() });
/** The login shell of the server's user. */
export type { ShellInfo };

/** Every capability flag codex 0.171 reports, in its wire order. */
export const CAPABILITY_NAMES = [
  "networkProxyLaunch",
  "networkProxyReviewDomains",
  "networkProxyTransparentTcp",
  "credentialMasking",
  "credentialMaskingCustomProviders",
  "capabilityDiscoverySandbox",
  "fsWatchMissing",
  "capabilityDiscoveryV2",
  "environmentConfigRead",
  "httpHeaderEnvVars",
  "sandboxedFileStreaming",
  "fileWriteStreaming",
  "shellSnapshotV2",
  "windowsMxc",
  "linuxRootWritePreservesDevices",
  "linuxApprovedRootWritePreservesRestrictions",
] as const;
/** A capability flag name. */
export type CapabilityName = (typeof CAPABILITY_NAMES)[number];

/**
 * The capability flags. This server sends every one of
 * {@linkcode CAPABILITY_NAMES}; a client accepts a server that sends fewer or
 * more (an absent flag is off).
 */
export const EnvironmentCapabilitiesSchema = z.looseObject(
  Object.fromEntries(CAPABILITY_NAMES.map((n) => [n, z.boolean().optional()])) as {
    [K in CapabilityName]: z.ZodOptional<z.ZodBoolean>;
  },
);
/** The capability flags. */
export type EnvironmentCapabilities = Record<CapabilityName, boolean>;

/**
 * The executor's facts. Paths are `file://` URIs. `prependPathDirs` (helper
 * programs' directories a client puts first on PATH) is absent when there are
 * none, as codex leaves it out.
 */
export const EnvironmentInfoSchema = z.object({
  shell: ShellInfoSchema,
  /** This server's version (deno.json's). */
  executorVersion: z.string(),
  /** An opaque id, stable for this host and user: `sha256:<hex>`. */
  providerId: z.string(),
  /** The server process's working directory. */
  cwd: z.string(),
  /** The server user's home (`$HOME`). */
  userHomeDir: z.string(),
  /** `linux`, `macos` or `windows`. */
  platformOs: z.string(),
  prependPathDirs: z.array(z.string()).optional(),
  /** `$TMPDIR` when set, else empty. */
  temporaryDirectories: z.array(z.string()),
  /** `$TMPDIR`, else `/tmp`. */
  tempDir: z.string(),
  capabilities: EnvironmentCapabilitiesSchema,
});
/** The executor's facts; see {@linkcode EnvironmentInfoSchema}. */
export type { EnvironmentInfo };

/**
 * Params of methods whose params are codex's unit type: absent, `null` or
 * `{}` (the server reads the first two as `{}`); any key is -32602.
 */
export const UnitParamsSchema = z.strictObject({}, {
  error: () => "invalid type: map, expected unit",
});

/** `environment/status` result; only `"ready"` is ever sent. */
export const EnvironmentStatusResultSchema = z.object({ status: z.string() });

/** The environment methods, ready to be spread into the method table. */
export const ENVIRONMENT_METHODS = {
  "environment/info": { params: UnitParamsSchema, result: EnvironmentInfoSchema },
  "environment/status": { params: UnitParamsSchema, result: EnvironmentStatusResultSchema },
} as const;

/** What a capability flag needs from the method table. */
interface MethodTable {
  readonly [method: string]: { readonly params: z.ZodType };
}

/** Whether every method of `names` is in `methods`. */
function all(methods: MethodTable, ...names: string[]): boolean {
  return names.every((n) => Object.hasOwn(methods, n));
}

/** Whether `method`'s params schema keeps a header's `valueEnvVar`. */
function keepsHeaderEnvVar(methods: MethodTable): boolean {
  if (!all(methods, "http/request")) return false;
  const header = { name: "x-probe", value: "", valueEnvVar: "PROBE" };
  const parsed = methods["http/request"]!.params.safeParse({
    method: "GET",
    url: "http://127.0.0.1/",
    requestId: "probe",
    headers: [header],
  });
  const headers = parsed.success ? (parsed.data as { headers?: unknown }).headers : undefined;
  return Array.isArray(headers) && (headers[0] as typeof header)?.valueEnvVar === "PROBE";
}

/**
 * The capability flags for a method table: each one is true only when what it
 * makes a client use is implemented. Managed network, credential masking,
 * shell snapshots and the sandbox-semantics flags have no implementation here
 * and stay false.
 *
 * @example
 * ```ts
 * import { capabilitiesOf } from "./environment.ts";
 * import { z } from "npm:zod@^4.1.0";
 * import assert from "node:assert/strict";
 * const m = { params: z.object({}) };
 * assert.equal(capabilitiesOf({}).fsWatchMissing, false);
 * assert.equal(capabilitiesOf({ "fs/watchMissing": m }).fsWatchMissing, true);
 * assert.equal(capabilitiesOf({ "fs/watchMissing": m }).networkProxyLaunch, false);
 * ```
 */
export function capabilitiesOf(methods: MethodTable): EnvironmentCapabilities {
  const streaming = all(methods, "fs/open", "fs/readBlock", "fs/writeBlock", "fs/close");
  const flags: Record<CapabilityName, boolean> = {
    networkProxyLaunch: false,
    networkProxyReviewDomains: false,
    networkProxyTransparentTcp: false,
    credentialMasking: false,
    credentialMaskingCustomProviders: false,
    // discoverV2 under a sandbox: needs sandbox enforcement as well.
    capabilityDiscoverySandbox: false,
    fsWatchMissing: all(methods, "fs/watchMissing"),
    capabilityDiscoveryV2: all(methods, "capabilities/discoverV2"),
    environmentConfigRead: all(methods, "environmentConfig/read"),
    httpHeaderEnvVars: keepsHeaderEnvVar(methods),
    sandboxedFileStreaming: streaming,
    fileWriteStreaming: streaming,
    shellSnapshotV2: false,
    windowsMxc: false,
    linuxRootWritePreservesDevices: false,
    linuxApprovedRootWritePreservesRestrictions: false,
  };
  return flags;
}

/**
 * The lifecycle group of a method, as codex names it in "client must call
 * initialize before using G methods".
 *
 * @example
 * ```ts
 * import { methodGroup } from "./environment.ts";
 * import assert from "node:assert/strict";
 * assert.equal(methodGroup("fs/readFile"), "filesystem");
 * assert.equal(methodGroup("environment/info"), "environment info");
 * assert.equal(methodGroup("process/start"), "exec");
 * ```
 */
export function methodGroup(method: string): string {
  if (method.startsWith("fs/")) return "filesystem";
  if (method === "environment/info") return "environment info";
  if (method === "environment/status") return "environment status";
  if (method.startsWith("http/")) return "http";
  if (method.startsWith("environmentConfig/")) return "environment config";
  if (method.startsWith("capabilities/")) return "capability discovery";
  return "exec";
}
