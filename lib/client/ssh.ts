// Copyright 2026 the exec-server authors. MIT license.
/**
 * The ssh connector: reaches a server on another machine through `ssh`, over
 * the stdio transport, and puts the server there first if the host lacks it,
 * over the same ssh connection, as VS Code's remote ssh does.
 *
 * On the host, a small POSIX `sh` script looks in a versioned cache
 * directory (`${XDG_CACHE_HOME:-$HOME/.cache}/exec-server/`): one directory
 * per server build (`server-<version>-<hash>/exec-server.js`, the one-file
 * bundle) and one per Deno runtime (`deno-<version>-<os>-<arch>/deno`). For
 * each that is missing it asks the client, which sends the file (gzipped when
 * the host has `gzip`) with its size and SHA-256; the script checks both
 * (with `sha256sum`, `shasum` or `openssl`, whichever exists), moves the file
 * into place atomically, and marks the directory complete. Then it starts
 * `deno run -A exec-server.js serve --listen stdio` on the same pipe. The
 * next connection finds both directories and starts at once.
 *
 * @module
 */
import { gzip } from "node:zlib";
import { promisify } from "node:util";
import { readFile } from "node:fs/promises";
import { connectStdio, type PreambleIo, type StdioConnectorOptions } from "./stdio.ts";
import { ConnectionClosedError } from "./errors.ts";
import type { ExecServerClient } from "./client.ts";
import type { ExecServerClientOptions } from "./options.ts";
import { localServerPayload, type ServerPayload } from "./ssh_payload.ts";
import { sha256HexAsync } from "../util/sha256.ts";

/** An `ssh` destination: `[USER@]HOST` and an optional port. */
export interface SshTarget {
  /** `HOST` or `USER@HOST`, as ssh takes it. */
  destination: string;
  /** The port, when one was given. */
  port?: number;
}

/**
 * Parses `[USER@]HOST[:PORT]` (an IPv6 address in brackets: `[::1]:2222`),
 * or `ssh://[USER@]HOST[:PORT]`.
 *
 * @throws {TypeError} For anything else.
 *
 * @example
 * ```ts
 * import { parseSshTarget } from "./ssh.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(parseSshTarget("me@box:2222"), { destination: "me@box", port: 2222 });
 * assert.deepEqual(parseSshTarget("ssh://[::1]"), { destination: "::1" });
 * assert.throws(() => parseSshTarget("a b"), TypeError);
 * ```
 */
export function parseSshTarget(target: string): SshTarget {
  const bare = target.startsWith("ssh://") ? target.slice(6).replace(/\/$/, "") : target;
  const m = /^((?:[^@\s/]+@)?(?:\[[^\]\s]+\]|[^:\s/@\[\]]+))(?::(\d{1,5}))?$/.exec(bare);
  if (!m || (m[2] !== undefined && (Number(m[2]) < 1 || Number(m[2]) > 65535))) {
    throw new TypeError(`expected [USER@]HOST[:PORT], got ${JSON.stringify(target)}`);
  }
  const destination = m[1]!.replace(/@\[(.*)\]$/, "@$1").replace(/^\[(.*)\]$/, "$1");
  return m[2] === undefined ? { destination } : { destination, port: Number(m[2]) };
}

/** What the ssh connector reports while it installs the server on a host. */
export type InstallEvent =
  | {
    /** A file is about to be sent. */
    type: "sending";
    /** `exec-server.js` or `deno`. */
    file: string;
    /** Bytes that will cross the link (compressed size when gzipped). */
    bytes: number;
  }
  | {
    /** Part of the file was handed to ssh. */
    type: "progress";
    /** The file being sent. */
    file: string;
    /** Bytes sent so far. */
    sent: number;
    /** Bytes in all. */
    bytes: number;
  }
  | {
    /** The host checked and stored the file. */
    type: "installed";
    /** The file. */
    file: string;
    /** Its directory on the host. */
    dir: string;
  };

