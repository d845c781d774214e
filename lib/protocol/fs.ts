// Copyright 2026 the exec-server authors. MIT license.
/**
 * Wire schemas for the filesystem RPCs (`fs/*`). The zod schemas are the
 * single source of truth; every type here is inferred from one of them.
 *
 * Paths are plain strings at this level: an absolute native path or a
 * `file://` URI. The fs service rejects relative paths with -32602
 * (`toNativePath` in `lib/fs/paths.ts`) so that the message can name the
 * offending field.
 *
 * Optional booleans stay optional in the schemas (so a parsed value and a
 * hand-built value have the same type); the handlers apply the documented
 * defaults.
 *
 * @module
 */

import { z } from "npm:zod@^4.1.0";
import { FileSystemSandboxContextSchema } from "./sandbox.ts";

/** A path field: an absolute native path or a `file://` URI. */
const PathSchema = z.string();

/**
 * Per-request narrowing of what an fs call may touch. It can only narrow the
 * server's `--fs-root` confinement, never widen it.
 */
export const FsSandboxSchema = z.object({
  /** When true, every write (write, mkdir, remove, copy target) is rejected. */
  readOnly: z.boolean().optional(),
  /** When present, writes must land inside one of these directories. */
  writableRoots: z.array(PathSchema).optional(),
});
/** Per-request sandbox; see {@linkcode FsSandboxSchema}. */
export type FsSandbox = z.infer<typeof FsSandboxSchema>;

/**
 * The `sandbox` field of an fs call: this server's {@linkcode FsSandboxSchema}
 * (April-era clients) or codex 0.171's permission profile
 * ({@linkcode FileSystemSandboxContextSchema}), told apart by shape: codex's has a
 * `permissions` key, ours never does. `null` (what 0.171 sends on reads) and
 * absent both mean "no sandbox". An error names the branch the value was meant
 * for, so a malformed profile is not reported as a malformed `{readOnly}`.
 *
 * @example
 * ```ts
 * import { FsSandboxParamSchema } from "./fs.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(FsSandboxParamSchema.parse({ readOnly: true }), { readOnly: true });
 * const profile = { permissions: { type: "disabled" }, windowsSandboxLevel: "disabled" };
 * assert.deepEqual(FsSandboxParamSchema.parse(profile), profile);
 * assert.equal(FsSandboxParamSchema.safeParse({ readOnly: 1 }).success, false);
 * ```
 */
export const FsSandboxParamSchema = z.union([
  FileSystemSandboxContextSchema,
  // Never a `permissions` key: a malformed codex profile must not pass as ours.
  FsSandboxSchema.extend({ permissions: z.never().optional() }),
], {
  error: (issue) => {
    const branches = (issue as { errors?: z.core.$ZodIssue[][] }).errors;
    const input = issue.input;
    const codex = typeof input === "object" && input !== null &&
      Object.hasOwn(input, "permissions");
    const first = branches?.[codex ? 0 : 1]?.[0];
    if (!first) return undefined;
    return first.path.length > 0 ? `${first.path.join(".")}: ${first.message}` : first.message;
  },
});
/** The `sandbox` field of an fs call; see {@linkcode FsSandboxParamSchema}. */
export type FsSandboxParam = z.infer<typeof FsSandboxParamSchema>;

const sandbox = FsSandboxParamSchema.nullish();
const EmptySchema = z.object({});

// -- fs/readFile --

/** Params of `fs/readFile`. Without `offset`/`length` the whole file is read. */
export const FsReadFileParamsSchema = z.object({
  path: PathSchema,
  /** First byte to read; default 0. */
  offset: z.number().int().nonnegative().optional(),
  /** Most bytes to return; default: up to the end of the file. */
  length: z.number().int().nonnegative().optional(),
  sandbox,
});
/** Params of `fs/readFile`. */
export type FsReadFileParams = z.infer<typeof FsReadFileParamsSchema>;

/** Result of `fs/readFile`. */
export const FsReadFileResultSchema = z.object({
  /** The bytes read, standard base64. */
  dataBase64: z.string(),
  /** Size of the whole file in bytes when it was read. */
  size: z.number().int().nonnegative(),
  /** True when the returned bytes reach the end of the file. */
  eof: z.boolean(),
});
/** Result of `fs/readFile`. */
export type FsReadFileResult = z.infer<typeof FsReadFileResultSchema>;

