// Copyright 2026 the exec-server authors. MIT license.
// `serve` takes codex exec-server's command line: --listen, --ws-auth and its
// files and claims, --concurrent-requests, with codex 0.171's refusals (its
// wording, measured), so a unit file written for codex's server starts ours.
import assert from "node:assert/strict";
import { parseServeArgs } from "../lib/cli/serve.ts";
import { sha256Hex } from "../lib/util/sha256.ts";
import { runCli } from "./_cli.ts";
import { ServerProcess, TestClient } from "./_harness.ts";
import { RawSocket } from "./_wire.ts";
import { signJwt } from "./_jwt.ts";

async function withFiles<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/token`, "tok-0123456789abcdef\n", { mode: 0o600 });
    await Deno.writeTextFile(`${dir}/secret`, "0123456789abcdef0123456789abcdef!\n", {
      mode: 0o600,
    });
    await Deno.writeTextFile(`${dir}/short`, "too-short-secret\n", { mode: 0o600 });
    await Deno.writeTextFile(`${dir}/empty`, " \n", { mode: 0o600 });
    return await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function refusal(args: string[], cwd = "/"): Promise<string> {
  try {
    await parseServeArgs(args, {}, cwd);
  } catch (err) {
    assert.equal((err as Error).name, "UsageError");
    return (err as Error).message;
  }
  throw new Error(`serve ${args.join(" ")} was accepted`);
}

async function optionsOf(args: string[], env: Record<string, string> = {}, cwd = "/") {
  const parsed = await parseServeArgs(args, env, cwd);
  assert.equal(parsed.help, false);
  return (parsed as Extract<typeof parsed, { help: false }>).options;
}

Deno.test("serve refuses --ws-* flags as codex does, in its words", async () => {
  await withFiles(async (d) => {
    const needMode =
      "websocket auth flags require `--ws-auth capability-token` or `--ws-auth signed-bearer-token`";
    for (
      const flags of [
        ["--ws-token-file", `${d}/token`],
        ["--ws-token-sha256", "abc"],
        ["--ws-shared-secret-file", `${d}/secret`],
        ["--ws-issuer", "me"],
        ["--ws-audience", "you"],
        ["--ws-max-clock-skew-seconds", "5"],
      ]
    ) {
      assert.equal(await refusal(flags), needMode, flags[0]);
    }
    const cap = ["--ws-auth", "capability-token"];
    assert.equal(
      await refusal(cap),
      "`--ws-token-file` or `--ws-token-sha256` is required when `--ws-auth capability-token` is set",
    );
    assert.equal(
      await refusal([...cap, "--ws-token-file", `${d}/token`, "--ws-token-sha256", "a".repeat(64)]),
      "`--ws-token-file` and `--ws-token-sha256` are mutually exclusive",
    );
    for (const digest of ["nothex", "abcd", "g".repeat(64)]) {
      assert.equal(
        await refusal([...cap, "--ws-token-sha256", digest]),
        "--ws-token-sha256 must be a 64-character hex SHA-256 digest",
      );
    }
    assert.equal(
      await refusal([...cap, "--ws-token-file", `${d}/token`, "--ws-issuer", "me"]),
      "`--ws-shared-secret-file`, `--ws-issuer`, `--ws-audience`, and " +
        "`--ws-max-clock-skew-seconds` require `--ws-auth signed-bearer-token`",
    );
    assert.match(
      await refusal([...cap, "--ws-token-file", `${d}/missing`]),
      new RegExp(`^failed to read websocket auth secret ${d}/missing: No such file or directory`),
    );
    assert.equal(
      await refusal([...cap, "--ws-token-file", `${d}/empty`]),
      `websocket auth secret ${d}/empty must not be empty`,
    );
    const jwt = ["--ws-auth", "signed-bearer-token"];
    assert.equal(
      await refusal(jwt),
      "`--ws-shared-secret-file` is required when `--ws-auth signed-bearer-token` is set",
    );
    assert.equal(
      await refusal([...jwt, "--ws-shared-secret-file", `${d}/secret`, "--ws-token-file", "x"]),
      "`--ws-token-file` and `--ws-token-sha256` require `--ws-auth capability-token`, not " +
        "`signed-bearer-token`",
    );
    assert.equal(
      await refusal([...jwt, "--ws-shared-secret-file", "short"], d),
      `signed websocket bearer secret ${d}/short must be at least 32 bytes`,
      "a relative path is taken from the cwd and named absolute",
    );
    for (const skew of ["-1", "1.5", "soon"]) {
      assert.match(
        await refusal([
          ...jwt,
          "--ws-shared-secret-file",
          `${d}/secret`,
          `--ws-max-clock-skew-seconds=${skew}`,
        ]),
        /^--ws-max-clock-skew-seconds must be a whole number/,
      );
    }
    assert.match(await refusal(["--ws-auth", "bogus"]), /capability-token or signed-bearer-token/);
    assert.equal(
      await refusal(["--listen", "stdio", ...cap, "--ws-token-file", `${d}/token`]),
      "WebSocket auth requires a WebSocket listener, not stdio",
    );
    assert.match(
      await refusal([...cap, "--ws-token-file", `${d}/token`, "--token-file", `${d}/token`]),
      /^--ws-auth and --token-file both require a token/,
    );
  });
});

Deno.test("serve --ws-auth: what the parsed options hold", async () => {
  await withFiles(async (d) => {
    const cap = await optionsOf(
      ["--ws-auth", "capability-token", "--ws-token-file", "token"],
      {},
      d,
    );
    assert.deepEqual(cap.auth, {
      mode: "capability-token",
      sha256: sha256Hex("tok-0123456789abcdef"),
    });
    const digest = await optionsOf([
      "--ws-auth",
      "capability-token",
      "--ws-token-sha256",
      "AB".repeat(32),
    ]);
    assert.deepEqual(digest.auth, { mode: "capability-token", sha256: "ab".repeat(32) });
    const jwt = await optionsOf([
      "--ws-auth",
      "signed-bearer-token",
      "--ws-shared-secret-file",
      `${d}/secret`,
      "--ws-audience",
      "you",
    ]);
    assert.deepEqual(jwt.auth, {
      mode: "signed-bearer-token",
      secret: "0123456789abcdef0123456789abcdef!",
      issuer: undefined,
      audience: "you",
      maxClockSkewSeconds: 30,
    });
    // An auth mode counts as a token for a non-loopback listener.
    const wide = await optionsOf([
      "--listen",
      "ws://0.0.0.0:0",
      "--ws-auth",
      "capability-token",
      "--ws-token-file",
      `${d}/token`,
    ]);
    assert.equal(wide.listen, "ws://0.0.0.0:0");
    assert.match(await refusal(["--listen", "ws://0.0.0.0:0"]), /--ws-auth/);
    const ours = await optionsOf([], { EXEC_SERVER_TOKEN: "0123456789abcdef-ours" });
    assert.deepEqual(ours.auth, { mode: "bearer", token: "0123456789abcdef-ours" });
    assert.equal((await optionsOf([])).auth, null);
  });
});

Deno.test("serve --concurrent-requests and the session TTL default", async () => {
  assert.equal((await optionsOf(["--concurrent-requests", "4"])).concurrentRequests, 4);
  assert.equal((await optionsOf([])).concurrentRequests, 64, "ours stays concurrent by default");
  for (const bad of ["0", "abc", "1.5", "-2"]) {
    assert.match(await refusal([`--concurrent-requests=${bad}`]), /--concurrent-requests must be/);
  }
  assert.equal((await optionsOf([])).sessionTtlMs, 80_000);
});

/**
 * The argv of a systemd unit's ExecStart written for codex's server, with
 * codex's program replaced by ours and the port by 0.
 */
function fromUnit(unit: string, replacements: Record<string, string>): string[] {
  let line = /^ExecStart=(.*)$/m.exec(unit)![1]!;
  for (const [from, to] of Object.entries(replacements)) line = line.replaceAll(from, to);
  const argv = line.trim().split(/\s+/);
  assert.deepEqual(argv.slice(0, 2), ["codex", "exec-server"]);
  return argv.slice(2);
}

Deno.test("a systemd unit's command line written for codex exec-server starts ours", async () => {
  await withFiles(async (d) => {
    const unit = `[Unit]
