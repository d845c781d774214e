// Copyright 2026 the exec-server authors. MIT license.
/**
 * What every figure shares: the samples it returns, the context it runs in,
 * and {@linkcode interleave}, which runs the exec-server and its baselines
 * round by round in a rotating order so that drift in the machine's load
 * hits them all alike.
 *
 * @module
 */
import type { BenchClient } from "../client.ts";
import type { BenchConfig } from "../config.ts";
import type { Peers, PeerState } from "../peers.ts";
import type { Cleanup, ServerHandle } from "../processes.ts";
import { fixed, median, type Unit } from "../stats.ts";
import { messageOf } from "../../lib/util/mod.ts";

/** One variant's samples (a skipped variant has none and a reason). */
export interface Series {
  /** Display name. */
  name: string;
  /** What the samples are in. */
  unit: Unit;
  /** The samples. */
  samples: number[];
  /** Why it was skipped or cut short, if so. */
  note?: string;
  /** exec-server's own (its row shows no speed ratio). */
  ours?: boolean;
  /** The key of the series its speed ratio is against, when not the figure's subject. */
  against?: string;
}

/** Samples of one figure. */
export interface FigureSamples {
  /** Series by key. */
  series: Record<string, Series>;
  /** The key of exec-server's main series, which the others are compared with. */
  subject: string;
  /** Extra scalar facts (error counts, peaks). */
  facts: Record<string, number>;
  /** Notes for the reader (skips, budget cuts). */
  notes: string[];
  /** Rounds actually completed. */
  rounds: number;
}

/** Environment the figures run in. */
export interface BenchContext {
  /** Sizes and counts. */
  config: BenchConfig;
  /** Cleanup registry for everything started. */
  cleanup: Cleanup;
  /** The shared server (P1, P2, P3, P6). */
  server: ServerHandle;
  /** Client without binary frames (base64 JSON output). */
  json: BenchClient;
  /** Client with binary output frames. */
  binary: BenchClient;
  /** A client of the shared `codex exec-server` (base64 JSON, its only output), or null. */
  codex: BenchClient | null;
  /** The peers, each with its value or why it does not run. */
  peers: Peers;
  /** Progress line printer. */
  progress: (line: string) => void;
}

/** A variant: a batch of measurements for one round. */
export interface Variant {
  /** Key of its series. */
  key: string;
  /** Display name. */
  name: string;
  /** One round's measurements; null = skipped with `note`. */
  batch: ((round: number) => Promise<number[]>) | null;
  /** Why it is skipped. */
  note?: string;
  /** exec-server's own. */
  ours?: boolean;
  /** Compared with this series instead of the subject. */
  against?: string;
}

/**
 * A variant measuring a peer: its batch is built from the peer's value when
 * the peer runs, otherwise it is skipped with the peer's note. `against`
 * names the series its speed ratio is taken against (default: the subject).
 */
export function peerVariant<T>(
  key: string,
  name: string,
  peer: PeerState<T>,
  batch: (value: T) => (round: number) => Promise<number[]>,
  against?: string,
): Variant {
  const base = { key, name, ...(against ? { against } : {}) };
  return peer.value === null
    ? { ...base, batch: null, note: peer.note }
    : { ...base, batch: batch(peer.value) };
}

/**
 * The variant of codex's server: `batch` runs on the shared codex client;
 * skipped with the peer's note when codex does not run.
 */
export function codexVariant(
  ctx: Pick<BenchContext, "codex" | "peers">,
  key: string,
  name: string,
  batch: (client: BenchClient) => (round: number) => Promise<number[]>,
  against?: string,
): Variant {
  const base = { key, name, ...(against ? { against } : {}) };
  return ctx.codex === null
    ? { ...base, batch: null, note: ctx.peers.codex.note }
    : { ...base, batch: batch(ctx.codex) };
}

let uniq = 0;
/** A process id unique within this bench run. */
export function newProcessId(prefix: string): string {
  return `${prefix}-${++uniq}`;
}

/** Empty samples of a figure (for figures that do not interleave). */
export function emptySamples(subject: string): FigureSamples {
  return { series: {}, subject, facts: {}, notes: [], rounds: 0 };
}

/**
 * Runs variants interleaved: every round runs each variant's batch once, in
 * an order rotated by the round number. Stops early at the time budget.
 */
export async function interleave(
  ctx: Pick<BenchContext, "config" | "progress">,
  figure: string,
  variants: Variant[],
  unit: Unit,
  subject: string,
): Promise<FigureSamples> {
  const result = emptySamples(subject);
  const { series, notes } = result;
  for (const v of variants) {
    series[v.key] = {
      name: v.name,
      unit,
      samples: [],
      ...(v.batch ? {} : { note: v.note ?? "skipped" }),
      ...(v.ours ? { ours: true } : {}),
      ...(v.against ? { against: v.against } : {}),
    };
  }
  const active = variants.filter((v) => v.batch);
  const started = Date.now();
  for (let round = 0; round < ctx.config.rounds; round++) {
    if (round > 0 && Date.now() - started > ctx.config.budgetMs) {
      notes.push(`${figure}: stopped after ${round} rounds (time budget)`);
      break;
    }
    const order = active.map((_, i) => active[(i + round) % active.length]!);
    for (const v of order) {
      const s = series[v.key]!;
      if (s.note && s.samples.length === 0 && round > 0) continue; // failed in round 0
      try {
        const got = await v.batch!(round);
        s.samples.push(...got);
        ctx.progress(
          `${figure} round ${round + 1}/${ctx.config.rounds}: ${v.name}: ` +
            `${fixed(median(got))} ${unit}${got.length > 1 ? ` (median of ${got.length})` : ""}`,
        );
      } catch (err) {
        const msg = `${v.name} failed: ${messageOf(err)}`;
        s.note = s.note ?? msg;
        notes.push(`${figure}: ${msg}`);
        ctx.progress(`${figure} round ${round + 1}: ${msg}`);
      }
    }
    result.rounds++;
  }
  return result;
}