// -- fs/writeFile --

/** Params of `fs/writeFile`. Creates or truncates; `append` appends instead. */
export const FsWriteFileParamsSchema = z.object({
  path: PathSchema,
  /** The bytes to write, standard base64. */
  dataBase64: z.string(),
  /** Append to the file instead of truncating it; default false. */
  append: z.boolean().optional(),
  sandbox,
});
/** Params of `fs/writeFile`. */
export type FsWriteFileParams = z.infer<typeof FsWriteFileParamsSchema>;
/** Result of `fs/writeFile` (empty object). */
export const FsWriteFileResultSchema = EmptySchema;
/** Result of `fs/writeFile`. */
export type FsWriteFileResult = z.infer<typeof FsWriteFileResultSchema>;

// -- fs/createDirectory --

/** Params of `fs/createDirectory`. `recursive` (mkdir -p) defaults to true. */
export const FsCreateDirectoryParamsSchema = z.object({
  path: PathSchema,
  recursive: z.boolean().optional(),
  sandbox,
});
/** Params of `fs/createDirectory`. */
export type FsCreateDirectoryParams = z.infer<
  typeof FsCreateDirectoryParamsSchema
>;
/** Result of `fs/createDirectory` (empty object). */
export const FsCreateDirectoryResultSchema = EmptySchema;
/** Result of `fs/createDirectory`. */
export type FsCreateDirectoryResult = z.infer<
  typeof FsCreateDirectoryResultSchema
>;

// -- fs/getMetadata --

/** Params of `fs/getMetadata`. */
export const FsGetMetadataParamsSchema = z.object({
  path: PathSchema,
  sandbox,
});
/** Params of `fs/getMetadata`. */
export type FsGetMetadataParams = z.infer<typeof FsGetMetadataParamsSchema>;

/**
 * Result of `fs/getMetadata`. `isDirectory`, `isFile` and `size` follow
 * symlinks; `isSymlink` describes the path itself. Times are milliseconds
 * since the epoch, 0 when the platform does not report them.
 */
export const FsGetMetadataResultSchema = z.object({
  isDirectory: z.boolean(),
  isFile: z.boolean(),
  isSymlink: z.boolean(),
  size: z.number().int().nonnegative(),
  createdAtMs: z.number().int(),
  modifiedAtMs: z.number().int(),
});
/** Result of `fs/getMetadata`. */
export type FsGetMetadataResult = z.infer<typeof FsGetMetadataResultSchema>;

// -- fs/readDirectory --

/** Params of `fs/readDirectory`. */
export const FsReadDirectoryParamsSchema = z.object({
  path: PathSchema,
  sandbox,
});
/** Params of `fs/readDirectory`. */
export type FsReadDirectoryParams = z.infer<typeof FsReadDirectoryParamsSchema>;

/** One entry of a directory listing; symlinks are followed. */
export const FsDirectoryEntrySchema = z.object({
  fileName: z.string(),
  isDirectory: z.boolean(),
  isFile: z.boolean(),
});
/** One entry of a directory listing. */
export type FsDirectoryEntry = z.infer<typeof FsDirectoryEntrySchema>;

/** Result of `fs/readDirectory`; entries come in no particular order. */
export const FsReadDirectoryResultSchema = z.object({
  entries: z.array(FsDirectoryEntrySchema),
});
/** Result of `fs/readDirectory`. */
export type FsReadDirectoryResult = z.infer<typeof FsReadDirectoryResultSchema>;

// -- fs/remove --

/**
 * Params of `fs/remove`. `recursive` defaults to true; `force` (ignore a
 * missing path) defaults to true. A symlink is removed, never its target.
 */
export const FsRemoveParamsSchema = z.object({
  path: PathSchema,
  recursive: z.boolean().optional(),
  force: z.boolean().optional(),
  sandbox,
});
/** Params of `fs/remove`. */
export type FsRemoveParams = z.infer<typeof FsRemoveParamsSchema>;
/** Result of `fs/remove` (empty object). */
export const FsRemoveResultSchema = EmptySchema;
/** Result of `fs/remove`. */
export type FsRemoveResult = z.infer<typeof FsRemoveResultSchema>;

// -- fs/copy --

