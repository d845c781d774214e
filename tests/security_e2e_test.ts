// Copyright 2026 the exec-server authors. MIT license.
// Access control over real sockets: Origin checks, bearer tokens (header and
// subprotocol), the refusal of an unauthenticated public bind, wss:// with a
// CA generated here, and a scan of the server's logs for planted secrets.
import assert from "node:assert/strict";
import { makeTestPki } from "./_pki.ts";
import { ServerProcess, TestClient } from "./_harness.ts";
import { RawSocket } from "./_wire.ts";

const ROOT = new URL("..", import.meta.url).pathname;

/** Runs `main.ts serve ARGS` to completion (for refusals); kills it after 10 s. */
async function serveOutcome(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${ROOT}main.ts`, "serve", ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", ...env },
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
  const out = await child.output();
  clearTimeout(timer);
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
}

/** The status of a bare upgrade request with these headers. */
async function upgradeStatus(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string; headers: Map<string, string> }> {
  await using raw = await RawSocket.connect(url, { headers });
  return raw.handshake;
}

/** Starts a process and returns its stdout once it has closed. */
async function run(c: TestClient, id: string, argv: string[], extra = {}): Promise<string> {
  await c.start(id, argv, extra);
  await c.untilClosed(id);
  return new TextDecoder().decode(c.outputOf(id, "stdout"));
}

Deno.test("origins: 403 before the upgrade unless listed with --allow-origin", async (t) => {
  await using server = await ServerProcess.start([
    "--allow-origin",
    "https://ok.example",
    "--allow-origin",
    "null",
  ]);
  const page = server.httpUrl; // the server's own origin is not special

  await t.step("no Origin header (not a browser): upgraded", async () => {
    assert.equal((await upgradeStatus(server.url)).status, 101);
    await using c = await TestClient.connect(server.url);
    assert.equal(await run(c, "p", ["echo", "hi"]), "hi\n");
  });

  await t.step("an unlisted origin gets 403 with a reason", async () => {
    for (const origin of ["https://evil.example", page, "https://ok.example.evil", ""]) {
      const r = await upgradeStatus(server.url, { Origin: origin });
      assert.equal(r.status, 403, `origin ${JSON.stringify(origin)}`);
      assert.match(r.body, /forbidden: this origin may not connect/);
    }
  });

  await t.step("matching is exact: case, trailing slash and port all count", async () => {
    for (const origin of ["HTTPS://OK.EXAMPLE", "https://ok.example/", "https://ok.example:443"]) {
      assert.equal((await upgradeStatus(server.url, { Origin: origin })).status, 403, origin);
    }
  });

  await t.step("a listed origin is upgraded and works", async () => {
    assert.equal((await upgradeStatus(server.url, { Origin: "https://ok.example" })).status, 101);
    assert.equal((await upgradeStatus(server.url, { Origin: "null" })).status, 101);
    await using c = await TestClient.connect(server.url, {
      headers: { Origin: "https://ok.example" },
    });
    assert.equal(await run(c, "p", ["echo", "ok"]), "ok\n");
  });

  await t.step("/readyz stays open to any origin", async () => {
    const r = await fetch(`${server.httpUrl}/readyz`, {
      headers: { Origin: "https://evil.example" },
    });
    assert.equal(r.status, 200);
    await r.body?.cancel();
  });
});

Deno.test("without --allow-origin every Origin is refused, even the server's own", async () => {
  await using server = await ServerProcess.start([]);
  for (const origin of [server.httpUrl, "http://localhost", "null"]) {
    assert.equal((await upgradeStatus(server.url, { Origin: origin })).status, 403, origin);
  }
  assert.equal((await upgradeStatus(server.url)).status, 101);
});

Deno.test("a malformed upgrade request gets 400 and the server carries on", async () => {
  await using server = await ServerProcess.start([]);
  const r = await upgradeStatus(server.url, { Connection: "keep-alive" });
  assert.equal(r.status, 400);
  assert.equal(r.body, "bad request: invalid WebSocket handshake\n");
  await using c = await TestClient.connect(server.url);
  assert.deepEqual(await c.request("process/list"), { processes: [] });
});

Deno.test("tokens: 401 before the upgrade when missing or wrong", async (t) => {
  const dir = await Deno.makeTempDir();
  const token = crypto.getRandomValues(new Uint8Array(24)).toHex();
  const tokenFile = `${dir}/token`;
  await Deno.writeTextFile(tokenFile, `${token}\n`, { mode: 0o600 });
  await using server = await ServerProcess.start([
    "--token-file",
    tokenFile,
    "--allow-origin",
    "https://ok.example",
  ]);

  await t.step("no token: 401 with WWW-Authenticate: Bearer", async () => {
    const r = await upgradeStatus(server.url);
    assert.equal(r.status, 401);
    assert.equal(r.headers.get("www-authenticate"), "Bearer");
    assert.match(r.body, /unauthorized: a valid bearer token is required/);
    await assert.rejects(TestClient.connect(server.url));
  });

  await t.step("wrong tokens in the header: 401", async () => {
    const wrong = [
      "nope",
      token.slice(0, -1),
      `${token}x`,
      token.toUpperCase(),
      `x${token.slice(1)}`,
    ];
    for (const w of wrong) {
      const r = await upgradeStatus(server.url, { Authorization: `Bearer ${w}` });
      assert.equal(r.status, 401, w);
    }
    for (const header of [token, `Basic ${token}`, `Bearer`, `Token ${token}`]) {
      const r = await upgradeStatus(server.url, { Authorization: header });
      assert.equal(r.status, 401, header);
    }
  });

  await t.step("the right token in the header: upgraded and usable", async () => {
    for (const header of [`Bearer ${token}`, `bearer ${token}`, `Bearer   ${token}`]) {
      assert.equal((await upgradeStatus(server.url, { Authorization: header })).status, 101);
    }
    await using c = await TestClient.connect(server.url, {
      headers: { Authorization: `Bearer ${token}` },
    });
    assert.equal(await run(c, "p", ["echo", "in"]), "in\n");
  });

  await t.step("subprotocol bearer.<token>, as browsers send it", async () => {
    const wrong = await upgradeStatus(server.url, {
      "Sec-WebSocket-Protocol": `bearer.${token.slice(1)}`,
    });
    assert.equal(wrong.status, 401);
    const right = await upgradeStatus(server.url, {
      "Sec-WebSocket-Protocol": `exec-server, bearer.${token}`,
    });
    assert.equal(right.status, 101);
    assert.equal(right.headers.get("sec-websocket-protocol"), "exec-server");
    // A browser offering only the token gets it echoed, or it would fail the handshake.
    await using c = await TestClient.connect(server.url, {
      protocols: [`bearer.${token}`],
      headers: { Origin: "https://ok.example" },
    });
    assert.equal(await run(c, "p", ["echo", "sub"]), "sub\n");
  });

  await t.step("a right token does not excuse a wrong origin", async () => {
    const r = await upgradeStatus(server.url, {
      Authorization: `Bearer ${token}`,
      Origin: "https://evil.example",
    });
    assert.equal(r.status, 403);
  });

  await t.step("a wrong header is not rescued by a right subprotocol", async () => {
    const r = await upgradeStatus(server.url, {
      Authorization: "Bearer wrong",
      "Sec-WebSocket-Protocol": `bearer.${token}`,
    });
    assert.equal(r.status, 401);
  });

  await t.step("/readyz needs no token", async () => {
    const r = await fetch(`${server.httpUrl}/readyz`);
    assert.equal(r.status, 200);
    assert.equal(await r.text(), "ok\n");
  });
  await Deno.remove(dir, { recursive: true });
});

Deno.test("EXEC_SERVER_TOKEN works and is not passed on to children", async () => {
  const token = crypto.getRandomValues(new Uint8Array(24)).toHex();
  await using server = await ServerProcess.start([], { env: { EXEC_SERVER_TOKEN: token } });
  assert.equal((await upgradeStatus(server.url)).status, 401);
  assert.equal(
    (await upgradeStatus(server.url, { Authorization: `Bearer ${token}x` })).status,
    401,
  );
  await using c = await TestClient.connect(server.url, {
    headers: { Authorization: `Bearer ${token}` },
  });
  const env = await run(c, "env", ["env"], {
    env: {},
    envPolicy: {
      inherit: "all",
      ignoreDefaultExcludes: true,
      exclude: [],
      set: {},
      includeOnly: [],
    },
  });
  assert.match(env, /^PATH=/m, "the child inherited the server's environment");
  assert.doesNotMatch(env, /EXEC_SERVER_TOKEN/);
  assert.ok(!env.includes(token));
});

Deno.test("a non-loopback --listen needs a token or --insecure-no-auth", async (t) => {
  await t.step("refused without a token, saying why", async () => {
    for (const listen of ["ws://0.0.0.0:0", "ws://[::]:0"]) {
      const r = await serveOutcome(["--listen", listen]);
      assert.equal(r.code, 2, listen);
      assert.equal(r.stdout, "");
      assert.match(r.stderr, /refusing to listen on non-loopback address .* without a token/);
      assert.match(r.stderr, /--token-file or EXEC_SERVER_TOKEN/);
      assert.match(r.stderr, /--insecure-no-auth/);
    }
  });

  await t.step("--insecure-no-auth starts it, with a warning on stderr", async () => {
    const server = await ServerProcess.start(["--listen", "ws://0.0.0.0:0", "--insecure-no-auth"]);
    assert.match(server.url, /^ws:\/\/0\.0\.0\.0:\d+$/);
    const stderr = await server.stderr();
    assert.match(stderr, /WARNING: listening on 0\.0\.0\.0 without a token \(--insecure-no-auth\)/);
  });

  await t.step("a token lets it start without a warning", async () => {
    const token = crypto.getRandomValues(new Uint8Array(24)).toHex();
    const server = await ServerProcess.start(["--listen", "ws://0.0.0.0:0"], {
      env: { EXEC_SERVER_TOKEN: token },
    });
    assert.match(server.url, /^ws:\/\/0\.0\.0\.0:\d+$/);
    const port = new URL(server.httpUrl).port;
    assert.equal((await upgradeStatus(`ws://127.0.0.1:${port}`)).status, 401);
    assert.doesNotMatch(await server.stderr(), /WARNING/);
  });

  await t.step("loopback needs no token", async () => {
    for (const listen of ["ws://127.0.0.1:0", "ws://[::1]:0"]) {
      const server = await ServerProcess.start(["--listen", listen]).catch((err) => {
        // A machine without IPv6 cannot bind ::1; that is not what is tested here.
        if (
          listen.includes("::1") && /Cannot assign|not available|EADDRNOTAVAIL/i.test(String(err))
        ) {
          return null;
        }
        throw err;
      });
      if (server) await server.stderr();
    }
  });

  await t.step("an empty or unreadable token file is a usage error", async () => {
    const dir = await Deno.makeTempDir();
    await Deno.writeTextFile(`${dir}/empty`, "\n");
    const empty = await serveOutcome(["--token-file", `${dir}/empty`]);
    assert.equal(empty.code, 2);
    assert.match(empty.stderr, /is empty/);
    const missing = await serveOutcome(["--token-file", `${dir}/missing`]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /cannot read --token-file/);
    await Deno.remove(dir, { recursive: true });
  });

  await t.step("a token file others can read, or a short token, draws a warning", async () => {
    const dir = await Deno.makeTempDir();
    await Deno.writeTextFile(`${dir}/token`, "short\n", { mode: 0o644 });
    await Deno.chmod(`${dir}/token`, 0o644);
    const server = await ServerProcess.start(["--token-file", `${dir}/token`]);
    const stderr = await server.stderr();
    assert.match(stderr, /can be read by other users \(mode 644\); run chmod 600/);
    assert.match(stderr, /shorter than 16 characters/);
    assert.ok(!stderr.includes("short\n"));
    await Deno.remove(dir, { recursive: true });
  });
});

