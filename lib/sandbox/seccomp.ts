// Copyright 2026 the exec-server authors. MIT license.
/**
 * The seccomp filter sandboxed processes run under (classic BPF, loaded by
 * `bwrap --seccomp`, which also sets no_new_privs). Pure: it returns the
 * program's bytes.
 *
 * What it closes, and why:
 * - Every `socket()` when the network is restricted. The network namespace
 *   alone would leave two things open: a socket file on the host
 *   (docker.sock, an ssh agent, a D-Bus bus) is reachable from any mount
 *   namespace, even through a read-only mount; and a refused connection
 *   would fail with ECONNREFUSED or ENETUNREACH, which does not tell a
 *   client the sandbox refused it (codex's `sandboxDenied` looks for
 *   "Operation not permitted"). So, as with codex's filter, no socket can be
 *   made: loopback inside the sandbox does not work either. `socketpair`
 *   stays allowed (it reaches nothing).
 * - `socket(AF_VSOCK)`, always: vsock talks to the hypervisor, which no
 *   network namespace separates.
 * - `io_uring_setup/enter/register`, always: io_uring can open and connect
 *   sockets without the syscalls this filter sees.
 * - Every syscall of another ABI (i386 via `int 0x80`, x32): `socketcall`
 *   would bypass the rules above. 32-bit programs do not run sandboxed.
 *
 * A refused call fails with EPERM, as codex's filter answers.
 *
 * @module
 */

/** Which sockets a filter refuses. */
export type FilterMode = "restricted" | "enabled";

/** Architectures the filter knows. */
export type FilterArch = "x86_64" | "aarch64";

interface ArchInfo {
  audit: number;
  socket: number;
  ioUring: readonly number[];
  /** Syscall numbers at or above this belong to another ABI (x32). */
  foreignFrom: number | null;
}

const ARCHES: Record<FilterArch, ArchInfo> = {
  "x86_64": { audit: 0xc000003e, socket: 41, ioUring: [425, 426, 427], foreignFrom: 0x40000000 },
  aarch64: { audit: 0xc00000b7, socket: 198, ioUring: [425, 426, 427], foreignFrom: null },
};

const AF_VSOCK = 40;
const EPERM = 1;

const LD_ABS_W = 0x20;
const JEQ_K = 0x15;
const JGE_K = 0x35;
const RET_K = 0x06;
const RET_ALLOW = 0x7fff0000;
const RET_ERRNO = 0x00050000;

/** Offsets into `struct seccomp_data`. */
const NR = 0;
const ARCH = 4;
const ARG0 = 16; // low 32 bits on little-endian machines

type Target = "allow" | "deny" | "next";
interface Insn {
  code: number;
  k: number;
  jt?: Target;
  jf?: Target;
}

/**
 * The filter program for `arch`, as bytes of `struct sock_filter[]`.
 *
 * @example
 * ```ts
 * import { seccompProgram } from "./seccomp.ts";
 * import assert from "node:assert/strict";
 * const program = seccompProgram("x86_64", "restricted");
 * assert.equal(program.byteLength % 8, 0);
 * // The last two instructions: allow, then EPERM.
 * const view = new DataView(program.buffer);
 * assert.equal(view.getUint32(program.byteLength - 12, true), 0x7fff0000);
 * assert.equal(view.getUint32(program.byteLength - 4, true), 0x00050001);
 * ```
 */
export function seccompProgram(arch: FilterArch, mode: FilterMode): Uint8Array {
  const info = ARCHES[arch];
  const insns: Insn[] = [
    { code: LD_ABS_W, k: ARCH },
    { code: JEQ_K, k: info.audit, jt: "next", jf: "deny" },
    { code: LD_ABS_W, k: NR },
  ];
  if (info.foreignFrom !== null) {
    insns.push({ code: JGE_K, k: info.foreignFrom, jt: "deny", jf: "next" });
  }
  for (const nr of info.ioUring) insns.push({ code: JEQ_K, k: nr, jt: "deny", jf: "next" });
  if (mode === "restricted") {
    insns.push({ code: JEQ_K, k: info.socket, jt: "deny", jf: "allow" });
  } else {
    insns.push({ code: JEQ_K, k: info.socket, jt: "next", jf: "allow" });
    insns.push({ code: LD_ABS_W, k: ARG0 });
    insns.push({ code: JEQ_K, k: AF_VSOCK, jt: "deny", jf: "next" });
  }
  const allowAt = insns.length;
  insns.push({ code: RET_K, k: RET_ALLOW });
  const denyAt = insns.length;
  insns.push({ code: RET_K, k: RET_ERRNO | EPERM });

  const bytes = new Uint8Array(insns.length * 8);
  const view = new DataView(bytes.buffer);
  insns.forEach((insn, i) => {
    const jump = (target: Target | undefined): number => {
      if (target === undefined || target === "next") return 0;
      const offset = (target === "allow" ? allowAt : denyAt) - i - 1;
      if (offset > 255) throw new RangeError("seccomp jump too far");
      return offset;
    };
    view.setUint16(i * 8, insn.code, true);
    view.setUint8(i * 8 + 2, jump(insn.jt));
    view.setUint8(i * 8 + 3, jump(insn.jf));
    view.setUint32(i * 8 + 4, insn.k >>> 0, true);
  });
  return bytes;
}
