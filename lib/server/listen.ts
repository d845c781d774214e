// Copyright 2026 the exec-server authors. MIT license.
/**
 * `--listen` addresses: parsing `ws://IP:PORT` with codex's wording and
 * telling loopback apart. Pure, and kept out of the WebSocket module so the
 * command line can vet an address without loading the WebSocket server.
 *
 * @module
 */

/** Where the WebSocket server listens when `listen` is not given. */
export const DEFAULT_LISTEN = "ws://127.0.0.1:0";

/**
 * Parses a `--listen` value; throws TypeError with codex's wording.
 *
 * @example
 * ```ts
 * import { parseListenUrl } from "./listen.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(parseListenUrl("ws://[::1]:8080"), { hostname: "::1", port: 8080 });
 * assert.throws(() => parseListenUrl("http://127.0.0.1:1"), /unsupported --listen URL/);
 * ```
 */
export function parseListenUrl(
  listen: string,
): { hostname: string; port: number } {
  const m = /^ws:\/\/(\[[0-9a-fA-F:.]+\]|\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5})\/?$/
    .exec(listen);
  if (!listen.startsWith("ws://")) {
    throw new TypeError(
      `unsupported --listen URL ${listen}; expected \`ws://IP:PORT\` or \`stdio\``,
    );
  }
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) {
    throw new TypeError(
      `invalid websocket --listen URL ${listen}; expected \`ws://IP:PORT\``,
    );
  }
  return { hostname: m[1]!.replace(/^\[|\]$/g, ""), port };
}

/**
 * Whether `hostname` is a loopback address.
 *
 * @example
 * ```ts
 * import { isLoopback } from "./listen.ts";
 * import assert from "node:assert/strict";
 * assert.equal(isLoopback("127.0.0.2"), true);
 * assert.equal(isLoopback("0.0.0.0"), false);
 * ```
 */
export function isLoopback(hostname: string): boolean {
  return hostname === "::1" || /^127\.\d+\.\d+\.\d+$/.test(hostname);
}

/** The URL clients dial for a bound address: `ws://host:port`, brackets around IPv6. */
export function boundUrl(addr: { hostname: string; port: number }, tls: boolean): string {
  const host = addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname;
  return `${tls ? "wss" : "ws"}://${host}:${addr.port}`;
}
