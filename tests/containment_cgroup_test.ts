// Copyright 2026 the exec-server authors. MIT license.
// cgroup containment when the server cannot move back out of a child's
// cgroup after a spawn (review proc 6), over an in-memory cgroup file
// system (the moves of the real server cannot be made to fail on cue) and
// a real child process. The child was born in a cgroup that also holds the
// server, where cgroup.kill would kill the server too: it used to go on
// running, unknown to anyone (the start failed before its pid was handed
// out), and every later start failed for good. Now it is killed and the
// start fails saying why; the next start moves the server back, and the
// cgroup it was stuck in is removed.
import assert from "node:assert/strict";
import { cgroupContainmentAt } from "../lib/process/cgroup.ts";
import type { Entry, SysFs } from "../lib/process/sysfs.ts";

/** Just enough of cgroupfs: directories, where the server is, and failing moves on demand. */
class FakeCgroupFs implements SysFs {
  dirs = new Set<string>();
  /** The cgroup the server is in. */
  self: string;
  /** Writes of the server's pid into this cgroup fail while set. */
  refuse: string | null = null;
  kills: string[] = [];

  constructor(readonly own: string) {
    this.self = own;
    this.dirs.add(own);
  }

  read(path: string): string | null {
    const dir = path.slice(0, path.lastIndexOf("/"));
    if (!this.dirs.has(dir)) return null;
    if (path.endsWith("/cgroup.events")) {
      return `populated ${this.self === dir ? 1 : 0}\nfrozen 0\n`;
    }
    if (path.endsWith("/cgroup.procs")) return this.self === dir ? `${Deno.pid}\n` : "";
    return null;
  }

  write(path: string, text: string): void {
    const dir = path.slice(0, path.lastIndexOf("/"));
    if (!this.dirs.has(dir)) throw new Deno.errors.NotFound(path);
    if (path.endsWith("/cgroup.kill")) this.kills.push(dir);
    else if (path.endsWith("/cgroup.procs") && text === String(Deno.pid)) {
      if (this.refuse === dir) throw new Error(`EBUSY: write ${path}`);
      this.self = dir;
    }
  }

  mkdir(path: string): void {
    if (this.dirs.has(path)) throw new Deno.errors.AlreadyExists(path);
    this.dirs.add(path);
  }

  rmdir(path: string): void {
    if (this.self === path) throw new Error(`EBUSY: rmdir ${path}`);
    if (!this.dirs.delete(path)) throw new Deno.errors.NotFound(path);
  }

  list(path: string): Entry[] {
    return [...this.dirs].filter((d) =>
      d.startsWith(`${path}/`) && !d.slice(path.length + 1).includes("/")
    )
      .map((d) => ({ name: d.slice(path.length + 1), dir: true }));
  }

  exists(path: string): boolean {
    return this.dirs.has(path) || this.dirs.has(path.slice(0, path.lastIndexOf("/")));
  }
}

function sleeper(): Deno.ChildProcess {
  return new Deno.Command("sleep", { args: ["30"], stdout: "null", stderr: "null" }).spawn();
}

async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

Deno.test("cgroup: a failed move back kills the child, fails the start, and recovers later (review proc 6)", async () => {
  const own = "/cg/server";
  const base = `${own}/exec-server.${Deno.pid}`;
  const fs = new FakeCgroupFs(own);
  fs.mkdir(base);
  const containment = cgroupContainmentAt(own, base, fs);
  fs.refuse = own; // moving back fails

  const first = sleeper();
  try {
    const tree = containment.newTree();
    assert.throws(
      () => tree.spawn(() => first.pid),
      /could not leave cgroup \/cg\/server\/exec-server\.\d+\/p1 \(the process was killed\): EBUSY/,
    );
    const status = await within(first.status, 5000, "the child to be killed");
    assert.equal(status.signal, "SIGKILL");
    tree.release();
    assert.deepEqual(fs.kills, [], "no cgroup.kill where the server is");
    assert.equal(fs.self, `${base}/p1`, "still stuck");

    // While stuck, nothing starts (a child would be born next to the server).
    let called = false;
    assert.throws(
      () =>
        containment.newTree().spawn(() => {
          called = true;
          return -1;
        }),
      /the server is stuck in cgroup .*\/p1/,
    );
    assert.equal(called, false);

    // Once the move works again, the next start makes it and goes on.
    fs.refuse = null;
    const second = sleeper();
    try {
      const tree2 = containment.newTree();
      assert.equal(tree2.spawn(() => second.pid), second.pid);
      assert.equal(fs.self, own, "back in its own cgroup");
      assert.ok(!fs.dirs.has(`${base}/p1`), "the cgroup it was stuck in is removed");
      tree2.kill();
      assert.deepEqual(fs.kills, [`${base}/p3`]);
      tree2.release();
    } finally {
      second.kill("SIGKILL");
      await second.status;
    }
  } finally {
    try {
      first.kill("SIGKILL");
    } catch {
      // killed already
    }
    await first.status;
  }
});
