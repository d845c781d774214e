// Copyright 2026 the exec-server authors. MIT license.
// environmentConfig/read reads only what it should: a config file that is a
// FIFO or too big is refused (the FIFO promptly, as codex 0.171 does, with
// its words), and what the client's cwd leads to obeys the server's
// --fs-root and --sandbox.
import assert from "node:assert/strict";
import { MAX_CONFIG_BYTES, readEnvironmentConfig } from "../lib/host/config.ts";
import { pathToFileUri } from "../lib/protocol/sandbox.ts";
import type { RpcError } from "../lib/protocol/errors.ts";
import { ServerProcess, TestClient } from "./_harness.ts";
import { mkfifo } from "./_fs_helpers.ts";
import { pathEntry, restricted, rootEntry } from "./_sandbox.ts";

async function tempTree(): Promise<{ root: string } & AsyncDisposable> {
  const root = await Deno.realPath(await Deno.makeTempDir({ prefix: "host-config-" }));
  await Deno.mkdir(`${root}/ch`);
  return {
    root,
    [Symbol.asyncDispose]: () => Deno.remove(root, { recursive: true }),
  };
}

const readAt = (root: string, mayRead?: (path: string, steered: boolean) => boolean) =>
  readEnvironmentConfig(
    { cwd: pathToFileUri(`${root}/proj`), configPaths: [["mcp_servers"]], requirementsPaths: [] },
    {
      env: { CODEX_HOME: `${root}/ch`, HOME: root },
      systemDir: `${root}/etc`,
      hostname: "h",
      ...(mayRead ? { mayRead } : {}),
    },
  );

Deno.test("environmentConfig/read refuses a config.toml that is a FIFO, at once and in codex's words", async () => {
  await using t = await tempTree();
  const fifo = `${t.root}/ch/config.toml`;
  await mkfifo(fifo);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<"hung">((resolve) =>
    timer = setTimeout(() => resolve("hung"), 5000)
  );
  const reading = readAt(t.root).then(() => "read", (err: RpcError) => err);
  const outcome = await Promise.race([reading, deadline]);
  clearTimeout(timer);
  if (outcome === "hung") {
    // Let the stuck reader go (a writer that closes at once), so the test ends.
    (await Deno.open(fifo, { write: true })).close();
    await reading;
    assert.fail("environmentConfig/read waited on a FIFO for 5 s");
  }
  assert.equal((outcome as RpcError).code, -32603);
  assert.equal(
    (outcome as RpcError).message,
    `failed to load executor-local config: Failed to read config file ${fifo}: path \`${fifo}\` is not a file`,
  );
});

Deno.test("environmentConfig/read refuses a config file over 1 MiB, saying so", async () => {
  await using t = await tempTree();
  const big = `${t.root}/ch/config.toml`;
  await Deno.writeTextFile(big, `${"#".repeat(MAX_CONFIG_BYTES)}\n`);
  await assert.rejects(readAt(t.root), (err: RpcError) => {
    assert.equal(err.code, -32603);
    assert.match(err.message, /config\.toml: it is 1048577 bytes, more than the limit of 1048576/);
    return true;
  });
  await Deno.writeTextFile(big, `${"#".repeat(MAX_CONFIG_BYTES - 1)}\n`);
  assert.deepEqual((await readAt(t.root)).config.layers, [], "1 MiB itself is fine");
});

/** A trusted project at `root/proj` with its own layer, for the server tests. */
async function trustedProject(root: string): Promise<void> {
  await Deno.mkdir(`${root}/proj/.codex`, { recursive: true });
  await Deno.writeTextFile(`${root}/proj/.codex/config.toml`, '[mcp_servers.p]\ncommand = "p"\n');
  await Deno.writeTextFile(
    `${root}/ch/config.toml`,
    `[mcp_servers.u]\ncommand = "u"\n[projects."${root}/proj"]\ntrust_level = "trusted"\n`,
  );
}

async function layersFrom(server: ServerProcess, root: string): Promise<string[]> {
  await using c = await TestClient.connect(server.url);
  const r = await c.request("environmentConfig/read", {
    cwd: pathToFileUri(`${root}/proj`),
    configPaths: [["mcp_servers"]],
    requirementsPaths: [],
  });
  return r.config.layers.map((l: { source: string }) => l.source.replaceAll(root, "R"));
}

Deno.test("environmentConfig/read follows the client's cwd only inside --fs-root and what --sandbox lets it read", async () => {
  await using t = await tempTree();
  await trustedProject(t.root);
  await Deno.mkdir(`${t.root}/allowed`);
  const env = { CODEX_HOME: `${t.root}/ch`, HOME: t.root };
  const user = "user (R/ch/config.toml)";
  {
    await using server = await ServerProcess.start([], { env });
    assert.deepEqual(await layersFrom(server, t.root), [
      user,
      "project (R/proj/.codex/config.toml)",
    ]);
  }
  {
    await using server = await ServerProcess.start(["--fs-root", `${t.root}/allowed`], { env });
    assert.deepEqual(await layersFrom(server, t.root), [user], "a project outside the roots");
  }
  {
    const profile = `${t.root}/profile.json`;
    await Deno.writeTextFile(
      profile,
      JSON.stringify(restricted([rootEntry("read"), pathEntry(`${t.root}/proj`, "deny")])),
    );
    await using server = await ServerProcess.start(["--sandbox", profile], { env });
    assert.deepEqual(await layersFrom(server, t.root), [user], "a project the sandbox denies");
  }
});
