// Copyright 2026 the exec-server authors. MIT license.
import assert from "node:assert/strict";
import { joinPath, messageOf, parentOf } from "../lib/util/mod.ts";

Deno.test("messageOf() reads any thrown value", () => {
  assert.equal(messageOf(new Error("boom")), "boom");
  assert.equal(messageOf(new Deno.errors.NotFound("gone")), "gone");
  assert.equal(messageOf("plain text"), "plain text");
  assert.equal(messageOf(42), "42");
  assert.equal(messageOf(undefined), "undefined");
  assert.equal(messageOf({ toString: () => "custom" }), "custom");
});

Deno.test("joinPath() and parentOf() on POSIX path strings", () => {
  assert.equal(joinPath("/", "a"), "/a");
  assert.equal(joinPath("/a", "b"), "/a/b");
  assert.equal(joinPath("/a/", "b"), "/a/b");
  assert.equal(joinPath("rel", "b"), "rel/b");
  assert.equal(parentOf("/a/b/c"), "/a/b");
  assert.equal(parentOf("/a"), "/");
  assert.equal(parentOf("/"), "/");
  for (const path of ["/x", "/x/y", "/x/y/z"]) {
    assert.equal(joinPath(parentOf(path), path.slice(path.lastIndexOf("/") + 1)), path);
  }
});
