// Copyright 2026 the exec-server authors. MIT license.
/**
 * The sandbox object codex 0.171 sends with `process/start` and `fs/*`:
 * `FileSystemSandboxContext`, with its `PermissionProfile`. The schemas accept
 * exactly what 0.171's server accepts (measured from its serde errors):
 * required and optional fields, enum values
 * and aliases (`none` for `deny`, `current_working_directory` for
 * `project_roots`), `file://` URIs for every path. Unknown keys are ignored,
 * as serde does. Error messages follow serde's wording, so a client sees the
 * same text from either server.
 *
 * Paths stay URIs in the parsed value; {@linkcode fileUriToPath} turns one
 * into a native path (the policy compiler does that).
 *
 * @example Parsing the smallest valid object
 * ```ts
 * import { FileSystemSandboxContextSchema } from "./sandbox.ts";
 * import assert from "node:assert/strict";
 * const ctx = FileSystemSandboxContextSchema.parse({
 *   permissions: { type: "disabled" },
 *   windowsSandboxLevel: "disabled",
 * });
 * assert.equal(ctx.permissions.type, "disabled");
 * ```
 *
 * @module
 */
import { z } from "npm:zod@^4.1.0";
import type {
  Access,
  FileSystemEntry,
  FileSystemSandboxContext,
  FileSystemSandboxContextInput,
  FsPath,
  ManagedFileSystem,
  NetworkMode,
  PermissionProfile,
  SandboxType,
  SpecialPath,
} from "./wire.ts";

// -- serde-like messages --

/** Describes a JSON value the way serde names an unexpected one. */
function describe(input: unknown): string {
  if (input === null) return "null";
  if (input === undefined) return "nothing";
  if (typeof input === "boolean") return `boolean \`${input}\``;
  if (typeof input === "number") {
    return Number.isInteger(input) ? `integer \`${input}\`` : `floating point \`${input}\``;
  }
  if (typeof input === "string") return `string ${JSON.stringify(input)}`;
  if (Array.isArray(input)) return "sequence";
  return "map";
}

/** "`a`", "`a` or `b`", "one of `a`, `b`, `c`", as serde lists variants. */
function variants(values: readonly string[]): string {
  const quoted = values.map((v) => `\`${v}\``);
  if (quoted.length === 1) return quoted[0]!;
  if (quoted.length === 2) return `${quoted[0]} or ${quoted[1]}`;
  return `one of ${quoted.join(", ")}`;
}

/** An error function: "missing field `name`" or "invalid type: …, expected …". */
function typeError(name: string, expected: string) {
  return (issue: { input?: unknown }) =>
    issue.input === undefined
      ? `missing field \`${name}\``
      : `invalid type: ${describe(issue.input)}, expected ${expected}`;
}

/** A string enum with serde's "unknown variant" message. */
function variantEnum<const T extends readonly [string, ...string[]]>(name: string, values: T) {
  return z.enum(values, {
    error: (issue) =>
      typeof issue.input === "string"
        ? `unknown variant \`${issue.input}\`, expected ${variants(values)}`
        : typeError(name, "a string")(issue),
  });
}

/** The error of an internally tagged enum whose tag is missing or unknown. */
function tagError(tag: string, name: string, values: readonly string[]) {
  return (issue: { input?: unknown }) => {
    const input = issue.input;
    if (input === undefined) return `missing field \`${name}\``;
    if (typeof input !== "object" || input === null || Array.isArray(input)) {
      return `invalid type: ${describe(input)}, expected internally tagged enum`;
    }
    const value = (input as Record<string, unknown>)[tag];
    if (value === undefined) return `missing field \`${tag}\``;
    if (typeof value !== "string") {
      return `invalid type: ${describe(value)}, expected a string`;
    }
    return `unknown variant \`${value}\`, expected ${variants(values)}`;
  };
}

// -- File URIs --

/**
 * Why `uri` is not a file URI codex accepts as a sandbox path, or
 * `undefined` when it is one.
 */
