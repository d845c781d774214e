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
import type {
  FsChangedNotification,
  FsChangeKind,
  FsCopyParams,
  FsCopyResult,
  FsCreateDirectoryParams,
  FsCreateDirectoryResult,
  FsDirectoryEntry,
  FsGetMetadataParams,
  FsGetMetadataResult,
  FsReadDirectoryParams,
  FsReadDirectoryResult,
  FsReadFileParams,
  FsReadFileResult,
  FsRemoveParams,
  FsRemoveResult,
  FsSandbox,
  FsSandboxParam,
  FsUnwatchParams,
  FsUnwatchResult,
  FsWatchParams,
  FsWatchResult,
  FsWriteFileParams,
  FsWriteFileResult,
} from "./wire.ts";
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
export type { FsSandbox };

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
export type { FsSandboxParam };

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
export type { FsReadFileParams };

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
export type { FsReadFileResult };

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
export type { FsWriteFileParams };
/** Result of `fs/writeFile` (empty object). */
export const FsWriteFileResultSchema = EmptySchema;
/** Result of `fs/writeFile`. */
export type { FsWriteFileResult };

// -- fs/createDirectory --

/** Params of `fs/createDirectory`. `recursive` (mkdir -p) defaults to true. */
export const FsCreateDirectoryParamsSchema = z.object({
  path: PathSchema,
  recursive: z.boolean().optional(),
  sandbox,
});
/** Params of `fs/createDirectory`. */
export type { FsCreateDirectoryParams };
/** Result of `fs/createDirectory` (empty object). */
export const FsCreateDirectoryResultSchema = EmptySchema;
/** Result of `fs/createDirectory`. */
export type { FsCreateDirectoryResult };

// -- fs/getMetadata --

/** Params of `fs/getMetadata`. */
export const FsGetMetadataParamsSchema = z.object({
  path: PathSchema,
  sandbox,
});
/** Params of `fs/getMetadata`. */
export type { FsGetMetadataParams };

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
export type { FsGetMetadataResult };

// -- fs/readDirectory --

/** Params of `fs/readDirectory`. */
export const FsReadDirectoryParamsSchema = z.object({
  path: PathSchema,
  sandbox,
});
/** Params of `fs/readDirectory`. */
export type { FsReadDirectoryParams };

/** One entry of a directory listing; symlinks are followed. */
export const FsDirectoryEntrySchema = z.object({
  fileName: z.string(),
  isDirectory: z.boolean(),
  isFile: z.boolean(),
});
/** One entry of a directory listing. */
export type { FsDirectoryEntry };

/** Result of `fs/readDirectory`; entries come in no particular order. */
export const FsReadDirectoryResultSchema = z.object({
  entries: z.array(FsDirectoryEntrySchema),
});
/** Result of `fs/readDirectory`. */
export type { FsReadDirectoryResult };

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
export type { FsRemoveParams };
/** Result of `fs/remove` (empty object). */
export const FsRemoveResultSchema = EmptySchema;
/** Result of `fs/remove`. */
export type { FsRemoveResult };

// -- fs/copy --

/** Params of `fs/copy`. `recursive` is required (no default). */
export const FsCopyParamsSchema = z.object({
  sourcePath: PathSchema,
  destinationPath: PathSchema,
  recursive: z.boolean(),
  sandbox,
});
/** Params of `fs/copy`. */
export type { FsCopyParams };
/** Result of `fs/copy` (empty object). */
export const FsCopyResultSchema = EmptySchema;
/** Result of `fs/copy`. */
export type { FsCopyResult };

// -- fs/watch, fs/unwatch, fs/changed --

/**
 * Params of `fs/watch`. `recursive` defaults to false. `sandbox` is checked
 * like `fs/readFile`'s: on the watched path, and on every directory a
 * recursive watch enters and every path it reports.
 */
export const FsWatchParamsSchema = z.object({
  path: PathSchema,
  recursive: z.boolean().optional(),
  sandbox,
});
/** Params of `fs/watch`. */
export type { FsWatchParams };

/** Result of `fs/watch`. */
export const FsWatchResultSchema = z.object({ watchId: z.string() });
/** Result of `fs/watch`. */
export type { FsWatchResult };

/** Params of `fs/unwatch`. */
export const FsUnwatchParamsSchema = z.object({ watchId: z.string() });
/** Params of `fs/unwatch`. */
export type { FsUnwatchParams };
/** Result of `fs/unwatch` (empty object). */
export const FsUnwatchResultSchema = EmptySchema;
/** Result of `fs/unwatch`. */
export type { FsUnwatchResult };

