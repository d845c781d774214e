// Copyright 2026 the exec-server authors. MIT license.
import assert from "node:assert/strict";
import { messageOf } from "../lib/util/mod.ts";

Deno.test("messageOf() reads any thrown value", () => {
  assert.equal(messageOf(new Error("boom")), "boom");
  assert.equal(messageOf(new Deno.errors.NotFound("gone")), "gone");
  assert.equal(messageOf("plain text"), "plain text");
  assert.equal(messageOf(42), "42");
  assert.equal(messageOf(undefined), "undefined");
  assert.equal(messageOf({ toString: () => "custom" }), "custom");
});
