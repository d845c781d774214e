// Copyright 2026 the exec-server authors. MIT license.
/**
 * What the benchmarks run against: the exec-server itself (a real `main.ts
 * serve` subprocess), and the peers websocketd and OpenSSH, installed from
 * Debian's packages when missing and started on loopback with their own
 * temporary configuration. Everything started here is registered with a
 * {@linkcode Cleanup} so that it is stopped, and its files removed, on exit.
 *
 * @module
 */

const ROOT = new URL("..", import.meta.url).pathname;
/**
 * The server entry point; `EXEC_SERVER_BENCH_MAIN` points the bench at another
 * checkout's `main.ts`, to compare a change with the baseline.
 */
const MAIN = Deno.env.get("EXEC_SERVER_BENCH_MAIN") || `${ROOT}main.ts`;

/** The Debian packages the bench installs when a peer is missing. */
export const APT_PACKAGES = ["websocketd", "openssh-server", "openssh-client"] as const;

/** A LIFO stack of cleanup steps; each step runs once, bounded in time. */
export class Cleanup {
  readonly #steps: { what: string; run: () => Promise<void> | void }[] = [];

  /** Registers a step; returns a function that runs it now (and unregisters it). */
  add(what: string, run: () => Promise<void> | void): () => Promise<void> {
    const step = { what, run };
    this.#steps.push(step);
    return async () => {
      const i = this.#steps.indexOf(step);
      if (i < 0) return;
      this.#steps.splice(i, 1);
      await runBounded(step);
    };
  }

  /** Runs every step, newest first. */
  async runAll(): Promise<void> {
    while (this.#steps.length > 0) await runBounded(this.#steps.pop()!);
  }
}

async function runBounded(step: { what: string; run: () => Promise<void> | void }) {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([
      Promise.resolve().then(step.run),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error("timed out after 10 s")), 10_000);
      }),
    ]);
  } catch (err) {
    console.error(`bench: cleanup of ${step.what} failed: ${(err as Error).message}`);
  } finally {
    clearTimeout(timer);
  }
}

/** Resident set size of a process in bytes (VmRSS), or null if it is gone. */
export function rssOf(pid: number): number | null {
  try {
    const status = Deno.readTextFileSync(`/proc/${pid}/status`);
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** Kills a child and waits for it, with SIGKILL if SIGTERM is not enough. */
async function stopChild(child: Deno.ChildProcess, graceMs = 3000): Promise<void> {
  try {
    child.kill("SIGTERM");
  } catch {
    // already gone
  }
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }, graceMs);
  await child.status;
  clearTimeout(timer);
}

/** Collects the last `max` characters of a stream (and drains it). */
function tail(stream: ReadableStream<Uint8Array>, max = 16_384): () => string {
  let text = "";
  void (async () => {
    try {
      for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
        text = (text + chunk).slice(-max);
      }
    } catch {
      // closed
    }
  })();
  return () => text;
}

/** A running `main.ts serve`. */
export interface ServerHandle {
  /** `ws://127.0.0.1:PORT`. */
  url: string;
  /** The server's pid (the Deno process itself). */
  pid: number;
  /** Stops it (SIGTERM, then SIGKILL) and waits. */
  stop(): Promise<void>;
  /** What it wrote to stderr, the last 16 KiB. */
  stderr(): string;
}

/** Starts the real server as a subprocess on a free loopback port. */
export async function startServer(
  cleanup: Cleanup,
  args: string[] = [],
  timeoutMs = 30_000,
): Promise<ServerHandle> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, "serve", "--listen", "ws://127.0.0.1:0", ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const stop = cleanup.add(`server ${child.pid}`, () => stopChild(child));
  const stderr = tail(child.stderr);
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = "";
  const deadline = Date.now() + timeoutMs;
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    while (!buffered.includes("\n")) {
      const next = await Promise.race([
        reader.read(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`server printed no URL within ${timeoutMs} ms`)),
            Math.max(0, deadline - Date.now()),
          );
        }),
      ]);
      clearTimeout(timer);
      if (next.done) throw new Error("server exited before printing its URL");
      buffered += next.value;
    }
  } catch (err) {
    clearTimeout(timer);
    await stop();
    throw new Error(`Cannot start the server: ${(err as Error).message}; stderr: ${stderr()}`);
  }
  const url = buffered.split("\n")[0]!;
  void (async () => {
    try {
      for (;;) if ((await reader.read()).done) break;
    } catch {
      // closed
    }
  })();
  return { url, pid: child.pid, stop, stderr };
}