/** Kind of a change; Deno's `access` events are dropped, `other` becomes `any`. */
export const FsChangeKindSchema = z.enum([
  "create",
  "modify",
  "remove",
  "rename",
  "any",
]);
/** Kind of a change reported by `fs/changed`. */
export type { FsChangeKind };

/** Params of the `fs/changed` notification (server → client). */
export const FsChangedNotificationSchema = z.object({
  watchId: z.string(),
  kind: FsChangeKindSchema,
  /** Canonical absolute paths affected by the change. */
  paths: z.array(z.string()),
});
/** Params of the `fs/changed` notification. */
export type { FsChangedNotification };

// -- fs/canonicalize --

/** Params of `fs/canonicalize`. */
export const FsCanonicalizeParamsSchema = z.object({
  path: PathSchema,
  sandbox,
});
/** Params of `fs/canonicalize`. */
export type FsCanonicalizeParams = z.infer<typeof FsCanonicalizeParamsSchema>;

/**
 * Result of `fs/canonicalize`: the absolute path with every symlink, `.` and
 * `..` resolved; a `file://` URI when the request used one.
 */
export const FsCanonicalizeResultSchema = z.object({ path: z.string() });
/** Result of `fs/canonicalize`. */
export type FsCanonicalizeResult = z.infer<typeof FsCanonicalizeResultSchema>;

// -- fs/walk --

/** Limits and switches of `fs/walk`; all five are required, as in codex. */
export const FsWalkOptionsSchema = z.object({
  /** Deepest level listed; the root's children are level 0. 0..=64. */
  maxDepth: z.number().int().nonnegative(),
  /** Most directories read, the root included. 1..=10000. */
  maxDirectories: z.number().int().nonnegative(),
  /** Most entries returned. 1..=50000. */
  maxEntries: z.number().int().nonnegative(),
  /** List and descend symlinks to directories (each target once). */
  followDirectorySymlinks: z.boolean(),
  /** List directories whose name starts with `.` but do not descend them. */
  pruneHiddenDirectories: z.boolean(),
});
/** Options of `fs/walk`. */
export type FsWalkOptions = z.infer<typeof FsWalkOptionsSchema>;

/** Params of `fs/walk`. */
export const FsWalkParamsSchema = z.object({
  path: PathSchema,
  options: FsWalkOptionsSchema,
  sandbox,
});
/** Params of `fs/walk`. */
export type FsWalkParams = z.infer<typeof FsWalkParamsSchema>;

/** One entry found by `fs/walk`. */
export const FsWalkEntrySchema = z.object({
  path: z.string(),
  kind: z.enum(["file", "directory"]),
});
/** One entry found by `fs/walk`. */
export type FsWalkEntry = z.infer<typeof FsWalkEntrySchema>;

/** A directory `fs/walk` listed but could not read. */
export const FsWalkErrorSchema = z.object({ path: z.string(), message: z.string() });
/** A directory `fs/walk` could not read. */
export type FsWalkError = z.infer<typeof FsWalkErrorSchema>;

/** Result of `fs/walk`: breadth first, each directory's children sorted bytewise. */
export const FsWalkResultSchema = z.object({
  entries: z.array(FsWalkEntrySchema),
  errors: z.array(FsWalkErrorSchema),
  /** True when a limit other than `maxDepth` left something out. */
  truncated: z.boolean(),
});
/** Result of `fs/walk`. */
export type FsWalkResult = z.infer<typeof FsWalkResultSchema>;

// -- fs/open, fs/readBlock, fs/writeBlock, fs/close --

/**
 * A file offset: any non-negative integer, however large, so that the
 * handler can answer one past the 64-bit limit with codex's -32600.
 */
const OffsetSchema = z.number().nonnegative().refine(Number.isInteger, "expected an integer");

/**
 * How `fs/open` opens a file: `read`, or `replace` (a new file written in
 * blocks, put in place by `fs/close`). codex's tagged forms `{"read":null}`
 * and `{"replace":null}` are accepted too.
 */
export const FsOpenModeSchema = z.union([
  z.enum(["read", "replace"]),
  z.strictObject({ read: z.null() }).transform(() => "read" as const),
  z.strictObject({ replace: z.null() }).transform(() => "replace" as const),
], {
  error: () => 'expected "read" or "replace" (or serde\'s {"read": null} / {"replace": null})',
});
/** Mode of `fs/open`. */
export type FsOpenMode = z.output<typeof FsOpenModeSchema>;