Description=codex exec-server
[Service]
ExecStart=codex exec-server --listen ws://127.0.0.1:8765 --ws-auth capability-token --ws-token-file %d/token --concurrent-requests 4
Restart=on-failure
`;
    const args = fromUnit(unit, { "%d": d, ":8765": ":0" });
    await using server = await ServerProcess.start(args);
    const client = await TestClient.connect(server.url, {
      headers: { authorization: "Bearer tok-0123456789abcdef" },
    });
    try {
      await client.start("p", ["echo", "hi"]);
      await client.untilClosed("p");
      assert.equal(new TextDecoder().decode(client.outputOf("p")), "hi\n");
    } finally {
      client.close();
    }
    const jwtUnit =
      "ExecStart=codex exec-server --listen ws://127.0.0.1:8765 --ws-auth signed-bearer-token " +
      "--ws-shared-secret-file %d/secret --ws-issuer issuer --ws-audience exec-server " +
      "--ws-max-clock-skew-seconds 10";
    await using jwtServer = await ServerProcess.start(
      fromUnit(jwtUnit, { "%d": d, ":8765": ":0" }),
    );
    const claims = { iss: "issuer", aud: "exec-server", exp: Math.floor(Date.now() / 1000) + 60 };
    const token = await signJwt(claims, "0123456789abcdef0123456789abcdef!");
    {
      await using ok = await RawSocket.connect(jwtServer.url, {
        headers: { authorization: `Bearer ${token}` },
      });
      assert.equal(ok.handshake.status, 101);
    }
    await using refused = await RawSocket.connect(jwtServer.url);
    assert.deepEqual(
      [refused.handshake.status, refused.handshake.body.trim()],
      [401, "missing websocket bearer token"],
    );
  });
});

Deno.test("the CLI prints codex's refusal and exits 2 for --ws-* flags without --ws-auth", async () => {
  const r = await runCli(["serve", "--ws-token-file", "/nonexistent"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /websocket auth flags require `--ws-auth capability-token`/);
  const help = await runCli(["serve", "--help"]);
  for (
    const flag of [
      "--ws-auth",
      "--ws-token-sha256",
      "--ws-max-clock-skew-seconds",
      "--concurrent-requests",
    ]
  ) {
    assert.ok(help.stdout.includes(flag), flag);
  }
  assert.match(help.stdout, /default 80/);
});