/**
 * Options of {@linkcode sshConnector} and {@linkcode connectSsh}.
 *
 * @example
 * ```ts
 * import type { SshOptions } from "./ssh.ts";
 * import assert from "node:assert/strict";
 * const options: SshOptions = { ssh: ["ssh", "-i", "key"], remoteCommand: ["exec-server"] };
 * assert.equal(options.install, undefined); // installs unless remoteCommand is given
 * ```
 */
export interface SshOptions {
  /** The ssh program and its options. @default {["ssh"]} */
  ssh?: string[];
  /**
   * Run this on the host (with `serve --listen stdio` appended) instead of
   * the cached server, e.g. `["exec-server"]`; nothing is installed then.
   * @default {undefined}
   */
  remoteCommand?: string[];
  /**
   * Put the server on the host when its cache lacks it. With false and no
   * `remoteCommand`, the host must already have it cached.
   * @default {true}
   */
  install?: boolean;
  /**
   * The cache directory on the host.
   * @default {"${XDG_CACHE_HOME:-$HOME/.cache}/exec-server"}
   */
  cacheDir?: string;
  /**
   * What to install: the bundle and the Deno runtime to copy. Under Deno the
   * default is this program's own bundle (built from the checkout when it
   * runs from source) and its own `deno`; under Node it must be given.
   * @default {localServerPayload()}
   */
  payload?: ServerPayload | (() => Promise<ServerPayload>);
  /** Called while the server is being installed. @default {undefined} */
  onInstall?: (event: InstallEvent) => void;
  /** What to do with ssh's stderr. @default {"inherit"} */
  stderr?: StdioConnectorOptions["stderr"];
}

/**
 * The default `connectTimeoutMs` over ssh: long enough for a person to type a
 * password and for the first connection to copy the server over a slow link.
 */
const SSH_CONNECT_TIMEOUT_MS = 600_000;

/** The prefix of every line the host's install script prints. */
const BOOT = "EXEC-SERVER-BOOT ";

/**
 * The host's install-and-start script: POSIX sh on one line, with no single
 * quote and no `!`, so every login shell (bash, zsh, fish, csh) passes it to
 * `sh -c` unchanged. Arguments: server dir, deno dir, cache dir or "".
 */
const BOOTSTRAP = [
  "set -e;",
  'c="${3:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/exec-server}";',
  'say() { printf "EXEC-SERVER-BOOT %s\\n" "$*"; };',
  'sum() { if command -v sha256sum >/dev/null 2>&1; then sha256sum "$1" | cut -d " " -f 1;',
  'elif command -v shasum >/dev/null 2>&1; then shasum -a 256 "$1" | cut -d " " -f 1;',
  'elif command -v openssl >/dev/null 2>&1; then openssl dgst -sha256 -r "$1" | cut -d " " -f 1;',
  "else echo none; fi; };",
  'fetch() { d="$c/$1"; if [ -f "$d/ok" ]; then return 0; fi; mkdir -p "$d"; z=raw;',
  "if command -v gzip >/dev/null 2>&1; then z=gzip; fi;",
  'say need "$1" "$2" "$(uname -s)" "$(uname -m)" "$z";',
  'read -r n size hash enc; if [ "$n" = "-" ]; then exit 3; fi; t="$d/$2.part.$$";',
  'if [ "$enc" = gzip ]; then head -c "$n" | gzip -dc > "$t"; else head -c "$n" > "$t"; fi;',
  'got=$(sum "$t"); len=$(wc -c < "$t" | tr -d " ");',
  'if [ "$len" != "$size" ] || { [ "$got" != none ] && [ "$got" != "$hash" ]; }; then',
  'rm -f "$t"; echo "exec-server: the copy of $2 arrived damaged ($len bytes)" >&2; exit 4; fi;',
  'chmod "$3" "$t"; mv -f "$t" "$d/$2"; echo "$hash" > "$d/ok"; say installed "$2" "$d"; };',
  'fetch "$1" exec-server.js 644;',
  'fetch "$2" deno 755;',
  "say ready;",
  'DENO_NO_UPDATE_CHECK=1 DENO_NO_PROMPT=1 exec "$c/$2/deno" run -A --no-config',
  '"$c/$1/exec-server.js" serve --listen stdio',
].join(" ");

