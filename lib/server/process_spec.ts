// Copyright 2026 the exec-server authors. MIT license.
/**
 * What a {@linkcode ManagedProcess} is made of: its static facts, its timing
 * knobs, and the observer (its session) it reports to. Runtime-neutral.
 *
 * @module
 */
import type { StreamName } from "../process/child.ts";
import type { ClosedNotification, ExitedNotification } from "../protocol/process.ts";
import type { ManagedProcess } from "./managed_process.ts";

/** Where a process reports what it produces (its session). */
export interface ProcessObserver {
  /** New output; a returned promise pauses the producer until it settles. */
  processOutput(
    process: ManagedProcess,
    seq: number,
    stream: StreamName,
    data: Uint8Array,
  ): void | Promise<void>;
  /** The process exited. */
  processExited(process: ManagedProcess, params: ExitedNotification): void;
  /** Both streams ended after the exit. */
  processClosed(process: ManagedProcess, params: ClosedNotification): void;
  /** The finished process's retention ran out; its id may be reused. */
  processExpired(process: ManagedProcess): void;
}

/** Timing knobs; tests shrink them. */
export interface ProcessTimings {
  /** How long after exit to wait for the streams to end before reporting the exit. @default {100} */
  exitGraceMs?: number;
  /** SIGTERM → SIGKILL grace for terminate. @default {2000} */
  killGraceMs?: number;
  /** How long a closed process stays readable. @default {30000} */
  retentionMs?: number;
  /** Bytes of output retained. @default {1048576} */
  retainedBytes?: number;
  /**
   * Stdin bytes handed to the process that it has not read yet: a write that
   * would go past this fails (one write is always taken while nothing is
   * waiting), so a process that never reads holds at most this much.
   * @default {16777216}
   */
  maxPendingStdinBytes?: number;
}

/** Static facts about a process. */
export interface ProcessSpec {
  /** Client-chosen id. */
  processId: string;
  /** The argv as requested. */
  argv: string[];
  /** Whether it runs on a terminal. */
  tty: boolean;
  /** Whether stdin is writable. */
  pipeStdin: boolean;
  /** Per-process timeout, or null. */
  timeoutMs: number | null;
}

/** `timings` with every default filled in. */
export function withDefaults(timings: ProcessTimings): Required<ProcessTimings> {
  return {
    exitGraceMs: timings.exitGraceMs ?? 100,
    killGraceMs: timings.killGraceMs ?? 2000,
    retentionMs: timings.retentionMs ?? 30_000,
    retainedBytes: timings.retainedBytes ?? 1024 * 1024,
    maxPendingStdinBytes: timings.maxPendingStdinBytes ?? 16 * 1024 * 1024,
  };
}
