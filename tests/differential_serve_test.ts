// Copyright 2026 the exec-server authors. MIT license.
/**
 * The differential suite for the command line: `serve` must take
 * `codex exec-server`'s flags with the same meaning and the same refusals,
 * so a unit file written for codex's server starts ours. Each row starts
 * both with the same flags, then compares whether they started and how they
 * answer WebSocket upgrades with and without bearer tokens (capability
 * tokens, HS256 JWTs).
 *
 * `EXEC_SERVER_DIFF_SELF=1` plays codex against itself.
 *
 * @module
 */
import assert from "node:assert/strict";
import { CODEX_BIN, codexBin } from "./_codex.ts";
import { ServerProcess } from "./_harness.ts";
import { signJwt } from "./_jwt.ts";

const SELF = Deno.env.get("EXEC_SERVER_DIFF_SELF") === "1";
const TOKEN = "capability-token-0123456789";
/** At least 32 bytes: codex refuses shorter secrets. */
const SECRET = "shared-secret-for-jwts-0123456789abcdef";

/** An HS256 JWT with `claims`, signed with `secret`. */
const jwt = (claims: Record<string, unknown>, secret = SECRET, alg = "HS256") =>
  signJwt(claims, secret, alg);

/** The `Authorization` headers each started server is probed with, by name. */
async function probes(): Promise<Record<string, string | null>> {
  const now = Math.floor(Date.now() / 1000);
  const good = { iss: "issuer", aud: "audience", exp: now + 600 };
  return {
    "no header": null,
    "the capability token": `Bearer ${TOKEN}`,
    "the token, lower-case scheme": `bearer ${TOKEN}`,
    "a wrong token": "Bearer wrong",
    "Basic scheme": `Basic ${TOKEN}`,
    "a valid JWT": `Bearer ${await jwt(good)}`,
    "a JWT without exp": `Bearer ${await jwt({ iss: "issuer", aud: "audience" })}`,
    "a JWT expired within the skew": `Bearer ${await jwt({ ...good, exp: now - 5 })}`,
    "a JWT expired beyond the skew": `Bearer ${await jwt({ ...good, exp: now - 3600 })}`,
    "a JWT from another issuer": `Bearer ${await jwt({ ...good, iss: "other" })}`,
    "a JWT for another audience": `Bearer ${await jwt({ ...good, aud: "other" })}`,
    "a JWT with a wrong signature": `Bearer ${await jwt(good, "wrong secret")}`,
    "a JWT with alg none": `Bearer ${await jwt(good, SECRET, "none")}`,
  };
}

/** Sends a WebSocket upgrade to `url` and returns the status line's code and the body. */
async function upgrade(url: string, authorization: string | null) {
  const { hostname, port } = new URL(url.replace(/^ws/, "http"));
  const host = hostname === "0.0.0.0" ? "127.0.0.1" : hostname;
  const conn = await Deno.connect({ hostname: host, port: Number(port) });
  try {
    const head = [
      "GET / HTTP/1.1",
      `Host: ${host}:${port}`,
      "Upgrade: websocket",
      "Connection: Upgrade",
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
      "Sec-WebSocket-Version: 13",
      ...(authorization === null ? [] : [`Authorization: ${authorization}`]),
      "",
      "",
    ].join("\r\n");
    await conn.write(new TextEncoder().encode(head));
    let text = "";
    const buf = new Uint8Array(4096);
    const deadline = Date.now() + 5000;
    const timer = setTimeout(() => conn.close(), 5000);
    try {
      for (;;) {
        const end = text.indexOf("\r\n\r\n");
        if (end >= 0) {
          const length = Number(/content-length:\s*(\d+)/i.exec(text.slice(0, end))?.[1] ?? 0);
          if (text.startsWith("HTTP/1.1 101") || text.length >= end + 4 + length) break;
        }
        const n = await conn.read(buf).catch(() => null);
        if (n === null || Date.now() > deadline) break;
        text += new TextDecoder().decode(buf.subarray(0, n));
      }
    } finally {
      clearTimeout(timer);
    }
    const status = Number(text.slice(9, 12));
    const body = status === 101 ? "" : text.slice(text.indexOf("\r\n\r\n") + 4).trim();
    return { status, body };
  } finally {
    try {
      conn.close();
    } catch {
      // closed by the deadline
    }
  }
}

/** Starts a server with `args`; returns it, or null when it refused to start. */
async function tryStart(side: "codex" | "ours", args: string[]): Promise<ServerProcess | null> {
  try {
    return side === "codex"
      ? await ServerProcess.spawn(codexBin(), ["exec-server", ...args], { timeoutMs: 10_000 })
      : await ServerProcess.start(args, { timeoutMs: 10_000 });
  } catch {
    return null;
  }
}

/** What one side did with one row: started or not, and each probe's answer. */
async function play(side: "codex" | "ours", args: string[], auth: Record<string, string | null>) {
  const server = await tryStart(side, args);
  if (!server) return { started: false };
  try {
    const answers: Record<string, unknown> = {};
    for (const [name, header] of Object.entries(auth)) {
      answers[name] = await upgrade(server.url, header);
    }
    return { started: true, answers };
  } finally {
    await server[Symbol.asyncDispose]();
  }
}

