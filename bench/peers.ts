// Copyright 2026 the exec-server authors. MIT license.
/**
 * What the exec-server is compared with besides local spawns: codex's own
 * `codex exec-server` (the system it reimplements), websocketd, OpenSSH and
 * util-linux `script`, as one table ({@linkcode PEERS}). Each peer names the
 * figures that need it, the Debian packages that provide it (installed when
 * missing; codex comes from npm through `scripts/codex`), and how to start
 * it on loopback with its own temporary configuration;
 * {@linkcode startPeers} brings up those a run needs and says why any could
 * not run.
 *
 * Adding a peer: one entry here, then its variant in each figure that
 * measures it and its rows in `targets.ts`.
 *
 * @module
 */
import type { FigureId } from "./config.ts";
import type { ServerHandle } from "./processes.ts";
import {
  type Cleanup,
  freePort,
  isRoot,
  run,
  startDaemon,
  startListening,
  stopChild,
  tail,
  which,
} from "./processes.ts";
import { messageOf } from "../lib/util/mod.ts";

/** What starting a peer gives the figures: a value (a URL, arguments) and its version. */
export interface Started<T> {
  /** What the figures use to reach it. */
  value: T;
  /** Its version, for the report. */
  version: string;
}

/** One peer the bench compares with. */
export interface PeerSpec<T> {
  /** Its name in notes ("util-linux script"). */
  label: string;
  /** The figures that measure it. */
  figures: readonly FigureId[];
  /** The programs it needs, each with the Debian package that provides it. */
  packages: Readonly<Record<string, string>>;
  /**
   * Starts it (its stop registered with `cleanup`) or proves it works;
   * `install` says whether it may install what it needs.
   */
  start(cleanup: Cleanup, dir: string, install: boolean): Promise<Started<T>>;
  /** A progress line once it runs. */
  describe(started: Started<T>): string;
}

/** The pinned codex release the bench compares with (as `scripts/codex` installs it). */
export const CODEX_VERSION = "0.171.0";

/** What the figures get of codex: a running server, and how to start more (P4, P5). */
export interface CodexPeer {
  /** The shared server's URL (P1, P2, P3, P6). */
  url: string;
  /** Starts a fresh `codex exec-server` on a free loopback port (stopped on cleanup). */
  start(cleanup: Cleanup): Promise<ServerHandle>;
}

/** The peers. */
export const PEERS = {
  codex: {
    label: `codex exec-server ${CODEX_VERSION}`,
    figures: ["P1", "P2", "P3", "P4", "P5", "P6"],
    packages: {},
    start: startCodex,
    describe: (s) => `codex exec-server on ${s.value.url} (${s.version})`,
  } satisfies PeerSpec<CodexPeer>,
  websocketd: {
    label: "websocketd",
    figures: ["P1", "P2"],
    packages: { websocketd: "websocketd" },
    start: startWebsocketd,
    describe: (s) => `websocketd on ${s.value}`,
  } satisfies PeerSpec<string>,
  ssh: {
    label: "ssh",
    figures: ["P1", "P2", "P6"],
    packages: { sshd: "openssh-server", ssh: "openssh-client", "ssh-keygen": "openssh-client" },
    start: startSshd,
    describe: (s) => `sshd on 127.0.0.1 with a ControlMaster connection (${s.version})`,
  } satisfies PeerSpec<string[]>,
  script: {
    label: "util-linux script",
    figures: ["P3"],
    packages: {},
    start: probeScript,
    describe: (s) => s.version,
  } satisfies PeerSpec<true>,
};

/** A peer's name. */
export type PeerName = keyof typeof PEERS;
/** Every peer's name. */
export const PEER_NAMES = Object.keys(PEERS) as PeerName[];

type ValueOf<K extends PeerName> = Awaited<ReturnType<typeof PEERS[K]["start"]>>["value"];

/** A peer in this run: its value when it runs, else null and why. */
export interface PeerState<T> {
  /** What the figures use to reach it, or null when it does not run. */
  value: T | null;
  /** Why it does not run ("not needed" when no chosen figure measures it). */
  note: string;
  /** Its version when it runs. */
  version: string | null;
}

