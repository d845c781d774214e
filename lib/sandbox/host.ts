// Copyright 2026 the exec-server authors. MIT license.
/**
 * The sandbox's edge to the host: file-system facts for the compiler,
 * finding bubblewrap, and the private files a sandbox needs (the seccomp
 * program, an empty mode-000 file). Placeholders are in placeholders.ts.
 *
 * @module
 */
import type { PathFacts } from "./policy.ts";
import type { PlanFacts, ScanFacts } from "./bwrap_args.ts";
import { type FilterArch, type FilterMode, seccompProgram } from "./seccomp.ts";

/** Most symlinks followed while resolving one path (as the kernel's ELOOP limit). */
const MAX_LINKS = 40;

/**
 * File-system facts from the real file system. Synchronous on purpose: each
 * is a stat or two taking microseconds, while an async call waits for a
 * thread of the blocking pool (milliseconds when many starts come at once).
 */
export class HostFacts implements PathFacts, PlanFacts, ScanFacts {
  /** Canonical path, following symlinks also where the tail is missing. */
  resolve(path: string): string {
    const todo = path.split("/").filter((p) => p !== "");
    const done: string[] = [];
    let links = 0;
    while (todo.length > 0) {
      const name = todo.shift()!;
      if (name === ".") continue;
      if (name === "..") {
        done.pop();
        continue;
      }
      const here = `/${[...done, name].join("/")}`;
      let info: Deno.FileInfo | null = null;
      try {
        info = Deno.lstatSync(here);
      } catch {
        // Missing (or unreadable): the rest is taken literally.
      }
      if (info?.isSymlink) {
        if (++links > MAX_LINKS) return `/${[...done, name, ...todo].join("/")}`;
        const target = Deno.readLinkSync(here);
        if (target.startsWith("/")) done.length = 0;
        todo.unshift(...target.split("/").filter((p) => p !== ""));
        continue;
      }
      done.push(name);
    }
    return `/${done.join("/")}`;
  }

  /** What is at `path` (not following a final symlink). */
  kind(path: string): "dir" | "file" | "other" | "missing" {
    try {
      const info = Deno.lstatSync(path);
      return info.isDirectory ? "dir" : info.isFile ? "file" : "other";
    } catch {
      return "missing";
    }
  }

  /** The absolute target of a `.git` file's `gitdir:` line, or null. */
  gitdir(path: string): string | null {
    try {
      const file = Deno.openSync(path);
      try {
        const buf = new Uint8Array(4096);
        const n = file.readSync(buf) ?? 0;
        const text = new TextDecoder().decode(buf.subarray(0, n));
        const m = /^gitdir:\s*(.+?)\s*$/m.exec(text);
        if (!m) return null;
        const target = m[1]!;
        const dir = path.slice(0, path.lastIndexOf("/")) || "/";
        return target.startsWith("/") ? target : `${dir}/${target}`;
      } finally {
        file.close();
      }
    } catch {
      return null;
    }
  }

  /** A directory's entries (symlinks not followed), or null. */
  list(dir: string): { name: string; type: "dir" | "file" | "other" }[] | null {
    try {
      const out: { name: string; type: "dir" | "file" | "other" }[] = [];
      for (const e of Deno.readDirSync(dir)) {
        out.push({ name: e.name, type: e.isDirectory ? "dir" : e.isFile ? "file" : "other" });
      }
      return out;
    } catch {
      return null;
    }
  }
}

/** The architecture the seccomp filter is built for, or null where it cannot be. */
export function hostArch(): FilterArch | null {
  if (Deno.build.os !== "linux") return null;
  return Deno.build.arch === "x86_64" ? "x86_64" : Deno.build.arch === "aarch64" ? "aarch64" : null;
}

/**
 * Finds bubblewrap: an explicit path, else `bwrap` in the server's own PATH,
 * else `/usr/bin/bwrap`. Never the command's PATH: a client could point that
 * at a fake `bwrap` that runs it unconfined.
 *
 * @returns The executable's path, or null when there is none.
 */
export function findBwrap(
  explicit: string | undefined,
  serverPath: string | undefined,
): string | null {
  const candidates = explicit !== undefined ? [explicit] : [
    ...(serverPath ?? "").split(":").filter((d) => d.startsWith("/")).map((d) => `${d}/bwrap`),
    "/usr/bin/bwrap",
  ];
  for (const path of candidates) {
    try {
      const info = Deno.statSync(path);
      if (info.isFile && ((info.mode ?? 0) & 0o111) !== 0) return path;
    } catch {
      // not here
    }
  }
  return null;
}

/**
 * The private files sandboxes share: a directory of the server's own
 * (mode 0700) holding an empty mode-000 file and the seccomp programs.
 */
export class RuntimeFiles implements AsyncDisposable {
  #dir: Promise<string> | null = null;
  #filters = new Map<FilterMode, Promise<string>>();
  #empty: Promise<string> | null = null;
  #closed = false;

  #base(): Promise<string> {
    if (this.#closed) return Promise.reject(new Error("sandbox runtime files are closed"));
    return this.#dir ??= Deno.makeTempDir({ prefix: "exec-server-sandbox-" });
  }

  /** An empty file nobody may read (bound over denied files). */
  emptyFile(): Promise<string> {
    return this.#empty ??= (async () => {
      const path = `${await this.#base()}/empty`;
      await Deno.writeFile(path, new Uint8Array(), { mode: 0o000 });
      await Deno.chmod(path, 0o000);
      return path;
    })();
  }

  /** The seccomp program file for a mode. */
  filter(arch: FilterArch, mode: FilterMode): Promise<string> {
    let file = this.#filters.get(mode);
    if (!file) {
      file = (async () => {
        const path = `${await this.#base()}/seccomp-${arch}-${mode}.bpf`;
        await Deno.writeFile(path, seccompProgram(arch, mode), { mode: 0o400 });
        return path;
      })();
      this.#filters.set(mode, file);
    }
    return file;
  }

  /** Removes the directory; idempotent. */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const dir = this.#dir;
    this.#dir = null;
    if (!dir) return;
    try {
      await Deno.remove(await dir, { recursive: true });
    } catch {
      // already gone
    }
  }
}
