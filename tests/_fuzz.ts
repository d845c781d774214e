// Copyright 2026 the exec-server authors. MIT license.
/**
 * The fuzzer shared by `tests/fuzz_test.ts` (about 10,000 cases, CI) and
 * `scripts/fuzz.ts` (longer runs): fast-check generates batches of frames
 * (garbage, random JSON, valid envelopes with mutated params, odd ids, deep
 * nesting, sizes around the limit) and sends them to a real server over a
 * real socket. A model of the JSON-RPC rules predicts, for every frame,
 * whether the server must answer (and with which id), must close the
 * connection (and with which code) or must stay silent; the run fails on any
 * difference, on a reply that nobody asked for, and on a dead server.
 *
 * Nothing generated can harm the machine: commands come from a fixed list
 * (or do not exist), and every path a writing fs call receives lies inside
 * the `--fs-root` directory or is deliberately outside it, in a sentinel
 * directory that the caller checks afterwards.
 *
 * @module
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { isGone, type ServerProcess, TestClient } from "./_harness.ts";
import { Opcode, RawSocket } from "./_wire.ts";
import { messageOf } from "../lib/util/mod.ts";
import { SignalNameSchema } from "../lib/protocol/process.ts";

/** What the fuzzer talks to. */
export interface FuzzTarget {
  /** ws:// URL of a server started with `--fs-root root`. */
  url: string;
  /** The server's `--fs-root`. */
  root: string;
  /** A directory next to `root` that no call may touch. */
  outside: string;
  /** The server's `--max-message-bytes`. */
  maxMessageBytes: number;
}

/** Options for {@linkcode runFuzz}. */
export interface FuzzOptions {
  /** Number of generated batches. */
  numRuns: number;
  /** fast-check seed, for replaying a failure. */
  seed?: number;
  /** Called with progress lines. */
  log?: (line: string) => void;
}

/** What a run saw. */
export interface FuzzReport {
  /** Batches run. */
  batches: number;
  /** Frames sent. */
  frames: number;
  /** Replies received and matched. */
  replies: number;
  /** Connections the server closed, as predicted. */
  closes: number;
  /** Replies "internal error in …": exceptions no handler expected, by message. */
  internalErrors: string[];
  /** Replies by outcome: "result" or the error code. */
  outcomes: Record<string, number>;
}

/** One generated frame. */
export type FuzzFrame = { text: string } | { binary: Uint8Array };

/** What the server must do with one frame. */
export type Expectation =
  | { reply: string }
  | { close: number }
  | { silent: true };

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });
const encoder = new TextEncoder();

/** The key a reply id is matched by (numbers and strings never collide; -0 is 0). */
export function idKey(id: unknown): string {
  if (typeof id === "string") return `s:${id}`;
  if (typeof id === "number") return `n:${id === 0 ? 0 : id}`;
  return `?:${JSON.stringify(id)}`;
}

function validId(id: unknown): boolean {
  return typeof id === "string" || (typeof id === "number" && Number.isInteger(id));
}

/**
 * The model: what an initialized connection must do with `frame`.
 * Mirrors the rules the protocol tests pin down one by one.
 */
export function expectationOf(frame: FuzzFrame, maxMessageBytes: number): Expectation {
  let text: string;
  if ("text" in frame) {
    // What the server sees is the UTF-8 round trip of what we sent.
    text = new TextDecoder().decode(encoder.encode(frame.text));
    if (new TextEncoder().encode(text).byteLength > maxMessageBytes) return { close: 1009 };
  } else {
    if (frame.binary.byteLength > maxMessageBytes) return { close: 1009 };
    try {
      text = strictUtf8.decode(frame.binary);
    } catch {
      return { reply: idKey(-1) };
    }
  }
  let message: unknown;
  try {
    message = JSON.parse(text);
  } catch {
    return { reply: idKey(-1) };
  }
  if (typeof message !== "object" || message === null || Array.isArray(message)) {
    return { reply: idKey(-1) };
  }
  const m = message as Record<string, unknown>;
  const hasId = Object.hasOwn(m, "id");
  if (Object.hasOwn(m, "method")) {
    if (typeof m.method !== "string") return { reply: idKey(validId(m.id) ? m.id : -1) };
    if (!hasId) return m.method === "initialized" ? { silent: true } : { close: 1008 };
    return { reply: idKey(validId(m.id) ? m.id : -1) };
  }
  if (hasId && (Object.hasOwn(m, "result") || Object.hasOwn(m, "error"))) {
    return { close: 1008 };
  }
  return { reply: idKey(validId(m.id) ? m.id : -1) };
}

