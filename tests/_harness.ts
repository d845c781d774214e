// Copyright 2026 the exec-server authors. MIT license.
/**
 * End-to-end test harness, after codex's `exec_server()`: starts the real
 * server as a subprocess on port 0, reads its URL from stdout, and talks to
 * it over real sockets. Every wait takes a predicate and a deadline.
 *
 * @module
 */
import {
  type Message,
  openWebSocket,
  type OutputFrame,
  RawClient,
  startParams,
} from "../bench/raw_client.ts";
import { type FirstLine, readFirstLine } from "../bench/processes.ts";
import { concatBytes, messageOf } from "../lib/util/mod.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const MAIN = `${ROOT}main.ts`;

/** Waits until `predicate()` is truthy, polling, or throws after `timeoutMs`. */
export async function waitUntil<T>(
  predicate: () => T | Promise<T>,
  { timeoutMs = 10_000, intervalMs = 10, message = "condition" } = {},
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await predicate();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) {
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${message}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/**
 * Open fds of a process other than sockets. Process, terminal and file code
 * leaks show up here; sockets are left out because Deno opens a socketpair of
 * its own about 0.5 s after it starts (measured with 2.9.6), which would
 * land in whichever measurement spans that moment. `pid` is another process:
 * under `deno test --parallel` this process's fds belong to every test file.
 */
export function openFds(pid: number | "self"): number {
  let n = 0;
  for (const entry of Deno.readDirSync(`/proc/${pid}/fd`)) {
    try {
      if (!Deno.readLinkSync(`/proc/${pid}/fd/${entry.name}`).startsWith("socket:")) n++;
    } catch {
      // closed meanwhile (such as the fd of the listing itself)
    }
  }
  return n;
}

/** True when PID no longer exists or is a zombie (state Z). */
export function isGone(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state === "Z" || state === "X";
  } catch {
    return true;
  }
}

/** Asserts every pid is gone (or a zombie) within the deadline. */
export async function assertAllGone(pids: number[], timeoutMs = 10_000): Promise<void> {
  await waitUntil(() => pids.every(isGone), {
    timeoutMs,
    message: `processes ${pids.join(", ")} to be gone`,
  });
}

/** Options for {@linkcode ServerProcess.start} and {@linkcode ServerProcess.spawn}. */
export interface ServerProcessOptions {
  /** Environment added to this process's own. */
  env?: Record<string, string>;
  /** Give up waiting for the URL after this long. @default 15_000 */
  timeoutMs?: number;
  /** The server's working directory. @default this process's */
  cwd?: string;
  /** For `start`: Deno permission flags instead of `-A` (e.g. to run without --allow-ffi). */
  permissions?: string[];
}

/** A real server subprocess. */
export class ServerProcess implements AsyncDisposable {
  /** The URL it printed. */
  readonly url: string;
  /** The first stdout line plus anything else it printed to stdout. */
  stdoutExtra = "";
  readonly #child: Deno.ChildProcess;
  readonly #stderr: Promise<string>;
  readonly #stdoutRest: Promise<void>;
  #status: Promise<Deno.CommandStatus> | null = null;

  private constructor(
    url: string,
    child: Deno.ChildProcess,
    stderr: Promise<string>,
    stdoutRest: (self: ServerProcess) => Promise<void>,
  ) {
    this.url = url;
    this.#child = child;
    this.#stderr = stderr;
    this.#stdoutRest = stdoutRest(this);
  }

  /** OS pid of the server. */
  get pid(): number {
    return this.#child.pid;
  }

  /** The http:// (or https://) base URL. */
  get httpUrl(): string {
    return this.url.replace(/^ws/, "http");
  }

  /** Starts `main.ts serve` with extra flags; resolves once the URL is printed. */
  static start(
    args: string[] = [],
    options: ServerProcessOptions = {},
  ): Promise<ServerProcess> {
    const permissions = options.permissions ?? ["-A"];
    return ServerProcess.spawn(
      Deno.execPath(),
      ["run", ...permissions, MAIN, "serve", ...args],
      options,
    );
  }