/** Params of `fs/copy`. `recursive` is required (no default). */
export const FsCopyParamsSchema = z.object({
  sourcePath: PathSchema,
  destinationPath: PathSchema,
  recursive: z.boolean(),
  sandbox,
});
/** Params of `fs/copy`. */
export type FsCopyParams = z.infer<typeof FsCopyParamsSchema>;
/** Result of `fs/copy` (empty object). */
export const FsCopyResultSchema = EmptySchema;
/** Result of `fs/copy`. */
export type FsCopyResult = z.infer<typeof FsCopyResultSchema>;

// -- fs/watch, fs/unwatch, fs/changed --

/** Params of `fs/watch`. `recursive` defaults to false. */
export const FsWatchParamsSchema = z.object({
  path: PathSchema,
  recursive: z.boolean().optional(),
});
/** Params of `fs/watch`. */
export type FsWatchParams = z.infer<typeof FsWatchParamsSchema>;

/** Result of `fs/watch`. */
export const FsWatchResultSchema = z.object({ watchId: z.string() });
/** Result of `fs/watch`. */
export type FsWatchResult = z.infer<typeof FsWatchResultSchema>;

/** Params of `fs/unwatch`. */
export const FsUnwatchParamsSchema = z.object({ watchId: z.string() });
/** Params of `fs/unwatch`. */
export type FsUnwatchParams = z.infer<typeof FsUnwatchParamsSchema>;
/** Result of `fs/unwatch` (empty object). */
export const FsUnwatchResultSchema = EmptySchema;
/** Result of `fs/unwatch`. */
export type FsUnwatchResult = z.infer<typeof FsUnwatchResultSchema>;

/** Kind of a change; Deno's `access` events are dropped, `other` becomes `any`. */
export const FsChangeKindSchema = z.enum([
  "create",
  "modify",
  "remove",
  "rename",
  "any",
]);
/** Kind of a change reported by `fs/changed`. */
export type FsChangeKind = z.infer<typeof FsChangeKindSchema>;

/** Params of the `fs/changed` notification (server → client). */
export const FsChangedNotificationSchema = z.object({
  watchId: z.string(),
  kind: FsChangeKindSchema,
  /** Canonical absolute paths affected by the change. */
  paths: z.array(z.string()),
});
/** Params of the `fs/changed` notification. */
export type FsChangedNotification = z.infer<typeof FsChangedNotificationSchema>;

/**
 * Every fs notification (server → client) with its params schema.
 *
 * @example Validating an outgoing notification
 * ```ts
 * import { FS_NOTIFICATIONS } from "./fs.ts";
 * const n = { watchId: "watch-1", kind: "create", paths: ["/tmp/a"] };
 * FS_NOTIFICATIONS["fs/changed"].params.parse(n);
 * ```
 */
export const FS_NOTIFICATIONS = {
  "fs/changed": { params: FsChangedNotificationSchema },
} as const;

/**
 * Every fs request method with its params and result schema, ready to be
 * spread into the server's method table.
 *
 * @example Looking up a schema
 * ```ts
 * import { FS_METHODS } from "./fs.ts";
 * import assert from "node:assert/strict";
 * const params = FS_METHODS["fs/readFile"].params.parse({ path: "/etc/hosts" });
 * assert.equal(params.path, "/etc/hosts");
 * ```
 */
export const FS_METHODS = {
  "fs/readFile": {
    params: FsReadFileParamsSchema,
    result: FsReadFileResultSchema,
  },
  "fs/writeFile": {
    params: FsWriteFileParamsSchema,
    result: FsWriteFileResultSchema,
  },
  "fs/createDirectory": {
    params: FsCreateDirectoryParamsSchema,
    result: FsCreateDirectoryResultSchema,
  },
  "fs/getMetadata": {
    params: FsGetMetadataParamsSchema,
    result: FsGetMetadataResultSchema,
  },
  "fs/readDirectory": {
    params: FsReadDirectoryParamsSchema,
    result: FsReadDirectoryResultSchema,
  },
  "fs/remove": { params: FsRemoveParamsSchema, result: FsRemoveResultSchema },
  "fs/copy": { params: FsCopyParamsSchema, result: FsCopyResultSchema },
  "fs/watch": { params: FsWatchParamsSchema, result: FsWatchResultSchema },
  "fs/unwatch": {
    params: FsUnwatchParamsSchema,
    result: FsUnwatchResultSchema,
  },
} as const;

/** Name of one fs request method. */
export type FsMethodName = keyof typeof FS_METHODS;
