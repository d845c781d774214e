// Copyright 2026 the exec-server authors. MIT license.
/**
 * The differential runner: plays one {@linkcode Case} against codex's
 * `codex exec-server` and against ours, each on its own connection and its
 * own copy of the case's fixture files, normalises every reply and compares.
 *
 * Normalisation rules (applied to both sides alike):
 *
 * 1. The case's fixture directory (native path and `file://` URI) becomes
 *    `<DIR>`; session ids, wherever they appear, become `<session-N>`, N
 *    counting distinct sessions in order of appearance.
 * 2. Timestamps (`createdAtMs`, `modifiedAtMs`, `startedAt`) and pids become
 *    `<ms>` / `<pid>`: they differ from run to run.
 * 3. Base64 payloads (`chunk`, `dataBase64`, `bodyBase64`, `deltaBase64`)
 *    are decoded to `utf8:TEXT` when they are UTF-8, so a mismatch reads.
 * 4. Error messages are compared only where the step claims the same text
 *    (`text: true`); otherwise only the code and `data` are (serde's and
 *    zod's wordings differ, and clients match codes). Results are compared
 *    whole, except for paths a step marks `shape` (compared by JSON type:
 *    values that are host- or build-specific) or `omit`.
 * 5. Fields ours adds on purpose (`OUR_EXTRA_FIELDS` in
 *    `differential_differences.ts`) are dropped from our replies when codex's
 *    reply lacks them.
 * 6. A process's notifications are summarised per process: text per stream,
 *    exit code, which events came, and that `closed` has the highest seq. Codex
 *    may number `exited` before trailing output, and chunking differs.
 * 7. Directory listings (`entries` with `fileName`) are sorted by name: both
 *    return them in the file system's order, which is the order of creation
 *    here, but need not be.
 * 8. HTTP `date` headers (`{name: "date", value}` in a header list) are
 *    dropped; a streamed body (`http/request/bodyDelta`) is summarised as its
 *    text, whether the seqs ran 1, 2, … and how it ended (frame sizes follow
 *    socket reads).
 *
 * A step marked `differs: ID` must give different normalised replies (ID
 * names a row of `DELIBERATE_DIFFERENCES`); every other step must agree.
 *
 * @module
 */
import { concatBytes } from "../lib/util/mod.ts";
import { type Message, TestClient, waitUntil } from "./_harness.ts";
import { OUR_EXTRA_FIELDS } from "./differential_differences.ts";

/** A file in a case's fixture: text, a directory, a symlink, or a FIFO. */
export type FixtureEntry =
  | string
  | { dir: true }
  | { symlink: string }
  | { fifo: true }
  | { text: string; mode: number };

/** What the two sides get to see from one step. */
interface Compared {
  /** Only the JSON type of the values at these dot paths (`*` matches any key). */
  shape?: string[];
  /** Paths left out on both sides. */
  omit?: string[];
  /** Compare error messages too (we claim codex's wording). */
  text?: boolean;
  /** The ID of the deliberate difference this step shows: the replies must differ. */
  differs?: string;
  /** Partial expectations on the normalised replies, per side. */
  expect?: { codex?: unknown; ours?: unknown };
}

/** A request; its reply is compared. */
export interface CallStep extends Compared {
  /** JSON-RPC method. */
  call: string;
  /**
   * Params; `$DIR` / `$URI` in strings become the fixture dir's path / file
   * URI, and `$NAME` each of the side's {@linkcode Side.vars}.
   */
  params?: unknown;
}

/** A notification sent to the server (nothing to compare). */
export interface NotifyStep {
  /** Method. */
  notify: string;
  /** Params, templated like {@linkcode CallStep.params}. */
  params?: unknown;
}

/** A raw text frame; the reply (a response with an id the client did not use) is compared. */
export interface RawStep extends Compared {
  /** The frame's text, templated. */
  raw: string;
  /** No reply is expected (the next step says what happens instead). */
  noReply?: boolean;
}

/** Waits for the process's `process/closed` and compares its events' summary. */
export interface EventsStep extends Compared {
  /** Process id. */
  events: string;
}

/** Waits for a server notification with this method and compares its params. */
export interface NotificationStep extends Compared {
  /** Method, e.g. `fs/missingChanged`. */
  notification: string;
}

/** Waits for a streamed HTTP body to end and compares its summary (rule 8). */
export interface BodyDeltasStep extends Compared {
  /** The `requestId` of the streamed `http/request`. */
  bodyDeltas: string;
}

