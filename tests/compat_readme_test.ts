// Copyright 2026 the exec-server authors. MIT license.
// The README's table of deliberate differences from codex exec-server is the
// one list in tests/differential_differences.ts, row for row.
import assert from "node:assert/strict";
import { DELIBERATE_DIFFERENCES } from "./differential_differences.ts";

Deno.test("README: the differences table says what the differential suite's list says", async () => {
  const readme = await Deno.readTextFile(new URL("../README.md", import.meta.url));
  const start = readme.indexOf("### Differences from codex exec-server");
  assert.ok(start >= 0, "README has the section");
  const rows = readme.slice(start).split("\n").filter((l) => l.startsWith("|")).map((l) =>
    l.slice(1, -1).split(" | ").map((c) => c.trim())
  );
  const firstBlock = rows.slice(2, 2 + DELIBERATE_DIFFERENCES.length);
  assert.deepEqual(rows[0], ["behaviour", "codex 0.171", "ours", "why"]);
  assert.deepEqual(
    firstBlock,
    DELIBERATE_DIFFERENCES.map((d) => [d.behaviour, d.codex, d.ours, d.reason]),
    "regenerate with: deno run tests/differential_differences.ts",
  );
});
