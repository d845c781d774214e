// Copyright 2026 the exec-server authors. MIT license.
// codex 0.171's --ws-auth modes: a capability token (its SHA-256) and HS256
// JWTs with a required exp, nbf, issuer, audience and clock skew; the 401
// texts and the order of checks are codex's (measured against its server).
// Unit checks with an injected clock, then over a real socket.
import assert from "node:assert/strict";
import { authorize, type WsAuth } from "../lib/server/auth.ts";
import { sha256Hex } from "../lib/util/sha256.ts";
import { ServerProcess } from "./_harness.ts";
import { RawSocket } from "./_wire.ts";

const SECRET = "0123456789abcdef0123456789abcdef-shared";
const NOW_MS = 1_800_000_000_000;
const NOW = NOW_MS / 1000;

const b64u = (bytes: Uint8Array) => bytes.toBase64({ alphabet: "base64url", omitPadding: true });
const part = (value: unknown) => b64u(new TextEncoder().encode(JSON.stringify(value)));

/** A JWT signed with HMAC (`hash`, SHA-256 by default) over `header.payload`. */
async function jwt(
  payload: unknown,
  { secret = SECRET, header = { alg: "HS256", typ: "JWT" } as unknown, hash = "SHA-256" } = {},
): Promise<string> {
  const key = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(secret),
    { name: "HMAC", hash },
    false,
    ["sign"],
  );
  const input = `${part(header)}.${part(payload)}`;
  const sig = await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(input));
  return `${input}.${b64u(new Uint8Array(sig))}`;
}

async function check(auth: WsAuth, authorization: string | null, nowMs = NOW_MS) {
  const refused = await authorize(auth, { authorization, protocols: [] }, nowMs);
  return refused === null ? "ok" : `${refused.status} ${refused.body}`;
}

const JWT_AUTH: WsAuth = { mode: "signed-bearer-token", secret: SECRET, maxClockSkewSeconds: 30 };

Deno.test("signed-bearer-token: a valid HS256 JWT passes; exp is required", async () => {
  assert.equal(await check(JWT_AUTH, `Bearer ${await jwt({ exp: NOW + 60 })}`), "ok");
  assert.equal(await check(JWT_AUTH, `bearer ${await jwt({ exp: NOW })}`), "ok", "exp == now");
  assert.equal(
    await check(JWT_AUTH, `Bearer ${await jwt({ sub: "x" })}`),
    "401 invalid websocket jwt",
  );
  for (const exp of [String(NOW + 60), NOW + 60.5, 1e20, null]) {
    assert.equal(
      await check(JWT_AUTH, `Bearer ${await jwt({ exp })}`),
      "401 invalid websocket jwt",
      `exp ${exp}`,
    );
  }
});

Deno.test("signed-bearer-token: expired within the skew passes, beyond it is refused", async () => {
  assert.equal(await check(JWT_AUTH, `Bearer ${await jwt({ exp: NOW - 29 })}`), "ok");
  assert.equal(await check(JWT_AUTH, `Bearer ${await jwt({ exp: NOW - 30 })}`), "ok");
  assert.equal(
    await check(JWT_AUTH, `Bearer ${await jwt({ exp: NOW - 31 })}`),
    "401 expired websocket jwt",
  );
  const strict: WsAuth = { ...JWT_AUTH, maxClockSkewSeconds: 0 };
  assert.equal(
    await check(strict, `Bearer ${await jwt({ exp: NOW - 1 })}`),
    "401 expired websocket jwt",
  );
  const lax: WsAuth = { mode: "signed-bearer-token", secret: SECRET };
  assert.equal(await check(lax, `Bearer ${await jwt({ exp: NOW - 30 })}`), "ok", "default 30 s");
  assert.equal(
    await check(lax, `Bearer ${await jwt({ exp: NOW - 31 })}`),
    "401 expired websocket jwt",
  );
  assert.equal(
    await check(JWT_AUTH, `Bearer ${await jwt({ exp: NOW + 600, nbf: NOW + 31 })}`),
    "401 websocket jwt is not valid yet",
  );
  assert.equal(
    await check(JWT_AUTH, `Bearer ${await jwt({ exp: NOW + 600, nbf: NOW + 29 })}`),
    "ok",
  );
});

