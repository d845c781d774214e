// Copyright 2026 the exec-server authors. MIT license.
// Sandboxed processes through the real server (a subprocess on a real
// socket) and real bubblewrap: what a profile lets a command do on the host,
// and what it does not. Every test proves its processes are gone.
import assert from "node:assert/strict";
import { ServerProcess, TestClient, waitUntil } from "./_harness.ts";
import {
  BWRAP_WORKS,
  Marker,
  pathEntry,
  restricted,
  rootEntry,
  run,
  scratch,
  specialEntry,
} from "./_sandbox.ts";
import { sandboxProfile } from "../lib/protocol/sandbox.ts";
import { ExecServerClient } from "../lib/client/mod.ts";

const ignore = !BWRAP_WORKS;

async function server(args: string[] = []) {
  const srv = await ServerProcess.start(["--log-level", "warn", ...args]);
  const client = await TestClient.connect(srv.url);
  return {
    srv,
    client,
    async [Symbol.asyncDispose]() {
      await client.close();
      await srv[Symbol.asyncDispose]();
    },
  };
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}

/** A script that tries each `name:command` and prints "name ok" or "name no". */
function tries(cases: Record<string, string>): string {
  return Object.entries(cases).map(([name, cmd]) =>
    `if (${cmd}) >/dev/null 2>&1; then echo "${name} ok"; else echo "${name} no"; fi`
  ).join("\n");
}

function verdicts(out: string): Record<string, boolean> {
  const result: Record<string, boolean> = {};
  for (const m of out.matchAll(/^(\S+) (ok|no)$/gm)) result[m[1]!] = m[2] === "ok";
  return result;
}

Deno.test({
  name:
    "workspace-write: the workspace, /tmp and $TMPDIR are writable on the host; nothing else is",
  ignore,
  async fn() {
    await using s = await server();
    await using tmp = await scratch();
    const w = `${tmp.dir}/w`;
    const extra = `${tmp.dir}/extra`;
    const other = `${tmp.dir}/other`;
    const tmpdir = `${tmp.dir}/tmpdir`;
    for (const d of [w, extra, other, tmpdir]) await Deno.mkdir(d);
    await Deno.mkdir(`${w}/.git`);
    await Deno.writeTextFile(`${w}/.git/config`, "[core]\n");
    const marker = new Marker();
    const tmpName = `/tmp/sbx-e2e-${crypto.randomUUID()}`;
    const r = await run(
      s.client,
      tries({
        cwd: `echo a > ${w}/in.txt`,
        extra: `echo a > ${extra}/in.txt`,
        other: `echo a > ${other}/out.txt`,
        tmp: `echo a > ${tmpName}`,
        tmpdir: `echo a > $TMPDIR/t.txt`,
        usrlocal: "touch /usr/local/sbx-e2e",
        gitconfig: `echo x >> ${w}/.git/config`,
        codexdir: `mkdir ${w}/.codex`,
        readetc: "head -c1 /etc/passwd",
      }) + `\ntouch /usr/local/sbx-e2e`,
      {
        sandbox: sandboxProfile({ mode: "workspace-write", writable: [w, extra] }),
        cwd: w,
        env: { TMPDIR: tmpdir },
      },
      marker,
    );
    assert.equal(r.sandboxType, "linuxSeccomp");
    assert.deepEqual(verdicts(r.stdout), {
      cwd: true,
      extra: true,
      other: false,
      tmp: true,
      tmpdir: true,
      usrlocal: false,
      gitconfig: false,
      codexdir: false,
      readetc: true,
    });
    assert.match(r.stderr, /Read-only file system/);
    assert.equal(r.exitCode, 1);
    assert.equal(r.sandboxDenied, true, "EROFS and a non-zero exit: sandboxDenied");
    assert.equal(await Deno.readTextFile(`${w}/in.txt`), "a\n");
    assert.ok(await exists(tmpName));
    await Deno.remove(tmpName);
    assert.ok(!(await exists(`${other}/out.txt`)));
    assert.equal(await Deno.readTextFile(`${w}/.git/config`), "[core]\n");
    await marker.assertAllGone();
    // The masks over missing protected names were placeholders: all gone.
    for (const name of [".codex", ".agents", ".aws"]) {
      assert.ok(!(await exists(`${w}/${name}`)), `${w}/${name} left on the host`);
      assert.ok(!(await exists(`${extra}/${name}`)), `${extra}/${name} left on the host`);
    }
  },
});