function fileUriProblem(uri: string): string | undefined {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return "invalid URI: relative URL without a base";
  }
  if (url.protocol !== "file:") {
    return `unsupported path URI scheme \`${url.protocol.slice(0, -1)}\``;
  }
  if (url.search !== "" || url.href.includes("?")) {
    return "query parameters are not allowed in path URIs";
  }
  if (url.hash !== "" || url.href.includes("#")) return "fragments are not allowed in path URIs";
  if (url.hostname !== "") return `'${uri}' is invalid on 'linux'`;
  let path: string;
  try {
    path = decodeURIComponent(url.pathname);
  } catch {
    return `'${uri}' is invalid on 'linux'`;
  }
  // A NUL cannot be in a path; an encoded "/" would be a name no file has.
  if (path.includes("\0") || /%2f/i.test(url.pathname)) return `'${uri}' is invalid on 'linux'`;
  return undefined;
}

/**
 * The native absolute path of a `file://` URI, percent-decoded and
 * normalized (`.` and `..` removed, as URL parsing does; no trailing slash
 * except for `/`).
 *
 * @throws {TypeError} When `uri` is not a file URI (see {@linkcode fileUriProblem}).
 *
 * @example
 * ```ts
 * import { fileUriToPath } from "./sandbox.ts";
 * import assert from "node:assert/strict";
 * assert.equal(fileUriToPath("file:///tmp/a%20b/../c/"), "/tmp/c");
 * assert.equal(fileUriToPath("file://localhost/etc"), "/etc");
 * assert.throws(() => fileUriToPath("/etc"), /relative URL without a base/);
 * ```
 */
export function fileUriToPath(uri: string): string {
  const problem = fileUriProblem(uri);
  if (problem !== undefined) throw new TypeError(problem);
  const path = decodeURIComponent(new URL(uri).pathname).replace(/\/+/g, "/");
  return path.length > 1 && path.endsWith("/") ? path.slice(0, -1) : path;
}

/**
 * The `file://` URI of a native absolute path, each name percent-encoded.
 *
 * @throws {TypeError} When `path` is not absolute or contains a NUL.
 *
 * @example
 * ```ts
 * import { fileUriToPath, pathToFileUri } from "./sandbox.ts";
 * import assert from "node:assert/strict";
 * assert.equal(pathToFileUri("/tmp/a b/q%.txt"), "file:///tmp/a%20b/q%25.txt");
 * assert.equal(fileUriToPath(pathToFileUri("/tmp/a#b?c")), "/tmp/a#b?c");
 * ```
 */
export function pathToFileUri(path: string): string {
  if (!path.startsWith("/") || path.includes("\0")) {
    throw new TypeError(`not an absolute path: ${JSON.stringify(path)}`);
  }
  return `file://${path.split("/").map(encodeURIComponent).join("/")}`;
}

/** A `file://` URI (codex's `AbsolutePathBuf` on the wire). */
export const FileUriSchema = z.string({ error: typeError("path", "a string") }).superRefine(
  (uri, ctx) => {
    const problem = fileUriProblem(uri);
    if (problem !== undefined) ctx.addIssue({ code: "custom", message: problem });
  },
);

// -- Permission profile --

/** Network mode of a profile. */
export const NetworkModeSchema = variantEnum("network", ["restricted", "enabled"]);
/** Network mode of a profile. */
export type { NetworkMode };

/** Access of an entry; `none` is read as its legacy alias `deny`. */
export const AccessSchema = variantEnum("access", ["read", "write", "deny", "none"]).transform(
  (access) => access === "none" ? "deny" : access,
);
/** Access of an entry (after the `none` alias is folded into `deny`). */
export type { Access };

const subpath = z.string({ error: typeError("subpath", "a string") }).nullish();

const SPECIAL_KINDS = [
  "root",
  "minimal",
  "current_working_directory",
  "project_roots",
  "tmpdir",
  "slash_tmp",
  "unknown",
] as const;

/**
 * A special path: `root` (`/`), `minimal` (the platform's system dirs),
 * `project_roots` (each of `workspaceRoots`, optionally `/subpath`;
 * `current_working_directory` is its alias), `tmpdir` (`$TMPDIR` of the
 * command), `slash_tmp` (`/tmp`), or `unknown` (a kind from a newer client).
 */