/** Every peer's state in this run. */
export type Peers = { [K in PeerName]: PeerState<ValueOf<K>> };

/** The Debian packages the bench may install. */
export const APT_PACKAGES: readonly string[] = [
  ...new Set(PEER_NAMES.flatMap((n) => Object.values(PEERS[n].packages))),
];

/**
 * Starts the peers the chosen figures measure, except those in `skip`;
 * installs missing packages first when `install`. A peer that cannot run gets
 * a note (also pushed to `notes`) instead of a value.
 */
export async function startPeers(options: {
  only: ReadonlySet<FigureId>;
  skip: ReadonlySet<string>;
  install: boolean;
  cleanup: Cleanup;
  dir: string;
  notes: string[];
  progress: (line: string) => void;
}): Promise<Peers> {
  const { only, skip, cleanup, dir, notes, progress } = options;
  const needed = PEER_NAMES.filter((n) => PEERS[n].figures.some((f) => only.has(f)));
  const installable = needed.filter((n) => !skip.has(n));
  if (installable.some((n) => Object.keys(PEERS[n].packages).length > 0)) {
    progress(options.install ? "checking peers (installing missing ones)" : "checking peers");
    notes.push(...await ensurePackages(installable, options.install, progress));
  }
  const peers = {} as Record<PeerName, PeerState<unknown>>;
  for (const name of PEER_NAMES) {
    const spec: PeerSpec<unknown> = PEERS[name] as PeerSpec<unknown>;
    const state: PeerState<unknown> = { value: null, note: "not needed", version: null };
    peers[name] = state;
    if (skip.has(name)) {
      state.note = `${spec.label} skipped: --skip ${name}`;
    } else if (needed.includes(name)) {
      try {
        const started = await spec.start(cleanup, dir, options.install);
        state.value = started.value;
        state.version = started.version;
        progress(spec.describe(started));
        continue;
      } catch (err) {
        state.note = `${spec.label} skipped: ${messageOf(err)}`;
      }
    } else continue;
    notes.push(state.note);
    progress(state.note);
  }
  return peers as Peers;
}

const ROOT = new URL("..", import.meta.url).pathname;

/**
 * The codex binary: `CODEX_BIN` when set, else the one `scripts/codex`
 * installs into `.tools/` (npm `@openai/codex@0.171.0`, pinned), installing
 * it first only when `install`.
 */
async function locateCodex(install: boolean): Promise<string> {
  const override = Deno.env.get("CODEX_BIN");
  if (override) return override;
  const res = await run("bash", [`${ROOT}scripts/codex`, install ? "--path" : "--installed-path"], {
    // A first install downloads about 400 MB.
    timeoutMs: install ? 600_000 : 10_000,
  });
  const bin = res.stdout.trim();
  if (res.code !== 0 || !bin) {
    const why = res.stderr.trim().split("\n").at(-1) ?? "";
    throw new Error(
      install
        ? `scripts/codex could not install it: ${why}`
        : `${why}; not installing (--no-install or --quick)`,
    );
  }
  return bin;
}

/**
 * Starts `codex exec-server --listen ws://127.0.0.1:0` with its defaults (one
 * request at a time per connection) and a `CODEX_HOME` of its own, so that
 * no user configuration applies; its value also starts fresh ones for P4.
 */
async function startCodex(
  cleanup: Cleanup,
  dir: string,
  install: boolean,
): Promise<Started<CodexPeer>> {
  const bin = await locateCodex(install);
  const home = `${dir}/codex-home`;
  await Deno.mkdir(home, { recursive: true });
  const version = (await run(bin, ["--version"], { timeoutMs: 10_000 })).stdout.trim();
  const start = (c: Cleanup) =>
    startListening(c, "codex exec-server", bin, ["exec-server", "--listen", "ws://127.0.0.1:0"], {
      env: { CODEX_HOME: home, NO_COLOR: "1" },
    });
  const shared = await start(cleanup);
  return { value: { url: shared.url, start }, version: version || `codex ${CODEX_VERSION}` };
}

