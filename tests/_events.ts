// Copyright 2026 the exec-server authors. MIT license.
/**
 * Helpers for tests that drive processes through `ExecServerClient`: collect
 * a handle's events, check their order, and a job with a known output.
 *
 * @module
 */
import assert from "node:assert/strict";
import type { ProcessEvent, ProcessHandle } from "../lib/client/mod.ts";

const decoder = new TextDecoder();

/** Consumes a handle's events in the background. */
export function collector(proc: ProcessHandle): { events: ProcessEvent[]; done: Promise<void> } {
  const events: ProcessEvent[] = [];
  const done = (async () => {
    for await (const ev of proc.events()) events.push(ev);
  })();
  return { events, done };
}

/** Asserts seqs run 1, 2, 3, … with no gap or repeat, ending in exited (once) then closed. */
export function assertStrictOrder(events: ProcessEvent[]): void {
  const seqs = events.map((e) => ("seq" in e ? e.seq : -1));
  assert.deepEqual(seqs, seqs.map((_, i) => i + 1), `seqs are ${seqs.join(",")}`);
  const tail = events.slice(-2).map((e) => e.type);
  assert.deepEqual(tail, ["exited", "closed"]);
  assert.equal(events.filter((e) => e.type === "exited").length, 1);
}

/** The text of one stream's output events, in order. */
export function streamText(events: ProcessEvent[], stream: string): string {
  return events
    .map((e) => (e.type === "output" && e.stream === stream ? decoder.decode(e.data) : ""))
    .join("");
}

/** Lines of both streams seen so far (the server may coalesce writes into one chunk). */
export function lineCount(events: ProcessEvent[]): number {
  return (streamText(events, "stdout") + streamText(events, "stderr")).split("\n").length - 1;
}

/**
 * A shell loop printing `count` numbered lines, odd ones to stderr, pausing
 * every `every` lines; exits 3. Returns the argv and the expected streams.
 */
export function numberedLines(
  count: number,
  pause: string,
  every = 10,
): { argv: string[]; out: string; err: string } {
  const script = `i=1; while [ $i -le ${count} ]; do
    if [ $((i % 2)) -eq 0 ]; then echo "out $i ................................"; else echo "err $i" >&2; fi
    if [ $((i % ${every})) -eq 0 ]; then sleep ${pause}; fi
    i=$((i + 1)); done; exit 3`;
  let out = "";
  let err = "";
  for (let i = 1; i <= count; i++) {
    if (i % 2 === 0) out += `out ${i} ................................\n`;
    else err += `err ${i}\n`;
  }
  return { argv: ["sh", "-c", script], out, err };
}
