// Copyright 2026 the exec-server authors. MIT license.
/**
 * Where the process backends report what they survive (a reactor fault, a
 * containment that could not be set up): the server's logger once
 * {@linkcode setProcessLogger} was called, stderr before that.
 *
 * @module
 */
import { createLogger, type Logger } from "../util/logger.ts";

let logger: Logger = createLogger("warn", (line) => console.error(line));

/** Routes the backends' reports to `log` (the server calls this with its logger). */
export function setProcessLogger(log: Logger): void {
  logger = log;
}

/** The logger the backends report to. */
export function processLog(): Logger {
  return logger;
}