/** Checks that `script -qfec true /dev/null` works; its value is just `true`. */
async function probeScript(): Promise<Started<true>> {
  const r = await run("script", ["-qfec", "true", "/dev/null"], { timeoutMs: 10_000 });
  if (r.code !== 0) throw new Error(`exit code ${r.code}: ${r.stderr.trim()}`);
  const version = (await run("script", ["--version"], { timeoutMs: 5000 })).stdout.trim();
  return { value: true, version };
}

/**
 * Installs the Debian packages of the peers whose programs are missing, with
 * apt-get when allowed (root, apt-get present). Returns a note for each thing
 * that could not be done.
 */
export async function ensurePackages(
  peers: readonly PeerName[],
  install: boolean,
  log: (line: string) => void,
): Promise<string[]> {
  const missing = new Set<string>();
  for (const name of peers) {
    for (const [program, pkg] of Object.entries(PEERS[name].packages)) {
      if (!which(program)) missing.add(pkg);
    }
  }
  if (missing.size === 0) return [];
  const list = [...missing];
  const why = `missing: ${list.join(", ")}`;
  if (!install) return [`${why}; not installing (--no-install or --quick)`];
  if (!isRoot()) return [`${why}; not root, so not installing with apt-get`];
  if (!which("apt-get")) return [`${why}; no apt-get to install them with`];
  const env = { DEBIAN_FRONTEND: "noninteractive", PATH: Deno.env.get("PATH") ?? "" };
  const args = ["install", "-y", "--no-install-recommends", ...list];
  log(`installing ${list.join(" ")} with apt-get`);
  let res = await run("apt-get", args, { env, timeoutMs: 300_000 });
  if (res.code !== 0) {
    log("apt-get install failed; running apt-get update once and retrying");
    await run("apt-get", ["update"], { env, timeoutMs: 300_000 });
    res = await run("apt-get", args, { env, timeoutMs: 300_000 });
  }
  if (res.code !== 0) {
    const last = res.stderr.trim().split("\n").at(-1) ?? "";
    return [`${why}; apt-get install failed: ${last}`];
  }
  return [];
}

/** `name version` of an installed Debian package, or null. */
async function packageVersion(name: string): Promise<string | null> {
  if (!which("dpkg-query")) return null;
  const res = await run("dpkg-query", ["-W", "-f", "${Version}", name], { timeoutMs: 5000 })
    .catch(() => null);
  return res && res.code === 0 && res.stdout ? `${name} ${res.stdout.trim()}` : null;
}

/**
 * Starts websocketd (`--binary`) on a free loopback port; its value is the
 * base URL: `/true` runs `true`, `/zero?N` prints N zero bytes.
 */
async function startWebsocketd(cleanup: Cleanup, dir: string): Promise<Started<string>> {
  const bin = which("websocketd");
  if (!bin) throw new Error("websocketd is not installed");
  const scripts = `${dir}/websocketd`;
  await Deno.mkdir(scripts, { recursive: true });
  await Deno.writeTextFile(`${scripts}/true`, "#!/bin/sh\nexec true\n", { mode: 0o755 });
  await Deno.writeTextFile(
    `${scripts}/zero`,
    '#!/bin/sh\nexec head -c "$QUERY_STRING" /dev/zero\n',
    { mode: 0o755 },
  );
  const version = await packageVersion("websocketd") ??
    (await run(bin, ["--version"], { timeoutMs: 5000 })).stdout.trim();
  const port = freePort();
  await startDaemon(
    "websocketd",
    bin,
    [
      "--address=127.0.0.1",
      `--port=${port}`,
      "--binary",
      "--loglevel=error",
      `--dir=${scripts}`,
    ],
    port,
    cleanup,
  );
  return { value: `ws://127.0.0.1:${port}`, version };
}

/**
 * Starts sshd on a free loopback port with its own host key, a generated
 * client key, and a ControlMaster connection that the bench's `ssh` calls
 * reuse (`-o ControlMaster=auto -o ControlPath=… -o ControlPersist=…`). Its
 * value is the `ssh` arguments up to (not including) the remote command.
 */