  /**
   * Starts any server that prints its URL as its first stdout line (codex's
   * `codex exec-server --listen ws://127.0.0.1:0`, say); resolves once it has.
   */
  static async spawn(
    command: string,
    args: string[],
    options: ServerProcessOptions = {},
  ): Promise<ServerProcess> {
    const child = new Deno.Command(command, {
      args,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1", ...options.env },
      ...(options.cwd ? { cwd: options.cwd } : {}),
    }).spawn();
    const stderr = new Response(child.stderr).text();
    let first: FirstLine;
    try {
      first = await readFirstLine(child.stdout, options.timeoutMs ?? 15_000);
    } catch (err) {
      child.kill("SIGKILL");
      await child.status;
      throw new Error(`server printed no URL: ${messageOf(err)}; stderr: ${await stderr}`);
    }
    const { line, rest, reader } = first;
    if (!/^wss?:\/\//.test(line)) {
      child.kill("SIGKILL");
      await child.status;
      await reader.cancel().catch(() => {});
      throw new Error(
        `server did not print a URL: ${JSON.stringify(line)}; stderr: ${await stderr}`,
      );
    }
    return new ServerProcess(line, child, stderr, async (self) => {
      self.stdoutExtra = rest;
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        self.stdoutExtra += value;
      }
    });
  }

  /** Sends a signal and resolves with the exit status. */
  stop(signal: Deno.Signal = "SIGTERM"): Promise<Deno.CommandStatus> {
    if (!this.#status) {
      try {
        this.#child.kill(signal);
      } catch {
        // already exited
      }
      this.#status = this.#child.status;
    }
    return this.#status;
  }

  /** Everything written to stderr (after the server exited). */
  async stderr(): Promise<string> {
    await this.stop();
    await this.#stdoutRest;
    return await this.#stderr;
  }

  /** Kills the server (SIGKILL if SIGTERM takes too long) and drains its pipes. */
  async [Symbol.asyncDispose](): Promise<void> {
    const timer = setTimeout(() => this.#child.kill("SIGKILL"), 8000);
    await this.stop();
    clearTimeout(timer);
    await this.#stdoutRest;
    await this.#stderr;
  }
}

export { type Message, ResponseError } from "../bench/raw_client.ts";

/** Options for {@linkcode TestClient.connect}. */
export interface ConnectOptions {
  /** Extra handshake headers (Deno's non-standard WebSocket option). */
  headers?: Record<string, string>;
  /** Subprotocols. */
  protocols?: string[];
  /** Initialize (and send initialized) right away with this client name. */
  initialize?: boolean;
  /** Resume this session when initializing. */
  resumeSessionId?: string;
  /** Ask for binary output frames. */
  binaryOutput?: boolean;
  /** Deno HTTP client (for TLS with a custom CA). */
  client?: Deno.HttpClient;
}

/**
 * The tests' raw client: {@linkcode RawClient} that records every
 * notification, binary frame and stray response, and waits on them.
 */
export class TestClient extends RawClient {
  /** Every notification received, in order. */
  readonly notifications: Message[] = [];
  /** Every binary output frame received, in order. */
  readonly frames: OutputFrame[] = [];
  /** Responses with an id nobody waits for (e.g. id -1). */
  readonly stray: Message[] = [];
  readonly #listeners = new Set<() => void>();

  /** Connects, retrying only on connection refused, within a deadline. */
  static async connect(url: string, options: ConnectOptions = {}): Promise<TestClient> {
    const ws = await openWebSocket(url, {
      ...(options.headers ? { headers: options.headers } : {}),
      ...(options.protocols ? { protocols: options.protocols } : {}),
      ...(options.client ? { client: options.client } : {}),
      retryRefused: true,
    });
    const client = new TestClient(ws, "test");
    if (options.initialize !== false) {
      await client.initialize(options.resumeSessionId, options.binaryOutput);
    }
    return client;
  }

  protected override onNotification(msg: Message): void {
    this.notifications.push(msg);
    this.#notify();
  }

