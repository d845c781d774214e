// Copyright 2026 the exec-server authors. MIT license.
/**
 * Who may upgrade: the bearer checks of the WebSocket edge, one per mode.
 *
 * - `bearer` (ours, `--token-file` / `EXEC_SERVER_TOKEN`): the token as
 *   `Authorization: Bearer` or as a `bearer.<token>` subprotocol.
 * - `capability-token` (codex's `--ws-auth capability-token`): the SHA-256 of
 *   the presented bearer token must equal the configured digest.
 * - `signed-bearer-token` (codex's `--ws-auth signed-bearer-token`): an HS256
 *   JWT signed with the shared secret, with a required integer `exp`, an
 *   optional `nbf`, both checked with a clock skew, and `iss`/`aud` checked
 *   when configured.
 *
 * Refusals are 401 with codex 0.171's texts in the codex modes ("missing
 * websocket bearer token", "invalid websocket jwt", …), in codex's order of
 * checks: signature, claim types, expiry, not-before, issuer, audience.
 * Comparisons run in constant time. Pure: WebCrypto for the HMAC, no
 * `Deno.*`.
 *
 * @module
 */
import { sha256Hex } from "../util/sha256.ts";

/** The upgrade checks to apply; `null` lets every upgrade through. */
export type WsAuth =
  | {
    /** Ours: a shared bearer token, also accepted as a `bearer.<token>` subprotocol. */
    mode: "bearer";
    token: string;
  }
  | {
    /** codex's capability token, kept as the hex SHA-256 of the token. */
    mode: "capability-token";
    sha256: string;
  }
  | {
    /** codex's signed bearer token: an HS256 JWT. */
    mode: "signed-bearer-token";
    /** The shared secret (at least 32 bytes). */
    secret: string;
    /** Required `iss`, if any. @default {undefined} (any issuer) */
    issuer?: string | undefined;
    /** Required `aud` (or one of its entries), if any. @default {undefined} (any audience) */
    audience?: string | undefined;
    /** Leeway for `exp` and `nbf`, in s. @default {30} */
    maxClockSkewSeconds?: number | undefined;
  };

/** What an upgrade request presents. */
export interface Credentials {
  /** The `Authorization` header, or null. */
  authorization: string | null;
  /** The subprotocols offered, in order. */
  protocols: readonly string[];
}

/** A refused upgrade: the HTTP answer and what to log (never the token). */
export interface AuthRefusal {
  /** HTTP status (401). */
  status: number;
  /** Response body, one line. */
  body: string;
  /** Extra response headers. */
  headers: Record<string, string>;
  /** Why, for the log. */
  reason: string;
}

/** codex's default clock skew for JWTs, in s (measured: 29 s late accepted, 31 s refused). */
export const DEFAULT_MAX_CLOCK_SKEW_SECONDS = 30;

/** Equality of two strings in time that depends only on their lengths. */
function constantTimeEqual(a: string, b: string): boolean {
  const x = new TextEncoder().encode(a);
  const y = new TextEncoder().encode(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  }
  return diff === 0;
}

/** The token of an `Authorization: Bearer <token>` header (scheme case-insensitive), or null. */
export function bearerToken(header: string | null): string | null {
  const m = header === null ? null : /^bearer[ \t]+(\S.*)$/is.exec(header.trim());
  return m ? m[1]!.trim() : null;
}

function refusal(body: string, reason = body): AuthRefusal {
  return { status: 401, body, headers: {}, reason };
}

/**
 * Checks an upgrade's credentials. Resolves to null to let it through, or to
 * the refusal.
 *
 * @example
 * ```ts
 * import { authorize } from "./auth.ts";
 * import assert from "node:assert/strict";
 * const auth = { mode: "bearer", token: "s3cret-token-value" } as const;
 * const ok = await authorize(auth, { authorization: "Bearer s3cret-token-value", protocols: [] }, 0);
 * assert.equal(ok, null);
 * const no = await authorize(auth, { authorization: null, protocols: [] }, 0);
 * assert.equal(no?.status, 401);
 * ```
 */
