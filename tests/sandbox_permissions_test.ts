// Copyright 2026 the exec-server authors. MIT license.
// Sandboxed processes under the permissions the server ships with (the
// `serve` task, `deno task install`, the npm launcher and the compiled
// binary: scripts/compile.ts's PERMISSIONS, no --allow-all), not the -A the
// other tests use. Deno refuses every path under /proc without --allow-all,
// so what the sandbox reads there must go through libc (review proc 2): the
// signal forwarding to the command inside bwrap, and the check whether the
// server that journaled placeholders still runs.
import assert from "node:assert/strict";
import { ServerProcess, TestClient } from "./_harness.ts";
import { BWRAP_WORKS, Marker, scratch } from "./_sandbox.ts";
import { sandboxProfile } from "../lib/protocol/sandbox.ts";
import { PERMISSIONS } from "../scripts/compile.ts";

const ignore = !BWRAP_WORKS;
const decode = (b: Uint8Array) => new TextDecoder().decode(b);

Deno.test("the shipped permissions are the same for the serve task and the packages", async () => {
  const config = JSON.parse(await Deno.readTextFile(new URL("../deno.json", import.meta.url)));
  const serve: string[] = config.tasks.serve.match(/--allow-[a-z]+/g);
  assert.deepEqual([...serve].sort(), [...PERMISSIONS].sort());
  assert.ok(!PERMISSIONS.includes("--allow-all") && !PERMISSIONS.includes("-A"));
});

async function shipped(env: Record<string, string> = {}) {
  return await ServerProcess.start(["--log-level", "warn"], { permissions: [...PERMISSIONS], env });
}

Deno.test({
  name:
    "shipped permissions: a signal reaches the sandboxed command's trap, on pipes and terminals",
  ignore,
  async fn() {
    await using srv = await shipped();
    await using client = await TestClient.connect(srv.url);
    await using tmp = await scratch();
    const marker = new Marker();
    for (const tty of [false, true]) {
      const processId = tty ? "trap-tty" : "trap-pipe";
      await client.request("process/start", {
        processId,
        argv: [
          "/bin/bash",
          "-c",
          'trap "echo got-int; exit 5" INT; echo ready; while :; do sleep 0.1; done',
        ],
        cwd: tmp.dir,
        env: { PATH: "/usr/bin:/bin", ...marker.env },
        tty,
        sandbox: sandboxProfile({ mode: "read-only" }),
      });
      await client.waitUntil(
        () => decode(client.outputOf(processId)).includes("ready") || undefined,
        10_000,
        `${processId} ready`,
      );
      // Without the command's pid (read from /proc) the signal went to the
      // outer bwrap, which died and took the command with it: no trap.
      await client.request("process/signal", { processId, signal: "interrupt" });
      const events = await client.untilClosed(processId);
      assert.match(decode(client.outputOf(processId)), /got-int/, processId);
      const exited = events.find((e) => e.method === "process/exited")!;
      assert.equal(exited.params.exitCode, 5, processId);
    }
    await marker.assertAllGone();
  },
});

Deno.test({
  name: "shipped permissions: a second server leaves the placeholders of a running one alone",
  ignore,
  async fn() {
    await using tmp = await scratch();
    const env = { XDG_STATE_HOME: `${tmp.dir}/state` };
    const marker = new Marker();
    // A writable workspace without .git: the sandbox masks .git with an
    // empty placeholder on the host, journaled under XDG_STATE_HOME.
    const [w1, w2] = [`${tmp.dir}/w1`, `${tmp.dir}/w2`];
    for (const w of [w1, w2]) await Deno.mkdir(w);
    const profile = (w: string) => sandboxProfile({ mode: "workspace-write", writable: [w] });
    await using first = await shipped(env);
    await using one = await TestClient.connect(first.url);
    await one.request("process/start", {
      processId: "holder",
      argv: [
        "/bin/bash",
        "-c",
        // Once told to, try to create what the placeholder masks.
        "echo ready; until [ -e go ]; do sleep 0.05; done; " +
        "if mkdir -p .git/hooks 2>/dev/null; then echo escaped; else echo held; fi; " +
        "while :; do sleep 0.1; done",
      ],
      cwd: w1,
      env: { PATH: "/usr/bin:/bin", ...marker.env },
      tty: false,
      sandbox: profile(w1),
    });
    await one.waitUntil(
      () => decode(one.outputOf("holder")).includes("ready") || undefined,
      10_000,
      "holder ready",
    );
    const placeholder = await Deno.lstat(`${w1}/.git`);
    assert.equal(placeholder.isDirectory, true, "the .git placeholder is on the host");

    // The second server sweeps journals of servers that are gone before its
    // first sandbox. It could not tell the first one runs (/proc/PID was
    // refused), took it for gone, and removed its placeholder.
    await using second = await shipped(env);
    await using two = await TestClient.connect(second.url);
    await two.request("process/start", {
      processId: "other",
      argv: ["/bin/true"],
      cwd: w2,
      env: { PATH: "/usr/bin:/bin", ...marker.env },
      tty: false,
      sandbox: profile(w2),
    });
    await two.untilClosed("other");
    await Deno.writeTextFile(`${w1}/go`, "");
    const verdict = await one.waitUntil(
      () => /^(held|escaped)$/m.exec(decode(one.outputOf("holder")))?.[1],
      10_000,
      "the holder's verdict",
    );
    assert.equal(verdict, "held", "the sandboxed command cannot create the masked .git");
    const still = await Deno.lstat(`${w1}/.git`);
    assert.equal(still.ino, placeholder.ino, "the running server's placeholder is still there");

    await one.request("process/terminate", { processId: "holder" });
    await one.untilClosed("holder");
    await assert.rejects(Deno.lstat(`${w1}/.git`), Deno.errors.NotFound, "released at the end");
    await marker.assertAllGone();
  },
});