/** Finds a free TCP port on 127.0.0.1 (bind to 0, read it, release it). */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** Waits until something accepts TCP connections on 127.0.0.1:port. */
async function waitForPort(port: number, timeoutMs: number, alive: () => boolean) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!alive()) throw new Error("it exited during startup");
    try {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      conn.close();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  throw new Error(`nothing listened on 127.0.0.1:${port} within ${timeoutMs} ms`);
}

/**
 * Starts a daemon that listens on `port`, registers its stop with `cleanup`,
 * and resolves once the port accepts connections; returns the stop function.
 */
async function startDaemon(
  name: string,
  program: string,
  args: string[],
  port: number,
  cleanup: Cleanup,
): Promise<() => Promise<void>> {
  const child = new Deno.Command(program, {
    args,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let exited = false;
  child.status.then(() => exited = true);
  const stderr = tail(child.stderr);
  const stop = cleanup.add(`${name} ${child.pid}`, () => stopChild(child));
  try {
    await waitForPort(port, 5000, () => !exited);
  } catch (err) {
    await stop();
    throw new Error(`${name} did not start: ${(err as Error).message}; ${stderr().trim()}`);
  }
  return stop;
}

/** Runs a command to completion with a time bound; returns status and output. */
export async function run(
  program: string,
  args: string[],
  options: { timeoutMs?: number; env?: Record<string, string>; stdin?: string } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = new Deno.Command(program, {
    args,
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
    ...(options.env ? { env: options.env } : {}),
  }).spawn();
  if (options.stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(options.stdin));
    await w.close();
  }
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch {
      // gone
    }
  }, options.timeoutMs ?? 60_000);
  const out = await child.output();
  clearTimeout(timer);
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** Absolute path of a program on PATH (or in the sbin directories), or null. */
export function which(name: string): string | null {
  const dirs = (Deno.env.get("PATH") ?? "").split(":").concat(["/usr/sbin", "/sbin"]);
  for (const dir of dirs) {
    if (!dir) continue;
    const path = `${dir}/${name}`;
    try {
      const info = Deno.statSync(path);
      if (info.isFile && ((info.mode ?? 0) & 0o111) !== 0) return path;
    } catch {
      // not here
    }
  }
  return null;
}

function isRoot(): boolean {
  try {
    return Deno.uid() === 0;
  } catch {
    return false;
  }
}

/**
 * Installs the missing peer packages with apt-get when allowed (root, apt-get
 * present). Returns a note for each thing that could not be done.
 */
export async function ensurePackages(
  install: boolean,
  log: (line: string) => void,
): Promise<string[]> {
  const missing: string[] = [];
  if (!which("websocketd")) missing.push("websocketd");
  if (!which("sshd")) missing.push("openssh-server");
  if (!which("ssh") || !which("ssh-keygen")) missing.push("openssh-client");
  if (missing.length === 0) return [];
  const why = `missing: ${missing.join(", ")}`;
  if (!install) return [`${why}; not installing (--no-install or --quick)`];
  if (!isRoot()) return [`${why}; not root, so not installing with apt-get`];
  if (!which("apt-get")) return [`${why}; no apt-get to install them with`];
  const env = { DEBIAN_FRONTEND: "noninteractive", PATH: Deno.env.get("PATH") ?? "" };
  const args = ["install", "-y", "--no-install-recommends", ...missing];
  log(`installing ${missing.join(" ")} with apt-get`);
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

/** A running websocketd serving a directory of small scripts. */
export interface WebsocketdHandle {
  /** `ws://127.0.0.1:PORT`: `/true` runs `true`, `/zero?N` prints N zero bytes. */
  url: string;
  /** websocketd's version line. */
  version: string;
}

/** Starts websocketd (`--binary`) on a free loopback port. */
export async function startWebsocketd(cleanup: Cleanup, dir: string): Promise<WebsocketdHandle> {
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
  return { url: `ws://127.0.0.1:${port}`, version };
}

/** A running sshd with a warm ControlMaster connection. */
export interface SshHandle {
  /** `ssh` arguments up to (not including) the remote command. */
  args: string[];
  /** sshd's version (from `ssh -V`). */
  version: string;
}

/**
 * Starts sshd on a free loopback port with its own host key, a generated
 * client key, and a ControlMaster connection that the bench's `ssh` calls
 * reuse (`-o ControlMaster=auto -o ControlPath=… -o ControlPersist=…`).
 */
export async function startSshd(cleanup: Cleanup, dir: string): Promise<SshHandle> {
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
  return { args, version };
}
