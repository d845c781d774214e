// Copyright 2026 the exec-server authors. MIT license.
/**
 * The attack suite behind `deno task soak` (scripts/soak.ts) and its short
 * form in tests/soak_test.ts: each attack of issue 15, as an attacker would
 * run it on loopback, bounded in time, against a fresh real server. The
 * runner then checks what every attack must leave behind: a server that is
 * alive and serves, its peak RSS, no surviving descendant and no escape.
 *
 * @module
 */
import { pingDuring, ServerProcess, TestClient, waitUntil } from "./_harness.ts";
import { addr, closeAll, encodeFrame, Opcode, pidsByArgv, RawSocket } from "./_wire.ts";
import { messageOf } from "../lib/util/mod.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;
const MIB = 1024 * 1024;
const ENV = { PATH: "/usr/bin:/bin" };
const encoder = new TextEncoder();

/** What one attack reports. */
export interface AttackOutcome {
  /** Attempts made (connections, requests, races…). */
  tried: number;
  /** Processes the attack started that must be gone afterwards (argv to look for). */
  markers?: string[][];
  /** Writes or reads that got past --fs-root. */
  escapes?: number;
  /** Something the attack measured, for the table. */
  note?: string;
  /** A property the attack checks that did not hold. */
  failure?: string;
}

/** What the runner gives an attack. */
export interface AttackContext {
  /** The server under attack. */
  server: ServerProcess;
  /** Its flags' token, when it has one. */
  token: string | null;
  /** A scratch directory (removed afterwards). */
  dir: string;
  /** Short form: fewer and smaller attempts. */
  quick: boolean;
}

/** One attack. */
export interface Attack {
  /** Short name. */
  name: string;
  /** The row of issue 15 it reproduces. */
  row: string;
  /** Server flags. */
  args?: (dir: string) => string[];
  /** RLIMIT_NOFILE for the server. */
  nofile?: number;
  /** Start the server with a token. */
  token?: boolean;
  /** The attack kills the server itself: it is not expected to be alive afterwards. */
  killsServer?: boolean;
  /** Runs it. */
  run(ctx: AttackContext): Promise<AttackOutcome>;
}

/** Starts the server an attack runs against. */
export function startServer(attack: Attack, dir: string, token: string | null) {
  const args = attack.args?.(dir) ?? [];
  const env: Record<string, string> = token ? { EXEC_SERVER_TOKEN: token } : {};
  const argv = [Deno.execPath(), "run", "-A", MAIN, "serve", ...args];
  if (attack.nofile) {
    return ServerProcess.spawn("prlimit", [
      `--nofile=${attack.nofile}:${attack.nofile}`,
      "--",
      ...argv,
    ], {
      env,
    });
  }
  return ServerProcess.spawn(argv[0]!, argv.slice(1), { env });
}

/** A client of `ctx.server` (with its token). */
export function client(ctx: AttackContext, initialize = true): Promise<TestClient> {
  return TestClient.connect(ctx.server.url, {
    initialize,
    ...(ctx.token ? { headers: { Authorization: `Bearer ${ctx.token}` } } : {}),
  });
}

/** A marker argv no other process has: `sleep <unique seconds>`. */
function marker(): string[] {
  return ["sleep", `${600 + Math.floor(Math.random() * 1e6) / 1000}`];
}

async function start(c: TestClient, processId: string, argv: string[], extra = {}) {
  return await c.call("process/start", {
    processId,
    argv,
    cwd: "/tmp",
    env: ENV,
    tty: false,
    ...extra,
  }, { timeoutMs: 120_000 });
}

// -- The attacks --

const idleFlood: Attack = {
  name: "idle TCP connections past the fd limit",
  row: "1",
  nofile: 256,
  token: true,
  args: () => ["--handshake-timeout", "30"],
  async run(ctx) {
    const n = ctx.quick ? 600 : 2000;
    const idle: Deno.Conn[] = [];
    try {
      for (let i = 0; i < n; i++) idle.push(await Deno.connect(addr(ctx.server.url)));
      await using c = await client(ctx);
      const m = marker();
      let refused = 0;
      for (let i = 0; i < 60; i++) {
        if ((await start(c, `fd${i}`, m, { pipeStdin: true })).error) refused++;
      }
      // The processes hold the descriptors: end them, as their owner would.
      for (let i = 0; i < 60; i++) await c.request("process/terminate", { processId: `fd${i}` });
      return {
        tried: n + 60,
        markers: [m],
        note: `${refused} of 60 starts refused for want of fds`,
      };
    } finally {
      closeAll(idle);
    }
  },
};

