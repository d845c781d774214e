// Copyright 2026 the exec-server authors. MIT license.
// Shared helpers for the fs unit tests.
import assert from "node:assert/strict";
export const enc = (s: string) => new TextEncoder().encode(s).toBase64();
export const dec = (b64: string) => new TextDecoder().decode(Uint8Array.fromBase64(b64));

/** Runs `fn` with a fresh temp dir (canonical), removed afterwards. */
export async function withTemp(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.realPath(await Deno.makeTempDir());
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Asserts that `promise` rejects with an RpcError of `code` matching `re`. */
export async function rejectsWith(
  promise: Promise<unknown>,
  code: number,
  re?: RegExp,
): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof Error && err.name === "RpcError", String(err));
    assert.equal((err as unknown as { code: number }).code, code, err.message);
    if (re !== undefined) assert.match(err.message, re);
    return true;
  });
}

/** Creates a FIFO at `path`. */
export async function mkfifo(path: string): Promise<void> {
  const { success } = await new Deno.Command("mkfifo", { args: [path] })
    .output();
  assert.ok(success);
}