Deno.test("TLS: wss:// with a CA and a leaf certificate generated by the test", async (t) => {
  const dir = await Deno.makeTempDir();
  const pki = await makeTestPki(dir);
  const caPem = await Deno.readTextFile(pki.ca);
  const token = crypto.getRandomValues(new Uint8Array(24)).toHex();
  await using server = await ServerProcess.start(
    ["--tls-cert", pki.cert, "--tls-key", pki.key],
    { env: { EXEC_SERVER_TOKEN: token } },
  );
  using client = Deno.createHttpClient({ caCerts: [caPem] });

  await t.step("serves wss:// and https:// /readyz", async () => {
    assert.match(server.url, /^wss:\/\/127\.0\.0\.1:\d+$/);
    const r = await fetch(`${server.httpUrl}/readyz`, { client });
    assert.equal(r.status, 200);
    await r.body?.cancel();
  });

  await t.step("a client trusting the CA runs a command over wss://", async () => {
    await using c = await TestClient.connect(server.url, {
      client,
      headers: { Authorization: `Bearer ${token}` },
    });
    assert.equal(await run(c, "p", ["echo", "over tls"]), "over tls\n");
  });

  await t.step("tokens are still checked over TLS", async () => {
    await using raw = await RawSocket.connect(server.url, { caCerts: [caPem] });
    assert.equal(raw.handshake.status, 401);
  });

  await t.step("a client that does not trust the CA cannot connect", async () => {
    await assert.rejects(
      TestClient.connect(server.url, { headers: { Authorization: `Bearer ${token}` } }),
    );
  });

  await t.step("plain ws:// to the TLS port gets nowhere", async () => {
    const port = new URL(server.httpUrl).port;
    await assert.rejects(
      TestClient.connect(`ws://127.0.0.1:${port}`, {
        headers: { Authorization: `Bearer ${token}` },
      }),
    );
  });

  await t.step("--listen wss:// is accepted with TLS files and refused without", async () => {
    const wss = await ServerProcess.start([
      "--listen",
      "wss://127.0.0.1:0",
      "--tls-cert",
      pki.cert,
      "--tls-key",
      pki.key,
    ]);
    assert.match(wss.url, /^wss:\/\/127\.0\.0\.1:\d+$/);
    await wss.stderr();
    const bare = await serveOutcome(["--listen", "wss://127.0.0.1:0"]);
    assert.equal(bare.code, 2);
    assert.match(bare.stderr, /needs --tls-cert and --tls-key/);
  });

  await t.step("a key that does not match the certificate fails to start, cleanly", async () => {
    const r = await serveOutcome(["--tls-cert", pki.cert, "--tls-key", `${dir}/ca.key`]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^exec-server: cannot start the server on \S+: /m);
    assert.doesNotMatch(r.stderr, /BEGIN|PRIVATE KEY/);
  });
  await Deno.remove(dir, { recursive: true });
});

