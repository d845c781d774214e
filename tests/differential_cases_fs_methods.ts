// Copyright 2026 the exec-server authors. MIT license.
/**
 * Differential cases for the file methods 0.171 added: `fs/canonicalize`,
 * `fs/walk`, the handles (`fs/open`, `fs/readBlock`, `fs/writeBlock`,
 * `fs/close`) and `fs/watchMissing` with `fs/missingChanged`.
 *
 * @module
 */
import type { Case, FixtureEntry } from "./_differential.ts";

/** The probes' walk fixture, without what only another user could see. */
const WALK_TREE: Record<string, FixtureEntry> = {
  "a.txt": "a\n",
  "z.txt": "z\n",
  "B.txt": "B\n",
  ".hidden.txt": "h\n",
  ".hdir/inner.txt": "i\n",
  "d1/b.txt": "b\n",
  "d1/d2/c.txt": "c\n",
  "d1/d2/d3/e.txt": "e\n",
  "d1/.hsub/x.txt": "x\n",
  "e1/f.txt": "f\n",
  "sp ace/q%.txt": "q\n",
  "link_to_d1": { symlink: "d1" },
  "link_to_a": { symlink: "a.txt" },
  "broken": { symlink: "nonexistent" },
  "fifo": { fifo: true },
};

/** `fs/walk` options: generous limits, no links, nothing pruned. */
function walk(path: string, options: Record<string, unknown> = {}) {
  return {
    call: "fs/walk",
    params: {
      path,
      options: {
        maxDepth: 10,
        maxDirectories: 100,
        maxEntries: 1000,
        followDirectorySymlinks: false,
        pruneHiddenDirectories: false,
        ...options,
      },
      sandbox: null,
    },
  };
}

const b64 = (text: string) => new TextEncoder().encode(text).toBase64();

