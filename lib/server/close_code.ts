// Copyright 2026 the exec-server authors. MIT license.
/**
 * The WebSocket close codes the server uses, on their own so that the edges
 * can name them without loading the connection (and with it the protocol's
 * schemas) before a client arrives.
 *
 * @module
 */

/** WebSocket close codes used by the server. */
export const CloseCode = {
  /** Normal. */
  Normal: 1000,
  /** Server going away (shutdown). */
  GoingAway: 1001,
  /** Protocol violation (unexpected notification or response). */
  PolicyViolation: 1008,
  /** Message too big. */
  TooBig: 1009,
  /** The server failed (a fault while handling the connection). */
  InternalError: 1011,
} as const;