Deno.test("logs never contain tokens, environment values or file contents", async () => {
  const planted = (name: string) =>
    `planted-${name}-${crypto.getRandomValues(new Uint8Array(12)).toHex()}`;
  const token = planted("token");
  const wrongToken = planted("wrong-token");
  const wrongSub = planted("wrong-subprotocol");
  const envSecret = planted("env");
  const fileSecret = planted("file");
  const argSecret = planted("output");
  const dir = await Deno.makeTempDir();
  const server = await ServerProcess.start(
    ["--log-level", "debug", "--max-message-bytes", "65536"],
    {
      env: { EXEC_SERVER_TOKEN: token },
    },
  );
  try {
    assert.equal(
      (await upgradeStatus(server.url, { Authorization: `Bearer ${wrongToken}` })).status,
      401,
    );
    assert.equal(
      (await upgradeStatus(server.url, { "Sec-WebSocket-Protocol": `bearer.${wrongSub}` })).status,
      401,
    );
    await using c = await TestClient.connect(server.url, {
      headers: { Authorization: `Bearer ${token}` },
    });
    const out = await run(c, "env", ["sh", "-c", 'printf "%s\\n" "$PLANTED"; echo "$0" >&2'], {
      env: { PLANTED: envSecret, PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin" },
      arg0: argSecret,
    });
    assert.equal(out, `${envSecret}\n`);
    const path = `${dir}/secret.txt`;
    await c.request("fs/writeFile", {
      path,
      dataBase64: new TextEncoder().encode(fileSecret).toBase64(),
    });
    const back = await c.request("fs/readFile", { path });
    assert.equal(new TextDecoder().decode(Uint8Array.fromBase64(back.dataBase64)), fileSecret);
    // Failures too: a bad request and a failed spawn echo their inputs to the client only.
    const bad = await c.call("process/start", {
      processId: "bad",
      argv: [`/nonexistent/${envSecret}`],
      cwd: "/tmp",
      env: { PLANTED: envSecret },
      tty: false,
    });
    assert.ok(bad.error);
    const badParams = await c.call("process/signal", { processId: "x", signal: fileSecret });
    assert.equal(badParams.error.code, -32602);
    await c.request("fs/readFile", { path: `${dir}/${fileSecret}` }).catch(() => {});
    c.sendRaw(`{"id": "${fileSecret}", "method": `);
    c.sendRaw(JSON.stringify({ id: 99, method: `process/${envSecret}` }));
    await c.waitUntil(() => c.stray.find((m) => m.id === 99), 5000, "reply 99");
    c.sendRaw(JSON.stringify({ method: "unknown/notification", params: { secret: envSecret } }));
    await c.closed;
  } finally {
    const stderr = await server.stderr();
    await Deno.remove(dir, { recursive: true });
    assert.match(stderr, /DEBUG .*started process env/, "debug logging was on");
    assert.match(stderr, /missing or wrong token/);
    for (const secret of [token, wrongToken, wrongSub, envSecret, fileSecret, argSecret]) {
      const name = secret.split("-").slice(1, -1).join("-");
      assert.ok(!stderr.includes(secret), `the ${name} secret appears in the log:\n${stderr}`);
    }
  }
});