/** Waits for the server to close the connection; compares `{closed: true, code}`. */
export interface ClosedStep extends Compared {
  /** Always true. */
  closed: true;
}

/**
 * Sends requests at once, without waiting, and compares the order their
 * replies came in (as indexes into `race`).
 */
export interface RaceStep extends Compared {
  /** The requests, sent in this order. */
  race: { call: string; params?: unknown }[];
}

/**
 * Drops the connection and resumes the session on a new one (retrying while
 * the server still sees the old one attached, -32010); compares the reply.
 */
export interface ResumeStep extends Compared {
  /** Always true. */
  resume: true;
}

/** Does something to the fixture directory, the same on both sides. */
export interface ActStep {
  /** Gets the side's fixture directory. */
  act: (dir: string) => Promise<void> | void;
}

/** One step of a case. */
export type Step =
  | CallStep
  | NotifyStep
  | RawStep
  | EventsStep
  | NotificationStep
  | ClosedStep
  | BodyDeltasStep
  | RaceStep
  | ResumeStep
  | ActStep;

/** One differential case. */
export interface Case {
  /** What it shows. */
  name: string;
  /** Files created in a fresh directory before the steps (`$DIR`). */
  files?: Record<string, FixtureEntry>;
  /** Skip `initialize` + `initialized` (the case does the lifecycle itself). */
  raw?: boolean;
  /** Needs the servers that run with the shared `CODEX_HOME` and `HOME` (`$SHARED`). */
  sharedHome?: boolean;
  /** The steps. */
  steps: Step[];
}

/** One side: a server URL and where its fixture directories go. */
export interface Side {
  /** `codex` or `ours`. */
  name: "codex" | "ours";
  /** The server's URL. */
  url: string;
  /**
   * Values shared by every case, by name: `$NAME` in params becomes the
   * value, and the value in replies becomes `<NAME>` (a directory both
   * servers use, a loopback HTTP server's base URL).
   */
  vars?: Record<string, string>;
}

/** A step's normalised reply, as compared. */
export interface Entry {
  /** Which step (index and a label). */
  label: string;
  /** The method called, or the kind of step (`events`, `raw`, …): what {@linkcode OUR_EXTRA_FIELDS} is keyed by. */
  kind: string;
  /** The step, for its comparison settings. */
  step: Compared;
  /** The normalised value. */
  value: unknown;
}

const B64_KEYS = new Set(["chunk", "dataBase64", "bodyBase64", "deltaBase64"]);
const TIME_KEYS = new Set(["createdAtMs", "modifiedAtMs", "startedAt"]);

/** A UTF-8 string as base64, for the cases' payloads. */
export function b64(text: string): string {
  return new TextEncoder().encode(text).toBase64();
}

/** The `$NAME` substitutions for one case on one side, longest name first. */
function variables(side: Side, dir: string): [name: string, value: string][] {
  const vars = { ...side.vars, DIR: dir, URI: `file://${encodeURI(dir)}` };
  return Object.entries(vars).sort(([a], [b]) => b.length - a.length);
}

/** Substitutes every `$NAME` of `vars` in every string of `value`. */
function template(value: unknown, vars: [string, string][]): unknown {
  if (typeof value === "string") {
    return vars.reduce((s, [name, v]) => s.replaceAll(`$${name}`, v), value);
  }
  if (Array.isArray(value)) return value.map((v) => template(v, vars));
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, template(v, vars)]));
  }
  return value;
}

/** Creates the fixture files under `dir`. */
async function makeFixture(dir: string, files: Record<string, FixtureEntry>): Promise<void> {
  for (const [name, entry] of Object.entries(files)) {
    const path = `${dir}/${name}`;
    const parent = path.slice(0, path.lastIndexOf("/"));
    await Deno.mkdir(parent, { recursive: true });
    if (typeof entry === "string") await Deno.writeTextFile(path, entry);
    else if ("dir" in entry) await Deno.mkdir(path, { recursive: true });
    else if ("symlink" in entry) await Deno.symlink(entry.symlink, path);
    else if ("fifo" in entry) {
      const status = await new Deno.Command("mkfifo", { args: [path] }).output();
      if (!status.success) throw new Error(`mkfifo ${path} failed`);
    } else {
      await Deno.writeTextFile(path, entry.text);
      await Deno.chmod(path, entry.mode);
    }
  }
}

