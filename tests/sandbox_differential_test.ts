// Copyright 2026 the exec-server authors. MIT license.
// The sandbox allow/deny matrix against codex 0.171's own exec-server: the
// same profiles and commands on both servers, and each command must be
// allowed or denied alike (and sandboxDenied agree), except for the
// deliberate differences listed below with their reasons. A write counts as
// allowed only when it is there on the host afterwards (see Probe), so the
// matrix holds wherever the checkout and codex live. Skipped, with one
// message, when the codex binary is missing (tests/_codex.ts).
// EXEC_SERVER_SANDBOX_TABLE=1 prints the whole comparison as a table.
import assert from "node:assert/strict";
import { CODEX_BIN, startCodexServer } from "./_codex.ts";
import { ServerProcess, TestClient } from "./_harness.ts";
import {
  BWRAP_WORKS,
  Marker,
  pathEntry,
  restricted,
  rootEntry,
  run,
  specialEntry,
} from "./_sandbox.ts";
import { pathToFileUri, sandboxProfile } from "../lib/protocol/sandbox.ts";

/** What `.git/config` holds before a probe appends to it. */
const GIT_CONFIG = "[core]\n";

/** One side's directories. */
interface Layout {
  /** A name unique to the side (the base directory's), for paths outside it. */
  id: string;
  base: string;
  work: string;
  extra: string;
  tmpdir: string;
  secret: string;
}

async function layout(side: string): Promise<Layout> {
  const base = await Deno.realPath(
    await Deno.makeTempDir({ dir: "/var/tmp", prefix: `sbx-diff-${side}-` }),
  );
  const l = {
    id: base.slice(base.lastIndexOf("/") + 1),
    base,
    work: `${base}/work`,
    extra: `${base}/extra`,
    tmpdir: `${base}/tmpdir`,
    secret: `${base}/secret`,
  };
  for (const d of [`${l.work}/.git`, `${l.work}/ro`, l.extra, l.tmpdir, l.secret]) {
    await Deno.mkdir(d, { recursive: true });
  }
  await Deno.writeTextFile(`${l.work}/.git/config`, GIT_CONFIG);
  await Deno.writeTextFile(`${l.work}/a.env`, "K=V\n");
  await Deno.writeTextFile(`${l.secret}/s.txt`, "secret\n");
  return l;
}

const PROFILES: Record<string, (l: Layout) => unknown> = {
  "workspace-write": (l) =>
    sandboxProfile({ mode: "workspace-write", writable: [l.work, l.extra], cwd: l.work }),
  "read-only": (l) => sandboxProfile({ mode: "read-only", cwd: l.work }),
  "ww+network": (l) =>
    sandboxProfile({ mode: "workspace-write", writable: [l.work], cwd: l.work, network: true }),
  "deny": (l) =>
    restricted([
      rootEntry("read"),
      specialEntry("project_roots", "write"),
      specialEntry("slash_tmp", "write"),
      pathEntry(l.secret, "deny"),
      { path: { type: "glob_pattern", pattern: `${l.work}/**/*.env` }, access: "deny" },
      pathEntry(`${l.work}/ro`, "read"),
    ], { roots: [l.work], cwd: l.work }),
  "minimal": (l) =>
    restricted([specialEntry("minimal", "read"), specialEntry("project_roots", "write")], {
      roots: [l.work],
      cwd: l.work,
    }),
  "external": (l) => ({
    permissions: { type: "external", network: "restricted" },
    cwd: pathToFileUri(l.work),
    workspaceRoots: [pathToFileUri(l.work)],
    windowsSandboxLevel: "disabled",
  }),
};

/**
 * A probe: a script that prints OK when the action was allowed, and for a
 * write, the host path it writes (the file or directory it creates, or, with
 * `appended`, the file whose end it changes). A write is allowed only when
 * the change is there on the host after the command: a sandbox may let a
 * write "succeed" into its own tmpfs, which vanishes with it (codex's
 * `minimal` root is a tmpfs, so `/tmp/x` is writable there whenever the
 * codex binary lives under /tmp: codex-0171-sandbox.md section 4.2). Such a
 * write counts as denied. Names are the side's own (`l.id`): both servers
 * run each probe at once, on one host.
 */
interface Probe {
  script: (l: Layout, port: number) => string;
  writes?: (l: Layout) => { path: string; appended?: string };
}