  protected override onOutput(frame: OutputFrame): void {
    this.frames.push(frame);
    this.#notify();
  }

  protected override onStray(msg: Message): void {
    this.stray.push(msg);
    this.#notify();
  }

  protected override onClose(): void {
    this.#notify();
  }

  #notify(): void {
    for (const l of [...this.#listeners]) l();
  }

  /** Waits for a notification matching `predicate`. */
  waitFor(
    predicate: (m: Message) => boolean,
    timeoutMs = 10_000,
    what = "notification",
  ): Promise<Message> {
    return this.waitUntil(() => this.notifications.find(predicate), timeoutMs, what);
  }

  /** Waits until `check()` returns a value, re-checking on every message. */
  waitUntil<T>(check: () => T | undefined, timeoutMs = 10_000, what = "condition"): Promise<T> {
    return new Promise((resolve, reject) => {
      const tryIt = () => {
        const v = check();
        if (v !== undefined && v !== false) {
          cleanup();
          resolve(v);
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.#listeners.delete(tryIt);
      };
      this.#listeners.add(tryIt);
      tryIt();
    });
  }

  /** Notifications for one process. */
  eventsOf(processId: string): Message[] {
    return this.notifications.filter((n) => n.params?.processId === processId);
  }

  /** Waits for `process/closed` of a process and returns its events. */
  async untilClosed(processId: string, timeoutMs = 15_000): Promise<Message[]> {
    await this.waitFor(
      (m) => m.method === "process/closed" && m.params.processId === processId,
      timeoutMs,
      `process/closed of ${processId}`,
    );
    return this.eventsOf(processId);
  }

  /** Concatenated decoded output of a process from pushed notifications. */
  outputOf(processId: string, stream?: string): Uint8Array {
    const parts = this.eventsOf(processId)
      .filter((n) => n.method === "process/output" && (!stream || n.params.stream === stream))
      .map((n) => Uint8Array.fromBase64(n.params.chunk));
    return concat(parts);
  }

  /** Starts a process with sensible defaults (see {@linkcode startParams}). */
  start(processId: string, argv: string[], extra: Message = {}): Promise<Message> {
    return this.request("process/start", startParams(processId, argv, extra));
  }
}

/** Concatenates byte arrays. */
export const concat = concatBytes;

/** Decodes UTF-8. */
export function text(bytes: Uint8Array): string {
  return new TextDecoder().decode(bytes);
}

/** Which way bytes went through a {@linkcode CuttableProxy}. */
export type RelayDirection = "toServer" | "toClient";

const REFUSAL =
  "HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";

/**
 * A TCP relay between a client and the server whose connections can be cut
 * abruptly (no WebSocket close frame), like a network failure, frozen
 * (half-open), or refused (HTTP 503) while the test wants an outage.
 * Subclasses observe the bytes through {@linkcode CuttableProxy.onData}.
 */
export class CuttableProxy implements AsyncDisposable {
  /** Connections accepted and relayed so far. */
  accepted = 0;
  /** Connections answered 503 while refusing. */
  refused = 0;
  readonly #listener: Deno.TcpListener;
  readonly #target: { hostname: string; port: number };
  readonly #conns = new Set<Deno.Conn>();
  readonly #frozen = new Set<Deno.Conn>();
  readonly #pipes = new Set<Promise<void>>();
  readonly #accepting: Promise<void>;
  #refusing = false;

  /** Starts relaying to `targetUrl`'s host and port. */
  constructor(targetUrl: string) {
    const u = new URL(targetUrl.replace(/^ws/, "http"));
    this.#target = { hostname: u.hostname, port: Number(u.port) };
    this.#listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    this.#accepting = this.#accept();
  }

  /** ws:// URL of the relay. */
  get url(): string {
    return `ws://127.0.0.1:${this.#listener.addr.port}`;
  }

  /** Relayed connections currently open. */
  get openConnections(): number {
    return this.#conns.size / 2;
  }

  /**
   * Bytes on their way through relayed connection number `link` (from 1),
   * before they are forwarded. Does nothing here.
   */
  protected onData(_link: number, _direction: RelayDirection, _bytes: Uint8Array): void {}

  #track(task: Promise<void>): void {
    this.#pipes.add(task);
    task.then(() => this.#pipes.delete(task));
  }

  async #accept(): Promise<void> {
    for (;;) {
      let inbound: Deno.Conn;
      try {
        inbound = await this.#listener.accept();
      } catch {
        return;
      }
      if (this.#refusing) {
        this.#track(this.#refuse(inbound));
        continue;
      }
      let outbound: Deno.Conn;
      try {
        outbound = await Deno.connect(this.#target);
      } catch {
        inbound.close();
        continue;
      }
      const link = ++this.accepted;
      this.#conns.add(inbound);
      this.#conns.add(outbound);
      this.#track(
        Promise.all([
          this.#copy(link, "toServer", inbound, outbound),
          this.#copy(link, "toClient", outbound, inbound),
        ]).then(() => {}),
      );
    }
  }

  /** Answers one connection 503 after reading (bounded) its request head. */
  async #refuse(conn: Deno.Conn): Promise<void> {
    this.refused++;
    const timer = setTimeout(() => conn.close(), 2000);
    try {
      await conn.read(new Uint8Array(8192));
      const bytes = new TextEncoder().encode(REFUSAL);
      let off = 0;
      while (off < bytes.length) off += await conn.write(bytes.subarray(off));
    } catch {
      // the client went away, or the deadline closed it
    }
    clearTimeout(timer);
    try {
      conn.close();
    } catch {
      // closed by the deadline
    }
  }

