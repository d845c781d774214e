// Copyright 2026 the exec-server authors. MIT license.
/**
 * What the reactor (`reactor.ts`) keeps per child: its output and input
 * ports, pending writes, exit status; and how a read becomes a chunk.
 *
 * @module
 */
import type { ChildSink, ExitStatus, StreamName } from "./child.ts";
import { signalName } from "./ffi_libc.ts";
import { FRAME_HEADROOM, markHeadroom } from "../protocol/binary_frame.ts";

/** Reads shorter than this are copied out without headroom (a frame copies them anyway). */
const COPY_BELOW = 16 * 1024;
const NEWLINE = 0x0a;

/** Bytes that the kernel did not take yet, and the caller's promise. */
export interface PendingWrite {
  /** The bytes (the caller's buffer, unchanged until the write settles). */
  data: Uint8Array;
  /** How many of them were written. */
  offset: number;
  /** Settles the caller's `write()` promise once all bytes are written. */
  resolve: () => void;
  /** Fails the caller's `write()` promise. */
  reject: (error: unknown) => void;
}

/** A descriptor the child writes to (a pipe's read end, or a terminal master). */
export interface OutputPort {
  /** The stream its bytes are reported as. */
  stream: StreamName;
  /** The descriptor; -1 once closed. */
  fd: number;
  /** A promise from `sink.output` is pending: do not read. */
  paused: boolean;
  /** Resumed from a pause; the reactor must read before polling again. */
  resumed: boolean;
  /** The last read ended with EAGAIN or EOF. */
  drained: boolean;
  /** End-of-file was reported. */
  eof: boolean;
}

/** The descriptor the server writes the child's input to. */
export interface InputPort {
  /** The descriptor (for a terminal, the master itself); -1 once closed. */
  fd: number;
  /** Writes waiting for POLLOUT, oldest first. */
  writes: PendingWrite[];
  /** For pipes: resolves `closeStdin` once the queued writes are out and the pipe is closed. */
  closing: (() => void) | null;
}

/** One child as the reactor sees it; the backends read it, the reactor writes it. */
export interface ReactorChild {
  /** The session leader's pid (also its process group and session id). */
  pid: number;
  /** pidfd; -1 once the child is reaped. */
  pidfd: number;
  /** Receives the output, end-of-file and exit. */
  sink: ChildSink;
  /** A terminal: one master for output and input, EIO is end-of-file, drained before the exit. */
  pty: boolean;
  /** Output descriptors. */
  outputs: OutputPort[];
  /** Input descriptor, or null (stdin is /dev/null). */
  input: InputPort | null;
  /** Set once the child is reaped. */
  status: ExitStatus | null;
  /** `sink.exit` was called. */
  exitSent: boolean;
  /** Closed after a fault: only the reap is left to do. */
  failed: boolean;
  /** Last byte queued for writing, to know if a terminal line is partly typed. */
  lastByte: number;
  /** Kills the child's whole tree (called on a fault). */
  killTree: () => void;
  /** Called once the child has exited, before it is reaped (its pid still held). */
  beforeReap: () => void;
}

/** The state of a just-spawned child. */
export function newReactorChild(fields: {
  pid: number;
  pidfd: number;
  sink: ChildSink;
  pty: boolean;
  outputs: { stream: StreamName; fd: number }[];
  input: number | null;
  killTree: () => void;
  beforeReap?: () => void;
}): ReactorChild {
  return {
    pid: fields.pid,
    pidfd: fields.pidfd,
    sink: fields.sink,
    pty: fields.pty,
    outputs: fields.outputs.map(({ stream, fd }) => ({
      stream,
      fd,
      paused: false,
      resumed: false,
      drained: false,
      eof: false,
    })),
    input: fields.input === null ? null : { fd: fields.input, writes: [], closing: null },
    status: null,
    exitSent: false,
    failed: false,
    lastByte: NEWLINE,
    killTree: fields.killTree,
    beforeReap: fields.beforeReap ?? (() => {}),
  };
}

/** Decodes a waitpid(2) status. */
export function decodeStatus(raw: number): ExitStatus {
  const sig = raw & 0x7f;
  if (sig === 0) return { code: (raw >> 8) & 0xff, signal: null };
  if (sig !== 0x7f) return { code: 128 + sig, signal: signalName(sig) };
  return { code: -1, signal: null };
}

/**
 * The reactor's read buffer: {@linkcode FRAME_HEADROOM} free bytes, then
 * room for one read. One serves every descriptor (reads are synchronous and
 * each is taken out at once), so a thousand quiet children cost no buffers;
 * it is replaced only when a large read is handed out in place.
 */
export class ReadBuffer {
  #buffer: ArrayBuffer | null = null;
  readonly #size: number;

  /** A buffer for reads of up to `size` bytes, allocated on first use. */
  constructor(size: number) {
    this.#size = size;
  }

  /** Where the next read of up to `size` bytes goes (at most the buffer's size). */
  view(size: number): Uint8Array {
    this.#buffer ??= new ArrayBuffer(FRAME_HEADROOM + this.#size);
    return new Uint8Array(this.#buffer, FRAME_HEADROOM, Math.min(size, this.#size));
  }

  /**
   * The `n` bytes just read, in a buffer with free bytes in front so that a
   * binary output frame is built around them without a copy. A large read
   * is handed out in place (the next read gets a fresh buffer); a smaller
   * one is copied at its size so a retained chunk never pins a whole read
   * buffer, and the read buffer is reused.
   */
  take(n: number): Uint8Array {
    const buffer = this.#buffer!;
    if (n < COPY_BELOW) return new Uint8Array(buffer, FRAME_HEADROOM, n).slice();
    if (n >= this.#size * 0.75) {
      this.#buffer = null;
      return markHeadroom(new Uint8Array(buffer, FRAME_HEADROOM, n));
    }
    const copy = new Uint8Array(new ArrayBuffer(FRAME_HEADROOM + n), FRAME_HEADROOM, n);
    copy.set(new Uint8Array(buffer, FRAME_HEADROOM, n));
    return markHeadroom(copy);
  }
}
