// Copyright 2026 the exec-server authors. MIT license.
// No process outlives its owner: descendants that leave the process group or
// session (nohup after the leader exits, setsid, setsid -f, setpgrp, double
// forks) are killed on terminate, timeout, process expiry, session close,
// shutdown and a SIGKILL of the server. Every test counts only the pids its
// own processes printed.
import assert from "node:assert/strict";
import { isGone, ServerProcess, TestClient, text, waitUntil } from "./_harness.ts";

/** Programs whose leader exits at once, leaving one daemon that prints its pid. */
const ESCAPES: Record<string, string[]> = {
  "nohup after the leader exits": [
    "sh",
    "-c",
    "nohup sleep 60 >/dev/null 2>&1 & echo $!; exit 0",
  ],
  "setsid": ["sh", "-c", "setsid sleep 60 >/dev/null 2>&1 & echo $!; exit 0"],
  "setsid -f": ["sh", "-c", "setsid -f sh -c 'echo $$; exec sleep 60 >/dev/null 2>&1'; exit 0"],
  "setpgrp": [
    "perl",
    "-e",
    'if (my $p = fork) { print "$p\\n"; exit 0 } setpgrp(0, 0); ' +
    'close STDOUT; close STDERR; exec "sleep", "60"',
  ],
  "double fork with setsid": [
    "perl",
    "-MPOSIX",
    "-e",
    "exit 0 if fork; POSIX::setsid(); " +
    'if (my $p = fork) { print "$p\\n"; exit 0 } close STDOUT; close STDERR; exec "sleep", "60"',
  ],
};

/** The escapes a server without cgroups catches: the daemon keeps the leader's session. */
const SAME_SESSION = ["nohup after the leader exits", "setpgrp"];

/** Starts each escape (as `<prefix><i>`) and returns the daemons' pids once every leader closed. */
async function startEscapes(
  c: TestClient,
  prefix: string,
  names: string[],
  extra: Record<string, unknown> = {},
): Promise<{ ids: string[]; pids: number[] }> {
  const ids: string[] = [];
  const pids: number[] = [];
  for (const [i, name] of names.entries()) {
    const id = `${prefix}${i}`;
    await c.start(id, ESCAPES[name]!, extra);
    ids.push(id);
    const pid = await c.waitUntil(
      () => {
        const line = text(c.outputOf(id)).trim();
        return line ? Number(line) : undefined;
      },
      10_000,
      `the pid of ${name}`,
    );
    pids.push(pid);
  }
  for (const id of ids) await c.untilClosed(id);
  for (const [i, pid] of pids.entries()) {
    assert.ok(!isGone(pid), `${names[i]}: the daemon runs after its leader closed`);
  }
  return { ids, pids };
}

/** Asserts every daemon is gone; kills the survivors so a failing test leaks nothing. */
async function assertGone(pids: number[], names: string[], timeoutMs = 5000): Promise<void> {
  try {
    await waitUntil(() => pids.every(isGone), { timeoutMs, message: "every daemon gone" });
  } catch {
    const left = names.map((name, i) => {
      const pid = pids[i]!;
      if (isGone(pid)) return null;
      let where = "";
      try {
        where = Deno.readTextFileSync(`/proc/${pid}/cgroup`).split("\n").find((l) =>
          l.startsWith("0::")
        ) ?? "";
      } catch {
        // gone meanwhile
      }
      return `${name} (pid ${pid}, cgroup ${where})`;
    }).filter((x) => x !== null);
    for (const pid of pids) {
      try {
        Deno.kill(pid, "SIGKILL");
      } catch {
        // gone
      }
    }
    assert.fail(`survivors: ${left.join(", ")}`);
  }
}

/** Starts a server and reports which containment it chose. */
async function server(
  args: string[],
  options: Parameters<typeof ServerProcess.start>[1] = {},
): Promise<{ server: ServerProcess; kind: string }> {
  const s = await ServerProcess.start(["--kill-grace", "0.3", ...args], options);
  // The choice is logged before the URL is printed; read it from a probe.
  const kind = await containmentOf(s);
  return { server: s, kind };
}

