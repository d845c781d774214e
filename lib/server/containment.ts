// Copyright 2026 the exec-server authors. MIT license.
/**
 * Containment set-up for a server process (the `serve` command): how its
 * children are kept from outliving it. See lib/process/tree.ts.
 *
 * @module
 */
// From the modules themselves, not process/mod.ts: the spawners behind it
// (pipes, the reactor, terminals) load with the core, on the first client.
import { type Containment, type ContainmentMode, enableContainment } from "../process/tree.ts";
import { setProcessLogger } from "../process/log.ts";
import type { Logger } from "../util/logger.ts";

const MODES: readonly string[] = ["auto", "cgroup", "subreaper", "group"];

/**
 * Chooses how children are contained (a cgroup per process where the host
 * allows it, else the server as subreaper, else process groups), routes the
 * process backends' reports to `logger` and logs the choice. `wanted` (from
 * `EXEC_SERVER_CONTAINMENT`) asks for at most that mechanism; anything else
 * means `auto`. Call it once, in a process that hosts one server.
 */
export function startContainment(logger: Logger, wanted = "auto"): Containment {
  setProcessLogger(logger);
  const mode = (MODES.includes(wanted) ? wanted : "auto") as ContainmentMode;
  const chosen = enableContainment(mode);
  logger.info(`containment: ${chosen.kind}: ${chosen.detail}`);
  return chosen;
}