const PROBES: Record<string, Probe> = {
  "write_cwd": {
    script: () => "echo x > ./f_cwd && echo OK",
    writes: (l) => ({ path: `${l.work}/f_cwd` }),
  },
  "write_extra": {
    script: (l) => `echo x > ${l.extra}/f && echo OK`,
    writes: (l) => ({ path: `${l.extra}/f` }),
  },
  "write_tmp": {
    script: (l) => `echo x > /tmp/${l.id} && echo OK`,
    writes: (l) => ({ path: `/tmp/${l.id}` }),
  },
  "write_tmpdir": {
    script: () => 'echo x > "$TMPDIR/f" && echo OK',
    writes: (l) => ({ path: `${l.tmpdir}/f` }),
  },
  "write_usr_local": {
    script: (l) => `touch /usr/local/${l.id} && echo OK`,
    writes: (l) => ({ path: `/usr/local/${l.id}` }),
  },
  "append_git_config": {
    script: () => "echo x >> .git/config && echo OK",
    writes: (l) => ({ path: `${l.work}/.git/config`, appended: GIT_CONFIG }),
  },
  "mkdir_codex_missing": {
    script: () => "mkdir .codex && echo OK",
    writes: (l) => ({ path: `${l.work}/.codex` }),
  },
  "write_ro_subpath": {
    script: () => "echo x > ./ro/f && echo OK",
    writes: (l) => ({ path: `${l.work}/ro/f` }),
  },
  "read_passwd": { script: () => "head -c 4 /etc/passwd >/dev/null && echo OK" },
  "read_secret": { script: (l) => `cat ${l.secret}/s.txt >/dev/null && echo OK` },
  "read_env_glob": { script: () => "cat ./a.env >/dev/null && echo OK" },
  "tcp_host_loopback": { script: (_l, port) => `exec 3<>/dev/tcp/127.0.0.1/${port} && echo OK` },
  "tcp_inside_loopback": {
    script: () =>
      `perl -MIO::Socket::INET -e '$l = IO::Socket::INET->new(Listen => 1, LocalAddr => "127.0.0.1:0") or exit 1; IO::Socket::INET->new(PeerAddr => "127.0.0.1:" . $l->sockport) or exit 1' && echo OK`,
  },
  "setsid_escape": {
    script: (l) =>
      `setsid bash -c 'sleep 0.5; echo x > ${l.work}/escaped' </dev/null >/dev/null 2>&1 & echo started`,
  },
  "tty_touch": {
    script: (l) => `touch /usr/local/${l.id}-tty && echo OK; exit 1`,
    writes: (l) => ({ path: `/usr/local/${l.id}-tty` }),
  },
};

/**
 * Whether a probe's write is on the host; then undoes it, so every cell (and
 * a repeated one) starts from the same layout and nothing is left behind.
 */