const slowRequests: Attack = {
  name: "requests that drip or never end",
  row: "1",
  args: () => ["--handshake-timeout", "1"],
  async run(ctx) {
    const n = ctx.quick ? 50 : 200;
    const conns: Deno.Conn[] = [];
    for (let i = 0; i < n; i++) {
      const conn = await Deno.connect(addr(ctx.server.url));
      conns.push(conn);
      // Half of them send half a request, the other half nothing at all.
      if (i % 2) await conn.write(encoder.encode("GET / HTTP/1.1\r\nHost: x\r\n")).catch(() => 0);
    }
    const start = performance.now();
    const buf = new Uint8Array(1024);
    const ends = await Promise.all(
      conns.map((c) => c.read(buf).then(() => "closed", () => "reset")),
    );
    const ms = performance.now() - start;
    closeAll(conns);
    const failure = ms > 5000 ? `still open after ${ms.toFixed(0)} ms` : undefined;
    return {
      tried: n,
      note: `all ${ends.length} closed within ${ms.toFixed(0)} ms`,
      ...(failure ? { failure } : {}),
    };
  },
};

const methodUpgrades: Attack = {
  name: "upgrades by POST, PUT, DELETE, PATCH",
  row: "15",
  async run(ctx) {
    let upgraded = 0;
    let tried = 0;
    for (const method of ["POST", "PUT", "DELETE", "PATCH"]) {
      for (let i = 0; i < (ctx.quick ? 5 : 25); i++, tried++) {
        const conn = await Deno.connect(addr(ctx.server.url));
        const key = crypto.getRandomValues(new Uint8Array(16)).toBase64();
        await conn.write(encoder.encode(
          `${method} / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
            `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
        ));
        const buf = new Uint8Array(512);
        const n = await conn.read(buf).catch(() => null);
        if (n && new TextDecoder().decode(buf.subarray(0, n)).startsWith("HTTP/1.1 101")) {
          upgraded++;
        }
        closeAll([conn]);
      }
    }
    return {
      tried,
      note: `${upgraded} upgraded`,
      ...(upgraded ? { failure: `${upgraded} upgrades by other methods succeeded` } : {}),
    };
  },
};

const fragmentBomb: Attack = {
  name: "one message in 1 MiB continuation frames",
  row: "2",
  async run(ctx) {
    const total = ctx.quick ? 100 : 600;
    await using victim = await client(ctx);
    const m = marker();
    await start(victim, "victim", m);
    const raw = await RawSocket.connect(ctx.server.url);
    const part = new Uint8Array(MIB).fill(0x20);
    const closing = raw.readUntilClose();
    let sent = 0;
    try {
      await raw.sendBytes(encodeFrame(Opcode.Text, part, { fin: false }));
      const more = encodeFrame(Opcode.Continuation, part, { fin: false });
      for (sent = 1; sent < total; sent++) await raw.sendBytes(more);
    } catch {
      // the server hung up
    }
    const end = await closing;
    raw.close();
    const alive = (await victim.request("process/list")).processes[0]?.state === "running";
    await victim.request("process/terminate", { processId: "victim" });
    const failure = end.code !== 1009
      ? `closed with ${end.code} instead of 1009`
      : !alive
      ? "the other session's process died"
      : undefined;
    return {
      tried: sent,
      markers: [m],
      note: `${sent} MiB sent, closed ${end.code}`,
      ...(failure ? { failure } : {}),
    };
  },
};

