// Copyright 2026 the exec-server authors. MIT license.
/**
 * What the ssh connector installs on a host: the server as one JS bundle and
 * the Deno runtime that runs it. {@linkcode localServerPayload} finds both on
 * this machine: the bundle this program runs from (or one built from the
 * checkout with `deno bundle`, cached), and the running `deno` itself.
 *
 * @module
 */
import process from "node:process";
import { spawn } from "node:child_process";
import { mkdir, readdir, readFile, rename, stat } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { ConnectionClosedError } from "./errors.ts";
import { VERSION } from "../util/version.ts";
import { sha256HexAsync } from "../util/sha256.ts";

/**
 * The server to put on a host.
 *
 * @example
 * ```ts
 * import type { ServerPayload } from "./ssh_payload.ts";
 * import assert from "node:assert/strict";
 * const payload: ServerPayload = {
 *   version: "0.1.0",
 *   bundle: new TextEncoder().encode("/* the output of deno task bundle *\/"),
 *   deno: { path: "/usr/local/bin/deno", version: "2.9.6", os: "linux", arch: "x64" },
 * };
 * assert.equal(payload.deno.os, "linux");
 * ```
 */
export interface ServerPayload {
  /** The exec-server version (part of the cache directory's name). */
  version: string;
  /** The server as one JS file that runs with `deno run -A FILE serve`. */
  bundle: Uint8Array;
  /** The Deno runtime to copy when the host lacks it. */
  deno: {
    /** Its path on this machine. */
    path: string;
    /** Its version, e.g. `2.9.6`. */
    version: string;
    /** The platform it runs on, as `process.platform` says (`linux`, `darwin`). */
    os: string;
    /** The CPU it runs on, as `process.arch` says (`x64`, `arm64`). */
    arch: string;
  };
}

/** Options of {@linkcode localServerPayload}. */
export interface LocalPayloadOptions {
  /**
   * The program's entry: `main.ts` of a checkout (bundled on demand), or the
   * bundle itself (`file:` or `https:`).
   * @default {the checkout's main.ts, when this module runs from one}
   */
  entry?: string | URL;
  /** Where bundles built from a checkout are kept. @default {"$XDG_CACHE_HOME/exec-server/local"} */
  cacheDir?: string;
}

/**
 * The `deno bundle` flag that leaves out `ws`, the client's Node-only
 * WebSocket: bundled, its CommonJS needs `createRequire(import.meta.url)`,
 * which fails when the bundle runs from a URL; Deno never loads it.
 */
export const WS_EXTERNAL = "--external=npm:ws@^8.18.0";

/** Where this machine keeps exec-server's own cache. */
function localCache(): string {
  const base = process.env.XDG_CACHE_HOME || join(homedir(), ".cache");
  return join(base, "exec-server", "local");
}

/** The checkout's main.ts when this module is a source file of one, else null. */
function checkoutEntry(): URL | null {
  const here = import.meta.url;
  return here.startsWith("file:") && here.endsWith("/lib/client/ssh_payload.ts")
    ? new URL("../../main.ts", here)
    : null;
}

/**
 * The payload for this machine: the server bundle and the running `deno`.
 *
 * @throws {ConnectionClosedError} Under Node (there is no `deno` to copy), or
 * when no bundle can be found or built.
 *
 * @example
 * ```ts ignore
 * import { localServerPayload } from "./ssh_payload.ts";
 * const payload = await localServerPayload();
 * console.log(payload.bundle.byteLength, payload.deno.path);
 * ```
 */