export async function authorize(
  auth: WsAuth | null,
  credentials: Credentials,
  nowMs: number,
): Promise<AuthRefusal | null> {
  if (auth === null) return null;
  if (auth.mode === "bearer") return checkBearer(auth.token, credentials);
  const header = credentials.authorization;
  if (header === null) return refusal("missing websocket bearer token");
  const token = bearerToken(header);
  if (token === null) return refusal("invalid authorization header");
  if (auth.mode === "capability-token") {
    return constantTimeEqual(sha256Hex(token), auth.sha256.toLowerCase())
      ? null
      : refusal("invalid websocket bearer token");
  }
  const problem = await checkJwt(token, auth, nowMs);
  return problem === null ? null : refusal(problem);
}

function checkBearer(token: string, credentials: Credentials): AuthRefusal | null {
  const given = bearerToken(credentials.authorization) ??
    credentials.protocols.find((p) => p.startsWith("bearer."))?.slice(7) ?? null;
  if (given !== null && constantTimeEqual(given, token)) return null;
  return {
    status: 401,
    body: "unauthorized: a valid bearer token is required",
    headers: { "www-authenticate": "Bearer" },
    reason: "missing or wrong token",
  };
}

function decodeSegment(segment: string): Uint8Array | null {
  if (!/^[A-Za-z0-9_-]*$/.test(segment)) return null;
  try {
    return Uint8Array.fromBase64(segment, { alphabet: "base64url", lastChunkHandling: "loose" });
  } catch {
    return null;
  }
}

function decodeJson(segment: string): Record<string, unknown> | null {
  const bytes = decodeSegment(segment);
  if (bytes === null) return null;
  try {
    const value = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
    return typeof value === "object" && value !== null && !Array.isArray(value) ? value : null;
  } catch {
    return null;
  }
}

const keys = new Map<string, Promise<CryptoKey>>();

/** The HMAC key of a secret, imported once. */
function hmacKey(secret: string): Promise<CryptoKey> {
  let key = keys.get(secret);
  if (!key) {
    key = crypto.subtle.importKey(
      "raw",
      new TextEncoder().encode(secret),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["verify"],
    );
    if (keys.size > 16) keys.clear();
    keys.set(secret, key);
  }
  return key;
}

const isInteger = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v);

/** Why `token` is not a valid JWT for `auth` at `nowMs`, or null. */
async function checkJwt(
  token: string,
  auth: Extract<WsAuth, { mode: "signed-bearer-token" }>,
  nowMs: number,
): Promise<string | null> {
  const invalid = "invalid websocket jwt";
  const parts = token.split(".");
  if (parts.length !== 3) return invalid;
  const [head, body, sig] = parts as [string, string, string];
  const header = decodeJson(head);
  const signature = decodeSegment(sig);
  if (header === null || header.alg !== "HS256" || signature === null) return invalid;
  const signed = new TextEncoder().encode(`${head}.${body}`);
  const key = await hmacKey(auth.secret);
  if (!await crypto.subtle.verify("HMAC", key, signature as BufferSource, signed)) return invalid;
  const claims = decodeJson(body);
  if (claims === null) return invalid;
  const { exp, nbf, iss, aud } = claims;
  if (!isInteger(exp)) return invalid;
  if (nbf !== undefined && !isInteger(nbf)) return invalid;
  if (iss !== undefined && typeof iss !== "string") return invalid;
  const audiences = aud === undefined ? [] : typeof aud === "string" ? [aud] : aud;
  if (!Array.isArray(audiences) || !audiences.every((a) => typeof a === "string")) return invalid;
  const now = Math.floor(nowMs / 1000);
  const skew = auth.maxClockSkewSeconds ?? DEFAULT_MAX_CLOCK_SKEW_SECONDS;
  if (exp < now - skew) return "expired websocket jwt";
  if (nbf !== undefined && nbf > now + skew) return "websocket jwt is not valid yet";
  if (auth.issuer !== undefined && iss !== auth.issuer) return "websocket jwt issuer mismatch";
  if (auth.audience !== undefined && !audiences.includes(auth.audience)) {
    return "websocket jwt audience mismatch";
  }
  return null;
}
