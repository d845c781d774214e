// Copyright 2026 the exec-server authors. MIT license.
// What a client's profile may grant in /proc and /sys (review proc 3). codex
// 0.171 mounts the sandbox's own /proc after every bind (bwrap argv in
// /work/notes/codex-0171-sandbox.md §3), so a `/proc` rule there never shows
// the host's; ours bound the host's /proc over the sandbox's, which showed
// every host process (pids, command lines) to the command. /sys stays
// read-only whatever the profile, as under root:write; a write rule there
// failed the start (no placeholder can be made in sysfs).
import assert from "node:assert/strict";
import { compileProfile, planBwrap, type SandboxPolicy } from "../lib/sandbox/mod.ts";
import { FileSystemSandboxContextSchema } from "../lib/protocol/sandbox.ts";
import { ServerProcess, TestClient } from "./_harness.ts";
import { BWRAP_WORKS, Marker, pathEntry, restricted, rootEntry, run } from "./_sandbox.ts";

const DIRS = new Set(["/", "/proc", "/proc/sys", "/proc/sys/kernel", "/sys", "/sys/kernel", "/w"]);
const facts = {
  resolve: (p: string) => p,
  kind: (p: string) => DIRS.has(p) ? "dir" as const : "missing" as const,
  gitdir: () => null,
  list: () => [],
};

function plan(entries: unknown[]): { line: string; placeholders: string[] } {
  const e = compileProfile(
    FileSystemSandboxContextSchema.parse(restricted(entries, { roots: ["/w"], cwd: "/w" })),
    { cwd: "/w", env: {} },
    facts,
  );
  assert.equal(e.kind, "bwrap");
  const p = planBwrap(
    (e as { policy: SandboxPolicy }).policy,
    {
      argv: ["true"],
      cwd: "/w",
      env: {},
      tty: false,
    },
    { bwrap: "/usr/bin/bwrap", emptyFile: "/run/x/empty", seccompFile: null },
    facts,
  );
  return { line: p.argv.join(" "), placeholders: p.placeholders.map((x) => x.path) };
}

Deno.test("planBwrap: the sandbox keeps its own /proc, and /sys stays read-only", () => {
  for (const access of ["read", "write"]) {
    const { line, placeholders } = plan([
      rootEntry("read"),
      pathEntry("/proc", access),
      pathEntry("/sys", "write"),
      pathEntry("/proc/sys/kernel", "deny"),
    ]);
    assert.ok(line.includes("--dev /dev --proc /proc"), line);
    assert.ok(!/--(ro-)?bind \/proc/.test(line), `no host /proc (${access}): ${line}`);
    assert.ok(!line.includes("--bind /sys /sys"), line);
    assert.ok(line.includes("--ro-bind /sys /sys"), line);
    assert.ok(line.includes("--perms 000 --tmpfs /proc/sys/kernel"), "a deny still masks");
    assert.deepEqual(placeholders, [], "no mount point can be made in /proc or /sys");
  }
});

Deno.test({
  name: "a /proc grant shows no host process; a /sys write grant starts, read-only (review proc 3)",
  ignore: !BWRAP_WORKS,
  async fn() {
    await using srv = await ServerProcess.start(["--log-level", "warn"]);
    await using client = await TestClient.connect(srv.url);
    const marker = new Marker();
    // The server (deno) runs on the host: inside, no process may be it.
    const script = "for c in /proc/[0-9]*/comm; do cat $c; done 2>/dev/null | grep -c '^deno$'; " +
      "if (: >> /sys/kernel/uevent_helper) 2>/dev/null; then echo sys-written; fi; echo done";
    for (const access of ["read", "write"]) {
      const r = await run(client, script, {
        sandbox: restricted([
          rootEntry("read"),
          pathEntry("/proc", access),
          pathEntry("/sys", "write"),
        ]),
        cwd: "/",
      }, marker);
      assert.equal(r.stdout, "0\ndone\n", `${access} /proc: ${r.out}`);
      assert.equal(r.exitCode, 0);
    }
    await marker.assertAllGone();
  },
});