export async function localServerPayload(
  options: LocalPayloadOptions = {},
): Promise<ServerPayload> {
  const denoVersion = (process.versions as Record<string, string | undefined>).deno;
  if (!denoVersion) {
    throw new ConnectionClosedError(
      "Cannot install exec-server over ssh from Node: pass `payload` (the bundle and a deno " +
        "binary), or `remoteCommand` for a host that has exec-server",
    );
  }
  const entry = options.entry === undefined ? checkoutEntry() : new URL(options.entry);
  if (!entry) {
    throw new ConnectionClosedError(
      "Cannot install exec-server over ssh: this program is neither a checkout nor the bundle; " +
        "pass `payload` or `remoteCommand`",
    );
  }
  const cacheDir = options.cacheDir ?? localCache();
  const bundle = !entry.pathname.endsWith(".ts")
    ? await readEntry(entry)
    : entry.protocol === "file:"
    ? await bundleCheckout(entry, cacheDir)
    : await bundleRemote(entry, cacheDir);
  return {
    version: VERSION,
    bundle,
    deno: {
      path: process.execPath,
      version: denoVersion,
      os: process.platform,
      arch: process.arch,
    },
  };
}

async function readEntry(entry: URL): Promise<Uint8Array> {
  try {
    if (entry.protocol === "file:") return new Uint8Array(await readFile(fileURLToPath(entry)));
    const res = await fetch(entry);
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    return new Uint8Array(await res.arrayBuffer());
  } catch (err) {
    throw new ConnectionClosedError(
      `Cannot read the server bundle ${entry.href}: ${(err as Error).message}`,
    );
  }
}

/** Files whose content decides the bundle of a checkout. */
async function sourceFiles(root: string): Promise<string[]> {
  const out = [join(root, "main.ts"), join(root, "deno.json"), join(root, "deno.lock")];
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (entry.name.endsWith(".ts")) out.push(path);
    }
  };
  await walk(join(root, "lib"));
  return out.sort();
}

/** Bundles a checkout's main.ts with `deno bundle`, once per content. */
async function bundleCheckout(entry: URL, cacheDir: string): Promise<Uint8Array> {
  const main = fileURLToPath(entry);
  const root = dirname(main);
  const enc = new TextEncoder();
  const parts: Uint8Array[] = [];
  for (const file of await sourceFiles(root)) {
    parts.push(enc.encode(`${file.slice(root.length)}\0`));
    parts.push(new Uint8Array(await readFile(file).catch(() => new Uint8Array(0))));
  }
  const whole = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let off = 0;
  for (const p of parts) whole.set(p, (off += p.byteLength) - p.byteLength);
  const key = (await sha256HexAsync(whole)).slice(0, 32);
  const out = join(cacheDir, `bundle-${key}.js`);
  return await cachedBundle(out, [
    "--config",
    join(root, "deno.json"),
    main,
  ], main);
}

/**
 * Bundles a published entry (`jsr:`/`https:` main.ts, as `deno install` of
 * the package runs it), once per URL and version.
 */
async function bundleRemote(entry: URL, cacheDir: string): Promise<Uint8Array> {
  const key = (await sha256HexAsync(`${VERSION}\0${entry.href}`)).slice(0, 32);
  // This program already runs from there, so its imports may be fetched again.
  return await cachedBundle(
    join(cacheDir, `bundle-${key}.js`),
    // Not the caller's config or lock file: a published module brings what it needs.
    ["--no-config", "--no-lock", "--allow-import", entry.href],
    entry.href,
  );
}

/** `out` if it exists, else `deno bundle ARGS` into it (atomically). */
async function cachedBundle(out: string, args: string[], what: string): Promise<Uint8Array> {
  if (await stat(out).then((s) => s.isFile(), () => false)) {
    return new Uint8Array(await readFile(out));
  }
  await mkdir(dirname(out), { recursive: true });
  const tmp = `${out}.${process.pid}.tmp`;
  await new Promise<void>((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ["bundle", "--quiet", "--platform=deno", WS_EXTERNAL, "-o", tmp, ...args],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    let err = "";
    child.stderr!.on("data", (c: Uint8Array) => err += new TextDecoder().decode(c));
    child.once("error", reject);
    child.once("close", (code: number | null) =>
      code === 0 ? resolve() : reject(
        new ConnectionClosedError(`Cannot bundle ${what} for the host (deno bundle): ${err}`),
      ));
  });
  await rename(tmp, out);
  return new Uint8Array(await readFile(out));
}
