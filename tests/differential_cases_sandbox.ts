// Copyright 2026 the exec-server authors. MIT license.
/**
 * Differential cases: codex's permission profiles (`sandbox`) on
 * `process/start` and the `fs/*` calls, enforced. The profile is codex's
 * "profile A" (see /work/notes/codex-0171-methods.md §11): the whole file
 * system readable, `rw/` writable except `rw/deny/`, `none/` unreadable.
 *
 * @module
 */
import { b64, type CallStep, type Case, type FixtureEntry } from "./_differential.ts";
import { start } from "./differential_cases_process.ts";

const FILES: Record<string, FixtureEntry> = {
  "ro/f.txt": "ro\n",
  "rw/f.txt": "rw\n",
  "rw/deny/f.txt": "denied\n",
  "none/f.txt": "none\n",
};

/** A codex permission profile over the fixture directory. */
function profile(entries: { path: unknown; access: string }[]): Record<string, unknown> {
  return {
    permissions: {
      type: "managed",
      file_system: { type: "restricted", entries },
      network: "restricted",
    },
    cwd: "$URI",
    windowsSandboxLevel: "disabled",
  };
}

/** Profile A: root readable, `rw` writable but `rw/deny`, `none` unreadable. */
const PROFILE_A = profile([
  { path: { type: "special", value: { kind: "root" } }, access: "read" },
  { path: { type: "path", path: "$URI/rw" }, access: "write" },
  { path: { type: "path", path: "$URI/rw/deny" }, access: "deny" },
  { path: { type: "path", path: "$URI/none" }, access: "none" },
]);

/** An fs call under profile A. */
function fs(call: string, params: Record<string, unknown>): CallStep {
  return { call, params: { ...params, sandbox: PROFILE_A } };
}

/** Sandbox cases. */
export const SANDBOX_CASES: Case[] = [
  {
    name: "process/start under a profile: reads anywhere, writes only where allowed",
    files: FILES,
    steps: [
      start("w", ["sh", "-c", "echo x > rw/new.txt && echo wrote"], { sandbox: PROFILE_A }),
      { events: "w" },
      start("o", ["sh", "-c", "touch /usr/local/diff-probe-never"], { sandbox: PROFILE_A }),
      { events: "o" },
      start("ro", ["sh", "-c", "echo x > ro/new.txt"], { sandbox: PROFILE_A }),
      { events: "ro" },
      start("n", ["cat", "none/f.txt"], { sandbox: PROFILE_A }),
      { events: "n" },
      start("d", ["sh", "-c", "echo x > rw/deny/f.txt"], { sandbox: PROFILE_A }),
      { events: "d" },
      start("ok", ["cat", "ro/f.txt"], { sandbox: PROFILE_A }),
      { events: "ok" },
    ],
  },
  {
    name: "fs calls under a profile: EROFS outside writable roots, EACCES where denied",
    files: FILES,
    steps: [
      fs("fs/readFile", { path: "$URI/ro/f.txt" }),
      fs("fs/readFile", { path: "$URI/rw/deny/f.txt" }),
      fs("fs/readFile", { path: "$URI/none/f.txt" }),
      fs("fs/writeFile", { path: "$URI/rw/new.txt", dataBase64: b64("x") }),
      fs("fs/writeFile", { path: "$URI/ro/new.txt", dataBase64: b64("x") }),
      fs("fs/writeFile", { path: "$URI/rw/deny/new.txt", dataBase64: b64("x") }),
      fs("fs/createDirectory", { path: "$URI/ro/sub" }),
      fs("fs/createDirectory", { path: "$URI/rw/sub" }),
      fs("fs/remove", { path: "$URI/ro/f.txt" }),
      fs("fs/getMetadata", { path: "$URI/none/f.txt" }),
      fs("fs/readDirectory", { path: "$URI/none" }),
      fs("fs/copy", {
        sourcePath: "$URI/ro/f.txt",
        destinationPath: "$URI/rw/copy.txt",
        recursive: false,
      }),
      fs("fs/copy", {
        sourcePath: "$URI/rw/f.txt",
        destinationPath: "$URI/ro/copy.txt",
        recursive: false,
      }),
    ],
  },
  {
    name: "sandbox profiles that change nothing: disabled, external, unrestricted",
    files: FILES,
    steps: [
      {
        call: "fs/writeFile",
        params: {
          path: "$URI/ro/a.txt",
          dataBase64: b64("a"),
          sandbox: { permissions: { type: "disabled" }, windowsSandboxLevel: "disabled" },
        },
      },
      {
        call: "fs/readFile",
        params: {
          path: "$URI/none/f.txt",
          sandbox: {
            permissions: {
              type: "managed",
              file_system: { type: "unrestricted" },
              network: "enabled",
            },
            windowsSandboxLevel: "disabled",
          },
        },
      },
    ],
  },
  {
    name: "malformed sandbox profiles are -32602",
    steps: [
      {
        call: "fs/getMetadata",
        params: { path: "$URI", sandbox: {} },
        differs: "our-fs-sandbox",
        expect: { codex: { error: { code: -32602 } }, ours: { result: { isDirectory: true } } },
      },
      { call: "fs/getMetadata", params: { path: "$URI", sandbox: { permissions: {} } } },
      {
        call: "fs/getMetadata",
        params: { path: "$URI", sandbox: { permissions: { type: "x" } } },
      },
      {
        call: "fs/getMetadata",
        params: { path: "$URI", sandbox: { permissions: { type: "disabled" } } },
      },
      start("p", ["true"], { sandbox: { foo: 1 } }),
    ],
  },
];