/** The containment a server logged, found by asking the kernel where a child lives. */
async function containmentOf(s: ServerProcess): Promise<string> {
  const c = await TestClient.connect(s.url);
  try {
    await c.start("probe", ["cat", "/proc/self/cgroup"]);
    await c.untilClosed("probe");
    return /exec-server\.\d+\/p\d+/.test(text(c.outputOf("probe"))) ? "cgroup" : "other";
  } finally {
    c.close();
  }
}

const ALL = Object.keys(ESCAPES);
/** The serve task's permissions without --allow-ffi. */
const NO_FFI = ["--allow-net", "--allow-run", "--allow-read", "--allow-write", "--allow-env"];
const hasCgroups = await (async () => {
  const { server: s, kind } = await server([]);
  await s[Symbol.asyncDispose]();
  return kind === "cgroup";
})();

Deno.test({
  name: "cgroup containment: terminate kills every daemon, even after the leader closed",
  ignore: !hasCgroups,
}, async () => {
  // On the old server terminate returned early once the leader had exited,
  // and the group kill missed everything outside the process group.
  const { server: s } = await server([]);
  await using _ = s;
  const c = await TestClient.connect(s.url);
  const { ids, pids } = await startEscapes(c, "t", ALL);
  for (const id of ids) {
    assert.deepEqual(await c.request("process/terminate", { processId: id }), { running: false });
  }
  await assertGone(pids, ALL);
  c.close();
});

Deno.test({
  name: "cgroup containment: timeoutMs kills every daemon after the leader closed",
  ignore: !hasCgroups,
}, async () => {
  const { server: s } = await server([]);
  await using _ = s;
  const c = await TestClient.connect(s.url);
  const { pids } = await startEscapes(c, "o", ALL, { timeoutMs: 1500 });
  await assertGone(pids, ALL, 8000);
  c.close();
});

Deno.test({
  name: "cgroup containment: the end of a process's retention kills its daemons",
  ignore: !hasCgroups,
}, async () => {
  const { server: s } = await server(["--exited-retention", "1"]);
  await using _ = s;
  const c = await TestClient.connect(s.url);
  const { pids } = await startEscapes(c, "r", ALL);
  await assertGone(pids, ALL, 8000);
  c.close();
});

Deno.test({
  name: "cgroup containment: session expiry and shutdown kill every daemon",
  ignore: !hasCgroups,
}, async (t) => {
  const { server: s } = await server(["--session-ttl", "0.2"]);
  await using _ = s;
  await t.step("a detached session expires", async () => {
    const c = await TestClient.connect(s.url);
    const { pids } = await startEscapes(c, "e", ALL);
    c.close();
    await assertGone(pids, ALL);
  });
  await t.step("the server shuts down (SIGTERM)", async () => {
    const c = await TestClient.connect(s.url);
    const { pids } = await startEscapes(c, "s", ALL);
    await s.stop("SIGTERM");
    await assertGone(pids, ALL);
  });
});

Deno.test({
  name: "cgroup containment: a SIGKILLed server's children die with it, and nothing is left over",
  ignore: !hasCgroups,
}, async () => {
  const { server: s } = await server([]);
  await using _ = s;
  const c = await TestClient.connect(s.url);
  const { pids } = await startEscapes(c, "k", ALL);
  // And a leader that is still running.
  await c.start("leader", ["sh", "-c", "echo $$; exec sleep 60"]);
  const leader = await c.waitUntil(() => Number(text(c.outputOf("leader")).trim()) || undefined);
  c.close();
  // 0::/…/exec-server.<pid>/p<n>: the server's subtree is the parent.
  const path = (await Deno.readTextFile(`/proc/${leader}/cgroup`)).match(/^0::(.*)\/p\d+$/m)?.[1];
  assert.ok(path?.includes("exec-server."), path);
  const dir = `${cgroup2Mount()}${path}`;
  assert.ok(existsDir(dir), dir);
  await s.stop("SIGKILL");
  await assertGone([...pids, leader], [...ALL, "leader"]);
  // The watchdog removes the server's cgroups once they are empty.
  await waitUntil(() => !existsDir(dir), { message: `${dir} removed` });
});

function cgroup2Mount(): string {
  for (const line of Deno.readTextFileSync("/proc/self/mountinfo").split("\n")) {
    const [pre, post] = line.split(" - ");
    if (pre && post?.startsWith("cgroup2 ")) return pre.split(" ")[4]!;
  }
  throw new Error("no cgroup2 mount");
}