/** Cases for the 0.171 file methods. */
export const FS_METHOD_CASES: Case[] = [
  {
    name: "fs/canonicalize: links, .., missing components, a file used as a directory",
    files: WALK_TREE,
    steps: [
      { call: "fs/canonicalize", params: { path: "$URI/link_to_d1/d2/../b.txt", sandbox: null } },
      { call: "fs/canonicalize", params: { path: "$URI/link_to_a" } },
      { call: "fs/canonicalize", params: { path: "$URI/d1/./b.txt/" } },
      { call: "fs/canonicalize", params: { path: "$URI/sp%20ace/q%25.txt" } },
      { call: "fs/canonicalize", params: { path: "$URI/fifo" } },
      { call: "fs/canonicalize", params: { path: "$URI/broken" }, text: true },
      { call: "fs/canonicalize", params: { path: "$URI/missing/x" }, text: true },
      { call: "fs/canonicalize", params: { path: "$URI/a.txt/x" }, text: true },
      { call: "fs/canonicalize", params: { path: "file:///" } },
      { call: "fs/canonicalize", params: {} },
    ],
  },
  {
    name: "fs/walk: breadth first, bytewise, links and fifos left out, limits",
    files: WALK_TREE,
    steps: [
      walk("$URI"),
      walk("$URI", { followDirectorySymlinks: true }),
      walk("$URI", { pruneHiddenDirectories: true }),
      walk("$URI/d1", { maxDepth: 0 }),
      walk("$URI/d1", { maxDepth: 1 }),
      walk("$URI", { maxEntries: 3 }),
      walk("$URI/d1/d2/d3", { maxEntries: 1 }),
      walk("$URI", { maxDirectories: 1 }),
      { ...walk("$URI", { maxEntries: 0 }), text: true },
      { ...walk("$URI", { maxDepth: 65 }), text: true },
      walk("$URI/a.txt"),
      walk("$URI/fifo"),
      walk("$URI/link_to_d1"),
      walk("$URI/link_to_d1", { followDirectorySymlinks: true }),
      walk("$URI/broken"),
      walk("$URI/missing"),
      walk("$URI/.hdir", { pruneHiddenDirectories: true }),
    ],
  },
  {
    name: "file handles: read blocks, eof, limits and ids",
    files: { "f.txt": "a\n", "d/x": "x" },
    steps: [
      { call: "fs/open", params: { handleId: "r", path: "$URI/f.txt", sandbox: null } },
      { call: "fs/readBlock", params: { handleId: "r", offset: 0, len: 2 } },
      { call: "fs/readBlock", params: { handleId: "r", offset: 2, len: 2 } },
      { call: "fs/readBlock", params: { handleId: "r", offset: 0, len: 3 } },
      { call: "fs/readBlock", params: { handleId: "r", offset: 0, len: 0 }, text: true },
      { call: "fs/readBlock", params: { handleId: "nope", offset: 0, len: 1 }, text: true },
      { call: "fs/writeBlock", params: { handleId: "r", offset: 0, chunk: b64("x") }, text: true },
      { call: "fs/readBlock", params: { handleId: "r", offset: 1, len: 9 } },
      { call: "fs/open", params: { handleId: "r", path: "$URI/f.txt" }, text: true },
      { call: "fs/open", params: { handleId: "é".repeat(16), path: "$URI/f.txt" } },
      { call: "fs/open", params: { handleId: "é".repeat(17), path: "$URI/f.txt" }, text: true },
      { call: "fs/open", params: { handleId: "m", path: "$URI/missing" }, text: true },
      { call: "fs/open", params: { handleId: "d", path: "$URI/d" } },
      { call: "fs/open", params: { handleId: "d", path: "$URI/d", mode: "replace" }, text: true },
      { call: "fs/close", params: { handleId: "r" } },
      { call: "fs/close", params: { handleId: "r" } },
      { call: "fs/readBlock", params: { handleId: "r", offset: 0, len: 1 }, text: true },
    ],
  },
  {
    name: "replace handles: the new contents, once closed",
    files: { "f.txt": "old contents\n" },
    steps: [
      { call: "fs/open", params: { handleId: "w", path: "$URI/f.txt", mode: { replace: null } } },
      { call: "fs/writeBlock", params: { handleId: "w", offset: 0, chunk: b64("hello") } },
      { call: "fs/writeBlock", params: { handleId: "w", offset: 0, chunk: "" }, text: true },
      {
        call: "fs/writeBlock",
        params: { handleId: "w", offset: 2 ** 63, chunk: b64("x") },
        text: true,
      },
      { call: "fs/close", params: { handleId: "w" } },
      { call: "fs/readFile", params: { path: "$URI/f.txt" } },
      { call: "fs/open", params: { handleId: "n", path: "$URI/new.txt", mode: "replace" } },
      { call: "fs/writeBlock", params: { handleId: "n", offset: 0, chunk: b64("new") } },
      { call: "fs/close", params: { handleId: "n" } },
      { call: "fs/readFile", params: { path: "$URI/new.txt" } },
    ],
  },
  {
    name: "replace handles: the target is untouched until fs/close",
    files: { "f.txt": "KEEP ME" },
    steps: [
      { call: "fs/open", params: { handleId: "w", path: "$URI/f.txt", mode: "replace" } },
      { call: "fs/writeBlock", params: { handleId: "w", offset: 0, chunk: b64("partial") } },
      {
        call: "fs/readFile",
        params: { path: "$URI/f.txt" },
        differs: "replace-handles",
        expect: {
          codex: { result: { dataBase64: "utf8:partial" } },
          ours: { result: { dataBase64: "utf8:KEEP ME" } },
        },
      },
      {
        call: "fs/readBlock",
        params: { handleId: "w", offset: 0, len: 1 },
        text: true,
      },
      {
        call: "fs/writeBlock",
        params: { handleId: "w", offset: 0, chunk: b64("P") },
        differs: "replace-handles",
        expect: { codex: { error: { code: -32004 } }, ours: { result: {} } },
      },
    ],
  },
  {
    name: "file handles belong to the session: they survive a resume",
    files: { "f.txt": "abc" },
    steps: [
      { call: "fs/open", params: { handleId: "keep", path: "$URI/f.txt" } },
      { resume: true, omit: ["result.environmentInfo"] },
      {
        call: "fs/readBlock",
        params: { handleId: "keep", offset: 0, len: 3 },
        differs: "session-handles",
        expect: { codex: { error: { code: -32004 } }, ours: { result: { chunk: "utf8:abc" } } },
      },
    ],
  },
  {
    name: "fs/watchMissing: ids must increase, and a created path fires once",
    files: { "wm/.keep": "" },
    steps: [
      { call: "fs/watchMissing", params: { watchId: 1, missing: ["$URI/wm/a"], sandbox: null } },
      { call: "fs/watchMissing", params: { watchId: 1, missing: ["$URI/wm/b"] } },
      { call: "fs/watchMissing", params: { watchId: 0, missing: ["$URI/wm/b"] } },
      { call: "fs/watchMissing", params: { watchId: 2, missing: [] } },
      { call: "fs/watchMissing", params: { watchId: 3, missing: ["$URI/wm/.keep"] } },
      { call: "fs/watchMissing", params: { watchId: 4, missing: ["$URI/wm/x/y"] } },
      { act: (dir) => Deno.mkdir(`${dir}/wm/x`) },
      { notification: "fs/missingChanged" },
      {
        call: "fs/watchMissing",
        params: { watchId: 5, missing: ["$URI/wm/p"], present: "$URI/wm/.keep" },
      },
      { act: (dir) => Deno.writeTextFile(`${dir}/wm/.keep`, "changed") },
      { notification: "fs/missingChanged" },
      {
        call: "fs/watchMissing",
        params: { watchId: 6, missing: ["$URI/wm/q"], present: ["$URI/wm/.keep"] },
        differs: "present-list",
        expect: { codex: { error: { code: -32602 } }, ours: { result: { watching: true } } },
      },
    ],
  },
];