// -- Arbitraries --

/** Request ids, including huge, negative, fractional-looking and odd string ones. */
export function idArb(): fc.Arbitrary<number | string> {
  return fc.oneof(
    { arbitrary: fc.integer(), weight: 4 },
    { arbitrary: fc.maxSafeInteger(), weight: 2 },
    {
      arbitrary: fc.constantFrom(
        0,
        -0,
        -1,
        2 ** 31,
        2 ** 53,
        -(2 ** 53),
        2 ** 64,
        1e21,
        1e300,
        -1e300,
        Number.MAX_VALUE,
      ),
      weight: 2,
    },
    { arbitrary: fc.string(), weight: 3 },
    { arbitrary: fc.string({ unit: "grapheme", maxLength: 40 }), weight: 2 },
    { arbitrary: fc.string({ unit: "binary", maxLength: 40 }), weight: 1 },
    { arbitrary: fc.string({ minLength: 1000, maxLength: 20_000 }), weight: 1 },
  );
}

/** Values an id must not have (the reply then carries id -1). */
function badIdArb(): fc.Arbitrary<unknown> {
  return fc.oneof(
    fc.double({ noInteger: true }),
    fc.constantFrom(true, false, null, [], {}, 1.5, -0.5, 1e-300),
    fc.array(fc.integer(), { maxLength: 3 }),
    fc.dictionary(fc.string({ maxLength: 5 }), fc.integer(), { maxKeys: 3 }),
  );
}

const json = () => fc.jsonValue({ maxDepth: 3 });
const unicode = () =>
  fc.oneof(fc.string(), fc.string({ unit: "grapheme", maxLength: 30 }), fc.constant(""));

/** Commands that are safe to run with any arguments, and ones that do not exist. */
function argvArb(): fc.Arbitrary<unknown> {
  return fc.oneof(
    { arbitrary: fc.constant(["true"]), weight: 3 },
    { arbitrary: fc.constant(["false"]), weight: 1 },
    { arbitrary: fc.array(unicode(), { maxLength: 4 }).map((a) => ["echo", ...a]), weight: 3 },
    { arbitrary: fc.constant(["sh", "-c", "echo out; echo err >&2; exit 3"]), weight: 1 },
    { arbitrary: fc.constantFrom(["sleep", "0"], ["sleep", "0.01"]), weight: 1 },
    {
      arbitrary: fc.string({ maxLength: 20 }).map((s) => [`/nonexistent/fuzz/${s}`]),
      weight: 2,
    },
    { arbitrary: fc.constant([]), weight: 1 },
    // Not a list of strings, so never run.
    {
      arbitrary: json().filter((v) => !(Array.isArray(v) && typeof v[0] === "string")),
      weight: 2,
    },
  );
}

const processIdArb = () =>
  fc.oneof(fc.constantFrom("p0", "p1", "p2", "p3"), unicode(), fc.constant(""));

/**
 * Paths for fs calls that write: inside the root, through `..` or a symlink
 * towards the sentinel directory, or not a usable path at all. Never an
 * arbitrary absolute path.
 */
function writePathArb(t: FuzzTarget): fc.Arbitrary<unknown> {
  const name = fc.constantFrom("a", "b", "d", "d/x", "d/y/z", "e.txt", "link/x", "link");
  const outsideBase = t.outside.slice(t.outside.lastIndexOf("/") + 1);
  return fc.oneof(
    { arbitrary: name.map((n) => `${t.root}/${n}`), weight: 6 },
    { arbitrary: name.map((n) => `file://${t.root}/${n}`), weight: 1 },
    {
      arbitrary: fc.constantFrom(
        `${t.root}/../${outsideBase}/sentinel`,
        `${t.root}/../${outsideBase}`,
        `${t.root}/d/../../${outsideBase}/new`,
        `${t.root}/link/sentinel`,
        `${t.root}/link/new`,
        t.outside,
        `${t.outside}/sentinel`,
      ),
      weight: 2,
    },
    { arbitrary: fc.constantFrom("", "relative/path", ".", "..", "file://relative"), weight: 1 },
    { arbitrary: json().filter((v) => typeof v !== "string"), weight: 1 },
  );
}

