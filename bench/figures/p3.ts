// Copyright 2026 the exec-server authors. MIT license.
/**
 * P3: terminal throughput end to end against util-linux `script -qfec`, then
 * the terminal backend alone (`bench/pty.ts`: no server, no socket).
 *
 * @module
 */
import type { BenchClient } from "../client.ts";
import { messageOf } from "../../lib/util/mod.ts";
import {
  type BenchContext,
  codexVariant,
  type FigureSamples,
  interleave,
  peerVariant,
  type Series,
  type Variant,
} from "./interleave.ts";
import { remoteBytes, runLocal, throughput, warmRemote, withTimeout } from "./measure.ts";

/**
 * P3: PTY throughput end to end vs `script -qfec` (MB/s), and the backend
 * alone: its throughput (MB/s) and the spawn of `true` to exit and EOF (ms).
 */
export async function p3(ctx: BenchContext): Promise<FigureSamples> {
  const bytes = ctx.config.p3Bytes;
  const head = ["head", "-c", String(bytes), "/dev/zero"];
  const timeoutMs = 120_000;
  const extra = { tty: true, size: { rows: 24, cols: 80 } };
  const remote = (client: BenchClient) => () =>
    throughput(
      bytes,
      "exec-server PTY",
      () => remoteBytes(client, "p3", head, { timeoutMs, extra }),
    );
  const variants: Variant[] = [
    {
      key: "binary",
      name: "exec-server, tty:true, binary frames",
      batch: remote(ctx.binary),
      ours: true,
    },
    {
      key: "json",
      name: "exec-server, tty:true, JSON (base64)",
      batch: remote(ctx.json),
      ours: true,
    },
    peerVariant(
      "script",
      "util-linux script -qfec (local)",
      ctx.peers.script,
      () => () =>
        throughput(
          bytes,
          "script",
          () => runLocal("script", ["-qfec", head.join(" "), "/dev/null"], timeoutMs),
        ),
    ),
    // codex has no binary frames: its row compares with our JSON mode.
    codexVariant(ctx, "codex", "codex exec-server, tty:true (base64 JSON)", remote, "json"),
  ];
  await warmRemote(ctx, ["head", "-c", "5000000", "/dev/zero"], { tty: true });
  const result = await interleave(ctx, "P3", variants, "MB/s", "binary");
  try {
    const { runPtyBench } = await import("../pty.ts");
    ctx.progress("P3: backend comparison (bench/pty.ts: spawnPty vs script)");
    const r = await withTimeout(
      runPtyBench({ ...ctx.config.p3Backend, baseline: ctx.peers.script.value !== null }),
      ctx.config.budgetMs,
      "runPtyBench",
    );
    const skipped = r.note ?? "skipped";
    const backend: Record<string, Series> = {
      backend: {
        name: "PTY backend alone: lib/process/pty.ts spawnPty (in-process, no socket)",
        unit: "MB/s",
        samples: r.throughput.pty,
        ours: true,
      },
      backendScript: {
        name: "util-linux script -qfec, same loop (bench/pty.ts)",
        unit: "MB/s",
        samples: r.throughput.script ?? [],
        against: "backend",
        ...(r.throughput.script ? {} : { note: skipped }),
      },
      backendSpawn: {
        name: "lib/process/pty.ts spawnPty `true` → exit and EOF (in-process)",
        unit: "ms",
        samples: r.spawn.samples.pty,
        ours: true,
      },
      scriptSpawn: {
        name: "util-linux script -qfec true (bench/pty.ts)",
        unit: "ms",
        samples: r.spawn.samples.script ?? [],
        against: "backendSpawn",
        ...(r.spawn.samples.script ? {} : { note: skipped }),
      },
    };
    Object.assign(result.series, backend);
  } catch (err) {
    result.notes.push(`P3: bench/pty.ts could not run: ${messageOf(err)}`);
  }
  return result;
}