  async #copy(
    link: number,
    direction: RelayDirection,
    from: Deno.Conn,
    to: Deno.Conn,
  ): Promise<void> {
    const buf = new Uint8Array(64 * 1024);
    try {
      for (;;) {
        const n = await from.read(buf);
        if (n === null) break;
        // A frozen link swallows everything, like a dead network path.
        if (this.#frozen.has(from)) continue;
        this.onData(link, direction, buf.subarray(0, n));
        let off = 0;
        while (off < n) off += await to.write(buf.subarray(off, n));
      }
    } catch {
      // cut
    }
    this.#closeConn(from);
    this.#closeConn(to);
  }

  #closeConn(c: Deno.Conn): void {
    this.#frozen.delete(c);
    if (this.#conns.delete(c)) {
      try {
        c.close();
      } catch {
        // closed
      }
    }
  }

  /**
   * Silently drops everything on the current connections from now on, in
   * both directions, without closing them: a half-open link (no FIN, no RST).
   * New connections are relayed normally.
   */
  freeze(): void {
    for (const c of this.#conns) this.#frozen.add(c);
  }

  /** Answers new connections with HTTP 503 until {@linkcode CuttableProxy.allow}. */
  refuse(): void {
    this.#refusing = true;
  }

  /** Relays new connections again. */
  allow(): void {
    this.#refusing = false;
  }

  /**
   * Drops every relayed connection at once, without any close handshake;
   * with `refuse`, new connections are refused until allowed again.
   */
  async cut({ refuse = false }: { refuse?: boolean } = {}): Promise<void> {
    if (refuse) this.refuse();
    for (const c of [...this.#conns]) this.#closeConn(c);
    await Promise.all([...this.#pipes]);
  }

  /** Stops the relay. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.#listener.close();
    await this.cut();
    await this.#accepting;
    await Promise.all([...this.#pipes]);
  }
}

/**
 * Runs `burst` while `client` pings every 20 ms; resolves with the slowest
 * ping's round trip in ms (how long other work kept this client waiting).
 */
export async function pingDuring(
  client: TestClient,
  burst: () => Promise<unknown>,
): Promise<number> {
  let done = false;
  let slowest = 0;
  const pings = (async () => {
    while (!done) {
      const start = performance.now();
      await client.request("ping");
      slowest = Math.max(slowest, performance.now() - start);
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  try {
    await burst();
  } finally {
    done = true;
  }
  await pings;
  return slowest;
}