Deno.test({
  name: "read-only carve-outs inside a writable root, denied paths, and /tmp per profile",
  ignore,
  async fn() {
    await using s = await server();
    await using tmp = await scratch();
    const w = `${tmp.dir}/w`;
    const secret = `${tmp.dir}/secret`;
    await Deno.mkdir(`${w}/ro/rw`, { recursive: true });
    await Deno.mkdir(secret);
    await Deno.writeTextFile(`${secret}/key`, "s3cret");
    await Deno.writeTextFile(`${w}/token.txt`, "t0ken");
    const marker = new Marker();
    const profile = restricted([
      rootEntry("read"),
      specialEntry("project_roots", "write"),
      pathEntry(`${w}/ro`, "read"),
      pathEntry(`${w}/ro/rw`, "write"),
      pathEntry(`${w}/ro/missing`, "read"),
      pathEntry(secret, "deny"),
      pathEntry(`${w}/token.txt`, "deny"),
    ], { roots: [w] });
    const r = await run(
      s.client,
      tries({
        w: `echo a > ${w}/a`,
        ro: `echo a > ${w}/ro/a`,
        rorw: `echo a > ${w}/ro/rw/a`,
        romissing: `mkdir ${w}/ro/missing`,
        secretls: `ls ${secret}`,
        secretread: `cat ${secret}/key`,
        token: `cat ${w}/token.txt`,
        tmp: `echo a > /tmp/sbx-e2e-ro-$$`,
      }) + `\ncat ${secret}/key`,
      { sandbox: profile, cwd: w },
      marker,
    );
    assert.deepEqual(verdicts(r.stdout), {
      w: true,
      ro: false,
      rorw: true,
      romissing: false,
      secretls: false,
      secretread: false,
      token: false,
      tmp: false, // no slash_tmp entry: the host's /tmp, read-only
    });
    assert.match(r.stderr, /Permission denied/);
    assert.equal(r.sandboxDenied, true);
    assert.ok(!r.out.includes("s3cret") && !r.out.includes("t0ken"));
    await marker.assertAllGone();
    assert.ok(!(await exists(`${w}/ro/missing`)), "the placeholder is gone");
    assert.equal(await Deno.readTextFile(`${w}/token.txt`), "t0ken");

    // minimal: only system directories show; /tmp is an ephemeral tmpfs.
    const name = `sbx-e2e-minimal-${crypto.randomUUID()}`;
    const m = await run(
      s.client,
      tries({
        tmp: `echo a > /tmp/${name} && cat /tmp/${name}`,
        w: `echo a > ${w}/m`,
        home: "ls /root",
        secret: `cat ${secret}/key`,
      }),
      {
        sandbox: restricted([
          specialEntry("minimal", "read"),
          specialEntry("project_roots", "write"),
        ], {
          roots: [w],
        }),
        cwd: w,
      },
      marker,
    );
    // As in codex: no /tmp unless the profile names it (the root is an empty tmpfs).
    assert.deepEqual(verdicts(m.stdout), { tmp: false, w: true, home: false, secret: false });
    assert.ok(!(await exists(`/tmp/${name}`)));
    await marker.assertAllGone();
  },
});

