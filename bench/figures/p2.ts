// Copyright 2026 the exec-server authors. MIT license.
/**
 * P2: stdout throughput of `head -c N /dev/zero` over JSON (base64) and
 * binary output frames, against a local read and the peers.
 *
 * @module
 */
import type { BenchClient } from "../client.ts";
import {
  type BenchContext,
  codexVariant,
  type FigureSamples,
  interleave,
  peerVariant,
  type Variant,
} from "./interleave.ts";
import { remoteBytes, runLocal, throughput, warmRemote, wsCount } from "./measure.ts";

/** P2: stdout throughput of `head -c N /dev/zero`. Samples in MB/s. */
export async function p2(ctx: BenchContext): Promise<FigureSamples> {
  const bytes = ctx.config.p2Bytes;
  const head = ["head", "-c", String(bytes), "/dev/zero"];
  const timeoutMs = 120_000;
  const remote = (client: BenchClient) => () =>
    throughput(bytes, "exec-server", () => remoteBytes(client, "p2", head, { timeoutMs }));
  await warmRemote(ctx, ["head", "-c", "20000000", "/dev/zero"]);
  const variants: Variant[] = [
    {
      key: "json",
      name: "exec-server, JSON (base64) output",
      batch: remote(ctx.json),
      ours: true,
    },
    {
      key: "binary",
      name: "exec-server, binary output frames",
      ours: true,
      ...(ctx.binary.binaryOutput
        ? { batch: remote(ctx.binary) }
        : { batch: null, note: "the server did not grant binaryOutput" }),
    },
    {
      key: "local",
      name: "local Deno.Command read",
      batch: () => throughput(bytes, "local", () => runLocal(head[0]!, head.slice(1), timeoutMs)),
    },
    peerVariant(
      "ssh",
      "ssh 127.0.0.1 head … (ControlMaster reused)",
      ctx.peers.ssh,
      (args) => () =>
        throughput(bytes, "ssh", () => runLocal("ssh", [...args, head.join(" ")], timeoutMs)),
    ),
    peerVariant(
      "websocketd",
      "websocketd --binary",
      ctx.peers.websocketd,
      (url) => () =>
        throughput(bytes, "websocketd", () => wsCount(`${url}/zero?${bytes}`, timeoutMs)),
    ),
    // codex has no binary frames: its row compares with our JSON mode, the same wire.
    codexVariant(ctx, "codex", "codex exec-server (base64 JSON, its only mode)", remote, "json"),
  ];
  return await interleave(ctx, "P2", variants, "MB/s", "binary");
}
