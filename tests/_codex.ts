// Copyright 2026 the exec-server authors. MIT license.
/**
 * The reference implementation for the tests: codex-cli 0.171.0 from npm,
 * installed into `.tools/` by `scripts/codex` on first use (as
 * `scripts/deno` installs Deno). Its `codex exec-server` is the other side of
 * the differential suite; its `codex exec` agent is a client of our server.
 *
 * Tests that need it register with `ignore: !CODEX_BIN` and so are skipped,
 * with one message saying why, only when the binary cannot be installed
 * (no network, another platform). `.ci/run` sets `EXEC_SERVER_REQUIRE_CODEX=1`:
 * then a missing binary fails the file instead.
 *
 * @module
 */
import { ServerProcess } from "./_harness.ts";

const ROOT = new URL("..", import.meta.url).pathname;

/** The pinned version. */
export const CODEX_VERSION = "0.171.0";

/** How long a first-time install (a ~400 MB package) may take. */
const INSTALL_TIMEOUT_MS = 10 * 60_000;

/**
 * Where the binary is, installing it if needed (`CODEX_BIN` overrides), or
 * why it is not there.
 */
async function locateCodex(): Promise<{ bin: string } | { missing: string }> {
  const override = Deno.env.get("CODEX_BIN");
  if (override) return { bin: override };
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command("bash", {
      args: [`${ROOT}scripts/codex`, "--path"],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch (err) {
    return { missing: `cannot run scripts/codex: ${err}` };
  }
  const timer = setTimeout(() => child.kill("SIGKILL"), INSTALL_TIMEOUT_MS);
  const [status, out, err] = await Promise.all([
    child.status,
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
  ]);
  clearTimeout(timer);
  const bin = out.trim();
  if (!status.success || !bin) {
    return { missing: `scripts/codex failed (exit ${status.code}): ${err.trim().slice(-2000)}` };
  }
  return { bin };
}

const located = await locateCodex();

/** Path of the codex 0.171 binary, or null when it cannot be installed here. */
export const CODEX_BIN: string | null = "bin" in located ? located.bin : null;

if (!CODEX_BIN) {
  const why = "missing" in located ? located.missing : "";
  if (Deno.env.get("EXEC_SERVER_REQUIRE_CODEX") === "1") {
    throw new Error(`codex ${CODEX_VERSION} is required (EXEC_SERVER_REQUIRE_CODEX=1): ${why}`);
  }
  console.warn(`SKIPPING the tests that need codex ${CODEX_VERSION}: ${why}`);
}

/** The binary's path; throws when it is missing (tests using it are ignored then). */
export function codexBin(): string {
  if (!CODEX_BIN) throw new Error(`codex ${CODEX_VERSION} is not installed`);
  return CODEX_BIN;
}

/**
 * Starts codex's own `codex exec-server --listen ws://127.0.0.1:0` (plus
 * `args`) and resolves once it printed its URL. `await using` it: disposal
 * sends SIGTERM (SIGKILL after a grace period) and drains its pipes.
 */
export function startCodexServer(
  args: string[] = [],
  options: { env?: Record<string, string>; cwd?: string } = {},
): Promise<ServerProcess> {
  return ServerProcess.spawn(
    codexBin(),
    ["exec-server", "--listen", "ws://127.0.0.1:0", ...args],
    options,
  );
}