Deno.test("signed-bearer-token: a bad signature, another algorithm or a malformed token is invalid", async () => {
  const invalid = "401 invalid websocket jwt";
  const other = await jwt({ exp: NOW + 60 }, {
    secret: "another-secret-another-secret-0123456789",
  });
  assert.equal(await check(JWT_AUTH, `Bearer ${other}`), invalid);
  const hs512 = await jwt({ exp: NOW + 60 }, { header: { alg: "HS512" }, hash: "SHA-512" });
  assert.equal(await check(JWT_AUTH, `Bearer ${hs512}`), invalid);
  const none = `${part({ alg: "none" })}.${part({ exp: NOW + 60 })}.`;
  assert.equal(await check(JWT_AUTH, `Bearer ${none}`), invalid);
  const good = await jwt({ exp: NOW + 60 });
  const [h, p, s] = good.split(".");
  const tampered = `${h}.${part({ exp: NOW + 6000 })}.${s}`;
  assert.equal(await check(JWT_AUTH, `Bearer ${tampered}`), invalid);
  for (const token of ["abc", "a.b", `${good}.x`, `${good}=`, `${h}.${p}.${s}!`]) {
    assert.equal(await check(JWT_AUTH, `Bearer ${token}`), invalid, token);
  }
  // The signature is checked before the claims: an expired token with a bad signature is invalid.
  const expiredOther = await jwt({ exp: NOW - 100 }, {
    secret: "another-secret-another-secret-0123456789",
  });
  assert.equal(await check(JWT_AUTH, `Bearer ${expiredOther}`), invalid);
});

Deno.test("signed-bearer-token: issuer and audience, in codex's order", async () => {
  const auth: WsAuth = { ...JWT_AUTH, issuer: "me", audience: "you", maxClockSkewSeconds: 0 };
  const t = (claims: Record<string, unknown>) => jwt({ exp: NOW + 60, ...claims });
  assert.equal(await check(auth, `Bearer ${await t({ iss: "me", aud: "you" })}`), "ok");
  assert.equal(await check(auth, `Bearer ${await t({ iss: "me", aud: ["x", "you"] })}`), "ok");
  const iss = "401 websocket jwt issuer mismatch";
  const aud = "401 websocket jwt audience mismatch";
  assert.equal(await check(auth, `Bearer ${await t({ iss: "other", aud: "you" })}`), iss);
  assert.equal(await check(auth, `Bearer ${await t({ aud: "you" })}`), iss, "no iss");
  assert.equal(await check(auth, `Bearer ${await t({ iss: "me", aud: "other" })}`), aud);
  assert.equal(await check(auth, `Bearer ${await t({ iss: "me" })}`), aud, "no aud");
  assert.equal(await check(auth, `Bearer ${await t({ iss: "x", aud: "y" })}`), iss, "iss first");
  assert.equal(
    await check(auth, `Bearer ${await jwt({ exp: NOW - 100, iss: "x", aud: "you" })}`),
    "401 expired websocket jwt",
    "expiry before the issuer",
  );
  assert.equal(
    await check(auth, `Bearer ${await t({ iss: 5, aud: "you" })}`),
    "401 invalid websocket jwt",
  );
  // Without a configured issuer or audience, the claims are not checked.
  assert.equal(await check(JWT_AUTH, `Bearer ${await t({ iss: "x", aud: "y" })}`), "ok");
});