async function persisted(write: { path: string; appended?: string }): Promise<boolean> {
  if (write.appended !== undefined) {
    const now = await Deno.readTextFile(write.path);
    await Deno.writeTextFile(write.path, write.appended);
    return now !== write.appended;
  }
  try {
    await Deno.lstat(write.path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
  await Deno.remove(write.path, { recursive: true });
  return true;
}

/** Where the servers differ on purpose; each entry says why. */
const DIFFERENCES: Record<string, { codex: string; ours: string; why: string }> = {};
DIFFERENCES["external/setsid_escape"] = {
  codex: "allowed",
  ours: "denied",
  why: "codex runs external/unrestricted profiles without bwrap, so a setsid grandchild outlives " +
    "the command; ours runs them in bwrap's pid namespace (file system unrestricted), so it dies",
};

interface Cell {
  allowed: boolean;
  denied: boolean;
  note: string;
}

async function cell(
  client: TestClient,
  l: Layout,
  profile: string,
  probe: string,
  port: number,
  marker: Marker,
): Promise<Cell> {
  const { script: scriptOf, writes } = PROBES[probe]!;
  const script = scriptOf(l, port);
  const r = await run(client, script, {
    sandbox: PROFILES[profile]!(l),
    cwd: pathToFileUri(l.work), // codex takes only URIs
    tty: probe === "tty_touch",
    env: { TMPDIR: l.tmpdir },
  }, marker);
  // Every process gone (codex's included), so a late write is impossible.
  await marker.assertAllGone(5_000);
  if (probe === "setsid_escape") {
    let escaped = false;
    try {
      await Deno.remove(`${l.work}/escaped`);
      escaped = true;
    } catch { /* not there */ }
    return { allowed: escaped, denied: r.sandboxDenied, note: escaped ? "escaped" : "killed" };
  }
  const ok = /(^|\n)OK\s*$/.test(r.stdout + r.out.replace(/\r/g, ""));
  // A write is judged by the host alone (and undone whatever the command said).
  const kept = writes ? await persisted(writes(l)) : ok;
  if (ok !== kept) {
    return { allowed: kept, denied: r.sandboxDenied, note: ok ? "ok (ephemeral)" : "written" };
  }
  const allowed = ok;
  const why = /Read-only file system/.test(r.out)
    ? "EROFS"
    : /Permission denied/.test(r.out)
    ? "EACCES"
    : /Operation not permitted/.test(r.out)
    ? "EPERM"
    : /No such file/.test(r.out)
    ? "ENOENT"
    : /refused|unreachable/i.test(r.out)
    ? "refused"
    : "";
  return { allowed, denied: r.sandboxDenied, note: allowed ? "ok" : `${r.exitCode} ${why}`.trim() };
}

Deno.test({
  name: "sandbox matrix: every command is allowed or denied alike on codex's server and ours",
  ignore: !CODEX_BIN || !BWRAP_WORKS,
  async fn() {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const accepting = (async () => {
      for await (const c of listener) c.close();
    })();
    const port = (listener.addr as Deno.NetAddr).port;
    await using codexServer = await startCodexServer();
    await using oursServer = await ServerProcess.start(["--log-level", "warn"]);
    const codex = await TestClient.connect(codexServer.url);
    const ours = await TestClient.connect(oursServer.url);
    const lc = await layout("codex");
    const lo = await layout("ours");
    const rows: string[] = [];
    const problems: string[] = [];
    try {
      for (const profile of Object.keys(PROFILES)) {
        for (const probe of Object.keys(PROBES)) {
          const marker = new Marker();
          const both = () =>
            Promise.all([
              cell(codex, lc, profile, probe, port, marker),
              cell(ours, lo, profile, probe, port, marker),
            ]);
          let [c, o] = await both();
          if (c.allowed !== o.allowed || c.denied !== o.denied) {
            // codex's mount-point bookkeeping is not always deterministic
            // (once, .git/config was ENOENT for it): a difference must repeat.
            [c, o] = await both();
          }
          const key = `${profile}/${probe}`;
          const expected = DIFFERENCES[key];
          const verdict = (x: Cell) => x.allowed ? "allowed" : "denied";
          if (expected) {
            if (verdict(c) !== expected.codex || verdict(o) !== expected.ours) {
              problems.push(
                `${key}: expected codex ${expected.codex} / ours ${expected.ours}, got ${
                  verdict(c)
                } / ${verdict(o)}`,
              );
            }
          } else if (c.allowed !== o.allowed || c.denied !== o.denied) {
            problems.push(
              `${key}: codex ${c.note}${c.denied ? " D" : ""}, ours ${o.note}${
                o.denied ? " D" : ""
              }`,
            );
          }
          rows.push(
            `| ${profile} | ${probe} | ${c.note}${c.denied ? " D" : ""} | ${o.note}${
              o.denied ? " D" : ""
            } | ${expected ? "deliberate" : c.allowed === o.allowed ? "same" : "DIFFERS"} |`,
          );
        }
      }
    } finally {
      await codex.close();
      await ours.close();
      listener.close();
      await accepting.catch(() => {});
      for (const l of [lc, lo]) await Deno.remove(l.base, { recursive: true }).catch(() => {});
    }
    if (Deno.env.get("EXEC_SERVER_SANDBOX_TABLE") === "1") {
      console.log(
        ["| profile | command | codex | ours | |", "|---|---|---|---|---|", ...rows].join("\n"),
      );
    }
    assert.deepEqual(problems, [], `\n  ${problems.join("\n  ")}`);
  },
});

Deno.test({
  name: "sandbox starts codex accepts and fails late (exit 101), ours refuses early, saying why",
  ignore: !CODEX_BIN || !BWRAP_WORKS,
  async fn() {
    await using codexServer = await startCodexServer();
    await using oursServer = await ServerProcess.start(["--log-level", "warn"]);
    const codex = await TestClient.connect(codexServer.url);
    const ours = await TestClient.connect(oursServer.url);
    const l = await layout("starts");
    const marker = new Marker();
    try {
      const cases: [string, unknown, string][] = [
        [
          "useLegacyLandlock",
          { ...restricted([rootEntry("read")]), useLegacyLandlock: true },
          "sandboxUnavailable",
        ],
        ["nothing visible", restricted([pathEntry(l.work, "write")]), "sandboxPreparation"],
      ];
      for (const [what, sandbox, kind] of cases) {
        const params = {
          argv: ["/bin/sh", "-c", "exit 0"],
          cwd: pathToFileUri(l.work),
          env: { PATH: "/usr/bin:/bin", ...marker.env },
          tty: false,
          sandbox,
        };
        const c = await codex.request("process/start", { ...params, processId: what });
        assert.equal(c.sandboxType, "linuxSeccomp", what);
        await codex.untilClosed(what);
        const exited = await codex.waitFor((m) =>
          m.method === "process/exited" && m.params.processId === what
        );
        assert.deepEqual([exited.params.exitCode, exited.params.sandboxDenied], [101, true], what);
        const o = await ours.call("process/start", { ...params, processId: what });
        assert.equal(o.error?.code, -32603, what);
        assert.deepEqual(o.error?.data, { kind }, what);
      }
      // `disabled` runs unsandboxed on both; codex still says linuxSeccomp.
      const disabled = {
        argv: ["/bin/sh", "-c", "exit 0"],
        cwd: pathToFileUri(l.work),
        env: { PATH: "/usr/bin:/bin", ...marker.env },
        tty: false,
        sandbox: { permissions: { type: "disabled" }, windowsSandboxLevel: "disabled" },
      };
      const c = await codex.request("process/start", { ...disabled, processId: "d" });
      const o = await ours.request("process/start", { ...disabled, processId: "d" });
      assert.deepEqual([c.sandboxType, o.sandboxType], ["linuxSeccomp", "none"]);
      await codex.untilClosed("d");
      await ours.untilClosed("d");
      await marker.assertAllGone();
    } finally {
      await codex.close();
      await ours.close();
      await Deno.remove(l.base, { recursive: true }).catch(() => {});
    }
  },
});
