// Copyright 2026 the exec-server authors. MIT license.
// fs/* calls that touch more than the path they name, under a codex
// permission profile, through the real server: a recursive copy, remove or
// mkdir -p is checked on every path it would create, overwrite, remove or
// read, not only on the top one, and a refused call changes nothing.
import assert from "node:assert/strict";
import { ServerProcess, TestClient } from "./_harness.ts";
import { pathEntry, restricted, rootEntry, scratch, specialEntry } from "./_sandbox.ts";
import { pathToFileUri } from "../lib/protocol/sandbox.ts";

const FIXTURES = new URL("./fixtures/sandbox_profiles/", import.meta.url);

/**
 * codex 0.171's own workspace-write profile for fs calls (captured), with its
 * workspace moved to `w`: `w` writable, `w/.git` (and `.codex`, `.agents`,
 * `.aws`) read-only.
 */
async function workspaceWrite(w: string): Promise<unknown> {
  const captured = await Deno.readTextFile(new URL("workspace-write-default.fs.json", FIXTURES));
  return JSON.parse(captured.replaceAll("file:///tmp/sbx/work", pathToFileUri(w)));
}

/** Every path below `dir`, relative, sorted. */
async function listing(dir: string, rel = ""): Promise<string[]> {
  const out: string[] = [];
  for await (const entry of Deno.readDir(`${dir}${rel}`)) {
    const child = `${rel}/${entry.name}`;
    out.push(child);
    if (entry.isDirectory) out.push(...await listing(dir, child));
  }
  return out.sort();
}

Deno.test("a recursive fs/copy, fs/remove or mkdir -p under a profile checks every path it touches", async (t) => {
  await using srv = await ServerProcess.start(["--log-level", "warn"]);
  await using client = await TestClient.connect(srv.url);
  await using tmp = await scratch();
  const w = `${tmp.dir}/w`;
  const src = `${tmp.dir}/src`;
  await Deno.mkdir(`${w}/.git`, { recursive: true });
  await Deno.writeTextFile(`${w}/.git/config`, "[core]\n");
  await Deno.writeTextFile(`${w}/f.txt`, "f\n");
  await Deno.mkdir(`${src}/.git/hooks`, { recursive: true });
  await Deno.writeTextFile(`${src}/a.txt`, "a\n");
  await Deno.writeTextFile(`${src}/.git/hooks/pre-commit`, "#!/bin/sh\nevil\n");
  const profile = await workspaceWrite(w);
  const u = pathToFileUri;

  await t.step("a tree copied into the workspace cannot plant .git/hooks", async () => {
    const before = await listing(w);
    const r = await client.call("fs/copy", {
      sourcePath: u(src),
      destinationPath: u(w),
      recursive: true,
      sandbox: profile,
    });
    assert.equal(r.error?.code, -32603, JSON.stringify(r));
    assert.match(r.error.message, /^Read-only file system \(os error 30\): .*\/w\/\.git\b/);
    assert.deepEqual(await listing(w), before, "nothing written, not even a.txt");
    // The same tree under a new name in the workspace is fine: its .git is not W's.
    const ok = await client.call("fs/copy", {
      sourcePath: u(src),
      destinationPath: u(`${w}/copy`),
      recursive: true,
      sandbox: profile,
    });
    assert.equal(ok.error, undefined, JSON.stringify(ok));
    assert.equal(await Deno.readTextFile(`${w}/copy/.git/hooks/pre-commit`), "#!/bin/sh\nevil\n");
    await Deno.remove(`${w}/copy`, { recursive: true });
  });

  await t.step("mkdir -p cannot create a read-only directory on the way", async () => {
    await Deno.mkdir(`${w}/ro`);
    const narrow = restricted([
      rootEntry("read"),
      specialEntry("project_roots", "write"),
      pathEntry(`${w}/ro`, "read"),
      pathEntry(`${w}/ro/a/b`, "write"),
    ], { roots: [w], cwd: w });
    const r = await client.call("fs/createDirectory", {
      path: u(`${w}/ro/a/b`),
      recursive: true,
      sandbox: narrow,
    });
    assert.equal(r.error?.code, -32603, JSON.stringify(r));
    assert.match(r.error.message, /\/ro\/a is read-only/);
    assert.deepEqual(await listing(`${w}/ro`), []);
  });

  await t.step("a tree copy cannot read what the profile denies", async () => {
    await Deno.mkdir(`${w}/cfg`);
    await Deno.writeTextFile(`${w}/cfg/app.env`, "TOKEN=s3cret\n");
    await Deno.writeTextFile(`${w}/cfg/app.toml`, "x = 1\n");
    const denyEnv = restricted([
      rootEntry("read"),
      specialEntry("project_roots", "write"),
      pathEntry(`${tmp.dir}/out`, "write"),
      { path: { type: "glob_pattern", pattern: "codex-project-roots://**/*.env" }, access: "deny" },
    ], { roots: [w], cwd: w });
    const r = await client.call("fs/copy", {
      sourcePath: u(`${w}/cfg`),
      destinationPath: u(`${tmp.dir}/out`),
      recursive: true,
      sandbox: denyEnv,
    });
    assert.equal(r.error?.code, -32600, JSON.stringify(r));
    assert.match(r.error.message, /^Permission denied \(os error 13\): .*app\.env is denied/);
    await assert.rejects(Deno.lstat(`${tmp.dir}/out`), Deno.errors.NotFound);
  });
  // Last: on a server without the check this removes the whole workspace.
  await t.step("removing the workspace cannot take its read-only .git", async () => {
    const before = await listing(w);
    const r = await client.call("fs/remove", {
      path: u(w),
      recursive: true,
      force: false,
      sandbox: profile,
    });
    assert.equal(r.error?.code, -32603, JSON.stringify(r));
    assert.deepEqual(await listing(w), before, "nothing removed, not even f.txt");
  });
});