/** The normaliser for one side's run of one case. */
class Normaliser {
  readonly #masks: [value: string, mask: string][];
  readonly #sessions = new Map<string, string>();

  /** Masks each variable's value (`URI` as `<DIR>`, `X_URI` as `<X>`), longest first. */
  constructor(vars: [string, string][]) {
    this.#masks = vars.map(([name, value]): [string, string] => [
      value,
      `<${name === "URI" ? "DIR" : name.replace(/_URI$/, "")}>`,
    ]).sort(([a], [b]) => b.length - a.length);
  }

  /** Remembers a session id so that it is masked everywhere; returns its mask. */
  session(id: string): string {
    let mask = this.#sessions.get(id);
    if (!mask) this.#sessions.set(id, mask = `<session-${this.#sessions.size + 1}>`);
    return mask;
  }

  #text(s: string): string {
    let out = this.#masks.reduce((t, [value, mask]) => t.replaceAll(value, mask), s);
    for (const [id, mask] of this.#sessions) out = out.replaceAll(id, mask);
    return out;
  }

  /** Applies rules 1–3 to a value. */
  value(v: unknown, key = ""): unknown {
    if (typeof v === "string") {
      if (key === "sessionId") return this.session(v);
      if (B64_KEYS.has(key)) {
        try {
          const text = new TextDecoder("utf-8", { fatal: true }).decode(Uint8Array.fromBase64(v));
          return `utf8:${this.#text(text)}`;
        } catch {
          return v;
        }
      }
      return this.#text(v);
    }
    if (typeof v === "number") {
      if (TIME_KEYS.has(key)) return "<ms>";
      if (key === "pid") return "<pid>";
      return v;
    }
    if (Array.isArray(v)) {
      const isDate = (x: unknown) => (x as { name?: unknown } | null)?.name === "date";
      const out = v.filter((x) => !isDate(x)).map((x) => this.value(x));
      const name = (x: unknown) => (x as { fileName?: unknown } | null)?.fileName;
      if (key === "entries" && out.every((x) => typeof name(x) === "string")) {
        out.sort((a, b) => String(name(a)).localeCompare(String(name(b)), "en"));
      }
      return out;
    }
    if (v && typeof v === "object") {
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, this.value(x, k)]));
    }
    return v;
  }
}

/** The JSON type of a value, for `shape` paths. */
function typeOf(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  return typeof v;
}

/** Applies `fn` to every value at a dot path (`*` for any key); returns the new value. */
function atPath(v: unknown, path: string[], fn: (x: unknown) => unknown | undefined): unknown {
  if (path.length === 0) return fn(v);
  if (!v || typeof v !== "object") return v;
  const [head, ...rest] = path;
  const obj = Array.isArray(v) ? [...v] : { ...(v as Record<string, unknown>) };
  const keys = head === "*" ? Object.keys(obj) : [head!];
  for (const k of keys) {
    if (!(k in obj)) continue;
    const next = atPath((obj as Record<string, unknown>)[k], rest, fn);
    if (next === undefined && rest.length === 0) delete (obj as Record<string, unknown>)[k];
    else (obj as Record<string, unknown>)[k] = next;
  }
  return obj;
}

/** Rule 4 and the step's `shape` / `omit` paths. */
function project(step: Compared, v: unknown): unknown {
  let out = v;
  for (const p of step.omit ?? []) out = atPath(out, p.split("."), () => undefined);
  for (const p of step.shape ?? []) out = atPath(out, p.split("."), (x) => `<${typeOf(x)}>`);
  if (!step.text) out = atPath(out, ["error", "message"], () => "<message>");
  return out;
}

/** A response as compared: `{result}` or `{error: {code, message, data?}}`. */
function reply(msg: Message): unknown {
  if ("error" in msg) return { error: msg.error };
  return { result: msg.result };
}

/** Summarises a process's notifications (rule 6). */
function summarise(events: Message[]): unknown {
  const bySeq = [...events].sort((a, b) => a.params.seq - b.params.seq);
  const text: Record<string, string> = {};
  let exit: unknown = null;
  for (const e of bySeq) {
    if (e.method === "process/output") {
      const bytes = Uint8Array.fromBase64(e.params.chunk);
      text[e.params.stream] = (text[e.params.stream] ?? "") + new TextDecoder().decode(bytes);
    }
    if (e.method === "process/exited") {
      const { processId: _p, seq: _s, ...rest } = e.params;
      exit = rest;
    }
  }
  return {
    output: text,
    exited: exit,
    closedLast: bySeq.at(-1)?.method === "process/closed",
    kinds: [...new Set(bySeq.map((e) => e.method))].sort(),
  };
}

