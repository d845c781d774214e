// Copyright 2026 the exec-server authors. MIT license.
// What codex 0.171 sends parses, and what our server cannot honour is refused.
// tests/fixtures/codex_0171_frames.jsonl holds one frame per distinct shape,
// taken from the real 0.171 agent's traffic (against codex's server and ours,
// workspace-write and permission profiles included) and from hand-written
// probes that codex's own server decoded (kind, method, params, source).
import assert from "node:assert/strict";
import { isMethodName, METHODS } from "../lib/protocol/methods.ts";
import { NOTIFICATIONS } from "../lib/protocol/process.ts";
import { FsSandboxParamSchema } from "../lib/protocol/fs.ts";
import { createServerCore } from "../lib/server/core.ts";
import { NULL_LOGGER } from "../lib/util/logger.ts";
import { RecordingPeer } from "./_fakes.ts";
import { assertAllGone, waitUntil } from "./_harness.ts";

interface Frame {
  source: string;
  kind: "request" | "notification" | "result" | "serverNotification";
  method: string;
  params: unknown;
}

const FRAMES: Frame[] = (await Deno.readTextFile(
  new URL("./fixtures/codex_0171_frames.jsonl", import.meta.url),
)).trim().split("\n").map((l) => JSON.parse(l));

/** Absent and null params mean `{}`, as the server reads them. */
const paramsOf = (f: Frame) => f.params ?? {};

Deno.test("every request codex 0.171 sends to a method we have parses with our schema", () => {
  const covered = new Set<string>();
  for (const f of FRAMES.filter((f) => f.kind === "request" && isMethodName(f.method))) {
    const method = f.method as keyof typeof METHODS;
    const r = METHODS[method].params.safeParse(paramsOf(f));
    assert.ok(
      r.success,
      `${method} from ${f.source}: ${JSON.stringify(r.error?.issues[0])}\n${
        JSON.stringify(f.params).slice(0, 400)
      }`,
    );
    covered.add(method);
  }
  for (
    const m of ["initialize", "process/start", "process/read", "process/write", "fs/getMetadata"]
  ) {
    assert.ok(covered.has(m), `the fixture covers ${m}`);
  }
  // Methods gain coverage here as they are added to the method table.
  assert.ok(covered.size >= 12, `covered only ${[...covered].join(", ")}`);
});

Deno.test("the fixture has 0.171's sandbox: null, file URIs, metadata, maxBytes: null and full profiles", () => {
  const requests = FRAMES.filter((f) => f.kind === "request");
  const has = (pred: (p: Record<string, unknown>) => boolean) =>
    requests.some((f) => f.params !== null && pred(f.params as Record<string, unknown>));
  assert.ok(has((p) => p.sandbox === null && String(p.path).startsWith("file://")));
  assert.ok(
    has((p) => typeof p.sandbox === "object" && p.sandbox !== null && "permissions" in p.sandbox),
  );
  assert.ok(has((p) => typeof p.metadata === "object" && p.metadata !== null));
  assert.ok(has((p) => p.enforceManagedNetwork === false && p.managedNetwork === null));
  assert.ok(has((p) => p.maxBytes === null));
});

Deno.test("the notifications codex's server sends parse with our client's schemas", () => {
  let n = 0;
  for (const f of FRAMES.filter((f) => f.kind === "serverNotification")) {
    const schema = NOTIFICATIONS[f.method as keyof typeof NOTIFICATIONS];
    if (!schema) continue;
    const r = schema.safeParse(f.params);
    assert.ok(r.success, `${f.method}: ${JSON.stringify(r.error?.issues[0])}`);
    n++;
  }
  assert.equal(n, 3, "process/output, process/exited and process/closed");
});

Deno.test("the results codex's server returns parse with our client's schemas", () => {
  // codex's fs/readFile has only dataBase64; our client needs size and eof
  // for its chunked reads (a known gap of the client against codex's server).
  const known = new Set(["fs/readFile"]);
  const covered = new Set<string>();
  for (const f of FRAMES.filter((f) => f.kind === "result" && isMethodName(f.method))) {
    if (known.has(f.method)) continue;
    const method = f.method as keyof typeof METHODS;
    const r = METHODS[method].result.safeParse(f.params);
    assert.ok(r.success, `${method}: ${JSON.stringify(r.error?.issues[0])}`);
    covered.add(method);
  }
  for (const m of ["initialize", "process/start", "process/read", "fs/getMetadata"]) {
    assert.ok(covered.has(m), `the fixture covers ${m}`);
  }
});