export const SpecialPathSchema = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("root") }),
  z.object({ kind: z.literal("minimal") }),
  z.object({ kind: z.literal("current_working_directory"), subpath }),
  z.object({ kind: z.literal("project_roots"), subpath }),
  z.object({ kind: z.literal("tmpdir") }),
  z.object({ kind: z.literal("slash_tmp") }),
  z.object({
    kind: z.literal("unknown"),
    path: z.string({ error: typeError("path", "a string") }),
    subpath,
  }),
], { error: tagError("kind", "value", SPECIAL_KINDS) });
/** A special path. */
export type { SpecialPath };

/** What an entry names: a path, a glob pattern, or a special path. */
export const FsPathSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("path"), path: FileUriSchema }),
  z.object({
    type: z.literal("glob_pattern"),
    pattern: z.string({ error: typeError("pattern", "a string") }),
  }),
  z.object({ type: z.literal("special"), value: SpecialPathSchema }),
], { error: tagError("type", "path", ["path", "glob_pattern", "special"]) });
/** What an entry names. */
export type { FsPath };

/** One file-system entry: a path and the access it gets. */
export const FileSystemEntrySchema = z.object({
  path: FsPathSchema,
  access: AccessSchema,
  missing_path_behavior: variantEnum("missing_path_behavior", ["skip"]).nullish(),
}, { error: typeError("entry", "struct FileSystemSandboxEntry") });
/** One file-system entry. */
export type { FileSystemEntry };

const depth = z.int({
  error: (issue) =>
    typeof issue.input === "number"
      ? `invalid type: floating point \`${issue.input}\`, expected a nonzero usize`
      : `invalid type: ${describe(issue.input)}, expected a nonzero usize`,
}).min(1, {
  error: (issue) => `invalid value: integer \`${issue.input}\`, expected a nonzero usize`,
});

/** The managed file-system policy: restricted to entries, or unrestricted. */
export const ManagedFileSystemSchema = z.discriminatedUnion("type", [
  z.object({
    type: z.literal("restricted"),
    entries: z.array(FileSystemEntrySchema, { error: typeError("entries", "a sequence") }),
    glob_scan_max_depth: depth.nullish(),
  }),
  z.object({ type: z.literal("unrestricted") }),
], { error: tagError("type", "file_system", ["restricted", "unrestricted"]) });
/** The managed file-system policy. */
export type { ManagedFileSystem };

/**
 * A permission profile: `managed` (a file-system policy and a network mode),
 * `disabled` (no sandbox), or `external` (the file system is someone else's
 * concern; only the network mode).
 */
export const PermissionProfileSchema = z.discriminatedUnion("type", [
  z.object({
    type: z.literal("managed"),
    file_system: ManagedFileSystemSchema,
    network: NetworkModeSchema,
  }),
  z.object({ type: z.literal("disabled") }),
  z.object({ type: z.literal("external"), network: NetworkModeSchema }),
], { error: tagError("type", "permissions", ["managed", "disabled", "external"]) });
/** A permission profile. */
export type { PermissionProfile };

const uris = (name: string) =>
  z.array(FileUriSchema, { error: typeError(name, "a sequence") }).optional();

/**
 * `FileSystemSandboxContext`: the `sandbox` field of `process/start` and of
 * the `fs/*` methods (`null` or absent there means no sandbox).
 *
 * - `permissions` and `windowsSandboxLevel` are required.
 * - `cwd` is where relative policy is evaluated; `workspaceRoots` is what
 *   `project_roots` expands to (0.171: an empty list grants nothing).
 * - `policyContext`, `userHomeDir` and `temporaryDirectories` come with fs
 *   calls; they are accepted everywhere.
 * - The Windows fields have no effect on Linux; `useLegacyLandlock: true`
 *   asks for an enforcement this server does not offer.
 */
export const FileSystemSandboxContextSchema = z.object({
  permissions: PermissionProfileSchema,
  cwd: FileUriSchema.nullish(),
  workspaceRoots: uris("workspaceRoots"),
  windowsSandboxLevel: variantEnum("windowsSandboxLevel", [
    "disabled",
    "restricted-token",
    "elevated",
    "mxc",
  ]),
  windowsSandboxProxySettingsMode: variantEnum("windowsSandboxProxySettingsMode", [
    "reconcile",
    "preserve",
  ]).nullish(),
  useLegacyLandlock: z.boolean({ error: typeError("useLegacyLandlock", "a boolean") }).optional(),
  policyContext: z.object({
    cwd: FileUriSchema.nullish(),
    workspaceRoots: uris("workspaceRoots"),
  }, { error: typeError("policyContext", "struct PolicyContext") }).nullish(),
  userHomeDir: FileUriSchema.nullish(),
  temporaryDirectories: uris("temporaryDirectories"),
}, { error: typeError("sandbox", "struct FileSystemSandboxContext") });
/** `FileSystemSandboxContext` as the server receives it (after parsing). */
export type { FileSystemSandboxContext };
/** `FileSystemSandboxContext` as a client sends it. */
export type { FileSystemSandboxContextInput };

