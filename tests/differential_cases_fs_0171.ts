// Copyright 2026 the exec-server authors. MIT license.
/**
 * More differential cases for the `fs/*` methods codex 0.171 added
 * (`fs/canonicalize`, `fs/walk`, `fs/open`/`readBlock`/`writeBlock`/`close`,
 * `fs/watchMissing`), beyond `differential_cases_fs_methods.ts`: every
 * option and limit of a walk, bad params, the forms of `mode`, the handle
 * limit, wrong-direction calls, watch replacement.
 *
 * @module
 */
import { b64, type CallStep, type Case, type FixtureEntry, type Step } from "./_differential.ts";

/** A tree for walks: hidden files and directories, symlinks, a FIFO. */
const WALK_TREE: Record<string, FixtureEntry> = {
  "a.txt": "a\n",
  "B.txt": "B\n",
  ".hidden.txt": "h\n",
  ".hdir/inner.txt": "i\n",
  "d/b.txt": "b\n",
  "d/e/c.txt": "c\n",
  "d/e/f/g.txt": "g\n",
  "d/.hsub/x.txt": "x\n",
  "sp ace/q%.txt": "q\n",
  "link_to_d": { symlink: "d" },
  "link_to_a": { symlink: "a.txt" },
  "broken": { symlink: "nonexistent" },
  "fifo": { fifo: true },
};

/** Walk options, all five required. */
function options(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    maxDepth: 10,
    maxDirectories: 100,
    maxEntries: 1000,
    followDirectorySymlinks: false,
    pruneHiddenDirectories: false,
    ...overrides,
  };
}

/** An `fs/walk` of `path` (a `$URI` path) with option overrides. */
function walk(
  path: string,
  overrides: Record<string, unknown> = {},
  compared: Omit<CallStep, "call" | "params"> = {},
): CallStep {
  return {
    call: "fs/walk",
    params: { path, options: options(overrides), sandbox: null },
    ...compared,
  };
}

/** `fs/open` of a `$URI` path. */
function open(handleId: string, path: string, mode?: unknown): CallStep {
  return {
    call: "fs/open",
    params: { handleId, path, ...(mode === undefined ? {} : { mode }), sandbox: null },
  };
}

/** `fs/readBlock`. */
function readBlock(handleId: string, offset: number, len: number): CallStep {
  return { call: "fs/readBlock", params: { handleId, offset, len } };
}

/** `fs/writeBlock` of a text. */
function writeBlock(handleId: string, offset: number, text: string): CallStep {
  return { call: "fs/writeBlock", params: { handleId, offset, chunk: b64(text) } };
}

/** `fs/readFile` of a `$URI` path. */
function readFile(path: string): CallStep {
  return { call: "fs/readFile", params: { path, sandbox: null } };
}

/**
 * A read of a file a replace handle is writing: codex wrote in place, ours
 * shows the old file until `fs/close` (row `replace-handles`).
 */
function replaceHandles(codex: string, ours: string) {
  return {
    differs: "replace-handles",
    expect: {
      codex: { result: { dataBase64: `utf8:${codex}` } },
      ours: { result: { dataBase64: `utf8:${ours}` } },
    },
  };
}

/** Opens handles `h0`… up to `count` on one file, then one more. */
function manyHandles(count: number): Step[] {
  const steps: Step[] = [];
  for (let i = 0; i < count; i++) {
    steps.push({ ...open(`h${i}`, "$URI/a.txt"), omit: ["result"] });
  }
  steps.push(open("one-too-many", "$URI/a.txt"));
  return steps;
}

