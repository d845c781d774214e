// Copyright 2026 the exec-server authors. MIT license.
/**
 * The figures of issue 10 and the sizes a run uses: {@linkcode FULL} for
 * `deno task bench`, {@linkcode QUICK} for `--quick` (the same code paths,
 * small sizes).
 *
 * @module
 */

/** Figure ids. */
export const FIGURES = ["P1", "P2", "P3", "P4", "P5", "P6"] as const;
/** A figure id. */
export type FigureId = typeof FIGURES[number];

/** Sizes and counts for one bench run. */
export interface BenchConfig {
  /** Interleaved rounds for P1, P2, P3 and P6. */
  rounds: number;
  /** P1: round trips per variant per round. */
  p1Runs: number;
  /** P2: bytes per throughput run. */
  p2Bytes: number;
  /** P3: bytes per PTY throughput run. */
  p3Bytes: number;
  /** P3: options for `runPtyBench` (the backend-only comparison). */
  p3Backend: { rounds: number; bytes: number; spawnRuns: number };
  /** P4/P5: rounds, each on a fresh server. */
  p4Rounds: number;
  /** P4: clients. */
  p4Clients: number;
  /** P4: starts per client. */
  p4Starts: number;
  /** P4: how long each process sleeps, in seconds (so that all overlap). */
  p4SleepSeconds: number;
  /** P6: bytes written per run. */
  p6Bytes: number;
  /** P6: bytes per `process/write`. */
  p6ChunkBytes: number;
  /** P6: writes in flight. */
  p6Window: number;
  /** Time budget per figure in ms: no new round starts after it. */
  budgetMs: number;
}

/** The full run. */
export const FULL: BenchConfig = {
  rounds: 5,
  p1Runs: 100,
  p2Bytes: 1_000_000_000,
  p3Bytes: 100_000_000,
  p3Backend: { rounds: 3, bytes: 100_000_000, spawnRuns: 100 },
  p4Rounds: 3,
  p4Clients: 100,
  p4Starts: 10,
  p4SleepSeconds: 8,
  p6Bytes: 512 * 1024 * 1024,
  p6ChunkBytes: 1024 * 1024,
  p6Window: 4,
  budgetMs: 240_000,
};

/** `--quick`: the same code paths, small sizes, well under a minute. */
export const QUICK: BenchConfig = {
  rounds: 2,
  p1Runs: 15,
  p2Bytes: 20_000_000,
  p3Bytes: 5_000_000,
  p3Backend: { rounds: 1, bytes: 5_000_000, spawnRuns: 5 },
  p4Rounds: 1,
  p4Clients: 10,
  p4Starts: 10,
  p4SleepSeconds: 1,
  p6Bytes: 16 * 1024 * 1024,
  p6ChunkBytes: 1024 * 1024,
  p6Window: 4,
  budgetMs: 20_000,
};