/** Paths for fs calls that only read: anything, plus the interesting ones. */
function readPathArb(t: FuzzTarget): fc.Arbitrary<unknown> {
  return fc.oneof(
    { arbitrary: writePathArb(t), weight: 4 },
    { arbitrary: unicode(), weight: 1 },
    {
      arbitrary: fc.constantFrom("/", "/etc/passwd", "/proc/self/environ", "/dev/zero", "/tmp"),
      weight: 1,
    },
  );
}

/** Paths for fs/watch that can never create a watcher (missing or refused). */
function watchPathArb(t: FuzzTarget): fc.Arbitrary<unknown> {
  return fc.oneof(
    fc.string({ maxLength: 10 }).map((s) => `${t.root}/missing-${s.replaceAll("/", "_")}`),
    fc.constantFrom("", "relative", t.outside, "/", `${t.root}/link`),
    json().filter((v) => typeof v !== "string"),
  );
}

type Fields = Record<string, fc.Arbitrary<unknown>>;

/** Per method: valid-looking params, and what a mutated field may become. */
function methodTable(t: FuzzTarget): Record<string, { base: Fields; mutated: Fields }> {
  const sandbox = fc.option(
    fc.record(
      {
        readOnly: fc.boolean(),
        writableRoots: fc.array(fc.constantFrom(t.root, `${t.root}/d`, t.outside, "rel")),
      },
      { requiredKeys: [] },
    ),
    { nil: undefined },
  );
  const b64 = fc.oneof(
    fc.uint8Array({ maxLength: 64 }).map((b) => b.toBase64()),
    fc.constantFrom("", "====", "not base64!", "QQ"),
  );
  const size = fc.integer({ min: -1, max: 70_000 });
  return {
    "initialize": {
      base: {
        clientName: unicode(),
        resumeSessionId: fc.option(fc.uuid(), { nil: undefined }),
        capabilities: fc.option(fc.record({ binaryOutput: fc.boolean() }), { nil: undefined }),
      },
      mutated: {},
    },
    "process/start": {
      base: {
        processId: processIdArb(),
        argv: argvArb(),
        cwd: fc.constantFrom("/tmp", "/", "file:///tmp", t.root, "relative", "/nonexistent"),
        env: fc.dictionary(fc.string({ maxLength: 8 }), unicode(), { maxKeys: 4 }),
        tty: fc.boolean(),
        pipeStdin: fc.option(fc.constant(false), { nil: undefined }),
        arg0: fc.option(unicode(), { nil: undefined }),
        size: fc.option(fc.record({ rows: size, cols: size }), { nil: undefined }),
        timeoutMs: fc.option(fc.integer({ min: -5, max: 2000 }), { nil: undefined }),
        envPolicy: fc.option(
          fc.record({
            inherit: fc.constantFrom("all", "core", "none", "bogus"),
            ignoreDefaultExcludes: fc.boolean(),
            exclude: fc.array(fc.string({ maxLength: 6 }), { maxLength: 3 }),
            set: fc.dictionary(fc.string({ maxLength: 6 }), fc.string(), { maxKeys: 2 }),
            includeOnly: fc.array(fc.string({ maxLength: 6 }), { maxLength: 2 }),
          }),
          { nil: undefined },
        ),
      },
      // pipeStdin stays false: nothing would ever close a child's stdin.
      mutated: { argv: argvArb(), pipeStdin: fc.constantFrom(false, null, 0, "yes") },
    },
    "process/read": {
      base: {
        processId: processIdArb(),
        afterSeq: fc.option(fc.integer({ min: -1, max: 50 }), { nil: undefined }),
        maxBytes: fc.option(fc.integer({ min: -1, max: 1 << 20 }), { nil: undefined }),
        waitMs: fc.option(fc.integer({ min: 0, max: 20 }), { nil: undefined }),
      },
      // A long poll on a live process would be answered only when it ends.
      mutated: {
        waitMs: fc.oneof(fc.integer({ min: -5, max: 20 }), fc.constantFrom(null, "1", 1.5)),
      },
    },
    "process/write": {
      base: { processId: processIdArb(), chunk: b64 },
      mutated: {},
    },
    "process/closeStdin": { base: { processId: processIdArb() }, mutated: {} },
    "process/terminate": { base: { processId: processIdArb() }, mutated: {} },
    "process/resize": {
      base: { processId: processIdArb(), rows: size, cols: size },
      mutated: {},
    },
    "process/signal": {
      base: {
        processId: processIdArb(),
        // Every name the server takes (from the schema, so none is left out),
        // and some it refuses.
        signal: fc.constantFrom(...SignalNameSchema.options, "KILL", "SIGKILL", null),
      },
      mutated: {},
    },
    "process/list": { base: {}, mutated: {} },
    "fs/readFile": {
      base: {
        path: readPathArb(t),
        offset: fc.option(fc.integer({ min: -1, max: 100 }), { nil: undefined }),
        length: fc.option(fc.integer({ min: -1, max: 4096 }), { nil: undefined }),
        sandbox,
      },
      mutated: { path: readPathArb(t) },
    },
    "fs/writeFile": {
      base: { path: writePathArb(t), dataBase64: b64, append: fc.boolean(), sandbox },
      mutated: { path: writePathArb(t) },
    },
    "fs/createDirectory": {
      base: { path: writePathArb(t), recursive: fc.boolean(), sandbox },
      mutated: { path: writePathArb(t) },
    },
    "fs/getMetadata": {
      base: { path: readPathArb(t), sandbox },
      mutated: { path: readPathArb(t) },
    },
    "fs/readDirectory": {
      base: { path: readPathArb(t), sandbox },
      mutated: { path: readPathArb(t) },
    },
    "fs/remove": {
      base: { path: writePathArb(t), recursive: fc.boolean(), force: fc.boolean(), sandbox },
      mutated: { path: writePathArb(t) },
    },
    "fs/copy": {
      // The source is a write path too: a copy must never start from an arbitrary directory.
      base: {
        sourcePath: writePathArb(t),
        destinationPath: writePathArb(t),
        recursive: fc.boolean(),
        sandbox,
      },
      mutated: { sourcePath: writePathArb(t), destinationPath: writePathArb(t) },
    },
    "fs/watch": {
      base: { path: watchPathArb(t), recursive: fc.boolean() },
      mutated: { path: watchPathArb(t) },
    },
    "fs/unwatch": { base: { watchId: unicode() }, mutated: {} },
  };
}