/** Cases for the methods 0.171 added. */
export const FS_0171_CASES: Case[] = [
  {
    name: "fs/canonicalize resolves symlinks and dot-dots; every component must exist",
    files: WALK_TREE,
    steps: [
      { call: "fs/canonicalize", params: { path: "$URI/link_to_d/e/../b.txt", sandbox: null } },
      { call: "fs/canonicalize", params: { path: "$URI/d/" } },
      { call: "fs/canonicalize", params: { path: "$URI/link_to_a" } },
      { call: "fs/canonicalize", params: { path: "$URI/fifo" } },
      { call: "fs/canonicalize", params: { path: "$URI/sp%20ace/q%25.txt" } },
      { call: "fs/canonicalize", params: { path: "file:///" } },
      { call: "fs/canonicalize", params: { path: "$URI/broken" } },
      { call: "fs/canonicalize", params: { path: "$URI/missing/x" } },
      { call: "fs/canonicalize", params: { path: "$URI/a.txt/x" } },
      { call: "fs/canonicalize", params: {} },
    ],
  },
  {
    name: "fs/walk is breadth first, sorted bytewise, without symlinks or FIFOs",
    files: WALK_TREE,
    steps: [walk("$URI"), walk("$URI/d", { maxDepth: 0 }), walk("$URI/d", { maxDepth: 1 })],
  },
  {
    name: "fs/walk limits: entries and directories truncate, depth does not",
    files: WALK_TREE,
    steps: [
      walk("$URI", { maxEntries: 3 }),
      walk("$URI", { maxDirectories: 1 }),
      walk("$URI", { maxDirectories: 2 }),
      walk("$URI/d", { maxEntries: 5 }),
      walk("$URI/d", { maxEntries: 6 }),
    ],
  },
  {
    name: "fs/walk prunes hidden directories but lists them, and may follow directory links",
    files: WALK_TREE,
    steps: [
      walk("$URI", { pruneHiddenDirectories: true }),
      walk("$URI/.hdir", { pruneHiddenDirectories: true }),
      walk("$URI", { followDirectorySymlinks: true }),
      walk("$URI/link_to_d", { followDirectorySymlinks: true }),
      walk("$URI/link_to_d", { followDirectorySymlinks: false }),
    ],
  },
  {
    name: "fs/walk of a file, a FIFO, a missing path",
    files: WALK_TREE,
    steps: [walk("$URI/a.txt"), walk("$URI/fifo"), walk("$URI/missing"), walk("$URI/broken")],
  },
  {
    name: "fs/walk refuses bad options",
    files: WALK_TREE,
    steps: [
      walk("$URI", { maxEntries: 0 }, { text: true }),
      walk("$URI", { maxDirectories: 0 }),
      walk("$URI", { maxDepth: 65 }, { text: true }),
      walk("$URI", { maxEntries: 50001 }),
      walk("$URI", { maxDepth: 64, maxDirectories: 10000, maxEntries: 50000 }),
      walk("$URI", { maxDepth: -1 }),
      walk("$URI", { maxDepth: 1.5 }),
      walk("$URI", { followDirectorySymlinks: null }),
      { call: "fs/walk", params: { path: "$URI", options: { maxDepth: 1 } } },
      { call: "fs/walk", params: { path: "$URI" } },
    ],
  },
  {
    name: "fs/open and fs/readBlock: positional reads, eof when short",
    files: { "a.txt": "abcdef\n" },
    steps: [
      open("r", "$URI/a.txt"),
      readBlock("r", 0, 2),
      readBlock("r", 2, 5),
      readBlock("r", 7, 1),
      readBlock("r", 100, 1),
      readBlock("r", 0, 100),
      readBlock("r", 0, 0),
      readBlock("r", 0, 1048577),
      readBlock("nope", 0, 1),
      readBlock("nope", 0, 0),
      { call: "fs/close", params: { handleId: "r" } },
      { call: "fs/close", params: { handleId: "r" } },
      readBlock("r", 0, 1),
      open("r", "$URI/a.txt"),
      { call: "fs/close", params: { handleId: "never-opened" } },
    ],
  },
  {
    name: "fs/open refuses long or duplicate ids, directories and missing files",
    files: { "a.txt": "a\n", "d": { dir: true }, "fifo": { fifo: true } },
    steps: [
      open("", "$URI/a.txt"),
      open("é".repeat(16), "$URI/a.txt"),
      open("é".repeat(17), "$URI/a.txt"),
      open("x".repeat(33), "$URI/a.txt"),
      open("dup", "$URI/a.txt"),
      open("dup", "$URI/a.txt"),
      open("dir", "$URI/d"),
      open("fifo", "$URI/fifo"),
      open("missing", "$URI/missing"),
      open("enotdir", "$URI/a.txt/x"),
      { call: "fs/open", params: { handleId: 5, path: "$URI/a.txt" } },
      { call: "fs/open", params: { path: "$URI/a.txt" } },
    ],
  },
  {
    name: "fs/open modes: read, replace, and their map forms",
    files: { "a.txt": "a\n" },
    steps: [
      open("m1", "$URI/a.txt", "read"),
      open("m2", "$URI/a.txt", { read: null }),
      open("m3", "$URI/a.txt", "Read"),
      open("m4", "$URI/a.txt", { replace: {} }),
      open("m5", "$URI/a.txt", {}),
      open("m6", "$URI/a.txt", null),
      open("m7", "$URI/a.txt", 1),
    ],
  },
  {
    name: "fs/open replace: the target while writing, after fs/close; gaps are zeros",
    files: { "a.txt": "KEEP ME\n" },
    steps: [
      open("w", "$URI/a.txt", "replace"),
      { ...readFile("$URI/a.txt"), ...replaceHandles("", "KEEP ME\n") },
      writeBlock("w", 0, "hello"),
      { ...readFile("$URI/a.txt"), ...replaceHandles("hello", "KEEP ME\n") },
      writeBlock("w", 8, "X"),
      { call: "fs/close", params: { handleId: "w" } },
      readFile("$URI/a.txt"),
      open("new", "$URI/new.txt", "replace"),
      writeBlock("new", 0, "fresh"),
      { call: "fs/close", params: { handleId: "new" } },
      readFile("$URI/new.txt"),
      open("nodir", "$URI/no/dir/x.txt", "replace"),
    ],
  },
  {
    name: "fs/writeBlock refuses bad chunks and ranges",
    files: { "a.txt": "a\n" },
    steps: [
      open("w", "$URI/a.txt", "replace"),
      { call: "fs/writeBlock", params: { handleId: "w", offset: 0, chunk: "" } },
      { call: "fs/writeBlock", params: { handleId: "w", offset: 0, chunk: "!!" } },
      {
        call: "fs/writeBlock",
        params: { handleId: "w", offset: 9223372036854775807, chunk: b64("x") },
      },
      { call: "fs/writeBlock", params: { handleId: "nope", offset: 0, chunk: b64("x") } },
      { call: "fs/writeBlock", params: { handleId: "nope", offset: 0, chunk: "" } },
      { call: "fs/writeBlock", params: { handleId: "w", offset: -1, chunk: b64("x") } },
    ],
  },
  {
    name: "wrong-direction block calls: EBADF; a failed read drops the handle",
    files: { "a.txt": "abc\n" },
    steps: [
      open("r", "$URI/a.txt"),
      writeBlock("r", 0, "x"),
      readBlock("r", 0, 3),
      open("w", "$URI/b.txt", "replace"),
      readBlock("w", 0, 1),
      {
        ...writeBlock("w", 0, "x"),
        differs: "replace-handles",
        expect: { codex: { error: { code: -32004 } }, ours: { result: {} } },
      },
    ],
  },
  {
    name: "at most 128 file handles per connection",
    files: { "a.txt": "a\n" },
    steps: manyHandles(128),
  },
  {
    name: "fs/watchMissing fires once when a missing path appears",
    files: { "d": { dir: true } },
    steps: [
      { call: "fs/watchMissing", params: { watchId: 1, missing: ["$URI/d/m"], sandbox: null } },
      { act: (dir) => Deno.writeTextFile(`${dir}/d/m`, "") },
      { notification: "fs/missingChanged" },
    ],
  },
  {
    name: "fs/watchMissing fires when a missing ancestor appears",
    files: { "d": { dir: true } },
    steps: [
      { call: "fs/watchMissing", params: { watchId: 7, missing: ["$URI/d/a/b"] } },
      { act: (dir) => Deno.mkdir(`${dir}/d/a`) },
      { notification: "fs/missingChanged" },
    ],
  },
  {
    name: "fs/watchMissing: a newer id replaces the armed watch",
    files: { "d": { dir: true } },
    steps: [
      { call: "fs/watchMissing", params: { watchId: 1, missing: ["$URI/d/x"] } },
      { call: "fs/watchMissing", params: { watchId: 2, missing: ["$URI/d/y"] } },
      { act: (dir) => Deno.writeTextFile(`${dir}/d/y`, "") },
      { notification: "fs/missingChanged" },
    ],
  },
  {
    name: "fs/watchMissing says watching:false for old ids, present paths, empty lists",
    files: { "d": { dir: true }, "there.txt": "t" },
    steps: [
      { call: "fs/watchMissing", params: { watchId: 5, missing: ["$URI/d/a"] } },
      { call: "fs/watchMissing", params: { watchId: 5, missing: ["$URI/d/b"] } },
      { call: "fs/watchMissing", params: { watchId: 3, missing: ["$URI/d/b"] } },
      { call: "fs/watchMissing", params: { watchId: 6, missing: ["$URI/there.txt"] } },
      { call: "fs/watchMissing", params: { watchId: 7, missing: [] } },
      {
        call: "fs/watchMissing",
        params: { watchId: 8, missing: ["$URI/d/c"], present: "$URI/missing" },
      },
      {
        call: "fs/watchMissing",
        params: { watchId: 9, missing: ["$URI/d/c"], present: "$URI/there.txt" },
      },
    ],
  },
  {
    name: "fs/watchMissing refuses bad params",
    files: { "d": { dir: true } },
    steps: [
      { call: "fs/watchMissing", params: { watchId: "1", missing: ["$URI/d/x"] } },
      { call: "fs/watchMissing", params: { watchId: -1, missing: ["$URI/d/x"] } },
      { call: "fs/watchMissing", params: { watchId: 1, missing: "$URI/d/x" } },
      { call: "fs/watchMissing", params: { watchId: 1 } },
      { call: "fs/watchMissing", params: { missing: ["$URI/d/x"] } },
    ],
  },
];