/**
 * `sandboxType` in the `process/start` result. The 0.171 client decodes it
 * into a closed enum: any other string fails the client's start ("unknown
 * variant `x`, expected one of `none`, `macosSeatbelt`, `linuxSeccomp`, …",
 * measured), so a server must send one of these. On Linux codex sends
 * `linuxSeccomp` for its bubblewrap sandbox and `none` without one.
 */
export const SandboxTypeSchema = z.enum([
  "none",
  "macosSeatbelt",
  "linuxSeccomp",
  "windowsRestrictedToken",
  "windowsMxc",
]);
/** `sandboxType` in the `process/start` result. */
export type { SandboxType };

// -- Building profiles (for clients and operators) --

/** What {@linkcode sandboxProfile} builds. */
export interface SandboxProfileOptions {
  /**
   * `workspace-write`: everything readable; the workspace roots, `/tmp` and
   * `$TMPDIR` writable (their `.git`, `.agents`, `.codex`, `.aws` stay
   * read-only). `read-only`: everything readable, nothing writable.
   * `network-only`: the file system unrestricted, only the network cut.
   */
  mode: "workspace-write" | "read-only" | "network-only";
  /** Writable directories (native absolute paths), for `workspace-write`. @default {[]} */
  writable?: readonly string[];
  /** Where the profile is evaluated (native absolute path). @default {undefined: the process's cwd} */
  cwd?: string;
  /** Let the process reach the network. @default {false} */
  network?: boolean;
}

const special = (kind: "root" | "project_roots" | "slash_tmp" | "tmpdir", subpath?: string) => ({
  type: "special" as const,
  value: subpath === undefined ? { kind } : { kind, subpath },
});

/**
 * A `FileSystemSandboxContext` like the ones codex 0.171 sends for
 * `--sandbox workspace-write` and `--sandbox read-only`, for any client.
 *
 * @example
 * ```ts
 * import { FileSystemSandboxContextSchema, sandboxProfile } from "./sandbox.ts";
 * import assert from "node:assert/strict";
 * const profile = sandboxProfile({ mode: "workspace-write", writable: ["/src/app"] });
 * assert.deepEqual(profile.workspaceRoots, ["file:///src/app"]);
 * assert.equal(FileSystemSandboxContextSchema.safeParse(profile).success, true);
 * const ro = sandboxProfile({ mode: "read-only", network: true });
 * assert.deepEqual(ro.permissions, {
 *   type: "managed",
 *   file_system: { type: "restricted", entries: [{ path: { type: "special", value: { kind: "root" } }, access: "read" }] },
 *   network: "enabled",
 * });
 * ```
 */
export function sandboxProfile(options: SandboxProfileOptions): FileSystemSandboxContextInput {
  const network = options.network ? "enabled" : "restricted";
  const context: FileSystemSandboxContextInput = {
    permissions: { type: "external", network },
    windowsSandboxLevel: "disabled",
  };
  if (options.cwd !== undefined) context.cwd = pathToFileUri(options.cwd);
  if (options.mode === "network-only") return context;
  const entries: z.input<typeof FileSystemEntrySchema>[] = [
    { path: special("root"), access: "read" },
  ];
  if (options.mode === "workspace-write") {
    entries.push(
      { path: special("project_roots"), access: "write" },
      { path: special("slash_tmp"), access: "write" },
      { path: special("tmpdir"), access: "write" },
    );
    for (const name of [".git", ".agents", ".codex", ".aws"]) {
      entries.push({
        path: special("project_roots", name),
        access: "read",
        missing_path_behavior: "skip",
      });
    }
    context.workspaceRoots = (options.writable ?? []).map(pathToFileUri);
  }
  context.permissions = {
    type: "managed",
    file_system: { type: "restricted", entries },
    network,
  };
  return context;
}
