// Copyright 2026 the exec-server authors. MIT license.
/**
 * File operations on /proc and /sys for containment (`tree.ts`, `cgroup.ts`).
 * Deno refuses every path under /proc and /sys without `--allow-all`, so
 * where FFI is allowed they go through libc, and through Deno's own APIs
 * otherwise (which then work only under `--allow-all`).
 *
 * @module
 */
import { C, cString, errno, type Libc, libc, osError } from "./ffi_libc.ts";

/** A directory entry. */
export interface Entry {
  /** Its name. */
  name: string;
  /** Whether it is a directory. */
  dir: boolean;
}

/** The operations containment needs. Every error is an OS error with the path. */
export interface SysFs {
  /** The file's text, or null when it does not exist (or the process is gone). */
  read(path: string): string | null;
  /** Writes `text` to an existing file in one write(2). */
  write(path: string, text: string): void;
  /** Makes a directory (a cgroup); `Deno.errors.AlreadyExists` if it is there. */
  mkdir(path: string): void;
  /** Removes an empty directory (a cgroup without processes). */
  rmdir(path: string): void;
  /** The entries of a directory. */
  list(path: string): Entry[];
  /** Whether `path` exists (an error other than ENOENT or ENOTDIR throws). */
  exists(path: string): boolean;
}

let chosen: SysFs | null = null;

/** libc where FFI is allowed, else Deno's file APIs. */
export function sysfs(): SysFs {
  if (chosen !== null) return chosen;
  if (Deno.permissions.querySync({ name: "ffi" }).state === "granted") {
    try {
      return chosen = libcFs(libc());
    } catch {
      // no glibc: Deno's APIs
    }
  }
  return chosen = DENO_FS;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function libcFs(lib: Libc): SysFs {
  const buffer = new Uint8Array(65536);
  return {
    read(path) {
      const fd = lib.open(cString(path), C.O_RDONLY | C.O_CLOEXEC, 0);
      if (fd < 0) {
        const code = errno();
        if (code === C.ENOENT || code === C.ESRCH) return null;
        throw osError(code, path);
      }
      try {
        let text = "";
        for (;;) {
          const n = Number(lib.read(fd, buffer, BigInt(buffer.length)));
          if (n < 0) {
            const code = errno();
            if (code === C.ESRCH) return null; // the process died meanwhile
            throw osError(code, path);
          }
          if (n === 0) return text + decoder.decode();
          text += decoder.decode(buffer.subarray(0, n), { stream: true });
        }
      } finally {
        lib.close(fd);
      }
    },
    write(path, text) {
      const fd = lib.open(cString(path), C.O_WRONLY | C.O_CLOEXEC, 0);
      if (fd < 0) throw osError(errno(), path);
      try {
        const bytes = encoder.encode(text);
        if (Number(lib.write(fd, bytes, BigInt(bytes.length))) < 0) throw osError(errno(), path);
      } finally {
        lib.close(fd);
      }
    },
    mkdir(path) {
      if (lib.mkdir(cString(path), 0o755) !== 0) throw osError(errno(), path);
    },
    rmdir(path) {
      if (lib.rmdir(cString(path)) !== 0) throw osError(errno(), path);
    },
    list(path) {
      const dir = lib.opendir(cString(path));
      if (dir === null) throw osError(errno(), path);
      const out: Entry[] = [];
      try {
        for (;;) {
          const entry = lib.readdir64(dir);
          if (entry === null) return out;
          // struct dirent64: u64 d_ino, i64 d_off, u16 d_reclen, u8 d_type, d_name.
          const view = new Deno.UnsafePointerView(entry);
          const name = view.getCString(19);
          if (name !== "." && name !== "..") out.push({ name, dir: view.getUint8(18) === 4 });
        }
      } finally {
        lib.closedir(dir);
      }
    },
    exists(path) {
      if (lib.access(cString(path), 0) === 0) return true;
      const code = errno();
      if (code === C.ENOENT || code === C.ENOTDIR) return false;
      throw osError(code, path);
    },
  };
}

const DENO_FS: SysFs = {
  read(path) {
    try {
      return Deno.readTextFileSync(path);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound || /ESRCH|os error 3\b/.test(String(error))) {
        return null;
      }
      throw error;
    }
  },
  write(path, text) {
    Deno.writeTextFileSync(path, text, { create: false });
  },
  mkdir(path) {
    Deno.mkdirSync(path);
  },
  rmdir(path) {
    Deno.removeSync(path);
  },
  list(path) {
    return [...Deno.readDirSync(path)].map((e) => ({ name: e.name, dir: e.isDirectory }));
  },
  exists(path) {
    try {
      Deno.statSync(path);
      return true;
    } catch (error) {
      if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory) {
        return false;
      }
      throw error; // refused (no --allow-all) or unreadable: not "missing"
    }
  },
};
