// Copyright 2026 the exec-server authors. MIT license.
// The README says what the code does: the table of deliberate differences
// from codex exec-server is the one list in tests/differential_differences.ts,
// row for row; the lifecycle groups and the environment example follow the
// method table.
import assert from "node:assert/strict";
import { DELIBERATE_DIFFERENCES } from "./differential_differences.ts";
import { METHODS } from "../lib/protocol/methods.ts";
import { capabilitiesOf, EnvironmentInfoSchema, methodGroup } from "../lib/protocol/environment.ts";

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

Deno.test("README: the lifecycle groups are every group of the method table", async () => {
  const readme = await Deno.readTextFile(new URL("../README.md", import.meta.url));
  const sentence = /where G is the method's group as\s+codex names it: ([^.]+)\./.exec(readme);
  assert.ok(sentence, "README names the groups");
  const listed = [...sentence[1]!.matchAll(/`([^`]+)`/g)].map((m) => m[1]!.replace(/\s+/g, " "));
  const groups = new Set(Object.keys(METHODS).map(methodGroup));
  assert.deepEqual(new Set(listed), groups);
});

Deno.test("README: the environment information example shows the capability flags we return", async () => {
  const readme = await Deno.readTextFile(new URL("../README.md", import.meta.url));
  const section = readme.slice(readme.indexOf("### Environment information"));
  const json = /```json\n([\s\S]*?)\n```/.exec(section);
  assert.ok(json, "README has the example");
  const example = JSON.parse(json[1]!) as Record<string, unknown>;
  assert.deepEqual(
    Object.keys(example).sort(),
    Object.keys(EnvironmentInfoSchema.shape).filter((k) => k !== "prependPathDirs").sort(),
  );
  const { "…": rest, ...shown } = example.capabilities as Record<string, boolean>;
  const actual = capabilitiesOf(METHODS);
  for (const [name, value] of Object.entries(shown)) {
    assert.equal(value, actual[name as never], name);
  }
  for (const [name, value] of Object.entries(actual)) {
    assert.equal(name in shown ? shown[name] : rest, value, `${name} (under "…" when not shown)`);
  }
});