/** One row: a name and the flags (`$TOKEN_FILE`, `$SECRET_FILE`, `$SHA` substituted). */
interface Row {
  name: string;
  args: string[];
  /** Which probes to send (all by default). */
  probes?: string[];
  /** A deliberate difference this row shows (see `differential_differences.ts`). */
  differs?: string;
}

const LOOPBACK = ["--listen", "ws://127.0.0.1:0"];
const TOKEN_AUTH = ["--ws-auth", "capability-token", "--ws-token-file", "$TOKEN_FILE"];
const NO_AUTH_PROBES = ["no header", "a wrong token"];

const ROWS: Row[] = [
  { name: "no flags", args: [], probes: NO_AUTH_PROBES },
  { name: "--listen on loopback", args: LOOPBACK, probes: NO_AUTH_PROBES },
  {
    name: "refused: a token file without --ws-auth",
    args: [...LOOPBACK, "--ws-token-file", "$TOKEN_FILE"],
  },
  { name: "refused: --ws-issuer without --ws-auth", args: [...LOOPBACK, "--ws-issuer", "x"] },
  {
    name: "refused: capability-token without a token",
    args: [...LOOPBACK, "--ws-auth", "capability-token"],
  },
  {
    name: "refused: both a token file and a digest",
    args: [...LOOPBACK, ...TOKEN_AUTH, "--ws-token-sha256", "$SHA"],
  },
  {
    name: "refused: a shared secret shorter than 32 bytes",
    args: [
      ...LOOPBACK,
      "--ws-auth",
      "signed-bearer-token",
      "--ws-shared-secret-file",
      "$SHORT_SECRET",
    ],
  },
  {
    name: "refused: signed-bearer-token without a secret",
    args: [...LOOPBACK, "--ws-auth", "signed-bearer-token"],
  },
  { name: "refused: an unknown --ws-auth mode", args: [...LOOPBACK, "--ws-auth", "bogus"] },
  {
    name: "refused: a digest that is not hex",
    args: [...LOOPBACK, "--ws-auth", "capability-token", "--ws-token-sha256", "xyz"],
  },
  { name: "refused: a listen URL that is not ws://", args: ["--listen", "http://127.0.0.1:0"] },
  {
    name: "a non-loopback address without auth",
    args: ["--listen", "ws://0.0.0.0:0"],
    probes: NO_AUTH_PROBES,
    differs: "non-loopback-no-auth",
  },

  { name: "capability token from a file", args: [...LOOPBACK, ...TOKEN_AUTH] },
  {
    name: "capability token as a SHA-256 digest",
    args: [...LOOPBACK, "--ws-auth", "capability-token", "--ws-token-sha256", "$SHA"],
  },
  {
    name: "signed bearer tokens (HS256 JWT) with issuer, audience and skew",
    args: [
      ...LOOPBACK,
      "--ws-auth",
      "signed-bearer-token",
      "--ws-shared-secret-file",
      "$SECRET_FILE",
      "--ws-issuer",
      "issuer",
      "--ws-audience",
      "audience",
      "--ws-max-clock-skew-seconds",
      "30",
    ],
  },
  {
    name: "signed bearer tokens without issuer or audience",
    args: [
      ...LOOPBACK,
      "--ws-auth",
      "signed-bearer-token",
      "--ws-shared-secret-file",
      "$SECRET_FILE",
    ],
  },
  {
    name: "--concurrent-requests",
    args: [...LOOPBACK, "--concurrent-requests", "4"],
    probes: NO_AUTH_PROBES,
  },
  { name: "refused: --concurrent-requests 0", args: [...LOOPBACK, "--concurrent-requests", "0"] },
  {
    name: "a non-loopback address with a token",
    args: ["--listen", "ws://0.0.0.0:0", ...TOKEN_AUTH],
    probes: ["no header", "the capability token"],
  },
];

Deno.test({
  name: "differential: serve takes codex exec-server's flags with the same meaning",
  ignore: !CODEX_BIN,
  async fn(t) {
    const dir = await Deno.makeTempDir({ prefix: "diff-serve-" });
    try {
      await Deno.writeTextFile(`${dir}/token`, `${TOKEN}\n`);
      await Deno.writeTextFile(`${dir}/secret`, `${SECRET}\n`);
      await Deno.writeTextFile(`${dir}/short`, "only-31-bytes-of-shared-secret!\n");
      const digest = new Uint8Array(
        await crypto.subtle.digest("SHA-256", new TextEncoder().encode(TOKEN)),
      );
      const vars: Record<string, string> = {
        $TOKEN_FILE: `${dir}/token`,
        $SECRET_FILE: `${dir}/secret`,
        $SHORT_SECRET: `${dir}/short`,
        $SHA: digest.toHex(),
      };
      const all = await probes();
      for (const row of ROWS) {
        await t.step(row.name, async () => {
          const args = row.args.map((a) => vars[a] ?? a);
          const auth = Object.fromEntries(
            Object.entries(all).filter(([name]) => !row.probes || row.probes.includes(name)),
          );
          const codex = await play("codex", args, auth);
          const ours = await play(SELF ? "codex" : "ours", args, auth);
          if (row.differs && !SELF) {
            assert.notDeepEqual(ours, codex, `marked differs: ${row.differs}, but both agree`);
          } else {
            assert.deepEqual(ours, codex);
          }
        });
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