type Mutation =
  | { op: "none" }
  | { op: "delete" | "set"; field: number; value: unknown }
  | { op: "add"; key: string; value: unknown };

/** A valid-looking request whose params then go through a few mutations. */
function envelopeArb(t: FuzzTarget): fc.Arbitrary<string> {
  const table = methodTable(t);
  const perMethod = Object.entries(table).map(([method, { base, mutated }]) => {
    const fields = Object.keys(base);
    const mutation: fc.Arbitrary<Mutation> = fc.oneof(
      { arbitrary: fc.constant({ op: "none" as const }), weight: 3 },
      {
        arbitrary: fc.record({
          op: fc.constantFrom("delete" as const, "set" as const),
          field: fc.nat(),
          value: json(),
        }),
        weight: 3,
      },
      {
        arbitrary: fc.record({
          op: fc.constant("add" as const),
          key: fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom("__proto__", "constructor")),
          value: json(),
        }),
        weight: 1,
      },
    );
    // Fields whose arbitrary value could do harm are re-drawn from a safe set.
    const safe = fc.record(
      Object.fromEntries(Object.entries(mutated).map(([k, a]) => [k, a])) as Fields,
    );
    return fc.record({
      method: fc.constant(method),
      params: fc.record(base, { requiredKeys: [] }),
      mutations: fc.array(mutation, { maxLength: 3 }),
      safe,
      id: idArb(),
      wholeParams: fc.oneof(
        { arbitrary: fc.constant(undefined), weight: 12 },
        { arbitrary: json(), weight: 1 },
      ),
      jsonrpc: fc.constantFrom(undefined, "2.0", "1.0", 2),
    }).map(({ method, params, mutations, safe, id, wholeParams, jsonrpc }) => {
      const p: Record<string, unknown> = { ...params };
      for (const m of mutations) {
        if (m.op === "none") continue;
        if (m.op === "add") {
          Object.defineProperty(p, m.key, {
            value: m.value,
            enumerable: true,
            configurable: true,
            writable: true,
          });
          continue;
        }
        if (fields.length === 0) continue;
        const field = fields[m.field % fields.length]!;
        if (m.op === "delete") delete p[field];
        else p[field] = field in safe ? (safe as Record<string, unknown>)[field] : m.value;
      }
      // Whole params replaced by a random value: never an object that could pass.
      const finalParams = wholeParams !== undefined && typeof wholeParams !== "object"
        ? wholeParams
        : p;
      const message: Record<string, unknown> = { id, method, params: finalParams };
      if (jsonrpc !== undefined) message.jsonrpc = jsonrpc;
      return JSON.stringify(message);
    });
  });
  return fc.oneof(...perMethod);
}

