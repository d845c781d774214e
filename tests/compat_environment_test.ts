// Copyright 2026 the exec-server authors. MIT license.
// environmentInfo, environment/info and environment/status as codex 0.171
// has them: the shape and key order, where each fact comes from, and
// capability flags that are true only for methods the server has.
import assert from "node:assert/strict";
import { z } from "zod";
import {
  capabilitiesOf,
  CAPABILITY_NAMES,
  EnvironmentInfoSchema,
} from "../lib/protocol/environment.ts";
import { METHODS } from "../lib/protocol/methods.ts";
import { environmentInfoOf, hostEnvironmentInfo, type HostFacts } from "../lib/server/edge_host.ts";
import { createServerCore } from "../lib/server/core.ts";
import { NULL_LOGGER } from "../lib/util/logger.ts";
import { VERSION } from "../lib/util/version.ts";
import { sha256Hex } from "../lib/util/sha256.ts";
import { FAKE_ENVIRONMENT_INFO, RecordingPeer } from "./_fakes.ts";

const FACTS: HostFacts = {
  uid: 1000,
  passwd: "root:x:0:0:root:/root:/bin/bash\nme:x:1000:1000:Me:/home/me:/usr/bin/zsh\n",
  env: { HOME: "/home/me", SHELL: "/bin/sh" },
  cwd: "/srv/a b",
  os: "linux",
  machineId: "0123",
};

/** The key order codex 0.171 sends (serde's field order). */
const CODEX_KEYS = [
  "shell",
  "executorVersion",
  "providerId",
  "cwd",
  "userHomeDir",
  "platformOs",
  "prependPathDirs",
  "temporaryDirectories",
  "tempDir",
  "capabilities",
];

Deno.test("environmentInfoOf: codex's fields in codex's order, paths as file URIs", () => {
  const info = environmentInfoOf(FACTS);
  EnvironmentInfoSchema.parse(info);
  assert.deepEqual(Object.keys(info), CODEX_KEYS.filter((k) => k !== "prependPathDirs"));
  assert.deepEqual(info.shell, { name: "zsh", path: "/usr/bin/zsh" }, "passwd, not $SHELL");
  assert.equal(info.executorVersion, VERSION);
  assert.match(info.providerId, /^sha256:[0-9a-f]{64}$/);
  assert.equal(info.cwd, "file:///srv/a%20b");
  assert.equal(info.userHomeDir, "file:///home/me");
  assert.equal(info.platformOs, "linux");
  assert.equal("prependPathDirs" in info, false, "left out when there are none, as codex does");
  assert.deepEqual(info.temporaryDirectories, []);
  assert.equal(info.tempDir, "file:///tmp");
  assert.deepEqual(Object.keys(info.capabilities), [...CAPABILITY_NAMES]);
});

Deno.test("environmentInfoOf: TMPDIR, a missing passwd entry, HOME and the OS name", () => {
  const tmp = environmentInfoOf({ ...FACTS, env: { ...FACTS.env, TMPDIR: "/var/tmp/x/" } });
  assert.deepEqual(tmp.temporaryDirectories, ["file:///var/tmp/x"]);
  assert.equal(tmp.tempDir, "file:///var/tmp/x");
  const noEntry = environmentInfoOf({ ...FACTS, uid: 4242, env: { SHELL: "/bin/dash" } });
  assert.deepEqual(noEntry.shell, { name: "dash", path: "/bin/dash" }, "$SHELL without an entry");
  assert.equal(noEntry.userHomeDir, "file:///");
  const bare = environmentInfoOf({ ...FACTS, uid: null, passwd: null, env: {} });
  assert.deepEqual(bare.shell, { name: "sh", path: "/bin/sh" });
  const home = environmentInfoOf({ ...FACTS, env: {} });
  assert.equal(home.userHomeDir, "file:///home/me", "the passwd home when $HOME is unset");
  assert.equal(environmentInfoOf({ ...FACTS, os: "darwin" }).platformOs, "macos");
  assert.equal(environmentInfoOf(FACTS).providerId, environmentInfoOf(FACTS).providerId);
  assert.notEqual(
    environmentInfoOf(FACTS).providerId,
    environmentInfoOf({ ...FACTS, machineId: "other" }).providerId,
  );
});