Deno.test("fs sandbox: ours and codex's are told apart by shape; a bad one names its branch", () => {
  assert.deepEqual(FsSandboxParamSchema.parse({ writableRoots: ["/tmp"] }), {
    writableRoots: ["/tmp"],
  });
  const ours = FsSandboxParamSchema.safeParse({ readOnly: "yes" });
  assert.equal(ours.success, false);
  assert.match(ours.error!.issues[0]!.message, /^readOnly: /);
  // A `permissions` key makes it codex's, even next to our keys: never ours with it dropped.
  const mixed = FsSandboxParamSchema.safeParse({ readOnly: true, permissions: undefined });
  assert.equal(mixed.success, true, "an undefined permissions key is no key");
  const codex = FsSandboxParamSchema.parse({
    readOnly: true,
    permissions: { type: "disabled" },
    windowsSandboxLevel: "disabled",
  });
  assert.ok("permissions" in codex && !("readOnly" in codex), "parsed as codex's");
  const bad = FsSandboxParamSchema.safeParse({ readOnly: true, permissions: { type: "x" } });
  assert.equal(bad.success, false);
  assert.match(bad.error!.issues[0]!.message, /unknown variant `x`/, "codex's error, not ours");
  assert.equal(FsSandboxParamSchema.safeParse(5).success, false);
});

/** A server core with the real spawner, driven through a recording peer. */
async function core() {
  const server = createServerCore({ logger: NULL_LOGGER });
  const peer = new RecordingPeer();
  const conn = server.connect(peer);
  let id = 0;
  const call = async (method: string, params: unknown) => {
    const r = await conn.receive(JSON.stringify({ id: ++id, method, params }));
    return r as { result?: Record<string, unknown>; error?: Record<string, unknown> };
  };
  await call("initialize", { clientName: "codex-environment", resumeSessionId: null });
  await conn.receive(JSON.stringify({ method: "initialized", params: {} }));
  return {
    call,
    peer,
    [Symbol.asyncDispose]: async () => {
      conn.transportClosed();
      await server.close();
    },
  };
}

function hasSandbox(f: Frame): boolean {
  const sandbox = (f.params as { sandbox?: unknown }).sandbox;
  return sandbox !== null && sandbox !== undefined;
}

function startFrames(withSandbox: boolean): Record<string, unknown>[] {
  return FRAMES.filter((f) =>
    f.kind === "request" && f.method === "process/start" &&
    hasSandbox(f) === withSandbox
  ).map((f) => f.params as Record<string, unknown>);
}

Deno.test("0.171's process/start frames start (sandbox: null) and report sandboxType none", async () => {
  await using c = await core();
  const frames = startFrames(false);
  assert.ok(frames.length >= 3);
  const pids: number[] = [];
  for (const [i, frame] of frames.entries()) {
    // The agent's commands wait for files; run `true` with every other field as sent.
    const params = { ...frame, processId: `p${i}`, argv: ["true"], cwd: "file:///tmp" };
    const r = await c.call("process/start", params);
    assert.deepEqual(r.result, { processId: `p${i}`, sandboxType: "none" }, JSON.stringify(r));
    const list = await c.call("process/list", {});
    const info = (list.result!.processes as { processId: string; pid: number }[])
      .find((p) => p.processId === `p${i}`);
    pids.push(info!.pid);
  }
  const exited = () =>
    c.peer.sent.filter((m) => (m as { method?: string }).method === "process/exited");
  await waitUntil(() => exited().length === frames.length, { message: "every process exited" });
  for (const m of exited()) {
    assert.equal((m as { params: { sandboxDenied: boolean } }).params.sandboxDenied, false);
  }
  const read = await c.call("process/read", { processId: "p0", afterSeq: 0, maxBytes: null });
  assert.equal(read.result!.sandboxDenied, false);
  await assertAllGone(pids);
});

Deno.test("0.171's sandboxed process/start frames run under bubblewrap (sandboxType linuxSeccomp)", async () => {
  await using c = await core();
  const profiles = startFrames(true);
  assert.ok(profiles.length >= 3, "workspace-write and permission profiles");
  const pids: number[] = [];
  for (const [i, frame] of profiles.entries()) {
    // /usr is visible under root or minimal read access.
    const params = { ...frame, processId: `s${i}`, argv: ["true"], cwd: "file:///usr" };
    const r = await c.call("process/start", params);
    if (r.error) {
      // A profile that shows neither / nor /usr (a probe's): codex starts it
      // and the process fails (exit 101); we refuse the start, saying why.
      assert.deepEqual(r.error.data, { kind: "sandboxPreparation" }, JSON.stringify(r));
      assert.match(String(r.error.message), /\/usr is not visible under the sandbox profile/);
      continue;
    }
    assert.deepEqual(
      r.result,
      { processId: `s${i}`, sandboxType: "linuxSeccomp" },
      JSON.stringify(r),
    );
    const list = await c.call("process/list", {});
    const info = (list.result!.processes as { processId: string; pid: number }[])
      .find((p) => p.processId === `s${i}`);
    pids.push(info!.pid);
  }
  const exited = () =>
    c.peer.sent.filter((m) => (m as { method?: string }).method === "process/exited");
  assert.ok(pids.length >= 3, `${pids.length} of ${profiles.length} started`);
  await waitUntil(() => exited().length === pids.length, { message: "every process exited" });
  for (const m of exited()) {
    const params = (m as { params: { exitCode: number; sandboxDenied: boolean } }).params;
    assert.deepEqual([params.exitCode, params.sandboxDenied], [0, false], JSON.stringify(m));
  }
  await assertAllGone(pids);
});

