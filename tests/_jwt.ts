// Copyright 2026 the exec-server authors. MIT license.
// JWTs for the --ws-auth signed-bearer-token tests (ours and codex's server).

/** A base64url string (no padding) of bytes or text. */
function b64url(data: Uint8Array | string): string {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  return bytes.toBase64({ alphabet: "base64url", omitPadding: true });
}

/**
 * A JWT of `claims` signed with HMAC-SHA-256 under `secret`; `alg` is only
 * what the header claims (e.g. "none", to see it refused).
 */
export async function signJwt(claims: unknown, secret: string, alg = "HS256"): Promise<string> {
  const input = `${b64url(JSON.stringify({ alg, typ: "JWT" }))}.${b64url(JSON.stringify(claims))}`;
  const key = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const mac = await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(input));
  return `${input}.${b64url(new Uint8Array(mac))}`;
}
