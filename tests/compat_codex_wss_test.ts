// Copyright 2026 the exec-server authors. MIT license.
// What the README's "Using exec-server with codex" promises for a network
// link: the real codex 0.171 agent reaches our server over wss:// (a private
// CA through SSL_CERT_FILE) and authenticates with codex's --ws-auth modes,
// a capability token and an HS256 JWT, both as auth_bearer_token.
import assert from "node:assert/strict";
import { CODEX_BIN } from "./_codex.ts";
import { runCodexAgent } from "./_codex_agent.ts";
import { ServerProcess } from "./_harness.ts";
import { functionCall, message } from "./_mock_model.ts";
import { makeTestPki } from "./_pki.ts";
import { signJwt } from "./_jwt.ts";

const SECRET = "0123456789abcdef0123456789abcdef-secret";

Deno.test({
  name: "the codex agent reaches our server over wss:// with a capability token and with a JWT",
  ignore: !CODEX_BIN,
  async fn(t) {
    const dir = await Deno.makeTempDir({ prefix: "agent-wss-" });
    try {
      const pki = await makeTestPki(dir);
      const token = `tok-${crypto.randomUUID()}`;
      await Deno.writeTextFile(`${dir}/token`, `${token}\n`, { mode: 0o600 });
      await Deno.writeTextFile(`${dir}/secret`, `${SECRET}\n`, { mode: 0o600 });
      const tls = ["--listen", "wss://127.0.0.1:0", "--tls-cert", pki.cert, "--tls-key", pki.key];
      const jwt = await signJwt({ exp: Math.floor(Date.now() / 1000) + 600 }, SECRET);
      const modes: [string, string[], string][] = [
        ["capability-token", ["--ws-token-file", `${dir}/token`], token],
        ["signed-bearer-token", ["--ws-shared-secret-file", `${dir}/secret`], jwt],
      ];
      for (const [mode, flags, bearer] of modes) {
        await t.step(mode, async () => {
          await using server = await ServerProcess.start([...tls, "--ws-auth", mode, ...flags]);
          assert.match(server.url, /^wss:\/\//);
          const turns = [
            functionCall("c1", "exec_command", { cmd: "echo over-wss" }),
            message("fin"),
          ];
          const run = (bearerToken: string) =>
            runCodexAgent({
              execServerUrl: server.url,
              token: bearerToken,
              workdir: dir,
              turns,
              env: { SSL_CERT_FILE: pki.ca },
              timeoutMs: 45_000,
            });
          const good = await run(bearer);
          assert.equal(good.exitCode, 0, good.stderr.slice(-2000));
          assert.match(good.toolOutputs.get("c1") ?? "", /over-wss/);
          const bad = await run(`${bearer}x`);
          assert.match(bad.toolOutputs.get("c1") ?? "", /No usable execution environment/);
        });
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