/** Quotes a word for a POSIX shell. */
function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

/** `uname -s` / `uname -m` spellings of a Node-style platform and arch. */
function unameOf(platform: string, arch: string): { os: string; arch: string } {
  const oses: Record<string, string> = { linux: "Linux", darwin: "Darwin", freebsd: "FreeBSD" };
  const cpus: Record<string, string> = { x64: "x86_64", arm64: "aarch64" };
  const os = oses[platform] ?? platform;
  const machine = cpus[arch] ?? arch;
  return { os, arch: machine };
}

function sameMachine(remoteArch: string, localArch: string): boolean {
  const norm = (a: string) => a === "arm64" ? "aarch64" : a === "amd64" ? "x86_64" : a;
  return norm(remoteArch) === norm(localArch);
}

/** The cache directory names on the host for a payload. */
async function cacheNames(payload: ServerPayload): Promise<{ server: string; deno: string }> {
  const hash = (await sha256HexAsync(payload.bundle)).slice(0, 16);
  const { os, arch } = unameOf(payload.deno.os, payload.deno.arch);
  return {
    server: `server-${payload.version}-${hash}`,
    deno: `deno-${payload.deno.version}-${os.toLowerCase()}-${arch}`,
  };
}

/** The preamble that answers the host script's requests for files. */
function installPreamble(
  payload: ServerPayload,
  onInstall: ((event: InstallEvent) => void) | undefined,
): (io: PreambleIo) => Promise<void> {
  const local = unameOf(payload.deno.os, payload.deno.arch);
  return async (io) => {
    for (;;) {
      const line = await io.nextLine();
      if (line === null) {
        throw new ConnectionClosedError(
          "Cannot start exec-server on the host: the connection ended before the server " +
            "started (see ssh's messages above)",
        );
      }
      if (!line.startsWith(BOOT)) continue; // a login banner or a chatty shell profile
      const [verb, ...args] = line.slice(BOOT.length).trim().split(" ");
      if (verb === "ready") return;
      if (verb === "installed") {
        onInstall?.({ type: "installed", file: args[0] ?? "", dir: args.slice(1).join(" ") });
        continue;
      }
      if (verb !== "need") continue;
      const [, file, os, arch, encoding] = args;
      let raw: Uint8Array;
      if (file === "deno") {
        if (os !== local.os || !sameMachine(arch ?? "", local.arch)) {
          await io.write(new TextEncoder().encode("- - - -\n"));
          throw new ConnectionClosedError(
            `Cannot install exec-server on the host: it is ${os} ${arch}, but the Deno runtime ` +
              `here is for ${local.os} ${local.arch}. Install exec-server there and pass ` +
              `--remote-command (e.g. "exec-server"), or run this from a ${os} ${arch} machine`,
          );
        }
        raw = await readLocalFile(payload.deno.path);
      } else raw = payload.bundle;
      const gzipped = encoding === "gzip";
      const wire = gzipped ? new Uint8Array(await promisify(gzip)(raw, { level: 1 })) : raw;
      const name = file ?? "";
      await io.write(
        new TextEncoder().encode(
          `${wire.byteLength} ${raw.byteLength} ${await sha256HexAsync(raw)} ${
            gzipped ? "gzip" : "raw"
          }\n`,
        ),
      );
      onInstall?.({ type: "sending", file: name, bytes: wire.byteLength });
      const step = 1 << 20;
      for (let off = 0; off < wire.byteLength; off += step) {
        const end = Math.min(off + step, wire.byteLength);
        await io.write(wire.subarray(off, end));
        onInstall?.({ type: "progress", file: name, sent: end, bytes: wire.byteLength });
      }
    }
  };
}

async function readLocalFile(path: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (err) {
    throw new ConnectionClosedError(
      `Cannot install exec-server on the host: cannot read the Deno runtime ${path}: ${
        (err as Error).message
      }`,
    );
  }
}

