// Copyright 2026 the exec-server authors. MIT license.
/**
 * P6: stdin throughput, `process/write` into `head -c N >/dev/null`, against
 * a local pipe, ssh and codex's server.
 *
 * @module
 */
import { type BenchClient, runRemote } from "../client.ts";
import { mbps } from "../stats.ts";
import {
  type BenchContext,
  codexVariant,
  type FigureSamples,
  interleave,
  newProcessId,
  peerVariant,
  type Variant,
} from "./interleave.ts";
import { timeIt, warmUp } from "./measure.ts";

/** P6: stdin throughput into `head -c N >/dev/null`. Samples in MB/s. */
export async function p6(ctx: BenchContext): Promise<FigureSamples> {
  const c = ctx.config;
  const chunk = new Uint8Array(c.p6ChunkBytes);
  crypto.getRandomValues(chunk.subarray(0, 65536));
  for (let off = 65536; off < chunk.length; off += 65536) chunk.copyWithin(off, 0, 65536);
  // Every write sends the same bytes, so they are encoded once: the figure is
  // the server's, not this client's base64 encoder's.
  const encoded = chunk.toBase64();
  const total = Math.ceil(c.p6Bytes / c.p6ChunkBytes) * c.p6ChunkBytes;
  // The reader stops after exactly `total` bytes, so no end-of-file is
  // needed: codex has no process/closeStdin, and every variant does the same.
  const argv = ["sh", "-c", `head -c ${total} >/dev/null`];
  const timeoutMs = 120_000;
  // Every write carries a writeId (codex requires one; ours dedupes on it).
  const remoteOn = (client: BenchClient) => async () => {
    const id = newProcessId("p6");
    const ms = await timeIt(async () => {
      const started = Promise.withResolvers<void>();
      const closed = runRemote(client, id, argv, {
        extra: { pipeStdin: true },
        timeoutMs,
        onStarted: started.resolve,
      });
      closed.catch(started.reject);
      await started.promise;
      // Writes in flight are bounded by the window, and each must be accepted.
      await new Promise<void>((resolve, reject) => {
        let sent = 0;
        let writes = 0;
        let inFlight = 0;
        let failed = false;
        const pump = () => {
          while (!failed && inFlight < c.p6Window && sent < total) {
            sent += chunk.byteLength;
            inFlight++;
            client.request(
              "process/write",
              { processId: id, chunk: encoded, writeId: String(++writes) },
              timeoutMs,
            ).then((r) => {
              inFlight--;
              const status = (r as { status: string }).status;
              if (status !== "accepted") throw new Error(`process/write: ${status}`);
              if (sent >= total && inFlight === 0) resolve();
              else pump();
            }).catch((err) => {
              failed = true;
              reject(err);
            });
          }
        };
        pump();
      });
      const res = await closed;
      if (res.exitCode !== 0) throw new Error(`head exited with ${res.exitCode}`);
    });
    return [mbps(total, ms)];
  };
  const pipeInto = async (program: string, args: string[]) => {
    const ms = await timeIt(async () => {
      const child = new Deno.Command(program, {
        args,
        stdin: "piped",
        stdout: "null",
        stderr: "null",
      }).spawn();
      const timer = setTimeout(() => {
        try {
          child.kill("SIGKILL");
        } catch {
          // gone
        }
      }, timeoutMs);
      const w = child.stdin.getWriter();
      for (let sent = 0; sent < total; sent += chunk.byteLength) await w.write(chunk);
      await w.close();
      const s = await child.status;
      clearTimeout(timer);
      if (!s.success) throw new Error(`${program} exited with ${s.code}`);
    });
    return [mbps(total, ms)];
  };
  const remote = remoteOn(ctx.json);
  await remote(); // warm-up (JIT on both sides)
  const variants: Variant[] = [
    {
      key: "server",
      name: "exec-server: process/write into head -c N >/dev/null",
      batch: remote,
      ours: true,
    },
    {
      key: "local",
      name: "local Deno.Command stdin into head -c N >/dev/null",
      batch: () => pipeInto(argv[0]!, argv.slice(1)),
    },
    peerVariant(
      "ssh",
      "ssh 127.0.0.1 'head -c N >/dev/null' (ControlMaster reused)",
      ctx.peers.ssh,
      (args) => () => pipeInto("ssh", [...args, argv[2]!]),
    ),
    // codex handles one request per connection at a time (its default), so
    // of the writes in flight one is worked on while the rest wait in line.
    codexVariant(
      ctx,
      "codex",
      "codex exec-server: the same process/write into head -c N >/dev/null",
      (client) => remoteOn(client),
    ),
  ];
  const codex = variants.at(-1)!;
  if (ctx.codex) await warmUp(codex, remoteOn(ctx.codex));
  return await interleave(ctx, "P6", variants, "MB/s", "server");
}
