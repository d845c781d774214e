// Copyright 2026 the exec-server authors. MIT license.
/**
 * Containment set-up for a server process (the `serve` command): how its
 * children are kept from outliving it. See lib/process/tree.ts.
 *
 * @module
 */
// Only the request: the containment code (and libc, through FFI) loads with
// the spawners, on the first client, and the choice is made at the first start.
import { type ContainmentMode, requestContainment } from "../process/containment_request.ts";
import { setProcessLogger } from "../process/log.ts";
import type { Logger } from "../util/logger.ts";

const MODES: readonly string[] = ["auto", "cgroup", "subreaper", "group"];

/**
 * Asks for children to be contained (a cgroup per process where the host
 * allows it, else the server as subreaper, else process groups) and routes
 * the process backends' reports to `logger`. The choice is made, and logged,
 * when the first process starts: an idle server holds no containment code.
 * `wanted` (from `EXEC_SERVER_CONTAINMENT`) asks for at most that mechanism;
 * anything else means `auto`. Call it once, in a process that hosts one server.
 */
export function startContainment(logger: Logger, wanted = "auto"): void {
  setProcessLogger(logger);
  const mode = (MODES.includes(wanted) ? wanted : "auto") as ContainmentMode;
  requestContainment(
    mode,
    (chosen) => logger.info(`containment: ${chosen.kind}: ${chosen.detail}`),
  );
}
