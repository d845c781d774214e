// Copyright 2026 the exec-server authors. MIT license.
/**
 * The stdio transport (`serve --listen stdio`): newline-delimited JSON-RPC on
 * stdin/stdout, one message per line, blank lines skipped, logs on stderr. One
 * connection, one session; it ends when stdin closes, terminating its
 * processes. Meant to be started over ssh: `ssh host exec-server serve --listen stdio`.
 *
 * @module
 */
import { readLines } from "../util/mod.ts";
import { CloseCode } from "./close_code.ts";
import type { Peer } from "./connection.ts";
import type { ServerCore } from "./core.ts";

const encoder = new TextEncoder();

/** Options for {@linkcode serveStdio}. */
export interface StdioServeOptions {
  /** Where messages come from. @default {Deno.stdin.readable} */
  input?: ReadableStream<Uint8Array>;
  /** Where messages go. @default {Deno.stdout.writable} */
  output?: WritableStream<Uint8Array>;
  /** Stops serving (as if the input ended). @default {undefined} (serves until the input ends) */
  signal?: AbortSignal;
}

/**
 * Serves one connection of `core` over stdio until the input ends; then
 * tears the session down (terminating its processes) and resolves.
 *
 * @example Two requests in, two replies out
 * ```ts
 * import { createServerCore, serveStdio } from "./mod.ts";
 * import { NULL_LOGGER } from "../util/mod.ts";
 * import assert from "node:assert/strict";
 * const core = createServerCore({ logger: NULL_LOGGER });
 * const lines = '{"id":1,"method":"initialize","params":{"clientName":"doc"}}\n' +
 *   '{"method":"initialized"}\n{"id":2,"method":"process/list"}\n';
 * const out: string[] = [];
 * await serveStdio(core, {
 *   input: ReadableStream.from([new TextEncoder().encode(lines)]),
 *   output: new WritableStream({ write: (b) => void out.push(new TextDecoder().decode(b)) }),
 * });
 * assert.deepEqual(JSON.parse(out[1]!), { id: 2, result: { processes: [] } });
 * assert.equal(core.registry.size, 0, "the session ended with the input");
 * ```
 */
export async function serveStdio(
  core: ServerCore,
  options: StdioServeOptions = {},
): Promise<void> {
  const server = core.context;
  const reader = (options.input ?? Deno.stdin.readable).getReader();
  const stop = () => void reader.cancel().catch(() => {});
  options.signal?.addEventListener("abort", stop, { once: true });
  const writer = (options.output ?? Deno.stdout.writable).getWriter();
  let queued = 0;
  let open = true;
  const peer: Peer = {
    sendText(text) {
      if (!open) return;
      const bytes = encoder.encode(text + "\n");
      queued += bytes.byteLength;
      writer.write(bytes).then(
        () => (queued -= bytes.byteLength),
        () => {
          // The peer stopped reading for good (stdout closed): stop serving.
          open = false;
          stop();
        },
      );
    },
    close(_code, reason) {
      if (!open) return;
      server.log.warn(`stdio: closing: ${reason}`);
      open = false;
      // Stop reading too: the input may stay open for ever (an ssh session).
      stop();
    },
    bufferedAmount: () => queued,
  };
  const conn = core.connect(peer, { label: "stdio" });
  const inflight = new Set<Promise<unknown>>();
  for await (const line of readLines(reader, { maxLineBytes: server.maxMessageBytes })) {
    if (!conn.open) break;
    if (line instanceof Uint8Array) {
      const p = conn.receive(line);
      inflight.add(p);
      p.finally(() => inflight.delete(p));
      // While as many requests wait as may run, leave the rest in the pipe.
      const ready = conn.ready();
      if (ready) await ready;
    } else {
      conn.close(
        CloseCode.TooBig,
        `message too big: ${line.tooLong} bytes exceeds the limit of ${server.maxMessageBytes}`,
      );
      break;
    }
  }
  options.signal?.removeEventListener("abort", stop);
  const session = conn.session;
  conn.transportClosed();
  if (session) await server.registry.remove(session);
  await Promise.allSettled([...inflight]);
  open = false;
  await writer.close().catch(() => {});
}