Deno.test({
  name: "network restricted: a loopback listener outside and a unix socket outside are unreachable",
  ignore,
  async fn() {
    await using s = await server();
    await using tmp = await scratch();
    const tcp = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const sock = `${tmp.dir}/outside.sock`;
    const unix = Deno.listen({ transport: "unix", path: sock });
    let accepted = 0;
    const serve = async (l: Deno.Listener) => {
      for await (const c of l) {
        accepted++;
        await c.write(new TextEncoder().encode("hello\n")).catch(() => {});
        c.close();
      }
    };
    const serving = [serve(tcp), serve(unix)];
    const port = (tcp.addr as Deno.NetAddr).port;
    const marker = new Marker();
    const script = tries({
      tcp: `exec 3<>/dev/tcp/127.0.0.1/${port} && head -c5 <&3`,
      unix: `perl -MIO::Socket::UNIX -e 'IO::Socket::UNIX->new(Peer => "${sock}") or exit 1'`,
      inside:
        `perl -MIO::Socket::INET -e '$l = IO::Socket::INET->new(Listen => 1, LocalAddr => "127.0.0.1:0") or exit 1; IO::Socket::INET->new(PeerAddr => "127.0.0.1:" . $l->sockport) or exit 1'`,
      links: "ip -o link | grep -vq ' lo:'",
    }) + `\nexec 3<>/dev/tcp/127.0.0.1/${port}`;
    try {
      const cut = await run(s.client, script, {
        sandbox: sandboxProfile({ mode: "read-only" }),
        cwd: tmp.dir,
      }, marker);
      assert.deepEqual(verdicts(cut.stdout), {
        tcp: false,
        unix: false,
        inside: false,
        links: false,
      });
      assert.match(cut.stderr, /Operation not permitted/, "refused by the sandbox, and it says so");
      assert.equal(cut.sandboxDenied, true);
      assert.equal(accepted, 0, "nothing reached the listeners");
      const open = await run(s.client, script, {
        sandbox: sandboxProfile({ mode: "read-only", network: true }),
        cwd: tmp.dir,
      }, marker);
      const v = verdicts(open.stdout);
      assert.deepEqual([v.tcp, v.unix, v.inside], [true, true, true], open.out);
      assert.equal(accepted, 3, "tcp, unix, and the last command");
      assert.equal(open.exitCode, 0);
      await marker.assertAllGone();
    } finally {
      tcp.close();
      unix.close();
      await Promise.allSettled(serving);
    }
  },
});

Deno.test({
  name: "a grandchild that leaves the session (setsid) dies with the sandbox and never writes",
  ignore,
  async fn() {
    await using s = await server();
    await using tmp = await scratch();
    const marker = new Marker();
    const r = await run(
      s.client,
      `setsid bash -c 'sleep 1; echo escaped > ${tmp.dir}/escaped' </dev/null >/dev/null 2>&1 &
       echo started`,
      { sandbox: sandboxProfile({ mode: "workspace-write", writable: [tmp.dir] }), cwd: tmp.dir },
      marker,
    );
    assert.equal(r.stdout.trim(), "started");
    assert.equal(r.exitCode, 0);
    assert.equal(r.sandboxDenied, false);
    // Gone (within a deadline), so it can never write.
    await marker.assertAllGone(5_000);
    assert.ok(!(await exists(`${tmp.dir}/escaped`)));
  },
});

Deno.test({
  name: "a terminal under a profile: output on the pty, writes refused, sandboxDenied from the pty",
  ignore,
  async fn() {
    await using s = await server();
    await using tmp = await scratch();
    const marker = new Marker();
    const r = await run(s.client, "touch /usr/local/sbx-tty; tty; echo in-$?; exit 1", {
      sandbox: sandboxProfile({ mode: "workspace-write", writable: [tmp.dir] }),
      cwd: tmp.dir,
      tty: true,
    }, marker);
    assert.match(r.out, /Read-only file system/);
    assert.match(r.out, /in-0/, "stdin is a terminal");
    assert.equal(r.stdout + r.stderr, "", "a terminal has one stream");
    assert.equal(r.sandboxDenied, true);
    // Job control works: the terminal is the process's controlling tty.
    const jobs = await run(
      s.client,
      "sleep 0.1 & wait; echo tty_nr=$(cut -d' ' -f7 /proc/$$/stat)",
      {
        sandbox: sandboxProfile({ mode: "read-only" }),
        cwd: tmp.dir,
        tty: true,
      },
      marker,
    );
    const ttyNr = Number(/tty_nr=(\d+)/.exec(jobs.out)?.[1]);
    assert.ok(ttyNr > 0, `a controlling tty (tty_nr ${ttyNr}): ${jobs.out}`);
    await marker.assertAllGone();
  },
});

