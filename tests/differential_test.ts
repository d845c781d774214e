// Copyright 2026 the exec-server authors. MIT license.
/**
 * The differential suite: every case of `differential_cases.ts` is played
 * against codex 0.171's `codex exec-server` and against ours (one server
 * each for the whole file), and the normalised replies must agree, except
 * where a step names a deliberate difference.
 *
 * `EXEC_SERVER_DIFF_SELF=1` plays codex against a second codex server, to
 * check that a new case is deterministic (every step must then agree, and
 * only codex's expectations are checked); `EXEC_SERVER_DIFF_CASES=TEXT`
 * plays only the cases whose name contains TEXT; `EXEC_SERVER_DIFF_DUMP=DIR`
 * writes both sides' normalised entries there, one JSON file per case.
 *
 * @module
 */
import assert from "node:assert/strict";
import { CODEX_BIN, startCodexServer } from "./_codex.ts";
import { compareEntries, runSide } from "./_differential.ts";
import { SharedHost } from "./_differential_host.ts";
import { ServerProcess } from "./_harness.ts";
import { CASES } from "./differential_cases.ts";
import { DELIBERATE_DIFFERENCES } from "./differential_differences.ts";

const SELF = Deno.env.get("EXEC_SERVER_DIFF_SELF") === "1";
const ONLY = Deno.env.get("EXEC_SERVER_DIFF_CASES") ?? "";
const DUMP = Deno.env.get("EXEC_SERVER_DIFF_DUMP");

/** Codex's server and ours (or a second codex's, with `EXEC_SERVER_DIFF_SELF`), started alike. */
class ServerPair implements AsyncDisposable {
  private constructor(readonly codex: ServerProcess, readonly ours: ServerProcess) {}

  /** Starts both with `options`. */
  static async start(options: { env?: Record<string, string> }): Promise<ServerPair> {
    const codex = await startCodexServer([], options);
    try {
      const ours = SELF
        ? await startCodexServer([], options)
        : await ServerProcess.start([], options);
      return new ServerPair(codex, ours);
    } catch (err) {
      await codex[Symbol.asyncDispose]();
      throw err;
    }
  }

  /** Stops both. */
  async [Symbol.asyncDispose](): Promise<void> {
    await Promise.all([this.codex[Symbol.asyncDispose](), this.ours[Symbol.asyncDispose]()]);
  }
}

Deno.test({
  name: SELF
    ? "differential: codex exec-server answers itself alike (EXEC_SERVER_DIFF_SELF)"
    : "differential: codex exec-server and ours answer alike",
  ignore: !CODEX_BIN,
  async fn(t) {
    await using host = await SharedHost.start();
    const cases = CASES.filter((c) => c.name.includes(ONLY));
    // Two pairs: one plain, one with the shared CODEX_HOME and HOME (only where a case reads
    // them: codex cannot sandbox with a CODEX_HOME under /tmp, where it makes no helpers).
    await using plain = await ServerPair.start({});
    await using shared = cases.some((c) => c.sharedHome)
      ? await ServerPair.start({ env: host.env })
      : null;
    const vars = host.vars;
    for (const c of cases) {
      await t.step(c.name, async () => {
        const { codex, ours } = c.sharedHome ? shared! : plain;
        const [fromCodex, fromOurs] = await Promise.all([
          runSide({ name: "codex", url: codex.url, vars }, c),
          runSide({ name: SELF ? "codex" : "ours", url: ours.url, vars }, c),
        ]);
        if (DUMP) {
          const entries = (side: typeof fromCodex) => side.map((e) => ({ [e.label]: e.value }));
          await Deno.writeTextFile(
            `${DUMP}/${c.name.replace(/\W+/g, "_")}.json`,
            JSON.stringify({ codex: entries(fromCodex), ours: entries(fromOurs) }, null, 1),
          );
        }
        const problems = compareEntries(fromCodex, fromOurs, { self: SELF });
        assert.deepEqual(problems, [], `\n  ${problems.join("\n  ")}`);
      });
    }
  },
});

Deno.test("differential: every differs: names a deliberate difference, and each is shown", () => {
  const ids = new Set(DELIBERATE_DIFFERENCES.map((d) => d.id));
  assert.equal(ids.size, DELIBERATE_DIFFERENCES.length, "duplicate ids");
  // The serve differential (differential_serve_test.ts) shows this one.
  const used = new Set<string>(["non-loopback-no-auth"]);
  for (const c of CASES) {
    for (const step of c.steps) {
      if (!("differs" in step) || !step.differs) continue;
      assert.ok(ids.has(step.differs), `${c.name}: unknown deliberate difference ${step.differs}`);
      used.add(step.differs);
    }
  }
  const unshown = DELIBERATE_DIFFERENCES.filter((d) => !used.has(d.id) && !d.shownBy);
  assert.deepEqual(unshown.map((d) => d.id), [], "deliberate differences no case shows");
});