function existsDir(path: string): boolean {
  try {
    return Deno.statSync(path).isDirectory;
  } catch {
    return false;
  }
}

Deno.test("subreaper containment: terminate kills daemons that keep the leader's session", async () => {
  const { server: s } = await server([], { env: { EXEC_SERVER_CONTAINMENT: "subreaper" } });
  await using _ = s;
  const c = await TestClient.connect(s.url);
  const { ids, pids } = await startEscapes(c, "t", SAME_SESSION);
  for (const id of ids) await c.request("process/terminate", { processId: id });
  await assertGone(pids, SAME_SESSION);
  c.close();
});

Deno.test({
  name: "the serve task's permissions (--allow-ffi, no --allow-all) get cgroups through libc",
  ignore: !hasCgroups,
}, async () => {
  // Deno refuses /proc and /sys without --allow-all; containment reads and
  // writes them through libc.
  const { server: s, kind } = await server([], {
    permissions: [...NO_FFI, "--allow-ffi", "--allow-sys"],
  });
  await using _ = s;
  assert.equal(kind, "cgroup");
  const c = await TestClient.connect(s.url);
  const { ids, pids } = await startEscapes(c, "t", ALL);
  for (const id of ids) await c.request("process/terminate", { processId: id });
  await assertGone(pids, ALL);
  c.close();
});

Deno.test("without --allow-ffi: terminate still kills a daemon left in the process group", async () => {
  // Deno refuses /proc and /sys without --allow-all, and libc without FFI:
  // such a server can only signal the process group, but it does so even
  // after the leader exited (the old terminate returned early).
  const { server: s, kind } = await server([], { permissions: NO_FFI });
  await using _ = s;
  assert.equal(kind, "other");
  const c = await TestClient.connect(s.url);
  const names = ["nohup after the leader exits"];
  const { ids, pids } = await startEscapes(c, "t", names);
  assert.deepEqual(await c.request("process/terminate", { processId: ids[0] }), { running: false });
  await assertGone(pids, names);
  c.close();
});

for (
  const [backend, permissions] of [
    ["FFI pipes", undefined],
    ["Deno.Command pipes (no --allow-ffi)", NO_FFI],
  ] as const
) {
  Deno.test(`${backend}: a pipeStdin process that exits without closeStdin leaks no fd`, async () => {
    // Before 603f45c each such process left its stdin pipe open in the
    // server: +50 descriptors after 50 processes.
    await using s = await ServerProcess.start(
      [],
      permissions ? { permissions: [...permissions] } : {},
    );
    const c = await TestClient.connect(s.url);
    const fds = () => [...Deno.readDirSync(`/proc/${s.pid}/fd`)].length;
    const run = async (id: string) => {
      await c.start(id, ["sh", "-c", "exit 3"], { pipeStdin: true });
      await c.untilClosed(id);
    };
    await run("warm");
    const before = fds();
    for (let i = 0; i < 50; i++) await run(`p${i}`);
    // Descriptors are released as each process closes; allow a little slack
    // for the server's own (sockets, timers).
    await waitUntil(() => fds() <= before + 3, {
      message: `server fds back near ${before} (now ${fds()})`,
    });
    c.close();
  });
}

Deno.test({
  name: "cgroup containment: a process that cannot get a cgroup still starts, contained by /proc",
  ignore: !hasCgroups,
}, async () => {
  const { server: s } = await server([]);
  await using _ = s;
  const c = await TestClient.connect(s.url);
  await c.start("where", ["sh", "-c", "cat /proc/$$/cgroup"]);
  await c.untilClosed("where");
  const path = text(c.outputOf("where")).match(/^0::(.*)\/p\d+$/m)?.[1];
  assert.ok(path?.includes("exec-server."), path);
  // No more cgroups under the server's subtree: mkdir fails with EAGAIN.
  await Deno.writeTextFile(`${cgroup2Mount()}${path}/cgroup.max.descendants`, "0");
  const names = ["nohup after the leader exits"];
  const { ids, pids } = await startEscapes(c, "f", names);
  await c.request("process/terminate", { processId: ids[0] });
  await assertGone(pids, names);
  c.close();
  assert.match(await s.stderr(), /WARN containment: no cgroup for a process/);
});