Deno.test({
  name:
    "signals reach the sandboxed command: a SIGTERM trap runs on terminate; arg0 is applied inside",
  ignore,
  async fn() {
    await using s = await server();
    await using tmp = await scratch();
    const marker = new Marker();
    const processId = "trap";
    await s.client.request("process/start", {
      processId,
      argv: [
        "/bin/bash",
        "-c",
        'trap "echo got-term; exit 7" TERM; echo ready; while :; do sleep 0.1; done',
      ],
      cwd: tmp.dir,
      env: { PATH: "/usr/bin:/bin", ...marker.env },
      tty: false,
      sandbox: sandboxProfile({ mode: "read-only" }),
    });
    await s.client.waitUntil(
      () => new TextDecoder().decode(s.client.outputOf(processId)).includes("ready") || undefined,
      10_000,
      "ready",
    );
    const t = await s.client.request("process/terminate", { processId });
    assert.equal(t.running, true);
    const events = await s.client.untilClosed(processId);
    assert.match(new TextDecoder().decode(s.client.outputOf(processId)), /got-term/);
    assert.equal(events.find((e) => e.method === "process/exited")!.params.exitCode, 7);

    // On a terminal the command shares bwrap's process group: the signal
    // still goes to the command inside, not to bwrap.
    await s.client.request("process/start", {
      processId: "trap-tty",
      argv: [
        "/bin/bash",
        "-c",
        'trap "echo got-int; exit 5" INT; echo ready; while :; do sleep 0.1; done',
      ],
      cwd: tmp.dir,
      env: { PATH: "/usr/bin:/bin", ...marker.env },
      tty: true,
      sandbox: sandboxProfile({ mode: "read-only" }),
    });
    await s.client.waitUntil(
      () => new TextDecoder().decode(s.client.outputOf("trap-tty")).includes("ready") || undefined,
      10_000,
      "ready",
    );
    await s.client.request("process/signal", { processId: "trap-tty", signal: "interrupt" });
    const ttyEvents = await s.client.untilClosed("trap-tty");
    assert.match(new TextDecoder().decode(s.client.outputOf("trap-tty")), /got-int/);
    assert.equal(ttyEvents.find((e) => e.method === "process/exited")!.params.exitCode, 5);

    const a = await run(s.client, "", {
      argv: ["/bin/sh", "-c", "tr '\\0' ' ' < /proc/$$/cmdline"],
      arg0: "custom0",
      sandbox: sandboxProfile({ mode: "read-only" }),
      cwd: tmp.dir,
    }, marker);
    assert.match(a.stdout, /^custom0 -c /);
    await marker.assertAllGone();
  },
});

