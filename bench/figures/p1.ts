// Copyright 2026 the exec-server authors. MIT license.
/**
 * P1: the exec round trip of `true`, against a local spawn and the peers.
 *
 * @module
 */
import { type BenchClient, runRemote } from "../client.ts";
import {
  type BenchContext,
  codexVariant,
  type FigureSamples,
  interleave,
  newProcessId,
  peerVariant,
  type Variant,
} from "./interleave.ts";
import { repeat, runLocal, timeIt, warmUp, wsCount } from "./measure.ts";

/** P1: exec round trip of `true`. Samples in ms. */
export async function p1(ctx: BenchContext): Promise<FigureSamples> {
  const n = ctx.config.p1Runs;
  const on = (client: BenchClient) => () =>
    timeIt(async () => {
      const r = await runRemote(client, newProcessId("p1"), ["true"], { timeoutMs: 10_000 });
      if (r.exitCode !== 0) throw new Error(`true exited with ${r.exitCode}`);
    });
  const remote = on(ctx.json);
  const localPiped = () => timeIt(() => runLocal("true", [], 10_000));
  const localNull = () =>
    timeIt(async () => {
      const child = new Deno.Command("true", { stdin: "null", stdout: "null", stderr: "null" })
        .spawn();
      const s = await child.status;
      if (!s.success) throw new Error("true failed");
    });
  const websocketd = (url: string) => () => timeIt(() => wsCount(`${url}/true`, 10_000));
  const ssh = (args: string[]) => () => timeIt(() => runLocal("ssh", [...args, "true"], 20_000));
  const { peers } = ctx;
  const variants: Variant[] = [
    {
      key: "server",
      name: "exec-server: process/start `true` → process/closed",
      batch: () => repeat(n, remote),
      ours: true,
    },
    {
      key: "localPiped",
      name: "local Deno.Command spawn+wait (stdout/stderr piped)",
      batch: () => repeat(n, localPiped),
    },
    {
      key: "localNull",
      name: "local Deno.Command spawn+wait (stdio null)",
      batch: () => repeat(n, localNull),
    },
    peerVariant(
      "websocketd",
      "websocketd: connect + spawn `true` + close",
      peers.websocketd,
      (url) => () => repeat(n, websocketd(url)),
    ),
    peerVariant(
      "ssh",
      "ssh 127.0.0.1 true (ControlMaster reused)",
      peers.ssh,
      (args) => () => repeat(Math.max(5, Math.ceil(n / 2)), ssh(args)),
    ),
    // Half the runs: each takes about 50 ms on codex.
    codexVariant(
      ctx,
      "codex",
      "codex exec-server: the same process/start `true` → process/closed",
      (client) => () => repeat(Math.max(5, Math.ceil(n / 2)), on(client)),
    ),
  ];
  // Warm up every path (JIT, page cache, the mux connection) before measuring.
  for (let i = 0; i < 5; i++) {
    await remote();
    await localPiped();
    await localNull();
  }
  if (peers.websocketd.value) await warmUp(variants[3]!, websocketd(peers.websocketd.value));
  if (peers.ssh.value) await warmUp(variants[4]!, ssh(peers.ssh.value));
  if (ctx.codex) await warmUp(variants[5]!, on(ctx.codex));
  return await interleave(ctx, "P1", variants, "ms", "server");
}