/** Summarises a streamed HTTP body (rule 8). */
function summariseBody(deltas: Message[]): unknown {
  const bySeq = [...deltas].sort((a, b) => a.params.seq - b.params.seq);
  const bytes = bySeq.map((m) => Uint8Array.fromBase64(m.params.deltaBase64));
  const last = bySeq.at(-1)?.params;
  return {
    text: new TextDecoder().decode(concatBytes(bytes)),
    seqsFromOne: bySeq.every((m, i) => m.params.seq === i + 1),
    doneOnlyLast: bySeq.every((m, i) => m.params.done === (i === bySeq.length - 1)),
    last: { deltaBase64: last?.deltaBase64, done: last?.done, error: last?.error },
  };
}

/** Plays `c` against one side and returns its normalised entries. */
export async function runSide(side: Side, c: Case): Promise<Entry[]> {
  const dir = await Deno.makeTempDir({ prefix: `diff-${side.name}-` });
  const entries: Entry[] = [];
  const link: { client?: TestClient } = {};
  const client = () => link.client!;
  try {
    await makeFixture(dir, c.files ?? {});
    const vars = variables(side, dir);
    const norm = new Normaliser(vars);
    link.client = await TestClient.connect(side.url, { initialize: false });
    let sessionId = "";
    if (!c.raw) {
      const init = await client().request("initialize", { clientName: "differential" });
      sessionId = init.sessionId;
      norm.session(sessionId);
      client().notify("initialized", {});
    }
    let strays = 0;
    for (const [i, step] of c.steps.entries()) {
      const label = `#${i} ${stepLabel(step)}`;
      if ("act" in step) {
        await step.act(dir);
        continue;
      }
      if ("notify" in step) {
        client().notify(step.notify, template(step.params, vars));
        continue;
      }
      if ("raw" in step && step.noReply) {
        client().sendRaw(template(step.raw, vars) as string);
        continue;
      }
      let value: unknown;
      let kind: string = "call" in step ? step.call : "";
      if ("race" in step) {
        kind = "race";
        const order: number[] = [];
        await Promise.all(step.race.map(async (r, n) => {
          await client().call(r.call, template(r.params, vars), { timeoutMs: 20_000 });
          order.push(n);
        }));
        value = order;
      } else if ("call" in step) {
        const msg = await client().call(step.call, template(step.params, vars), {
          timeoutMs: 20_000,
        });
        if (step.call === "initialize" && msg.result?.sessionId) {
          sessionId = msg.result.sessionId;
          norm.session(sessionId);
        }
        value = reply(msg);
      } else if ("resume" in step) {
        kind = "initialize";
        await client().close();
        link.client = await TestClient.connect(side.url, { initialize: false });
        const again = client();
        const params = { clientName: "differential", resumeSessionId: sessionId };
        const msg = await waitUntil(async () => {
          const m = await again.call("initialize", params);
          return m.error?.code === -32010 ? undefined : m;
        }, { message: "the resume to be accepted" });
        client().notify("initialized", {});
        value = reply(msg);
      } else if ("raw" in step) {
        kind = "raw";
        client().sendRaw(template(step.raw, vars) as string);
        const want = ++strays;
        const msg = await client().waitUntil(
          () => client().stray.length >= want ? client().stray[want - 1] : undefined,
          10_000,
          `the reply to ${step.raw}`,
        );
        value = reply(msg);
      } else if ("events" in step) {
        kind = "events";
        await client().untilClosed(step.events, 20_000);
        // Codex's exited and closed come from two tasks: under load its
        // closed can reach the wire first (seen once in a full run with 4
        // jobs), so give exited a deadline of its own before summarising.
        await client().waitFor(
          (m) => m.method === "process/exited" && m.params.processId === step.events,
          5_000,
          `process/exited of ${step.events}`,
        ).catch(() => {});
        value = summarise(client().eventsOf(step.events));
      } else if ("bodyDeltas" in step) {
        kind = "bodyDeltas";
        const deltas = (): Message[] =>
          client().notifications.filter((m) =>
            m.method === "http/request/bodyDelta" && m.params?.requestId === step.bodyDeltas
          );
        await client().waitUntil(
          () => deltas().some((m) => m.params.done) || undefined,
          20_000,
          `the end of the body of ${step.bodyDeltas}`,
        );
        value = summariseBody(deltas());
      } else if ("notification" in step) {
        kind = step.notification;
        const n = await client().waitFor((m) => m.method === step.notification, 10_000);
        value = n.params;
      } else {
        kind = "closed";
        let code: number | null = null;
        void client().closed.then((e) => code = e.code);
        await waitUntil(() => code !== null, { message: "the server to close the connection" });
        value = { closed: true, code };
      }
      entries.push({ label, kind, step, value: project(step, norm.value(value)) });
    }
  } finally {
    await link.client?.close();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
  return entries;
}

/** Whether `path` (dot path, no wildcards) exists in `v`. */
function has(v: unknown, path: string[]): boolean {
  let cur = v;
  for (const k of path) {
    if (!cur || typeof cur !== "object" || !(k in cur)) return false;
    cur = (cur as Record<string, unknown>)[k];
  }
  return true;
}

/** Rule 5: drops from ours what it adds on purpose, where codex's value lacks it. */
function dropOurExtras(kind: string, codex: unknown, ours: unknown): unknown {
  let out = ours;
  for (const path of OUR_EXTRA_FIELDS[kind] ?? []) {
    const parts = path.split(".");
    if (!has(codex, parts)) out = atPath(out, parts, () => undefined);
  }
  return out;
}

/** Whether `actual` contains `expected` (objects: every expected key, recursively). */
function contains(actual: unknown, expected: unknown): boolean {
  if (expected && typeof expected === "object" && !Array.isArray(expected)) {
    if (!actual || typeof actual !== "object") return false;
    return Object.entries(expected).every(([k, v]) =>
      contains((actual as Record<string, unknown>)[k], v)
    );
  }
  return JSON.stringify(actual) === JSON.stringify(expected);
}

/** Canonical JSON (sorted keys), for equality that ignores key order. */
function canonical(v: unknown): string {
  return JSON.stringify(
    v,
    (_k, x) =>
      x && typeof x === "object" && !Array.isArray(x)
        ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0))
        : x,
  );
}

