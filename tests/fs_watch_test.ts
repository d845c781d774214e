// Copyright 2026 the exec-server authors. MIT license.
import assert from "node:assert/strict";
import { FileSystemService } from "../lib/fs/service.ts";
import type { FsChangedNotification } from "../lib/protocol/fs.ts";
import { FsWatchSet, type FsWatchSetOptions } from "../lib/fs/watch.ts";

/** A watch set over `fs`'s roots and inotify instance. */
function setOf(
  fs: FileSystemService,
  listener: (n: FsChangedNotification) => void,
  options?: FsWatchSetOptions,
): FsWatchSet {
  return new FsWatchSet(fs.resolver, fs.inotify, listener, options);
}

type Predicate = (n: FsChangedNotification) => boolean;

/** Collects notifications and waits for one matching a predicate. */
class Recorder {
  readonly events: FsChangedNotification[] = [];
  #waiters: { match: Predicate; resolve: () => void }[] = [];

  readonly push = (n: FsChangedNotification): void => {
    this.events.push(n);
    this.#waiters = this.#waiters.filter((w) => {
      if (!w.match(n)) return true;
      w.resolve();
      return false;
    });
  };

  /** Resolves when a matching event has arrived; rejects after `ms`. */
  waitFor(what: string, match: Predicate, ms = 5000): Promise<void> {
    if (this.events.some(match)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w.match !== match);
        reject(new Error(`No ${what} event within ${ms} ms`));
      }, ms);
      this.#waiters.push({
        match,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  }
}