Deno.test({
  name: "fail closed: no bwrap, a bwrap that cannot make namespaces, entries we cannot enforce",
  ignore,
  async fn() {
    await using tmp = await scratch();
    const fake = `${tmp.dir}/bwrap`;
    await Deno.writeTextFile(
      fake,
      "#!/bin/sh\necho 'bwrap: setting up uid map: Permission denied' >&2\nexit 1\n",
    );
    await Deno.chmod(fake, 0o755);
    const marker = new Marker();
    const proof = `${tmp.dir}/ran`;
    const start = (client: TestClient, id: string, sandbox: unknown) =>
      client.call("process/start", {
        processId: id,
        argv: ["/bin/sh", "-c", `touch ${proof}`],
        cwd: tmp.dir,
        env: { PATH: "/usr/bin:/bin", ...marker.env },
        tty: false,
        sandbox,
      });
    {
      await using s = await server(["--bwrap", `${tmp.dir}/missing/bwrap`]);
      const r = await start(s.client, "a", sandboxProfile({ mode: "read-only" }));
      assert.equal(r.error?.code, -32603);
      assert.deepEqual(r.error?.data, { kind: "sandboxUnavailable" });
      assert.match(r.error!.message, /bubblewrap \(bwrap\) was not found at .*missing\/bwrap/);
      assert.match(r.error!.message, /apt-get install bubblewrap/);
      // Without a profile nothing changes.
      const plain = await start(s.client, "b", null);
      assert.equal(plain.result?.sandboxType, "none");
      await s.client.untilClosed("b");
      assert.ok(await exists(proof));
      await Deno.remove(proof);
    }
    {
      await using s = await server(["--bwrap", fake]);
      const r = await start(s.client, "c", sandboxProfile({ mode: "read-only" }));
      assert.deepEqual(r.error?.data, { kind: "sandboxUnavailable" });
      assert.match(
        r.error!.message,
        /cannot create a sandbox on this host: bwrap: setting up uid map/,
      );
    }
    {
      await using s = await server();
      // A client's PATH never chooses the bwrap: a fake one first in PATH changes nothing.
      const evil = await s.client.call("process/start", {
        processId: "evil",
        argv: ["/bin/sh", "-c", `touch ${proof}; touch /usr/local/sbx-evil`],
        cwd: tmp.dir,
        env: { PATH: `${tmp.dir}:/usr/bin:/bin`, ...marker.env },
        tty: false,
        sandbox: sandboxProfile({ mode: "read-only" }),
      });
      assert.equal(evil.result?.sandboxType, "linuxSeccomp");
      await s.client.untilClosed("evil");
      assert.ok(!(await exists(proof)), "ran under the real bwrap: read-only");
      const refusals: [unknown, string, RegExp][] = [
        [
          restricted([rootEntry("read"), {
            path: { type: "special", value: { kind: "unknown", path: ":future" } },
            access: "deny",
          }]),
          "sandboxPreparation",
          /deny entry on the special path ":future"/,
        ],
        [
          { ...restricted([rootEntry("read")]), useLegacyLandlock: true },
          "sandboxUnavailable",
          /Landlock/,
        ],
        [
          restricted([rootEntry("read"), {
            path: { type: "glob_pattern", pattern: "**/[" },
            access: "deny",
          }]),
          "sandboxPreparation",
          /deny glob/,
        ],
        [
          restricted([pathEntry("/usr", "read")]),
          "sandboxPreparation",
          /working directory .* is not visible/,
        ],
      ];
      for (const [i, [sandbox, kind, message]] of refusals.entries()) {
        const r = await start(s.client, `r${i}`, sandbox);
        assert.equal(r.error?.code, -32603, JSON.stringify(r));
        assert.deepEqual(r.error?.data, { kind }, JSON.stringify(r));
        assert.match(r.error!.message, message);
      }
      assert.ok(!(await exists(proof)), "nothing ran");
      const list = await s.client.request("process/list", {});
      assert.deepEqual(list.processes.map((p: { processId: string }) => p.processId), ["evil"]);
    }
    await marker.assertAllGone();
  },
});

Deno.test({
  name:
    "serve --sandbox: a default for starts without a profile, and a cap no client profile widens",
  ignore,
  async fn() {
    await using tmp = await scratch();
    const w = `${tmp.dir}/w`;
    await Deno.mkdir(w);
    const marker = new Marker();
    const script = tries({
      w: `echo a > ${w}/f`,
      tmp: "echo a > /tmp/sbx-e2e-cap-$$ && rm /tmp/sbx-e2e-cap-$$",
    });
    {
      await using s = await server(["--sandbox", "read-only"]);
      const none = await run(s.client, script, { cwd: w }, marker);
      assert.equal(
        none.sandboxType,
        "linuxSeccomp",
        "the default applies to a start without a profile",
      );
      assert.deepEqual(verdicts(none.stdout), { w: false, tmp: false });
      const wider = await run(s.client, script, {
        cwd: w,
        sandbox: sandboxProfile({ mode: "workspace-write", writable: [w], network: true }),
      }, marker);
      assert.deepEqual(
        verdicts(wider.stdout),
        { w: false, tmp: false },
        "the client cannot widen it",
      );
      const disabled = await run(s.client, script, {
        cwd: w,
        sandbox: { permissions: { type: "disabled" }, windowsSandboxLevel: "disabled" },
      }, marker);
      assert.equal(disabled.sandboxType, "linuxSeccomp");
      assert.deepEqual(verdicts(disabled.stdout), { w: false, tmp: false });
    }
    {
      await using s = await server(["--sandbox", "workspace-write", "--sandbox-writable", w]);
      const none = await run(s.client, script + "\n" + tries({ usr: "touch /usr/local/sbx-cap" }), {
        cwd: w,
      }, marker);
      assert.deepEqual(verdicts(none.stdout), { w: true, tmp: true, usr: false });
      const narrower = await run(s.client, script, {
        cwd: w,
        sandbox: sandboxProfile({ mode: "read-only" }),
      }, marker);
      assert.deepEqual(
        verdicts(narrower.stdout),
        { w: false, tmp: false },
        "a client may narrow it",
      );
    }
    await marker.assertAllGone();
    assert.ok(!(await exists(`${w}/.codex`)), "no placeholders left");
  },
});