/** Nesting thousands of levels deep, in every position that gets parsed. */
function deepArb(): fc.Arbitrary<string> {
  return fc.record({
    depth: fc.integer({ min: 1000, max: 10_000 }),
    kind: fc.constantFrom("array", "object"),
    where: fc.constantFrom("message", "params", "id", "env", "method", "argv", "sandbox"),
    id: fc.integer({ min: 1, max: 1_000_000 }),
  }).map(({ depth, kind, where, id }) => {
    const nest = kind === "array"
      ? "[".repeat(depth) + "]".repeat(depth)
      : '{"a":'.repeat(depth) + "1" + "}".repeat(depth);
    const start = (extra: string) =>
      `{"id":${id},"method":"process/start","params":{"processId":"deep","cwd":"/tmp",` +
      `"tty":false,${extra}}}`;
    switch (where) {
      case "message":
        return nest;
      case "params":
        return `{"id":${id},"method":"process/start","params":${nest}}`;
      case "id":
        return `{"id":${nest},"method":"process/list"}`;
      case "env":
        return start(`"argv":["true"],"env":{"A":${nest}}`);
      case "argv":
        return start(`"env":{},"argv":${nest}`);
      case "sandbox":
        return `{"id":${id},"method":"fs/getMetadata","params":{"path":"/tmp","sandbox":${nest}}}`;
      default:
        return `{"id":${id},"method":${nest}}`;
    }
  });
}

/** process/list requests padded to sizes around the limit. */
function boundaryArb(limit: number): fc.Arbitrary<FuzzFrame> {
  return fc.record({
    size: fc.integer({ min: limit - 4, max: limit + 4 }),
    binary: fc.boolean(),
    id: fc.integer({ min: 1, max: 1_000_000 }),
  }).map(({ size, binary, id }) => {
    const base = JSON.stringify({ id, method: "process/list", params: { pad: "" } });
    const text = JSON.stringify({
      id,
      method: "process/list",
      params: { pad: "x".repeat(Math.max(0, size - base.length)) },
    });
    return binary ? { binary: encoder.encode(text) } : { text };
  });
}

