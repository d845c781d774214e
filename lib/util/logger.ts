// Copyright 2026 the exec-server authors. MIT license.
/**
 * A minimal leveled logger. Callers must never pass environment values,
 * tokens or file contents; only ids, sizes, codes and method names.
 *
 * @module
 */

/** Log levels, most verbose first. */
export type LogLevel = "debug" | "info" | "warn" | "error" | "silent";

/** A logger. */
export interface Logger {
  /** Verbose detail. */
  debug(message: string): void;
  /** Lifecycle events. */
  info(message: string): void;
  /** Something unexpected that the server survives. */
  warn(message: string): void;
  /** A failure. */
  error(message: string): void;
}

const ORDER: Record<LogLevel, number> = {
  debug: 0,
  info: 1,
  warn: 2,
  error: 3,
  silent: 4,
};

/**
 * Creates a logger that writes `LEVEL message` lines through `write`.
 *
 * @example
 * ```ts
 * import { createLogger } from "./logger.ts";
 * import assert from "node:assert/strict";
 * const lines: string[] = [];
 * createLogger("warn", (l) => lines.push(l)).info("hidden");
 * assert.equal(lines.length, 0);
 * ```
 */
export function createLogger(
  level: LogLevel,
  write: (line: string) => void,
): Logger {
  const at = ORDER[level];
  const make = (l: Exclude<LogLevel, "silent">) => (message: string) => {
    if (ORDER[l] >= at) {
      write(`${new Date().toISOString()} ${l.toUpperCase()} ${message}`);
    }
  };
  return {
    debug: make("debug"),
    info: make("info"),
    warn: make("warn"),
    error: make("error"),
  };
}

/** A logger that drops everything. */
export const NULL_LOGGER: Logger = createLogger("silent", () => {});