const uninitialized: Attack = {
  name: "upgrades that never initialize",
  row: "9",
  args: () => ["--max-connections", "100", "--handshake-timeout", "2"],
  async run(ctx) {
    const n = ctx.quick ? 300 : 2000;
    const raws: RawSocket[] = [];
    for (let i = 0; i < n; i++) {
      const raw = await RawSocket.connect(ctx.server.url).catch(() => null);
      if (raw) raws.push(raw);
    }
    try {
      const start = performance.now();
      await waitUntil(async () => {
        try {
          await using c = await client(ctx);
          await c.request("process/list");
          return true;
        } catch {
          return false;
        }
      }, { timeoutMs: 10_000, intervalMs: 100, message: "a real client to get in" });
      const ms = performance.now() - start;
      return {
        tried: n,
        note: `a real client got in after ${ms.toFixed(0)} ms`,
        ...(ms > 5000 ? { failure: `a real client waited ${ms.toFixed(0)} ms` } : {}),
      };
    } finally {
      closeAll(raws);
    }
  },
};

const garbage: Attack = {
  name: "garbage after the handshake",
  row: "-",
  async run(ctx) {
    const n = ctx.quick ? 50 : 300;
    for (let i = 0; i < n; i++) {
      const raw = await RawSocket.connect(ctx.server.url);
      const bytes = crypto.getRandomValues(new Uint8Array(1 + (i * 37) % 4000));
      await raw.sendBytes(bytes).catch(() => {});
      raw.close();
    }
    return { tried: n };
  },
};

const parkedReads: Attack = {
  name: "20,000 parked reads woken by 1 MiB",
  row: "12",
  async run(ctx) {
    const n = ctx.quick ? 5000 : 20_000;
    const raw = await RawSocket.connect(ctx.server.url);
    await raw.sendJson({ id: 1, method: "initialize", params: { clientName: "parker" } });
    await raw.readJsonUntil((msg) => msg.id === 1);
    await raw.sendJson({ method: "initialized" });
    const m = marker();
    await raw.sendJson({
      id: 2,
      method: "process/start",
      params: {
        processId: "late",
        argv: ["sh", "-c", `sleep 1; head -c 1048576 /dev/zero; exec ${m.join(" ")}`],
        cwd: "/tmp",
        env: ENV,
        tty: false,
      },
    });
    await raw.readJsonUntil((msg) => msg.id === 2);
    const sending = (async () => {
      for (let i = 0; i < n; i++) {
        await raw.sendJson({
          id: 100 + i,
          method: "process/read",
          params: { processId: "late", waitMs: 30_000 },
        });
      }
    })().catch(() => {});
    for (let got = 0; got < 5;) {
      await raw.readJsonUntil((msg) => typeof msg.id === "number" && msg.id >= 100);
      got++;
    }
    raw.close();
    await sending;
    return { tried: n, markers: [m] };
  },
};

const stdinFlood: Attack = {
  name: "40 x 11 MiB writes to a process that never reads",
  row: "12",
  async run(ctx) {
    const n = ctx.quick ? 10 : 40;
    await using c = await client(ctx);
    const m = marker();
    await start(c, "deaf", m, { pipeStdin: true });
    const chunk = new Uint8Array(11 * MIB).fill(0x61).toBase64();
    let refused = 0;
    const writes = Array.from({ length: n }, async () => {
      const r = await c.call("process/write", { processId: "deaf", chunk }, { timeoutMs: 60_000 });
      if (r.error) refused++;
    });
    const all = Promise.allSettled(writes);
    await waitUntil(() => refused >= n - 1, {
      timeoutMs: 30_000,
      message: "the writes past the bound to fail",
    })
      .catch(() => {});
    await c.request("process/terminate", { processId: "deaf" });
    await all;
    return {
      tried: n,
      markers: [m],
      note: `${refused} refused`,
      ...(refused < n - 1 ? { failure: `only ${refused} of ${n} writes refused` } : {}),
    };
  },
};

const retention: Attack = {
  name: "20 processes x 60 MB, nobody reading",
  row: "5",
  args: () => ["--session-ttl", "60"],
  async run(ctx) {
    const n = ctx.quick ? 8 : 20;
    const c = await client(ctx);
    const salt = Math.floor(Math.random() * 1e6) * 100;
    const heads = Array.from(
      { length: n },
      (_, i) => ["head", "-c", String(60_000_000 + salt + i), "/dev/zero"],
    );
    for (const [i, argv] of heads.entries()) {
      await start(c, `p${i}`, ["sh", "-c", `sleep 0.5; exec ${argv.join(" ")}`]);
    }
    await c.close();
    await waitUntil(() => heads.some((argv) => pidsByArgv(argv).length > 0), {
      message: "the producers",
    });
    await waitUntil(() => heads.every((argv) => pidsByArgv(argv).length === 0), {
      timeoutMs: 60_000,
      intervalMs: 50,
      message: "the producers to finish",
    });
    return { tried: n, markers: heads };
  },
};

