// Copyright 2026 the exec-server authors. MIT license.
// A start that cannot run fails as codex 0.171 reports it: -32603 with
// data.kind spawnNotFound, spawnPermissionDenied or spawnFailed, the OS text
// "(os error N)" in the message, nothing started, the id free again. Real
// spawns, on pipes and on terminals.
import assert from "node:assert/strict";
import { memoryServer } from "./_memory.ts";
import { ExecServerError } from "../lib/client/errors.ts";
import type { ExecServerClient } from "../lib/client/client.ts";

interface Case {
  name: string;
  argv: (dir: string) => string[];
  cwd?: (dir: string) => string;
  env?: Record<string, string>;
  kind: string;
  message: RegExp;
}

const PATH = { PATH: "/usr/bin:/bin" };

const CASES: Case[] = [
  {
    name: "a missing absolute program",
    argv: () => ["/nonexistent/prog"],
    kind: "spawnNotFound",
    message: /^No such file or directory \(os error 2\)/,
  },
  {
    name: "a bare name not on the child's PATH",
    argv: () => ["no-such-prog-xyz"],
    kind: "spawnNotFound",
    message: /\(os error 2\): no-such-prog-xyz$/,
  },
  {
    name: "a bare name, the child without PATH",
    argv: () => ["no-such-prog-xyz"],
    env: {},
    kind: "spawnNotFound",
    message: /\(os error 2\)/,
  },
  {
    name: "a missing cwd",
    argv: () => ["/bin/true"],
    cwd: () => "/nonexistent/dir",
    kind: "spawnNotFound",
    message: /\(os error 2\).*\/nonexistent\/dir|\/nonexistent\/dir.*\(os error 2\)/,
  },
  {
    name: "a cwd that is a file",
    argv: () => ["/bin/true"],
    cwd: (d) => `${d}/afile`,
    kind: "spawnFailed",
    message: /\(os error 20\)/,
  },
  {
    name: "a file without an execute bit",
    argv: (d) => [`${d}/noexec.sh`],
    kind: "spawnPermissionDenied",
    message: /^Permission denied \(os error 13\)/,
  },
  {
    name: "a relative path to a file without an execute bit",
    argv: () => ["./noexec.sh"],
    cwd: (d) => d,
    kind: "spawnPermissionDenied",
    message: /\(os error 13\)/,
  },
  {
    name: "a directory as argv[0]",
    argv: (d) => [`${d}/dir`],
    kind: "spawnPermissionDenied",
    message: /\(os error 13\)/,
  },
  {
    name: "an empty argv[0]",
    argv: () => [""],
    kind: "spawnFailed",
    message: /^missing program/,
  },
  {
    name: "an executable that is not a valid binary (ENOEXEC)",
    argv: (d) => [`${d}/garbage`],
    kind: "spawnFailed",
    message: /^Exec format error \(os error 8\)/,
  },
  {
    name: "an executable text file without #! (ENOEXEC, no sh fallback)",
    argv: (d) => [`${d}/text`],
    kind: "spawnFailed",
    message: /\(os error 8\)/,
  },
  {
    name: "a script whose #! interpreter is missing",
    argv: (d) => [`${d}/badinterp`],
    kind: "spawnNotFound",
    message: /\(os error 2\)/,
  },
];

async function fixture(): Promise<string> {
  const d = await Deno.makeTempDir({ prefix: "spawn-errors-" });
  await Deno.mkdir(`${d}/dir`);
  await Deno.writeTextFile(`${d}/afile`, "");
  await Deno.writeTextFile(`${d}/noexec.sh`, "#!/bin/sh\necho hi\n", { mode: 0o644 });
  await Deno.writeFile(`${d}/garbage`, new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 1, 2, 3, 0]), {
    mode: 0o755,
  });
  await Deno.writeTextFile(`${d}/text`, "echo from a text file without a shebang\n", {
    mode: 0o755,
  });
  await Deno.writeTextFile(`${d}/badinterp`, "#!/nonexistent/interp\necho hi\n", {
    mode: 0o755,
  });
  for (const f of ["garbage", "text", "badinterp"]) await Deno.chmod(`${d}/${f}`, 0o755);
  await Deno.chmod(`${d}/noexec.sh`, 0o644);
  return d;
}

async function startError(
  client: ExecServerClient,
  params: Record<string, unknown>,
): Promise<ExecServerError> {
  try {
    await client.call("process/start", params as never);
  } catch (err) {
    if (err instanceof ExecServerError) return err;
    throw err;
  }
  throw new Error(`process/start ${JSON.stringify(params)} succeeded`);
}

for (const tty of [false, true]) {
  Deno.test(`start errors as codex 0.171 reports them (tty: ${tty})`, async (t) => {
    await using server = await memoryServer();
    await using client = await server.connect();
    const dir = await fixture();
    try {
      for (const c of CASES) {
        await t.step(c.name, async () => {
          const params = {
            processId: "p",
            argv: c.argv(dir),
            cwd: c.cwd ? c.cwd(dir) : "file:///tmp",
            env: c.env ?? PATH,
            tty,
          };
          const err = await startError(client, params);
          assert.equal(err.code, -32603);
          assert.deepEqual(err.data, { kind: c.kind });
          assert.match(err.message, c.message);
          // Nothing was started and the id is free at once.
          const list = await client.call("process/list", {});
          assert.deepEqual(list.processes, []);
        });
      }
      await t.step("the id of a failed start can be used at once", async () => {
        const ok = await client.call("process/start", {
          processId: "p",
          argv: ["true"],
          cwd: "/tmp",
          env: PATH,
          tty,
        });
        assert.deepEqual(ok, { processId: "p", sandboxType: "none" });
        const read = await client.call("process/read", { processId: "p", waitMs: 5000 });
        assert.equal(read.exited || read.chunks.length > 0, true);
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}
