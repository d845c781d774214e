// Copyright 2026 the exec-server authors. MIT license.
/**
 * The `serve` command's request for containment, taken up by `tree.ts` when
 * the first child starts. Kept apart so an idle server loads neither the
 * containment code nor libc (FFI costs about 3 MB of resident memory): the
 * choice and its set-up (the cgroup probe, the watchdog, the subreaper) run
 * with the first process, when the spawners have loaded libc anyway.
 *
 * @module
 */

/** Which containment to use; `auto` is the strongest the host allows. */
export type ContainmentMode = "auto" | "cgroup" | "subreaper" | "group";

/** What was chosen, as the first start reports it. */
export interface ContainmentChoice {
  /** The mechanism. */
  kind: "cgroup" | "subreaper" | "group";
  /** Where, for logs: e.g. the cgroup directory. */
  detail: string;
}

/** A pending request. */
export interface ContainmentRequest {
  /** At most this mechanism. */
  mode: ContainmentMode;
  /** Called once with the choice, when it is made. */
  chosen: (choice: ContainmentChoice) => void;
}

let pending: ContainmentRequest | null = null;

/**
 * Asks for containment of every later child; the choice is made when the
 * first one starts. A later request replaces one not yet taken up.
 *
 * @example
 * ```ts
 * import { requestContainment, takeContainmentRequest } from "./containment_request.ts";
 * import assert from "node:assert/strict";
 * const seen: string[] = [];
 * requestContainment("group", (c) => seen.push(c.kind));
 * const request = takeContainmentRequest();
 * assert.equal(request?.mode, "group");
 * assert.equal(takeContainmentRequest(), null, "taken once");
 * request?.chosen({ kind: "group", detail: "" });
 * assert.deepEqual(seen, ["group"]);
 * ```
 */
export function requestContainment(
  mode: ContainmentMode,
  chosen: (choice: ContainmentChoice) => void,
): void {
  pending = { mode, chosen };
}

/** The pending request, once (the next call returns null). */
export function takeContainmentRequest(): ContainmentRequest | null {
  const request = pending;
  pending = null;
  return request;
}