async function startSshd(cleanup: Cleanup, dir: string): Promise<Started<string[]>> {
  const sshd = which("sshd");
  const ssh = which("ssh");
  const keygen = which("ssh-keygen");
  if (!sshd || !ssh || !keygen) throw new Error("OpenSSH (sshd, ssh, ssh-keygen) is not installed");
  const d = `${dir}/ssh`;
  await Deno.mkdir(d, { recursive: true, mode: 0o700 });
  for (const key of ["host_ed25519", "client_ed25519"]) {
    const res = await run(keygen, ["-q", "-t", "ed25519", "-N", "", "-f", `${d}/${key}`], {
      timeoutMs: 10_000,
    });
    if (res.code !== 0) throw new Error(`ssh-keygen failed: ${res.stderr.trim()}`);
  }
  await Deno.copyFile(`${d}/client_ed25519.pub`, `${d}/authorized_keys`);
  if (isRoot()) {
    // sshd running as root insists on its privilege-separation directory.
    await Deno.mkdir("/run/sshd", { recursive: true, mode: 0o755 }).catch(() => {});
  }
  const port = freePort();
  const config = [
    `Port ${port}`,
    "ListenAddress 127.0.0.1",
    `HostKey ${d}/host_ed25519`,
    `PidFile ${d}/sshd.pid`,
    `AuthorizedKeysFile ${d}/authorized_keys`,
    "PubkeyAuthentication yes",
    "PasswordAuthentication no",
    "KbdInteractiveAuthentication no",
    "UsePAM no",
    "StrictModes no",
    "PermitRootLogin prohibit-password",
    "PrintMotd no",
    "PrintLastLog no",
    "MaxSessions 64",
    "MaxStartups 64",
    "LogLevel ERROR",
    // bash sources ~/.bashrc for commands run by sshd, unless SHLVL says it
    // is nested: without this the baseline would time the user's rc files
    // (pyenv init alone adds 100+ ms), not ssh.
    "SetEnv SHLVL=1",
    "",
  ].join("\n");
  await Deno.writeTextFile(`${d}/sshd_config`, config);
  const check = await run(sshd, ["-t", "-f", `${d}/sshd_config`], { timeoutMs: 10_000 });
  if (check.code !== 0) throw new Error(`sshd -t rejected the config: ${check.stderr.trim()}`);
  await startDaemon(
    "sshd",
    sshd,
    ["-D", "-e", "-f", `${d}/sshd_config`],
    port,
    cleanup,
  );
  const user = (await run("id", ["-un"], { timeoutMs: 5000 })).stdout.trim() || "root";
  const control = `${d}/cm`;
  const common = [
    "-F",
    "/dev/null",
    "-i",
    `${d}/client_ed25519`,
    "-p",
    String(port),
    "-o",
    "IdentitiesOnly=yes",
    "-o",
    "BatchMode=yes",
    "-o",
    "StrictHostKeyChecking=no",
    "-o",
    `UserKnownHostsFile=${d}/known_hosts`,
    "-o",
    "LogLevel=ERROR",
    "-o",
    `ControlPath=${control}`,
  ];
  const target = `${user}@127.0.0.1`;
  // The master is our own foreground child, so it is stopped like the rest.
  const master = new Deno.Command(ssh, {
    args: [...common, "-M", "-N", "-o", "ControlPersist=no", target],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let masterExited = false;
  master.status.then(() => masterExited = true);
  const masterErr = tail(master.stderr);
  cleanup.add(`ssh ControlMaster ${master.pid}`, async () => {
    await run(ssh, [...common, "-O", "exit", target], { timeoutMs: 5000 }).catch(() => {});
    await stopChild(master);
  });
  const deadline = Date.now() + 10_000;
  for (;;) {
    const res = await run(ssh, [...common, "-O", "check", target], { timeoutMs: 5000 });
    if (res.code === 0) break;
    if (masterExited || Date.now() > deadline) {
      throw new Error(`ssh ControlMaster did not come up: ${masterErr().trim() || res.stderr}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const args = [
    ...common,
    "-o",
    "ControlMaster=auto",
    "-o",
    "ControlPersist=120",
    target,
  ];
  const probe = await run(ssh, [...args, "true"], { timeoutMs: 10_000 });
  if (probe.code !== 0) throw new Error(`ssh 127.0.0.1 true failed: ${probe.stderr.trim()}`);
  const version = (await run(ssh, ["-V"], { timeoutMs: 5000 })).stderr.trim();
  return { value: args, version };
}