/**
 * The command line that reaches `target`: ssh, its options and the remote
 * command (the install script unless `remoteCommand` is given).
 *
 * @example
 * ```ts
 * import { sshCommandLine } from "./ssh.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(
 *   sshCommandLine("me@box:2222", { remoteCommand: ["exec-server"] }),
 *   ["ssh", "-T", "-p", "2222", "me@box", "exec-server serve --listen stdio"],
 * );
 * ```
 */
export function sshCommandLine(
  target: string,
  options: Pick<SshOptions, "ssh" | "remoteCommand" | "cacheDir"> & {
    names?: { server: string; deno: string };
  } = {},
): string[] {
  const { destination, port } = parseSshTarget(target);
  const ssh = options.ssh ?? ["ssh"];
  const head = [...ssh, "-T", ...(port === undefined ? [] : ["-p", String(port)]), destination];
  if (options.remoteCommand) {
    return [...head, [...options.remoteCommand, "serve", "--listen", "stdio"].join(" ")];
  }
  const names = options.names ?? { server: "server", deno: "deno" };
  const script = [
    "sh",
    "-c",
    shellQuote(BOOTSTRAP),
    "exec-server-boot",
    names.server,
    names.deno,
    shellQuote(options.cacheDir ?? ""),
  ];
  return [...head, script.join(" ")];
}

/**
 * Connects a client to `target` (`[USER@]HOST[:PORT]`) over ssh, installing
 * the server there first when the host's cache lacks it. The session lives
 * as long as the ssh connection: there is no resume. `connectTimeoutMs`
 * defaults to 10 minutes here (a password prompt, a first install over a
 * slow link); ssh's own `ConnectTimeout` bounds reaching the host.
 *
 * @example
 * ```ts ignore
 * import { connectSsh } from "./ssh.ts";
 * await using client = await connectSsh("me@build-host", {
 *   onInstall: (e) => e.type === "sending" && console.error(`sending ${e.file}`),
 * });
 * console.log(new TextDecoder().decode((await client.exec(["uname", "-a"])).stdout));
 * ```
 */
export async function connectSsh(
  target: string,
  options: SshOptions & Omit<ExecServerClientOptions, "url" | "transport" | "autoResume"> = {},
): Promise<ExecServerClient> {
  const { ssh, remoteCommand, install, cacheDir, payload, onInstall, stderr, ...given } = options;
  // ssh may ask for a password, and a first connection sends ~50 MB: not a 10 s job.
  const rest = { connectTimeoutMs: SSH_CONNECT_TIMEOUT_MS, ...given };
  const stdio: StdioConnectorOptions = {};
  if (stderr !== undefined) stdio.stderr = stderr;
  if (remoteCommand) {
    const line = sshCommandLine(target, { ...(ssh ? { ssh } : {}), remoteCommand });
    return await connectStdio(line, { ...rest, ...stdio });
  }
  const resolved = typeof payload === "function"
    ? await payload()
    : payload ?? await localServerPayload();
  const names = await cacheNames(resolved);
  const command = sshCommandLine(target, {
    ...(ssh ? { ssh } : {}),
    ...(cacheDir !== undefined ? { cacheDir } : {}),
    names,
  });
  const preamble = install === false ? refuseInstall : installPreamble(resolved, onInstall);
  return await connectStdio(command, { ...rest, ...stdio, preamble });
}

async function refuseInstall(io: PreambleIo): Promise<void> {
  for (;;) {
    const line = await io.nextLine();
    if (line === null) {
      throw new ConnectionClosedError("Cannot start exec-server on the host: ssh ended early");
    }
    if (!line.startsWith(BOOT)) continue;
    if (line.startsWith(`${BOOT}ready`)) return;
    if (line.startsWith(`${BOOT}need`)) {
      await io.write(new TextEncoder().encode("- - - -\n"));
      throw new ConnectionClosedError(
        "Cannot start exec-server on the host: it is not installed there and install is off",
      );
    }
  }
}
