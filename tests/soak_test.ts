// Copyright 2026 the exec-server authors. MIT license.
// The short form of `deno task soak`: every attack of issue 15 against a
// fresh server, smaller; each must leave the server alive and serving,
// within its memory bound, with no surviving process and no escape.
import assert from "node:assert/strict";
import type { SoakRow } from "../scripts/soak.ts";

const SOAK = new URL("../scripts/soak.ts", import.meta.url).pathname;

Deno.test("deno task soak --quick: every attack leaves the server alive, bounded and contained", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", SOAK, "--quick", "--json"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  const { rows } = JSON.parse(new TextDecoder().decode(out.stdout)) as { rows: SoakRow[] };
  assert.ok(rows.length >= 15, `${rows.length} attacks`);
  for (const row of rows) {
    assert.equal(row.failure, null, `${row.attack}: ${row.failure}`);
    assert.notEqual(row.alive, false, row.attack);
    assert.equal(row.survivors, 0, row.attack);
    assert.equal(row.escapes, 0, row.attack);
    assert.ok(row.tried > 0, row.attack);
  }
  assert.equal(out.code, 0, stderr);
});