Deno.test({
  name: "a killed sandbox leaves no placeholders on the host (codex leaves its mount points)",
  ignore,
  async fn() {
    await using s = await server();
    await using tmp = await scratch();
    const marker = new Marker();
    await s.client.request("process/start", {
      processId: "sleeper",
      argv: ["/bin/sh", "-c", "echo up; exec sleep 60"],
      cwd: tmp.dir,
      env: { PATH: "/usr/bin:/bin", ...marker.env },
      tty: false,
      sandbox: sandboxProfile({ mode: "workspace-write", writable: [tmp.dir] }),
    });
    await s.client.waitUntil(
      () => new TextDecoder().decode(s.client.outputOf("sleeper")).includes("up") || undefined,
      10_000,
      "up",
    );
    assert.ok(await exists(`${tmp.dir}/.git`), "the mask's mount point exists while it runs");
    await s.client.request("process/signal", { processId: "sleeper", signal: "kill" });
    await s.client.untilClosed("sleeper");
    await marker.assertAllGone();
    await waitUntil(async () => !(await exists(`${tmp.dir}/.git`)), {
      message: "the placeholder to be removed",
    });
    for (const name of [".git", ".agents", ".codex", ".aws"]) {
      assert.ok(!(await exists(`${tmp.dir}/${name}`)), name);
    }
  },
});

Deno.test({
  name: "placeholders a killed server left are removed by the next server (journal)",
  ignore,
  async fn() {
    await using tmp = await scratch();
    const work = `${tmp.dir}/w`;
    const state = `${tmp.dir}/state`;
    await Deno.mkdir(work);
    const env = { XDG_STATE_HOME: state };
    const marker = new Marker();
    {
      const srv = await ServerProcess.start(["--log-level", "warn"], { env });
      const client = await TestClient.connect(srv.url);
      await client.request("process/start", {
        processId: "sleeper",
        argv: ["/bin/sh", "-c", "echo up; exec sleep 60"],
        cwd: work,
        env: { PATH: "/usr/bin:/bin", ...marker.env },
        tty: false,
        sandbox: sandboxProfile({ mode: "workspace-write", writable: [work] }),
      });
      await client.waitUntil(
        () => new TextDecoder().decode(client.outputOf("sleeper")).includes("up") || undefined,
        10_000,
        "up",
      );
      await srv.stop("SIGKILL");
      await client.close();
      await srv[Symbol.asyncDispose]();
    }
    await marker.assertAllGone(); // bwrap dies with its parent (--die-with-parent)
    assert.ok(await exists(`${work}/.git`), "a killed server leaves its placeholders");
    const journals = [...Deno.readDirSync(`${state}/exec-server/placeholders`)];
    assert.equal(journals.length, 1);
    {
      await using s = await server();
      // A server with another journal directory does not touch them.
      await run(
        s.client,
        "true",
        { sandbox: sandboxProfile({ mode: "read-only" }), cwd: work },
        marker,
      );
      assert.ok(await exists(`${work}/.git`));
    }
    {
      const srv = await ServerProcess.start(["--log-level", "warn"], { env });
      const client = await TestClient.connect(srv.url);
      try {
        const r = await run(client, "true", {
          sandbox: sandboxProfile({ mode: "read-only" }),
          cwd: "/",
        }, marker);
        assert.equal(r.exitCode, 0);
        for (const name of [".git", ".agents", ".codex", ".aws"]) {
          assert.ok(!(await exists(`${work}/${name}`)), `${name} was swept`);
        }
        assert.deepEqual([...Deno.readDirSync(`${state}/exec-server/placeholders`)], []);
      } finally {
        await client.close();
        await srv[Symbol.asyncDispose]();
      }
    }
    await marker.assertAllGone();
  },
});