const startBurst: Attack = {
  name: "1,000 starts at once (another client pings)",
  row: "12",
  args: () => ["--max-processes", "2000"],
  async run(ctx) {
    const n = ctx.quick ? 300 : 1000;
    await using a = await client(ctx);
    await using b = await client(ctx);
    const slowest = await pingDuring(
      b,
      () => Promise.all(Array.from({ length: n }, (_, i) => start(a, `s${i}`, ["true"]))),
    );
    return {
      tried: n,
      note: `slowest ping ${slowest.toFixed(0)} ms`,
      ...(slowest > 2000 ? { failure: `a ping took ${slowest.toFixed(0)} ms` } : {}),
    };
  },
};

const envBomb: Attack = {
  name: "a start with 500,000 variables (another client pings)",
  row: "12",
  async run(ctx) {
    await using a = await client(ctx);
    await using b = await client(ctx);
    const env: Record<string, string> = {};
    for (let i = 0; i < 500_000; i++) env[`V${i}`] = "x";
    let code = 0;
    const slowest = await pingDuring(b, async () => {
      code = (await start(a, "env", ["true"], { env })).error?.code ?? 0;
    });
    return {
      tried: 1,
      note: `answered ${code}, slowest ping ${slowest.toFixed(0)} ms`,
      ...(code !== -32602 ? { failure: `answered ${code} instead of -32602` } : {}),
    };
  },
};

const globBomb: Attack = {
  name: "envPolicy globs *a*a…*b",
  row: "6",
  async run(ctx) {
    await using c = await client(ctx);
    const glob = "*a".repeat(16) + "*b";
    const set = Object.fromEntries(
      Array.from({ length: 200 }, (_, i) => [`${"a".repeat(34)}${i}`, "x"]),
    );
    const started = performance.now();
    const r = await start(c, "glob", ["true"], {
      envPolicy: {
        inherit: "none",
        ignoreDefaultExcludes: true,
        exclude: [glob],
        set,
        includeOnly: [glob],
      },
    });
    const ms = performance.now() - started;
    return {
      tried: 200,
      note: `${ms.toFixed(0)} ms`,
      ...(r.error || ms > 2000
        ? { failure: r.error ? messageOf(r.error.message) : `${ms} ms` }
        : {}),
    };
  },
};

const globWork: Attack = {
  name: "envPolicy: 65,536 names x 4,096 *X* globs (another client pings)",
  row: "-",
  async run(ctx) {
    await using a = await client(ctx);
    await using b = await client(ctx);
    const set: Record<string, string> = {};
    for (let i = 0; i < 65_536; i++) set[`VARIABLE_NAME_${i}`] = "x";
    const includeOnly = Array.from({ length: 4_096 }, (_, i) => `*G${i}*`);
    let code = 0;
    const slowest = await pingDuring(b, async () => {
      const envPolicy = {
        inherit: "none",
        ignoreDefaultExcludes: true,
        exclude: [],
        set,
        includeOnly,
      };
      code = (await start(a, "globs", ["true"], { envPolicy })).error?.code ?? 0;
    });
    return {
      tried: 1,
      note: `answered ${code}, slowest ping ${slowest.toFixed(0)} ms`,
      ...(code !== -32602 ? { failure: `answered ${code} instead of -32602` } : {}),
    };
  },
};

const surrogates: Attack = {
  name: "lone-surrogate process ids",
  row: "16",
  async run(ctx) {
    await using c = await client(ctx);
    let accepted = 0;
    const n = ctx.quick ? 20 : 200;
    for (let i = 0; i < n; i++) {
      const id = `p${i}${String.fromCharCode(0xd800 + (i % 0x800))}`;
      if (!(await start(c, id, ["true"])).error) accepted++;
    }
    return {
      tried: n,
      ...(accepted ? { failure: `${accepted} ids with lone surrogates accepted` } : {}),
    };
  },
};