/**
 * Compares the two sides' entries of one case; returns the problems (none
 * when they agree wherever they should and differ where a step says so).
 */
export function compareEntries(
  codex: Entry[],
  ours: Entry[],
  { self = false }: { self?: boolean } = {},
): string[] {
  const problems: string[] = [];
  if (codex.length !== ours.length) {
    problems.push(`codex gave ${codex.length} entries, ours ${ours.length}`);
  }
  for (let i = 0; i < Math.min(codex.length, ours.length); i++) {
    const c = codex[i]!;
    const o = ours[i]!;
    const oursValue = self ? o.value : dropOurExtras(o.kind, c.value, o.value);
    const same = canonical(c.value) === canonical(oursValue);
    const show = `\n    codex: ${canonical(c.value)}\n    ours:  ${canonical(oursValue)}`;
    if (self) {
      if (!same) problems.push(`${c.label}: codex answered itself differently${show}`);
    } else if (c.step.differs && same) {
      problems.push(`${c.label}: marked differs: ${c.step.differs}, but both sides agree${show}`);
    } else if (!c.step.differs && !same) {
      problems.push(`${c.label}: the replies differ${show}`);
    }
    if (c.step.expect?.codex !== undefined && !contains(c.value, c.step.expect.codex)) {
      problems.push(`${c.label}: codex's reply is not as expected${show}`);
    }
    if (
      !self && c.step.expect?.ours !== undefined && !contains(oursValue, c.step.expect.ours)
    ) {
      problems.push(`${c.label}: our reply is not as expected${show}`);
    }
  }
  return problems;
}

/** A short label for a step. */
function stepLabel(step: Step): string {
  if ("call" in step) return step.call;
  if ("raw" in step) return `raw ${step.raw.slice(0, 40)}`;
  if ("events" in step) return `events of ${step.events}`;
  if ("notification" in step) return `notification ${step.notification}`;
  if ("closed" in step) return "connection closed";
  if ("resume" in step) return "resume";
  if ("bodyDeltas" in step) return `body of ${step.bodyDeltas}`;
  if ("race" in step) return `race ${step.race.map((r) => r.call).join(", ")}`;
  if ("notify" in step) return `notify ${step.notify}`;
  return "act";
}