Deno.test("a managed network on process/start fails with sandboxUnavailable", async () => {
  await using c = await core();
  const base = { argv: ["true"], cwd: "file:///tmp", env: {}, tty: false };
  const cases: [string, Record<string, unknown>][] = [
    ["enforceManagedNetwork", { ...base, enforceManagedNetwork: true }],
    ["managedNetwork", { ...base, managedNetwork: { allowedDomains: [] } }],
    ["networkProxy", { ...base, networkProxy: { port: 3128 } }],
  ];
  for (const [what, params] of cases) {
    const r = await c.call("process/start", { ...params, processId: "refused" });
    assert.equal(r.error?.code, -32603, `${what}: ${JSON.stringify(r)}`);
    assert.deepEqual(r.error?.data, { kind: "sandboxUnavailable" }, what);
    assert.match(String(r.error?.message), /refusing to start the process/, what);
  }
  const snapshot = await c.call("process/start", {
    ...base,
    processId: "s",
    shellSnapshot: { path: "file:///tmp/snap.sh" },
  });
  assert.equal(snapshot.error?.code, -32602);
  const list = await c.call("process/list", {});
  assert.deepEqual(list.result!.processes, [], "nothing was started, no id is taken");
});

Deno.test("fs calls take sandbox: null and enforce codex's profiles (lib/sandbox)", async () => {
  await using c = await core();
  // Not under /tmp, which workspace-write profiles make writable.
  const dir = await Deno.realPath(await Deno.makeTempDir({ dir: "/var/tmp" }));
  try {
    const file = `file://${dir}/a.txt`;
    const w = await c.call("fs/writeFile", { path: file, dataBase64: "aGkK", sandbox: null });
    assert.deepEqual(w.result, {}, JSON.stringify(w));
    const m = await c.call("fs/getMetadata", { path: file, sandbox: null });
    assert.equal(m.result?.isFile, true, JSON.stringify(m));
    const missing = await c.call("fs/getMetadata", { path: `file://${dir}/.git`, sandbox: null });
    assert.equal(missing.error?.code, -32004, "not found, as codex");
    // Every profile 0.171 sent with a write: none of them makes this file
    // (outside their workspace roots) writable.
    const profiles = FRAMES.filter((f) =>
      f.kind === "request" && f.method === "fs/writeFile" && hasSandbox(f)
    ).map((f) => (f.params as { sandbox: { workspaceRoots?: string[] } }).sandbox);
    assert.ok(profiles.length >= 3);
    for (const sandbox of profiles) {
      if (sandbox.workspaceRoots?.some((r) => file.startsWith(r))) continue;
      const r = await c.call("fs/writeFile", { path: file, dataBase64: "eAo=", sandbox });
      assert.ok([-32603, -32004].includes(r.error?.code as number), JSON.stringify(r));
      assert.notDeepEqual(r.error?.data, { kind: "sandboxUnavailable" });
    }
    assert.equal(
      await Deno.readTextFile(`${dir}/a.txt`),
      "hi\n",
      "the refused writes wrote nothing",
    );
    // The same profile with this directory as its workspace root lets it write.
    const ww = structuredClone(profiles[0]!) as Record<string, unknown>;
    const root = `file://${dir}`;
    Object.assign(ww, {
      cwd: root,
      workspaceRoots: [root],
      policyContext: { cwd: root, workspaceRoots: [root] },
    });
    const ok = await c.call("fs/writeFile", { path: file, dataBase64: "eAo=", sandbox: ww });
    assert.deepEqual(ok.result, {}, JSON.stringify(ok));
    assert.equal(await Deno.readTextFile(`${dir}/a.txt`), "x\n");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("inputs ours takes or refuses on purpose (row input-leniency)", () => {
  const start = METHODS["process/start"].params;
  const base = { processId: "p", argv: ["true"], cwd: "file:///tmp", env: {}, tty: false };
  assert.equal(start.safeParse({ ...base, pipeStdin: null }).success, true, "null: the default");
  assert.equal(
    start.safeParse({ ...base, metadata: { threadId: "not-a-uuid", toolCallId: "c1" } }).success,
    true,
    "metadata is only logged",
  );
  assert.equal(start.safeParse({ ...base, processId: "" }).success, false, "an empty id");
});