/** Any frame the fuzzer sends. */
export function frameArb(t: FuzzTarget): fc.Arbitrary<FuzzFrame> {
  const text = (a: fc.Arbitrary<string>) => a.map((s): FuzzFrame => ({ text: s }));
  const odd = fc.record({ id: badIdArb(), method: fc.constantFrom("process/list", "x") })
    .map((m) => JSON.stringify(m));
  const notification = fc.record({
    method: fc.oneof(fc.constantFrom("initialized", "process/output", "exit"), fc.string()),
    params: fc.option(json(), { nil: undefined }),
  }).map((m) => JSON.stringify(m));
  const response = fc.record({
    id: idArb(),
    result: fc.option(json(), { nil: undefined }),
    error: fc.option(fc.record({ code: fc.integer(), message: fc.string() }), { nil: undefined }),
  }).map((m) => JSON.stringify(m));
  return fc.oneof(
    { arbitrary: text(envelopeArb(t)), weight: 40 },
    { arbitrary: text(fc.string({ maxLength: 200 })), weight: 4 },
    { arbitrary: text(fc.string({ unit: "binary", maxLength: 200 })), weight: 2 },
    {
      arbitrary: fc.uint8Array({ maxLength: 300 }).map((b): FuzzFrame => ({ binary: b })),
      weight: 4,
    },
    { arbitrary: text(fc.jsonValue().map((v) => JSON.stringify(v))), weight: 6 },
    {
      arbitrary: fc.jsonValue().map((v): FuzzFrame => ({
        binary: encoder.encode(JSON.stringify(v)),
      })),
      weight: 2,
    },
    { arbitrary: text(odd), weight: 3 },
    { arbitrary: text(notification), weight: 1 },
    { arbitrary: text(response), weight: 1 },
    { arbitrary: text(deepArb()), weight: 1 },
    { arbitrary: boundaryArb(t.maxMessageBytes), weight: 1 },
  );
}

// -- The client --

/** A lean JSON-RPC client on a raw socket (no Nagle delays) that counts replies by id. */
class FuzzClient {
  readonly #raw: RawSocket;
  readonly replies = new Map<string, number>();
  readonly internalErrors: string[] = [];
  readonly outcomes: Record<string, number> = {};
  readonly closed: Promise<{ code: number; reason: string }>;
  #wake: (() => void) | null = null;
  isClosed = false;

  private constructor(raw: RawSocket) {
    this.#raw = raw;
    this.closed = this.#readLoop().then((end) => {
      this.isClosed = true;
      this.#wake?.();
      return end;
    });
  }

  async #readLoop(): Promise<{ code: number; reason: string }> {
    for (;;) {
      const frame = await this.#raw.readFrame().catch(() => null);
      if (frame === null) return { code: 1006, reason: "" };
      if (frame.opcode === Opcode.Close) {
        const p = frame.payload;
        this.#raw.close();
        return p.byteLength < 2
          ? { code: 1005, reason: "" }
          : { code: (p[0]! << 8) | p[1]!, reason: new TextDecoder().decode(p.subarray(2)) };
      }
      if (frame.opcode === Opcode.Ping) {
        await this.#raw.sendFrame(Opcode.Pong, frame.payload).catch(() => {});
        continue;
      }
      if (frame.opcode !== Opcode.Text) continue;
      const msg = JSON.parse(new TextDecoder().decode(frame.payload));
      if ("method" in msg || !("id" in msg)) continue;
      if (msg.error?.code === -32603 && /^internal error in /.test(msg.error.message)) {
        this.internalErrors.push(String(msg.error.message).slice(0, 300));
      }
      const outcome = msg.error ? String(msg.error.code) : "result";
      this.outcomes[outcome] = (this.outcomes[outcome] ?? 0) + 1;
      const key = idKey(msg.id);
      this.replies.set(key, (this.replies.get(key) ?? 0) + 1);
      this.#wake?.();
    }
  }

  /** Connects, initializes and sends `initialized`. */
  static async connect(url: string): Promise<FuzzClient> {
    const raw = await RawSocket.connect(url, { noDelay: true });
    if (raw.handshake.status !== 101) {
      raw.close();
      throw new Error(`upgrade refused with ${raw.handshake.status}: ${raw.handshake.body}`);
    }
    const c = new FuzzClient(raw);
    await c.send({
      text: JSON.stringify({ id: "init", method: "initialize", params: { clientName: "fuzz" } }),
    });
    await c.take(["s:init"], 10_000);
    await c.send({ text: JSON.stringify({ method: "initialized", params: {} }) });
    return c;
  }

  async send(frame: FuzzFrame): Promise<void> {
    if ("text" in frame) await this.#raw.sendText(frame.text);
    else await this.#raw.sendFrame(Opcode.Binary, frame.binary);
  }

  /** Waits until every key has been replied to (once per occurrence) and consumes them. */
  async take(keys: string[], timeoutMs: number): Promise<void> {
    const want = new Map<string, number>();
    for (const k of keys) want.set(k, (want.get(k) ?? 0) + 1);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const missing = [...want].filter(([k, n]) => (this.replies.get(k) ?? 0) < n);
      if (missing.length === 0) break;
      if (this.isClosed) {
        throw new Error(`connection closed; no reply for ${summarize(missing.map(([k]) => k))}`);
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(
          `no reply within ${timeoutMs} ms for ${summarize(missing.map(([k]) => k))}`,
        );
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wake = null;
    }
    for (const [k, n] of want) {
      const left = this.replies.get(k)! - n;
      if (left === 0) this.replies.delete(k);
      else this.replies.set(k, left);
    }
  }

  /** Sends a close frame, then drops the connection once the server answers. */
  async close(): Promise<void> {
    if (!this.isClosed) {
      await this.#raw.sendFrame(Opcode.Close, new Uint8Array([0x03, 0xe8])).catch(() => {});
      const timer = setTimeout(() => this.#raw.close(), 2000);
      await this.closed;
      clearTimeout(timer);
    }
    this.#raw.close();
    await this.closed;
  }
}