Deno.test("capability-token: the SHA-256 of the bearer token must match", async () => {
  const token = "tok-0123456789abcdef";
  const auth: WsAuth = { mode: "capability-token", sha256: sha256Hex(token).toUpperCase() };
  assert.equal(await check(auth, `Bearer ${token}`), "ok");
  assert.equal(await check(auth, `BEARER  ${token} `), "ok");
  assert.equal(
    await check(auth, "Bearer tok-0123456789abcde"),
    "401 invalid websocket bearer token",
  );
  assert.equal(await check(auth, null), "401 missing websocket bearer token");
  assert.equal(await check(auth, "Basic dG9rOg=="), "401 invalid authorization header");
  assert.equal(await check(auth, "Bearer"), "401 invalid authorization header");
  assert.equal(await check(JWT_AUTH, null), "401 missing websocket bearer token");
  const refused = await authorize(auth, { authorization: null, protocols: [`bearer.${token}`] }, 0);
  assert.equal(refused?.body, "missing websocket bearer token", "no subprotocol token, as codex");
});

/** The status and body of an upgrade with `headers`. */
async function upgrade(url: string, headers: Record<string, string>) {
  await using raw = await RawSocket.connect(url, { headers });
  return `${raw.handshake.status} ${raw.handshake.body.trim()}`.trim();
}

Deno.test("over a real socket: serve --ws-auth signed-bearer-token", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/secret`, `${SECRET}\n`, { mode: 0o600 });
    await using server = await ServerProcess.start([
      "--ws-auth",
      "signed-bearer-token",
      "--ws-shared-secret-file",
      `${dir}/secret`,
      "--ws-issuer",
      "me",
      "--ws-audience",
      "you",
      "--ws-max-clock-skew-seconds",
      "5",
    ]);
    const now = Math.floor(Date.now() / 1000);
    const bearer = async (claims: Record<string, unknown>, secret = SECRET) => ({
      authorization: `Bearer ${await jwt(claims, { secret })}`,
    });
    const good = { iss: "me", aud: "you" };
    assert.equal(await upgrade(server.url, await bearer({ ...good, exp: now + 60 })), "101");
    assert.equal(await upgrade(server.url, await bearer({ ...good, exp: now - 2 })), "101");
    assert.equal(
      await upgrade(server.url, await bearer({ ...good, exp: now - 60 })),
      "401 expired websocket jwt",
    );
    assert.equal(await upgrade(server.url, await bearer(good)), "401 invalid websocket jwt");
    assert.equal(
      await upgrade(server.url, await bearer({ ...good, iss: "x", exp: now + 60 })),
      "401 websocket jwt issuer mismatch",
    );
    assert.equal(
      await upgrade(server.url, await bearer({ ...good, aud: "x", exp: now + 60 })),
      "401 websocket jwt audience mismatch",
    );
    assert.equal(
      await upgrade(
        server.url,
        await bearer({ ...good, exp: now + 60 }, "another-secret-another-secret-0123456789"),
      ),
      "401 invalid websocket jwt",
    );
    assert.equal(await upgrade(server.url, {}), "401 missing websocket bearer token");
    const ready = await fetch(`${server.httpUrl}/readyz`);
    assert.equal(ready.status, 200, "/readyz stays open");
    await ready.body?.cancel();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("over a real socket: serve --ws-auth capability-token with a file or a digest", async () => {
  const dir = await Deno.makeTempDir();
  const token = "tok-0123456789abcdef-0123456789";
  try {
    await Deno.writeTextFile(`${dir}/token`, `  ${token}\n`, { mode: 0o600 });
    for (
      const flags of [
        ["--ws-token-file", `${dir}/token`],
        ["--ws-token-sha256", sha256Hex(token)],
      ]
    ) {
      await using server = await ServerProcess.start(["--ws-auth", "capability-token", ...flags]);
      assert.equal(await upgrade(server.url, { authorization: `Bearer ${token}` }), "101");
      assert.equal(
        await upgrade(server.url, { authorization: "Bearer nope" }),
        "401 invalid websocket bearer token",
      );
      assert.equal(await upgrade(server.url, {}), "401 missing websocket bearer token");
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
