// Copyright 2026 the exec-server authors. MIT license.
// The /proc tree (lib/process/tree.ts) over a fake process table: once the
// leader is reaped its pid, and with it the process group and session id,
// may be handed to a new process; the tree must then not signal that group
// nor adopt its members (review proc 4 and 5). The ids count only while the
// leader's zombie holds them, or while a member the tree knows is still in
// them (the kernel does not reuse an id that any process has).
import assert from "node:assert/strict";
import { newProcTree, type ProcSource, type ProcStat } from "../lib/process/tree.ts";
import type { PosixSignal } from "../lib/process/child.ts";

/** A process table the test edits, and the signals the tree sent. */
class FakeProcs implements ProcSource {
  table = new Map<number, ProcStat>();
  sent: string[] = [];

  add(pid: number, fields: Partial<ProcStat> & { starttime: number }): void {
    this.table.set(pid, {
      pid,
      state: "S",
      ppid: 1,
      pgrp: pid,
      session: pid,
      ...fields,
    });
  }

  processes(): ProcStat[] {
    return [...this.table.values()];
  }

  stat(pid: number): ProcStat | null {
    return this.table.get(pid) ?? null;
  }

  kill(pid: number, signal: PosixSignal): void {
    this.sent.push(`${signal} ${pid}`);
  }

  invalidate(): void {}
}

const SERVER = 50;

/** Leader 100 with a child 101 in its group; the leader exits (a zombie) and is reaped. */
function exitedLeader() {
  const procs = new FakeProcs();
  const tree = newProcTree(procs);
  assert.equal(
    tree.spawn(() => {
      procs.add(100, { ppid: SERVER, starttime: 10 });
      return 100;
    }),
    100,
  );
  procs.add(101, { ppid: 100, pgrp: 100, session: 100, starttime: 11 });
  procs.table.get(100)!.state = "Z";
  tree.noteLeaderExit();
  procs.table.delete(100); // reaped
  procs.table.get(101)!.ppid = SERVER; // reparented to the subreaper
  return { procs, tree };
}

Deno.test("ProcTree: a group id that a new process took is neither signalled nor adopted", () => {
  const { procs, tree } = exitedLeader();
  procs.table.delete(101); // the last member ends: ids 100 are free
  // A new session leader got pid 100, and its child is in group 100.
  procs.add(100, { ppid: 1, starttime: 500 });
  procs.add(102, { ppid: 100, pgrp: 100, session: 100, starttime: 501 });
  procs.add(103, { ppid: 1, pgrp: 100, session: 100, starttime: 502 });
  tree.signalGroup("SIGINT");
  tree.signal("SIGTERM");
  tree.kill();
  assert.equal(tree.alive(), false);
  tree.release();
  assert.deepEqual(procs.sent, []);
});

Deno.test("ProcTree: after the reap the group is still signalled while a known member is in it", () => {
  const { procs, tree } = exitedLeader();
  // 101 forked 104 and exited from under it; 104 stays in group 100.
  procs.add(104, { ppid: 1, pgrp: 100, session: 100, starttime: 12 });
  tree.signalGroup("SIGINT");
  assert.deepEqual(procs.sent, ["SIGINT -100"]);
  procs.sent = [];
  tree.signal("SIGTERM");
  assert.deepEqual(procs.sent.sort(), ["SIGTERM -100", "SIGTERM 101", "SIGTERM 104"]);
  // 101 goes; 104, seen as a member now, still holds group 100 for the tree.
  procs.table.delete(101);
  procs.sent = [];
  tree.signalGroup("SIGHUP");
  assert.deepEqual(procs.sent, ["SIGHUP -100"]);
  assert.equal(tree.alive(), true);
});

Deno.test("ProcTree: while the leader lives its session and group are the tree's", () => {
  const procs = new FakeProcs();
  const tree = newProcTree(procs);
  tree.spawn(() => {
    procs.add(100, { ppid: SERVER, starttime: 10 });
    return 100;
  });
  procs.add(105, { ppid: 1, pgrp: 105, session: 100, starttime: 20 }); // setpgid'd, reparented
  tree.signal("SIGTERM");
  assert.deepEqual(procs.sent.sort(), ["SIGTERM -100", "SIGTERM 100", "SIGTERM 105"]);
  // The leader's pid is reused by another process (it was reaped meanwhile).
  procs.table.delete(100);
  procs.table.delete(105);
  procs.add(100, { ppid: 1, starttime: 900 });
  procs.sent = [];
  tree.signal("SIGTERM");
  tree.signalGroup("SIGINT");
  assert.deepEqual(procs.sent, [], "not the new process 100");
});