function summarize(keys: string[]): string {
  return keys.map((k) => (k.length > 80 ? `${k.slice(0, 80)}…` : k)).join(", ");
}

function describe(frame: FuzzFrame): string {
  const s = "text" in frame ? `text ${frame.text}` : `binary ${frame.binary.toHex()}`;
  return s.length > 300 ? `${s.slice(0, 300)}… (${s.length} chars)` : s;
}

/**
 * Runs the fuzzer against a live server. Throws (with fast-check's
 * counterexample and seed) when the server does something the model does not
 * allow.
 */
export async function runFuzz(t: FuzzTarget, options: FuzzOptions): Promise<FuzzReport> {
  const report: FuzzReport = {
    batches: 0,
    frames: 0,
    replies: 0,
    closes: 0,
    internalErrors: [],
    outcomes: {},
  };
  let client = await FuzzClient.connect(t.url);
  const collect = () => {
    report.internalErrors.push(...client.internalErrors);
    for (const [k, n] of Object.entries(client.outcomes)) {
      report.outcomes[k] = (report.outcomes[k] ?? 0) + n;
    }
  };
  const fresh = async () => {
    collect();
    await client.close();
    client = await FuzzClient.connect(t.url);
  };
  const batch = fc.array(frameArb(t), { minLength: 1, maxLength: 4 });
  const every = Math.max(1, Math.floor(options.numRuns / 10));
  try {
    await fc.assert(
      fc.asyncProperty(batch, async (frames) => {
        if (client.isClosed) await fresh();
        if (client.replies.size > 0) {
          throw new Error(`unexpected replies: ${summarize([...client.replies.keys()])}`);
        }
        const replies: string[] = [];
        let close: number | null = null;
        for (const frame of frames) {
          const e = expectationOf(frame, t.maxMessageBytes);
          await client.send(frame);
          report.frames++;
          if ("close" in e) {
            close = e.close;
            break;
          }
          if ("reply" in e) replies.push(e.reply);
        }
        try {
          if (close === null) {
            await client.take(replies, 15_000);
            report.replies += replies.length;
          } else {
            let timer: ReturnType<typeof setTimeout> | undefined;
            const timeout = new Promise<null>((r) => timer = setTimeout(() => r(null), 15_000));
            const closed = await Promise.race([client.closed, timeout]);
            clearTimeout(timer);
            if (closed === null) throw new Error(`expected a close with ${close}, none came`);
            if (closed.code !== close) {
              throw new Error(`expected close ${close}, got ${closed.code} ${closed.reason}`);
            }
            report.closes++;
            await fresh();
          }
        } catch (err) {
          throw new Error(
            `${messageOf(err)}\nframes:\n${frames.map(describe).join("\n")}`,
          );
        }
        report.batches++;
        if (report.batches % every === 0) {
          options.log?.(
            `${report.batches} batches, ${report.frames} frames, ${report.replies} replies, ${report.closes} closes`,
          );
        }
      }),
      {
        numRuns: options.numRuns,
        ...(options.seed !== undefined ? { seed: options.seed } : {}),
        // Shrinking would re-run against a server the failure may have damaged.
        endOnFailure: true,
      },
    );
  } finally {
    collect();
    await client.close();
  }
  return report;
}

