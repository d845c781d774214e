// Copyright 2026 the exec-server authors. MIT license.
import assert from "node:assert/strict";
import { joinPath, messageOf, parentOf, Slots } from "../lib/util/mod.ts";

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

Deno.test("Slots: at most size holders, the rest served in arrival order", async () => {
  const slots = new Slots(2);
  const order: string[] = [];
  const gates = new Map<string, PromiseWithResolvers<void>>();
  const job = (name: string) =>
    slots.run(async () => {
      order.push(`start ${name}`);
      const gate = Promise.withResolvers<void>();
      gates.set(name, gate);
      await gate.promise;
      order.push(`end ${name}`);
      return name;
    });
  const jobs = ["a", "b", "c", "d"].map(job);
  await Promise.resolve();
  assert.deepEqual(order, ["start a", "start b"]);
  gates.get("b")!.resolve();
  await jobs[1];
  await Promise.resolve();
  assert.deepEqual(order, ["start a", "start b", "end b", "start c"]);
  gates.get("a")!.resolve();
  gates.get("c")!.resolve();
  await Promise.all(jobs.slice(0, 3));
  gates.get("d")!.resolve();
  assert.deepEqual(await Promise.all(jobs), ["a", "b", "c", "d"]);
  // A job that throws gives its slot back.
  await assert.rejects(slots.run(() => Promise.reject(new Error("boom"))), /boom/);
  const [r1, r2] = [await slots.acquire(), await slots.acquire()];
  r1();
  r1(); // idempotent: frees one slot, not two
  r2();
});

Deno.test("Slots: a waiter whose signal aborts rejects with its reason and takes no slot", async () => {
  const slots = new Slots(1);
  const held = await slots.acquire();
  const ac = new AbortController();
  const waiting = slots.acquire(ac.signal);
  const later = slots.acquire();
  ac.abort(new Error("gone"));
  await assert.rejects(waiting, /gone/);
  await assert.rejects(slots.acquire(ac.signal), /gone/, "already aborted and no slot free");
  held();
  const next = await later; // the slot went to the next waiter, not the aborted one
  const free = await slots.acquire(ac.signal).catch(() => null);
  assert.equal(free, null, "still only one slot");
  next();
  (await slots.acquire(ac.signal))(); // a free slot is taken even with an aborted signal
});
