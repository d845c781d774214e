// Copyright 2026 the exec-server authors. MIT license.
/**
 * Helpers for the sandbox tests: run a command on a server and collect what
 * it did, prove every process a test started is gone (each test marks its
 * processes' environment and scans /proc for the mark), and build profiles.
 *
 * @module
 */
import assert from "node:assert/strict";
import { type TestClient, text, waitUntil } from "./_harness.ts";
import { pathToFileUri } from "../lib/protocol/sandbox.ts";

/** Whether bubblewrap can build a sandbox here (tests needing it are skipped otherwise). */
export const BWRAP_WORKS: boolean = (() => {
  try {
    const out = new Deno.Command("bwrap", {
      args: [
        "--ro-bind",
        "/",
        "/",
        "--unshare-user",
        "--unshare-pid",
        "--unshare-net",
        "--",
        "true",
      ],
      stdout: "null",
      stderr: "null",
    }).outputSync();
    return out.success;
  } catch {
    return false;
  }
})();

if (!BWRAP_WORKS) {
  console.warn("SKIPPING the sandbox tests: bwrap is missing or cannot create namespaces here");
}

/** What a finished process did. */
export interface Outcome {
  sandboxType: string;
  exitCode: number;
  sandboxDenied: boolean;
  /** stdout, stderr and pty output, in order. */
  out: string;
  stdout: string;
  stderr: string;
}

/** A marker put in every process's environment, to find them all later. */
export class Marker {
  readonly value = crypto.randomUUID();

  /** The environment entry to add. */
  get env(): Record<string, string> {
    return { SBX_TEST_MARK: this.value };
  }

  /** Live (not zombie) processes carrying the marker. */
  alive(): number[] {
    const found: number[] = [];
    for (const entry of Deno.readDirSync("/proc")) {
      if (!/^\d+$/.test(entry.name)) continue;
      try {
        const stat = Deno.readTextFileSync(`/proc/${entry.name}/stat`);
        const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
        if (state === "Z" || state === "X") continue;
        const environ = Deno.readTextFileSync(`/proc/${entry.name}/environ`);
        if (environ.includes(`SBX_TEST_MARK=${this.value}`)) found.push(Number(entry.name));
      } catch {
        // gone, or not ours to read
      }
    }
    return found;
  }

  /** Waits until no marked process is left. */
  async assertAllGone(timeoutMs = 10_000): Promise<void> {
    await waitUntil(() => this.alive().length === 0, {
      timeoutMs,
      message: `every marked process to be gone (left: ${this.alive().join(", ")})`,
    });
  }
}

let ids = 0;

/**
 * Starts `bash -c script` and waits until it is closed. `params` override
 * the start params (sandbox, cwd, env, tty, arg0…).
 */
export async function run(
  client: TestClient,
  script: string,
  params: Record<string, unknown>,
  marker: Marker,
): Promise<Outcome> {
  const processId = `sbx-${++ids}`;
  const env = {
    PATH: "/usr/bin:/bin",
    HOME: "/root",
    ...(params.env as object ?? {}),
    ...marker.env,
  };
  const start = await client.request("process/start", {
    processId,
    argv: ["/bin/bash", "-c", script],
    cwd: "/",
    tty: false,
    ...params,
    env,
  });
  await client.untilClosed(processId, 20_000);
  // codex may send closed before exited: wait for both.
  const exited = await client.waitFor(
    (m) => m.method === "process/exited" && m.params.processId === processId,
    10_000,
    `process/exited of ${processId}`,
  );
  const events = client.eventsOf(processId);
  const read = await client.request("process/read", { processId, afterSeq: 0 });
  assert.equal(read.sandboxDenied, exited.params.sandboxDenied, "read and exited agree");
  const out = events.filter((e) => e.method === "process/output")
    .map((e) => text(Uint8Array.fromBase64(e.params.chunk))).join("");
  return {
    sandboxType: start.sandboxType,
    exitCode: exited.params.exitCode,
    sandboxDenied: exited.params.sandboxDenied,
    out,
    stdout: text(client.outputOf(processId, "stdout")),
    stderr: text(client.outputOf(processId, "stderr")),
  };
}

const special = (kind: string, subpath?: string) => ({
  type: "special",
  value: subpath === undefined ? { kind } : { kind, subpath },
});

/** A file-system entry for a native path. */
export const pathEntry = (path: string, access: string) => ({
  path: { type: "path", path: pathToFileUri(path) },
  access,
});

/** A root entry. */
export const rootEntry = (access: string) => ({ path: special("root"), access });

/** A special entry. */
export const specialEntry = (kind: string, access: string, subpath?: string) => ({
  path: special(kind, subpath),
  access,
});

/** A managed, restricted profile. */
export function restricted(
  entries: unknown[],
  options: { roots?: string[]; network?: "restricted" | "enabled"; cwd?: string } = {},
): Record<string, unknown> {
  const out: Record<string, unknown> = {
    permissions: {
      type: "managed",
      file_system: { type: "restricted", entries },
      network: options.network ?? "restricted",
    },
    windowsSandboxLevel: "disabled",
    useLegacyLandlock: false,
  };
  if (options.roots) out.workspaceRoots = options.roots.map(pathToFileUri);
  if (options.cwd) out.cwd = pathToFileUri(options.cwd);
  return out;
}

/**
 * The fs tests' profile: read everywhere, write the workspace `w`, `secret`
 * denied, and `*.env` files in the workspace denied by a glob.
 */
export function workspaceDenyProfile(w: string, secret: string): Record<string, unknown> {
  return restricted([
    rootEntry("read"),
    specialEntry("project_roots", "write"),
    pathEntry(secret, "deny"),
    { path: { type: "glob_pattern", pattern: "codex-project-roots://**/*.env" }, access: "deny" },
  ], { roots: [w], cwd: w });
}

/** A fresh directory tree for one test, removed by disposal. */
export async function scratch(): Promise<{ dir: string } & AsyncDisposable> {
  // Not under /tmp: /tmp is a writable root in workspace-write.
  const base = "/var/tmp";
  const dir = await Deno.realPath(await Deno.makeTempDir({ dir: base, prefix: "sbx-test-" }));
  return {
    dir,
    async [Symbol.asyncDispose]() {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}