Deno.test({
  name:
    "our client and CLI ask for profiles: sandboxProfile(), exec --sandbox/--writable/--read-only/--no-network",
  ignore,
  async fn() {
    await using s = await server();
    await using tmp = await scratch();
    const extra = `${tmp.dir}/extra`;
    await Deno.mkdir(extra);
    const marker = new Marker();
    await using client = await ExecServerClient.connect({ url: s.srv.url });
    const proc = await client.start({
      argv: ["/bin/sh", "-c", `touch ${tmp.dir}/ok && touch /usr/local/sbx-client`],
      cwd: tmp.dir,
      env: { PATH: "/usr/bin:/bin", ...marker.env },
      sandbox: sandboxProfile({ mode: "workspace-write", writable: [tmp.dir] }),
    });
    const status = await proc.exited;
    assert.deepEqual(status, { exitCode: 1, sandboxDenied: true });
    assert.ok(await exists(`${tmp.dir}/ok`));

    const cli = async (...args: string[]) => {
      const out = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          new URL("../main.ts", import.meta.url).pathname,
          "exec",
          "--url",
          s.srv.url,
          ...args,
        ],
        env: marker.env,
        stdin: "null",
      }).output();
      return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
    };
    const ww = await cli(
      "--sandbox",
      "workspace-write",
      "--writable",
      extra,
      "--cwd",
      tmp.dir,
      "--",
      "sh",
      "-c",
      `touch a ${extra}/b && touch /usr/local/sbx-cli`,
    );
    assert.equal(ww.code, 1);
    assert.match(ww.stderr, /Read-only file system/);
    assert.ok(await exists(`${tmp.dir}/a`) && await exists(`${extra}/b`));
    const ro = await cli("--read-only", "--cwd", tmp.dir, "--", "touch", "c");
    assert.equal(ro.code, 1);
    assert.ok(!(await exists(`${tmp.dir}/c`)));
    const net = await cli(
      "--no-network",
      "--cwd",
      tmp.dir,
      "--",
      "bash",
      "-c",
      "touch d && exec 3<>/dev/tcp/127.0.0.1/9",
    );
    assert.equal(net.code, 1);
    assert.match(net.stderr, /Operation not permitted/);
    assert.ok(await exists(`${tmp.dir}/d`), "--no-network alone leaves the file system alone");
    const bad = await cli("--read-only", "--writable", extra, "--", "true");
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--writable contradicts a read-only sandbox/);
    await marker.assertAllGone();
  },
});

Deno.test({
  name:
    "a server run as root: sandboxed processes cannot write host sysctls or /sys (real root inside)",
  ignore: ignore || Deno.uid() !== 0,
  async fn() {
    // With uid 0 mapped to the real root, /proc/sys/kernel/core_pattern (run
    // as root on the host at the next crash) was writable under every
    // profile, as it is under codex's server. Writing a value back is harmless.
    await using s = await server();
    await using tmp = await scratch();
    const marker = new Marker();
    const script = tries({
      hostname: 'h=$(cat /proc/sys/kernel/hostname) && echo "$h" > /proc/sys/kernel/hostname',
      corepattern: "test -w /proc/sys/kernel/core_pattern && : >> /proc/sys/kernel/core_pattern",
      sys: ": >> /sys/kernel/uevent_helper",
      own: "echo ok > ./own",
    });
    for (
      const sandbox of [
        sandboxProfile({ mode: "workspace-write", writable: [tmp.dir] }),
        sandboxProfile({ mode: "network-only" }),
      ]
    ) {
      const r = await run(s.client, script, { sandbox, cwd: tmp.dir }, marker);
      assert.deepEqual(verdicts(r.stdout), {
        hostname: false,
        corepattern: false,
        sys: false,
        own: true,
      }, JSON.stringify(sandbox.permissions));
    }
    await marker.assertAllGone();
  },
});
