// Copyright 2026 the exec-server authors. MIT license.
/**
 * A real OpenSSH server for tests: its own host key and a generated client
 * key, on 127.0.0.1 and a free port. Needs sshd (Debian's openssh-server,
 * which .ci/run installs) and root, as on CI.
 *
 * @module
 */
import { waitUntil } from "./_harness.ts";
import { WS_EXTERNAL } from "../lib/client/ssh_payload.ts";

/**
 * A free TCP port on loopback for a program that binds it itself, taken from
 * below the kernel's ephemeral range: a port 0 bind or an outgoing connection
 * of a test running in parallel can take a port of that range between our
 * check and the program's bind (or between two binds of the same port).
 */
export function freePort(): number {
  let low = 32768;
  try {
    low = Number(Deno.readTextFileSync("/proc/sys/net/ipv4/ip_local_port_range").split(/\s+/)[0]);
  } catch {
    // no /proc: keep Linux's default
  }
  const floor = Math.max(1024, low - 20_000);
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = floor + Math.floor(Math.random() * (low - floor));
    try {
      Deno.listen({ hostname: "127.0.0.1", port }).close();
      return port;
    } catch {
      // taken: try another
    }
  }
  throw new Error(`no free port found in ${floor}-${low - 1}`);
}

/** Waits until something accepts TCP connections on `port`. */
export async function waitForPort(port: number, timeoutMs = 10_000): Promise<void> {
  await waitUntil(async () => {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      return true;
    } catch {
      return false;
    }
  }, { timeoutMs, message: `port ${port} to accept connections` });
}

async function run(cmd: string, args: string[]): Promise<void> {
  const { success, stderr } = await new Deno.Command(cmd, { args, stdout: "null", stderr: "piped" })
    .output();
  if (!success) throw new Error(`${cmd} failed: ${new TextDecoder().decode(stderr)}`);
}

/** An sshd subprocess. */
export class Sshd implements AsyncDisposable {
  /** Port it listens on. */
  readonly port: number;
  /** Temp dir with keys and config. */
  readonly dir: string;
  readonly #child: Deno.ChildProcess;

  private constructor(port: number, dir: string, child: Deno.ChildProcess) {
    this.port = port;
    this.dir = dir;
    this.#child = child;
  }

  /** Starts sshd; resolves once it accepts connections. */
  static async start(): Promise<Sshd> {
    const sshd = ["/usr/sbin/sshd", "/usr/bin/sshd"].find((p) => {
      try {
        return Deno.statSync(p).isFile;
      } catch {
        return false;
      }
    });
    if (!sshd) throw new Error("sshd not found: install Debian's openssh-server (.ci/run does)");
    const dir = await Deno.makeTempDir({ prefix: "exec-server-sshd-" });
    await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", `${dir}/host_key`]);
    await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", `${dir}/client_key`]);
    const port = freePort();
    await Deno.writeTextFile(
      `${dir}/sshd_config`,
      [
        `Port ${port}`,
        "ListenAddress 127.0.0.1",
        `HostKey ${dir}/host_key`,
        `AuthorizedKeysFile ${dir}/client_key.pub`,
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "PermitRootLogin prohibit-password",
        "StrictModes no",
        "UsePAM no",
        `PidFile ${dir}/sshd.pid`,
        "AllowTcpForwarding yes",
        // Lets a test give the remote session a fresh cache (ssh -o SetEnv=XDG_CACHE_HOME=…).
        "AcceptEnv XDG_CACHE_HOME",
        "",
      ].join("\n"),
    );
    await Deno.mkdir("/run/sshd", { recursive: true });
    const child = new Deno.Command(sshd, {
      args: ["-f", `${dir}/sshd_config`, "-D", "-e"],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    const server = new Sshd(port, dir, child);
    try {
      await waitForPort(port);
    } catch (err) {
      await server[Symbol.asyncDispose]();
      throw err;
    }
    return server;
  }

  /** `ssh` with the client key and no host key checks. */
  get sshProgram(): string[] {
    return [
      "ssh",
      "-i",
      `${this.dir}/client_key`,
      "-o",
      "StrictHostKeyChecking=no",
      "-o",
      "UserKnownHostsFile=/dev/null",
      "-o",
      "BatchMode=yes",
      "-o",
      "LogLevel=ERROR",
    ];
  }

  /** `user@127.0.0.1` for the current user. */
  get target(): string {
    return `${Deno.env.get("USER") ?? "root"}@127.0.0.1`;
  }

  /** Stops sshd and removes its files. */
  async [Symbol.asyncDispose](): Promise<void> {
    try {
      this.#child.kill("SIGTERM");
    } catch {
      // gone
    }
    await this.#child.status;
    await Deno.remove(this.dir, { recursive: true });
  }
}

/**
 * Builds the single-file bundle and returns its path (what CI smoke-tests):
 * dist/exec-server.js, replaced atomically, so test files that run in
 * parallel and build it at once never run a half-written file.
 */
export async function buildBundle(): Promise<string> {
  const root = new URL("..", import.meta.url).pathname;
  const out = `${root}dist/exec-server.js`;
  await Deno.mkdir(`${root}dist`, { recursive: true });
  const tmp = await Deno.makeTempFile({ dir: `${root}dist`, prefix: ".bundle-", suffix: ".js" });
  try {
    const { success, stderr } = await new Deno.Command(Deno.execPath(), {
      // ws is the client's Node-only import: outside, it keeps the bundle free of
      // createRequire(import.meta.url), which fails when the bundle runs from a URL.
      args: ["bundle", "--quiet", "--platform=deno", WS_EXTERNAL, "-o", tmp, `${root}main.ts`],
      stdout: "null",
      stderr: "piped",
    }).output();
    if (!success) throw new Error(`deno bundle failed: ${new TextDecoder().decode(stderr)}`);
    await Deno.rename(tmp, out);
  } finally {
    await Deno.remove(tmp).catch(() => {});
  }
  return out;
}