async function withTemp(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.realPath(await Deno.makeTempDir());
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function rpcCode(err: unknown): number | undefined {
  return (err as { code?: number }).code;
}

const about = (kind: string, path: string, watchId: string) => (n: FsChangedNotification) =>
  n.watchId === watchId && n.kind === kind && n.paths.includes(path);

Deno.test("FsWatchSet reports create, modify and remove", async () => {
  await withTemp(async (dir) => {
    const rec = new Recorder();
    using fs = new FileSystemService();
    await using set = setOf(fs, rec.push);
    const { watchId } = await fs.watch(set, { path: dir });
    const file = `${dir}/f`;
    await Deno.writeTextFile(file, "one");
    await rec.waitFor("create", about("create", file, watchId));
    using handle = await Deno.open(file, { write: true, append: true });
    await handle.write(new TextEncoder().encode("two"));
    await rec.waitFor("modify", about("modify", file, watchId));
    await Deno.remove(file);
    await rec.waitFor("remove", about("remove", file, watchId));
    assert.ok(rec.events.every((n) => n.kind !== ("access" as string)));
  });
});

Deno.test("FsWatchSet watches subdirectories only when recursive", async () => {
  await withTemp(async (dir) => {
    await Deno.mkdir(`${dir}/sub`);
    const rec = new Recorder();
    using fs = new FileSystemService();
    await using set = setOf(fs, rec.push);
    const flat = await fs.watch(set, { path: dir });
    const deep = await fs.watch(set, { path: dir, recursive: true });
    await Deno.writeTextFile(`${dir}/sub/f`, "x");
    await rec.waitFor("create", about("create", `${dir}/sub/f`, deep.watchId));
    // A marker in the top directory: once the flat watch sees it, it would
    // already have seen the earlier nested create.
    await Deno.writeTextFile(`${dir}/marker`, "x");
    await rec.waitFor("marker", about("create", `${dir}/marker`, flat.watchId));
    assert.ok(
      !rec.events.some((n) => n.watchId === flat.watchId && n.paths.includes(`${dir}/sub/f`)),
    );
  });
});

Deno.test("FsWatchSet.unwatch() stops notifications and rejects unknown ids", async () => {
  await withTemp(async (dir) => {
    const rec = new Recorder();
    using fs = new FileSystemService();
    await using set = setOf(fs, rec.push);
    const a = await fs.watch(set, { path: dir });
    const b = await fs.watch(set, { path: dir });
    assert.notEqual(a.watchId, b.watchId);
    assert.deepEqual(await fs.unwatch(set, a), {});
    assert.equal(set.size, 1);
    await Deno.writeTextFile(`${dir}/f`, "x");
    await rec.waitFor("create", about("create", `${dir}/f`, b.watchId));
    assert.ok(!rec.events.some((n) => n.watchId === a.watchId));
    await assert.rejects(set.unwatch(a.watchId), (err) => {
      return rpcCode(err) === -32600 && /Unknown watchId/.test(String(err));
    });
  });
});

Deno.test("FsWatchSet.close() stops every watch and is idempotent", async () => {
  await withTemp(async (dir) => {
    using fs = new FileSystemService();
    const set = setOf(fs, () => {}, { maxWatches: 2 });
    await set.watch({ path: dir });
    await set.watch({ path: dir });
    await assert.rejects(set.watch({ path: dir }), /too many watches/);
    await set.close();
    await set[Symbol.asyncDispose]();
    assert.equal(set.size, 0);
    assert.equal(fs.inotify.size, 0, "every inotify watch is removed");
    await assert.rejects(set.watch({ path: dir }), (err) => {
      return rpcCode(err) === -32600;
    });
  });
});

Deno.test("FileSystemService.watch() maps errors and confines the path", async () => {
  await withTemp(async (dir) => {
    await Deno.mkdir(`${dir}/root`);
    await Deno.symlink(dir, `${dir}/root/up`);
    using fs = new FileSystemService({ roots: [`${dir}/root`] });
    await using set = setOf(fs, () => {});
    const fails = async (path: string, code: number) => {
      await assert.rejects(fs.watch(set, { path }), (err) => {
        return rpcCode(err) === code;
      });
    };
    await fails(`${dir}/root/missing`, -32004);
    await fails(`${dir}/root/up`, -32600);
    await fails("relative", -32602);
    assert.equal(set.size, 0);
  });
});

Deno.test("FsWatchSet keeps delivering after a listener throws", async () => {
  await withTemp(async (dir) => {
    const rec = new Recorder();
    let calls = 0;
    using fs = new FileSystemService();
    await using set = setOf(fs, (n) => {
      rec.push(n);
      if (calls++ === 0) throw new Error("listener failed");
    });
    const { watchId } = await set.watch({ path: dir });
    await Deno.writeTextFile(`${dir}/a`, "x");
    await rec.waitFor("first", about("create", `${dir}/a`, watchId));
    await Deno.writeTextFile(`${dir}/b`, "x");
    await rec.waitFor("second", about("create", `${dir}/b`, watchId));
  });
});

Deno.test("a recursive watch enters a queued directory by its canonical path, following no link that appeared since", async () => {
  await withTemp(async (base) => {
    // The tree's 100 directories each hold `b`. The watch lists the top, then
    // each d*, queueing its b, and yields to the event loop after a few
    // hundred system calls (within the first 20 d*): the swap below runs
    // there, when some d*/b are queued but not yet entered.
    const w = `${base}/w`;
    const names = Array.from({ length: 100 }, (_, i) => `d${String(i).padStart(3, "0")}`);
    for (const name of names) await Deno.mkdir(`${w}/${name}/b`, { recursive: true });
    await Deno.mkdir(`${base}/outside/b/c`, { recursive: true });
    await Deno.mkdir(`${base}/moved`);
    const rec = new Recorder();
    using fs = new FileSystemService();
    await using set = setOf(fs, rec.push);
    const watching = fs.watch(set, { path: w, recursive: true });
    for (const name of names) {
      await Deno.rename(`${w}/${name}`, `${base}/moved/${name}`);
      await Deno.symlink(`${base}/outside`, `${w}/${name}`);
    }
    const { watchId } = await watching;
    await Deno.writeTextFile(`${base}/outside/b/c/f`, "x");
    await Deno.writeTextFile(`${w}/marker`, "x");
    await rec.waitFor("marker", about("create", `${w}/marker`, watchId));
    const leaked = rec.events.flatMap((n) => n.paths).filter((p) => p.endsWith("/b/c/f"));
    assert.deepEqual(leaked, [], "reported a change outside the tree, through a swapped-in link");
  });
});