Deno.test("hostEnvironmentInfo: this host's passwd shell, cwd, HOME and TMPDIR", async () => {
  const info = hostEnvironmentInfo();
  const uid = (await new Deno.Command("id", { args: ["-u"] }).output()).stdout;
  const entry = await new Deno.Command("getent", {
    args: ["passwd", new TextDecoder().decode(uid).trim()],
  }).output();
  const shell = new TextDecoder().decode(entry.stdout).trim().split(":")[6];
  if (shell) assert.equal(info.shell.path, shell);
  assert.equal(info.cwd, `file://${Deno.cwd().split("/").map(encodeURIComponent).join("/")}`);
  const tmpdir = Deno.env.get("TMPDIR");
  assert.equal(info.tempDir, `file://${tmpdir ? tmpdir.replace(/\/+$/, "") : "/tmp"}`);
  assert.equal(info.platformOs, Deno.build.os === "darwin" ? "macos" : Deno.build.os);
});

Deno.test("sha256Hex matches WebCrypto for lengths around every padding boundary", async () => {
  for (const length of [0, 1, 55, 56, 57, 63, 64, 65, 119, 120, 128, 1000]) {
    const data = crypto.getRandomValues(new Uint8Array(length));
    const want = new Uint8Array(await crypto.subtle.digest("SHA-256", data)).toHex();
    assert.equal(sha256Hex(data), want, `length ${length}`);
  }
  assert.equal(
    sha256Hex("exec-server ü"),
    new Uint8Array(
      await crypto.subtle.digest("SHA-256", new TextEncoder().encode("exec-server ü")),
    ).toHex(),
  );
});

Deno.test("VERSION is deno.json's version", async () => {
  const config = JSON.parse(await Deno.readTextFile(new URL("../deno.json", import.meta.url)));
  assert.equal(VERSION, config.version);
});

Deno.test("capability flags: true exactly for the methods the table has", () => {
  const m = { params: z.object({}) };
  const none = capabilitiesOf({});
  assert.deepEqual(Object.values(none).filter(Boolean), [], "an empty table turns nothing on");
  const full = capabilitiesOf({
    "fs/watchMissing": m,
    "environmentConfig/read": m,
    "capabilities/discoverV2": m,
    "fs/open": m,
    "fs/readBlock": m,
    "fs/writeBlock": m,
    "fs/close": m,
  });
  assert.deepEqual(
    Object.entries(full).filter(([, on]) => on).map(([name]) => name),
    [
      "fsWatchMissing",
      "capabilityDiscoveryV2",
      "environmentConfigRead",
      "sandboxedFileStreaming",
      "fileWriteStreaming",
    ],
  );
  assert.equal(
    capabilitiesOf({ "fs/open": m, "fs/readBlock": m }).sandboxedFileStreaming,
    false,
    "streaming needs all four handle methods",
  );
});

Deno.test("capability flags: httpHeaderEnvVars only when http/request keeps valueEnvVar", () => {
  const header = z.object({ name: z.string(), value: z.string() });
  const request = (h: z.ZodType) =>
    z.object({ method: z.string(), url: z.string(), requestId: z.string(), headers: z.array(h) });
  assert.equal(
    capabilitiesOf({ "http/request": { params: request(header) } }).httpHeaderEnvVars,
    false,
  );
  const withVar = header.extend({ valueEnvVar: z.string().nullish() });
  assert.equal(
    capabilitiesOf({ "http/request": { params: request(withVar) } }).httpHeaderEnvVars,
    true,
  );
});