/** Params of `fs/open`. `handleId` is chosen by the client (at most 32 bytes of UTF-8). */
export const FsOpenParamsSchema = z.object({
  handleId: z.string(),
  path: PathSchema,
  mode: FsOpenModeSchema.optional(),
  sandbox,
});
/** Params of `fs/open`. */
export type FsOpenParams = z.output<typeof FsOpenParamsSchema>;
/** Result of `fs/open`: the handle id, echoed. */
export const FsOpenResultSchema = z.object({ handleId: z.string() });
/** Result of `fs/open`. */
export type FsOpenResult = z.infer<typeof FsOpenResultSchema>;

/** Params of `fs/readBlock`: `len` is 1..=1048576. */
export const FsReadBlockParamsSchema = z.object({
  handleId: z.string(),
  offset: OffsetSchema,
  len: z.number().int(),
});
/** Params of `fs/readBlock`. */
export type FsReadBlockParams = z.infer<typeof FsReadBlockParamsSchema>;
/** Result of `fs/readBlock`: `eof` when the chunk is shorter than `len`. */
export const FsReadBlockResultSchema = z.object({ chunk: z.string(), eof: z.boolean() });
/** Result of `fs/readBlock`. */
export type FsReadBlockResult = z.infer<typeof FsReadBlockResultSchema>;

/** Params of `fs/writeBlock`: `chunk` (base64) decodes to 1..=1048576 bytes. */
export const FsWriteBlockParamsSchema = z.object({
  handleId: z.string(),
  offset: OffsetSchema,
  chunk: z.string(),
});
/** Params of `fs/writeBlock`. */
export type FsWriteBlockParams = z.infer<typeof FsWriteBlockParamsSchema>;
/** Result of `fs/writeBlock` (empty object). */
export const FsWriteBlockResultSchema = EmptySchema;
/** Result of `fs/writeBlock`. */
export type FsWriteBlockResult = z.infer<typeof FsWriteBlockResultSchema>;

/** Params of `fs/close`. */
export const FsCloseParamsSchema = z.object({ handleId: z.string() });
/** Params of `fs/close`. */
export type FsCloseParams = z.infer<typeof FsCloseParamsSchema>;
/** Result of `fs/close` (empty object). */
export const FsCloseResultSchema = EmptySchema;
/** Result of `fs/close`. */
export type FsCloseResult = z.infer<typeof FsCloseResultSchema>;

// -- fs/watchMissing, fs/missingChanged --

/**
 * Params of `fs/watchMissing`: notify once when any `missing` path (or a
 * missing ancestor of one) appears, or a `present` path changes or goes.
 */
export const FsWatchMissingParamsSchema = z.object({
  watchId: z.number().int().nonnegative(),
  missing: z.array(PathSchema),
  present: z.union([PathSchema, z.array(PathSchema)]).nullable().optional(),
  sandbox,
});
/** Params of `fs/watchMissing`. */
export type FsWatchMissingParams = z.infer<typeof FsWatchMissingParamsSchema>;
/** Result of `fs/watchMissing`: whether the watch is armed. */
export const FsWatchMissingResultSchema = z.object({ watching: z.boolean() });
/** Result of `fs/watchMissing`. */
export type FsWatchMissingResult = z.infer<typeof FsWatchMissingResultSchema>;

/** Params of the `fs/missingChanged` notification (server → client). */
export const FsMissingChangedNotificationSchema = z.object({
  watchId: z.number().int().nonnegative(),
});
/** Params of the `fs/missingChanged` notification. */
export type FsMissingChangedNotification = z.infer<typeof FsMissingChangedNotificationSchema>;

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
  "fs/missingChanged": { params: FsMissingChangedNotificationSchema },
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
  "fs/canonicalize": {
    params: FsCanonicalizeParamsSchema,
    result: FsCanonicalizeResultSchema,
  },
  "fs/walk": { params: FsWalkParamsSchema, result: FsWalkResultSchema },
  "fs/open": { params: FsOpenParamsSchema, result: FsOpenResultSchema },
  "fs/readBlock": { params: FsReadBlockParamsSchema, result: FsReadBlockResultSchema },
  "fs/writeBlock": { params: FsWriteBlockParamsSchema, result: FsWriteBlockResultSchema },
  "fs/close": { params: FsCloseParamsSchema, result: FsCloseResultSchema },
  "fs/watchMissing": {
    params: FsWatchMissingParamsSchema,
    result: FsWatchMissingResultSchema,
  },
} as const;

/** Name of one fs request method. */
export type FsMethodName = keyof typeof FS_METHODS;