/** Raw bytes on the TCP stream after the handshake: the server must drop just that connection. */
export function garbageStreamArb(): fc.Arbitrary<Uint8Array> {
  return fc.oneof(
    fc.uint8Array({ minLength: 1, maxLength: 2000 }),
    // A frame header announcing an absurd length.
    fc.constant(
      new Uint8Array([0x81, 0xff, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4]),
    ),
    // Text frames that are not UTF-8.
    fc.uint8Array({ minLength: 1, maxLength: 50 }).map((b) => {
      const p = new Uint8Array([0xff, ...b]);
      const out = new Uint8Array(6 + p.length);
      out.set([0x81, 0x80 | p.length, 0, 0, 0, 0]);
      out.set(p, 6);
      return out;
    }),
    // Reserved opcodes, control frames that are too long or fragmented.
    fc.constantFrom(
      new Uint8Array([0x83, 0x80, 0, 0, 0, 0]),
      new Uint8Array([0x89, 0xfe, 0, 200, 0, 0, 0, 0, ...new Uint8Array(200)]),
      new Uint8Array([0x09, 0x80, 0, 0, 0, 0]),
      new Uint8Array([0x80, 0x80, 0, 0, 0, 0]),
    ),
  );
}

/**
 * Sends `bytes` on the TCP stream after a handshake; the server hangs up, or
 * waits for the rest of a frame that never comes.
 */
export async function garbageStreamCase(url: string, bytes: Uint8Array): Promise<void> {
  const raw = await RawSocket.connect(url);
  assert.equal(raw.handshake.status, 101);
  await raw.sendBytes(bytes).catch(() => {});
  const end = raw.readUntilClose();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const waited = await Promise.race([
    end,
    new Promise<null>((r) => timer = setTimeout(() => r(null), 30)),
  ]);
  clearTimeout(timer);
  raw.close();
  await end;
  if (waited) assert.notEqual(waited.code, 1000);
}

/** The `--max-message-bytes` fuzz servers run with. */
export const FUZZ_LIMIT = 128 * 1024;

/** Flags for a fuzz server confined to `root`. */
export function fuzzServerArgs(root: string): string[] {
  return [
    "--fs-root",
    root,
    "--max-message-bytes",
    String(FUZZ_LIMIT),
    "--session-ttl",
    "1",
    "--exited-retention",
    "1",
    "--log-level",
    "warn",
  ];
}

/** A root for --fs-root with a symlink to a sentinel directory beside it. */
export async function fuzzDirs(): Promise<{ base: string; root: string; outside: string }> {
  const base = await Deno.realPath(await Deno.makeTempDir({ prefix: "exec-server-fuzz-" }));
  const root = `${base}/root`;
  const outside = `${base}/outside`;
  await Deno.mkdir(`${root}/d`, { recursive: true });
  await Deno.mkdir(outside);
  await Deno.writeTextFile(`${root}/e.txt`, "inside\n");
  await Deno.writeTextFile(`${outside}/sentinel`, "untouched\n");
  await Deno.symlink(outside, `${root}/link`);
  return { base, root, outside };
}

/** Asserts the sentinel directory holds exactly what it started with. */
export async function assertOutsideUntouched(outside: string): Promise<void> {
  const names: string[] = [];
  for await (const e of Deno.readDir(outside)) names.push(e.name);
  assert.deepEqual(names, ["sentinel"], "a call escaped --fs-root");
  assert.equal(await Deno.readTextFile(`${outside}/sentinel`), "untouched\n");
}

/** Asserts the server is alive and a fresh client can initialize and run `true`. */
export async function assertServerHealthy(server: ServerProcess): Promise<void> {
  assert.ok(!isGone(server.pid), "the server process died");
  await using c = await TestClient.connect(server.url);
  await c.start("after-fuzz", ["true"]);
  const events = await c.untilClosed("after-fuzz");
  assert.equal(events.find((e) => e.method === "process/exited")?.params.exitCode, 0);
}
