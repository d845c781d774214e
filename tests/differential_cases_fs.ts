// Copyright 2026 the exec-server authors. MIT license.
/**
 * Differential cases: `fs/*`, with `file://` URIs as 0.171 sends them.
 *
 * @module
 */
import { b64, type Case, type FixtureEntry } from "./_differential.ts";

/** A small tree: files, a nested directory, symlinks (a dangling one too). */
export const TREE: Record<string, FixtureEntry> = {
  "a.txt": "alpha\n",
  "d/b.txt": "beta\n",
  "d/e/c.txt": "gamma\n",
  "link_to_a": { symlink: "a.txt" },
  "link_to_d": { symlink: "d" },
  "broken": { symlink: "nonexistent" },
};

/** Filesystem cases. */
export const FS_CASES: Case[] = [
  {
    name: "fs/getMetadata of a file, a directory, symlinks and a missing path",
    files: TREE,
    steps: [
      { call: "fs/getMetadata", params: { path: "$URI/a.txt" } },
      { call: "fs/getMetadata", params: { path: "$URI/d" }, omit: ["result.size"] },
      { call: "fs/getMetadata", params: { path: "$URI/link_to_a" } },
      { call: "fs/getMetadata", params: { path: "$URI/broken" } },
      { call: "fs/getMetadata", params: { path: "$URI/missing" } },
      { call: "fs/getMetadata", params: { path: "$URI/a.txt/x" } },
    ],
  },
  {
    name: "fs/readFile of a file, a symlink and a missing path",
    files: TREE,
    steps: [
      { call: "fs/readFile", params: { path: "$URI/a.txt" } },
      { call: "fs/readFile", params: { path: "$URI/link_to_a" } },
      { call: "fs/readFile", params: { path: "$URI/missing" } },
    ],
  },
  {
    name: "fs/readFile of a directory is -32600; a FIFO or a device, ours reads",
    files: { ...TREE, "fifo": { fifo: true } },
    steps: [
      { call: "fs/readFile", params: { path: "$URI/d" }, text: true },
      { call: "fs/readFile", params: { path: "$URI/./link_to_d/" }, text: true },
      {
        call: "fs/readFile",
        params: { path: "$URI/fifo" },
        differs: "special-file-reads",
        expect: { codex: { error: { code: -32600 } }, ours: { result: { dataBase64: "utf8:" } } },
      },
      {
        call: "fs/readFile",
        params: { path: "file:///dev/null" },
        differs: "special-file-reads",
        expect: { codex: { error: { code: -32600 } }, ours: { result: { dataBase64: "utf8:" } } },
      },
    ],
  },
  {
    name: "fs/readFile with offset and length",
    files: TREE,
    steps: [{
      call: "fs/readFile",
      params: { path: "$URI/a.txt", offset: 1, length: 2 },
      differs: "file-ranges",
      expect: {
        codex: { result: { dataBase64: "utf8:alpha\n" } },
        ours: { result: { dataBase64: "utf8:lp" } },
      },
    }],
  },
  {
    name: "fs/writeFile creates and truncates; a missing parent is -32004",
    files: TREE,
    steps: [
      { call: "fs/writeFile", params: { path: "$URI/new.txt", dataBase64: b64("fresh") } },
      { call: "fs/readFile", params: { path: "$URI/new.txt" } },
      { call: "fs/writeFile", params: { path: "$URI/a.txt", dataBase64: b64("A") } },
      { call: "fs/readFile", params: { path: "$URI/a.txt" } },
      { call: "fs/writeFile", params: { path: "$URI/no/dir/x.txt", dataBase64: b64("x") } },
      { call: "fs/writeFile", params: { path: "$URI/bad.txt", dataBase64: "!!" } },
      { call: "fs/writeFile", params: { path: "$URI/d", dataBase64: b64("x") } },
    ],
  },
  {
    name: "fs/writeFile with append",
    files: TREE,
    steps: [
      {
        call: "fs/writeFile",
        params: { path: "$URI/a.txt", dataBase64: b64("more\n"), append: true },
      },
      {
        call: "fs/readFile",
        params: { path: "$URI/a.txt" },
        differs: "file-ranges",
        expect: {
          codex: { result: { dataBase64: "utf8:more\n" } },
          ours: { result: { dataBase64: "utf8:alpha\nmore\n" } },
        },
      },
    ],
  },
  {
    name: "fs/createDirectory, recursive by default",
    files: TREE,
    steps: [
      { call: "fs/createDirectory", params: { path: "$URI/x/y/z" } },
      { call: "fs/getMetadata", params: { path: "$URI/x/y/z" }, omit: ["result.size"] },
      { call: "fs/createDirectory", params: { path: "$URI/x/y/z" } },
      { call: "fs/createDirectory", params: { path: "$URI/x/y/z", recursive: false } },
      { call: "fs/createDirectory", params: { path: "$URI/p/q", recursive: false } },
      { call: "fs/createDirectory", params: { path: "$URI/a.txt/sub" } },
    ],
  },
  {
    name: "fs/readDirectory lists names and kinds, following symlinks",
    files: TREE,
    steps: [
      { call: "fs/readDirectory", params: { path: "$URI" } },
      { call: "fs/readDirectory", params: { path: "$URI/link_to_d" } },
      { call: "fs/readDirectory", params: { path: "$URI/a.txt" } },
      { call: "fs/readDirectory", params: { path: "$URI/missing" } },
    ],
  },
  {
    name: "fs/remove of a file, a symlink (not its target), a tree, a missing path",
    files: TREE,
    steps: [
      { call: "fs/remove", params: { path: "$URI/link_to_d" } },
      { call: "fs/getMetadata", params: { path: "$URI/d/b.txt" } },
      { call: "fs/remove", params: { path: "$URI/a.txt" } },
      { call: "fs/remove", params: { path: "$URI/d", recursive: false } },
      { call: "fs/remove", params: { path: "$URI/d" } },
      { call: "fs/readDirectory", params: { path: "$URI" } },
      { call: "fs/remove", params: { path: "$URI/missing" } },
      { call: "fs/remove", params: { path: "$URI/missing", force: false } },
    ],
  },
  {
    name: "fs/copy of a file and a tree; directories need recursive, not into themselves",
    files: TREE,
    steps: [
      {
        call: "fs/copy",
        params: { sourcePath: "$URI/a.txt", destinationPath: "$URI/a2.txt", recursive: false },
      },
      { call: "fs/readFile", params: { path: "$URI/a2.txt" } },
      {
        call: "fs/copy",
        params: { sourcePath: "$URI/d", destinationPath: "$URI/d2", recursive: false },
        text: true,
      },
      {
        call: "fs/copy",
        params: { sourcePath: "$URI/d", destinationPath: "$URI/d2", recursive: true },
      },
      { call: "fs/readFile", params: { path: "$URI/d2/e/c.txt" } },
      {
        call: "fs/copy",
        params: { sourcePath: "$URI/d", destinationPath: "$URI/d/inner", recursive: true },
        text: true,
      },
      {
        call: "fs/copy",
        params: { sourcePath: "$URI/link_to_a", destinationPath: "$URI/l2", recursive: false },
      },
      { call: "fs/getMetadata", params: { path: "$URI/l2" } },
      {
        call: "fs/copy",
        params: { sourcePath: "$URI/missing", destinationPath: "$URI/m2", recursive: false },
      },
      { call: "fs/copy", params: { sourcePath: "$URI/a.txt", destinationPath: "$URI/a3.txt" } },
    ],
  },
  {
    name: "paths: relative, other schemes, file://localhost, percent-encoding",
    files: { "sp ace/q%.txt": "q\n" },
    steps: [
      { call: "fs/getMetadata", params: { path: "relative/a.txt" } },
      { call: "fs/getMetadata", params: { path: "http://host/tmp" } },
      { call: "fs/readFile", params: { path: "file://localhost$DIR/sp%20ace/q%25.txt" } },
      { call: "fs/getMetadata", params: { path: 5 } },
      { call: "fs/getMetadata", params: {} },
    ],
  },
  {
    name: "a file URI naming another host is -32600",
    steps: [{ call: "fs/getMetadata", params: { path: "file://otherhost$DIR" } }],
  },
  {
    name: "paths as native absolute paths",
    files: TREE,
    steps: [{
      call: "fs/readFile",
      params: { path: "$DIR/a.txt" },
      differs: "native-paths",
      expect: {
        codex: { error: { code: -32602 } },
        ours: { result: { dataBase64: "utf8:alpha\n" } },
      },
    }],
  },
];