const daemons: Attack = {
  name: "daemons that leave the group (nohup, setsid, setsid -f, double fork)",
  row: "4, 7",
  async run(ctx) {
    await using c = await client(ctx);
    const markers: string[][] = [];
    const shapes = [
      (m: string) => `nohup ${m} >/dev/null 2>&1 & exit 0`,
      (m: string) => `setsid ${m} >/dev/null 2>&1 & exit 0`,
      (m: string) => `setsid -f ${m} >/dev/null 2>&1; exit 0`,
      (m: string) => `(${m} >/dev/null 2>&1 &) ; exit 0`,
    ];
    for (const [i, shape] of shapes.entries()) {
      const m = marker();
      markers.push(m);
      await start(c, `d${i}`, ["sh", "-c", shape(m.join(" "))]);
    }
    await waitUntil(() => markers.every((m) => pidsByArgv(m).length > 0), {
      message: "the daemons",
    });
    for (let i = 0; i < shapes.length; i++) {
      await c.request("process/terminate", { processId: `d${i}` });
    }
    return { tried: shapes.length, markers };
  },
};

const fsLinks: Attack = {
  name: "--fs-root: copy and write through links out of the root",
  row: "3, 8",
  args: (dir) => ["--fs-root", `${dir}/root`],
  async run(ctx) {
    const root = `${ctx.dir}/root`;
    const outside = `${ctx.dir}/outside`;
    await using c = await client(ctx);
    const enc = (s: string) => encoder.encode(s).toBase64();
    let tried = 0;
    // A link out, copied into a tree, then written through; and copies of
    // trees holding links.
    for (let i = 0; i < (ctx.quick ? 20 : 100); i++) {
      tried += 4;
      await c.call("fs/createDirectory", { path: `${root}/t${i}` });
      await c.call("fs/copy", {
        sourcePath: `${root}/out`,
        destinationPath: `${root}/t${i}/l`,
        recursive: true,
      });
      await c.call("fs/writeFile", { path: `${root}/t${i}/l/w${i}`, dataBase64: enc("x") });
      await c.call("fs/copy", {
        sourcePath: `${root}/t${i}`,
        destinationPath: `${root}/u${i}`,
        recursive: true,
      });
      await c.call("fs/writeFile", { path: `${root}/u${i}/l/v${i}`, dataBase64: enc("x") });
    }
    let escapes = 0;
    for await (const e of Deno.readDir(outside)) if (e.name !== "secret") escapes++;
    if (await Deno.readTextFile(`${outside}/secret`) !== "secret") escapes++;
    return { tried, escapes };
  },
};

const killedServer: Attack = {
  name: "SIGKILL of the server with children running",
  row: "10",
  killsServer: true,
  async run(ctx) {
    const c = await client(ctx);
    const markers: string[][] = [];
    for (let i = 0; i < 10; i++) {
      const m = marker();
      markers.push(m);
      // Half of them with a background child of their own.
      const argv = i % 2 ? ["sh", "-c", `${m.join(" ")} & exec ${m.join(" ")}`] : m;
      await start(c, `k${i}`, argv, i % 3 === 0 ? { tty: true } : {});
    }
    await waitUntil(() => markers.every((m) => pidsByArgv(m).length > 0), {
      message: "the children",
    });
    Deno.kill(ctx.server.pid, "SIGKILL");
    await c.close().catch(() => {});
    return { tried: 10, markers };
  },
};

/** Every attack, in the order they run. */
export const ATTACKS: readonly Attack[] = [
  idleFlood,
  slowRequests,
  methodUpgrades,
  fragmentBomb,
  uninitialized,
  garbage,
  parkedReads,
  stdinFlood,
  retention,
  startBurst,
  envBomb,
  globBomb,
  globWork,
  surrogates,
  daemons,
  killedServer,
  fsLinks,
];

/** Prepares the scratch directory an attack may use (a root with a link out of it). */
export async function scratch(): Promise<string> {
  const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "exec-server-soak-" }));
  await Deno.mkdir(`${dir}/root`);
  await Deno.mkdir(`${dir}/outside`);
  await Deno.writeTextFile(`${dir}/outside/secret`, "secret");
  await Deno.symlink(`${dir}/outside`, `${dir}/root/out`);
  return dir;
}