Deno.test("capability flags of this server's method table name only methods it has", () => {
  const flags = capabilitiesOf(METHODS);
  const needs: Partial<Record<string, string[]>> = {
    fsWatchMissing: ["fs/watchMissing"],
    capabilityDiscoveryV2: ["capabilities/discoverV2"],
    environmentConfigRead: ["environmentConfig/read"],
    httpHeaderEnvVars: ["http/request"],
    sandboxedFileStreaming: ["fs/open", "fs/readBlock", "fs/writeBlock", "fs/close"],
    fileWriteStreaming: ["fs/open", "fs/readBlock", "fs/writeBlock", "fs/close"],
  };
  for (const [flag, on] of Object.entries(flags)) {
    const methods = needs[flag];
    if (!methods) assert.equal(on, false, `${flag} has no implementation`);
    else assert.equal(on, methods.every((n) => Object.hasOwn(METHODS, n)), flag);
  }
});

function session() {
  const core = createServerCore({ logger: NULL_LOGGER, environmentInfo: FAKE_ENVIRONMENT_INFO });
  const peer = new RecordingPeer();
  const conn = core.connect(peer);
  let id = 0;
  const call = async (method: string, params?: unknown) => {
    const frame: Record<string, unknown> = { id: ++id, method };
    if (params !== undefined) frame.params = params;
    return await conn.receive(JSON.stringify(frame)) as {
      result?: Record<string, unknown>;
      error?: { code: number; message: string };
    };
  };
  return { core, conn, call };
}

Deno.test("initialize returns environmentInfo; environment/info returns the same; status is ready", async () => {
  const { core, conn, call } = session();
  try {
    const early = await call("environment/info", null);
    assert.deepEqual(early.error, {
      code: -32600,
      message: "client must call initialize before using environment info methods",
    });
    const status = await call("environment/status");
    assert.match(status.error!.message, /before using environment status methods$/);
    const init = await call("initialize", {
      clientName: "codex-environment",
      resumeSessionId: null,
    });
    assert.deepEqual(Object.keys(init.result!), ["sessionId", "environmentInfo"]);
    assert.deepEqual(init.result!.environmentInfo, FAKE_ENVIRONMENT_INFO);
    const notYet = await call("environment/info");
    assert.match(notYet.error!.message, /must send initialized before using environment info/);
    await conn.receive('{"method":"initialized","params":{}}');
    for (const params of [null, {}, undefined]) {
      const r = await call("environment/info", params);
      assert.deepEqual(r.result, FAKE_ENVIRONMENT_INFO, `params ${JSON.stringify(params)}`);
    }
    assert.deepEqual((await call("environment/status", null)).result, { status: "ready" });
    for (const method of ["environment/info", "environment/status"]) {
      for (const params of [{ foo: 1 }, [], 5]) {
        const r = await call(method, params);
        assert.equal(r.error?.code, -32602, `${method} ${JSON.stringify(params)}`);
      }
    }
    // A resume returns the facts too.
    const sessionId = init.result!.sessionId as string;
    conn.transportClosed();
    const again = core.connect(new RecordingPeer());
    const resumed = await again.receive(
      JSON.stringify({
        id: 1,
        method: "initialize",
        params: { clientName: "c", resumeSessionId: sessionId },
      }),
    ) as { result: Record<string, unknown> };
    assert.deepEqual(resumed.result, { sessionId, environmentInfo: FAKE_ENVIRONMENT_INFO });
    again.transportClosed();
  } finally {
    await core.registry.shutdown();
  }
});

Deno.test("a core computes the host's environmentInfo once, on first use", async () => {
  let calls = 0;
  const core = createServerCore({
    logger: NULL_LOGGER,
    environmentInfo: () => (calls++, FAKE_ENVIRONMENT_INFO),
  });
  try {
    assert.equal(calls, 0);
    for (let i = 0; i < 3; i++) {
      const conn = core.connect(new RecordingPeer());
      await conn.receive('{"id":1,"method":"initialize","params":{"clientName":"c"}}');
      conn.transportClosed();
    }
    assert.equal(calls, 1);
  } finally {
    await core.registry.shutdown();
  }
});
