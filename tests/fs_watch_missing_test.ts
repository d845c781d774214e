// Copyright 2026 the exec-server authors. MIT license.
// fs/watchMissing: codex 0.171's rules (/work/notes/codex-0171-methods.md
// §6) on real inotify; `present` may also be a list here.
import assert from "node:assert/strict";
import { ALLOW_ALL } from "../lib/fs/confine.ts";
import { FileSystemService } from "../lib/fs/service.ts";
import type { FsWatchMissingParams } from "../lib/protocol/fs.ts";
import { rejectsWith, withTemp } from "./_fs_helpers.ts";

/** Records notifications; hands them out in order, waiting with a deadline. */
class Fired {
  readonly ids: number[] = [];
  #taken = 0;
  #wake: (() => void) | null = null;
  readonly push = (n: { watchId: number }) => {
    this.ids.push(n.watchId);
    this.#wake?.();
  };
  /** The next notification not yet taken. */
  async next(ms = 5000): Promise<number> {
    const deadline = Date.now() + ms;
    while (this.ids.length <= this.#taken) {
      if (Date.now() > deadline) throw new Error(`no fs/missingChanged within ${ms} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 50);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    return this.ids[this.#taken++]!;
  }
}

/** A file written in `dir` after the watch's events: its arrival orders them. */
async function settle(fs: FileSystemService, dir: string): Promise<void> {
  const fired = new Fired();
  await using probe = fs.missingWatch(fired.push);
  assert.deepEqual(await probe.arm({ watchId: 0, missing: [`${dir}/.settle`] }, ALLOW_ALL), {
    watching: true,
  });
  await Deno.writeTextFile(`${dir}/.settle`, "");
  await fired.next();
  await Deno.remove(`${dir}/.settle`);
}

Deno.test("fs/watchMissing fires once when a missing path or its ancestor appears", async () => {
  await withTemp(async (dir) => {
    using fs = new FileSystemService();
    const fired = new Fired();
    await using w = fs.missingWatch(fired.push);
    const arm = (p: FsWatchMissingParams) => w.arm(p, ALLOW_ALL);
    assert.deepEqual(await arm({ watchId: 1, missing: [`${dir}/a/b`] }), { watching: true });
    await Deno.mkdir(`${dir}/a`);
    assert.equal(await fired.next(), 1, "the first missing ancestor appearing fires");
    await Deno.writeTextFile(`${dir}/a/b`, "");
    await settle(fs, dir);
    assert.deepEqual(fired.ids, [1], "one shot");
    assert.equal(w.armed, null);
    // Ids must increase; a lower or equal one changes nothing.
    assert.deepEqual(await arm({ watchId: 5, missing: [`${dir}/p`, `${dir}/q`] }), {
      watching: true,
    });
    assert.deepEqual(await arm({ watchId: 5, missing: [`${dir}/r`] }), { watching: false });
    assert.deepEqual(await arm({ watchId: 3, missing: [`${dir}/r`] }), { watching: false });
    await Deno.writeTextFile(`${dir}/r`, "");
    await Deno.writeTextFile(`${dir}/q`, "");
    assert.equal(await fired.next(), 5);
    // A new id replaces the armed watch, even when it arms nothing.
    await arm({ watchId: 6, missing: [`${dir}/s`] });
    assert.deepEqual(await arm({ watchId: 7, missing: [`${dir}/a`] }), { watching: false });
    await Deno.writeTextFile(`${dir}/s`, "");
    await settle(fs, dir);
    assert.deepEqual(fired.ids, [1, 5]);
    assert.deepEqual(await arm({ watchId: 8, missing: [] }), { watching: false });
  });
});

Deno.test("fs/watchMissing: the ancestor going, and present paths, fire too", async () => {
  await withTemp(async (dir) => {
    using fs = new FileSystemService();
    const fired = new Fired();
    await using w = fs.missingWatch(fired.push);
    const arm = (p: FsWatchMissingParams) => w.arm(p, ALLOW_ALL);
    await Deno.mkdir(`${dir}/md`);
    await arm({ watchId: 1, missing: [`${dir}/md/x`] });
    await Deno.remove(`${dir}/md`);
    assert.equal(await fired.next(), 1, "the nearest existing ancestor removed");

    await Deno.writeTextFile(`${dir}/pf`, "1");
    await Deno.mkdir(`${dir}/pd`);
    await Deno.writeTextFile(`${dir}/pd/f`, "");
    assert.deepEqual(await arm({ watchId: 2, missing: [`${dir}/m`], present: `${dir}/pf` }), {
      watching: true,
    });
    await Deno.writeTextFile(`${dir}/pf`, "2");
    assert.equal(await fired.next(), 2, "a present file rewritten");

    await arm({ watchId: 3, missing: [`${dir}/m`], present: [`${dir}/pf`, `${dir}/pd`] });
    await Deno.remove(`${dir}/pd/f`);
    await settle(fs, dir);
    assert.deepEqual(fired.ids, [1, 2], "a file removed inside a present directory is no change");
    await Deno.remove(`${dir}/pd`);
    assert.equal(await fired.next(), 3, "a present directory removed (present as a list)");

    assert.deepEqual(await arm({ watchId: 4, missing: [`${dir}/m`], present: `${dir}/gone` }), {
      watching: false,
    });
    assert.deepEqual(await arm({ watchId: 5, missing: [`${dir}/pf/x`] }), { watching: false });
    assert.deepEqual(await arm({ watchId: 6, missing: ["/nonexistent_root_dir_x/q"] }), {
      watching: true,
    });
  });
});

Deno.test("fs/watchMissing honours --fs-root and its own limit", async () => {
  await withTemp(async (dir) => {
    await Deno.mkdir(`${dir}/root`);
    await Deno.symlink(dir, `${dir}/root/up`);
    using fs = new FileSystemService({ roots: [`${dir}/root`] });
    await using w = fs.missingWatch(() => {});
    for (const missing of [[`${dir}/x`], [`${dir}/root/up/x`]]) {
      await rejectsWith(w.arm({ watchId: 1, missing }, ALLOW_ALL), -32600, /is not permitted/);
    }
    // Paths are checked before the id: a refused registration uses up no id.
    await rejectsWith(
      w.arm({ watchId: 2, missing: [`${dir}/root/m`], present: `${dir}/root/up` }, ALLOW_ALL),
      -32600,
      /is not permitted/,
    );
    const many = Array.from({ length: 257 }, (_, i) => `${dir}/root/m${i}`);
    await rejectsWith(w.arm({ watchId: 3, missing: many }, ALLOW_ALL), -32600, /at most 256/);
    assert.equal(fs.inotify.size, 0, "nothing is left watched");
  });
});

Deno.test("fs/watchMissing: registrations in flight together leave one armed, and none after close", async (t) => {
  await withTemp(async (dir) => {
    using fs = new FileSystemService();
    await Deno.mkdir(`${dir}/a`);
    await Deno.mkdir(`${dir}/b`);
    const arm = (watch: ReturnType<typeof fs.missingWatch>, watchId: number, sub: string) =>
      watch.arm({ watchId, missing: [`${dir}/${sub}/x`] }, ALLOW_ALL);

    await t.step(
      "two at once: the higher id is armed, the other's directory unwatched",
      async () => {
        for (const order of [[1, 2], [2, 1]]) {
          await using watch = fs.missingWatch(() => {});
          const answers = await Promise.all([
            arm(watch, order[0]!, "a"),
            arm(watch, order[1]!, "b"),
          ]);
          assert.equal(watch.armed, 2, `order ${order}`);
          const higherFirst = order[0] === 2;
          assert.deepEqual(
            answers.map((a) => a.watching),
            higherFirst ? [true, false] : [true, true],
          );
          assert.equal(fs.inotify.size, 1, `order ${order}: only b is watched`);
        }
        assert.equal(fs.inotify.size, 0);
      },
    );

    await t.step("a registration still in flight at close is not left armed", async () => {
      const watch = fs.missingWatch(() => {});
      const arming = arm(watch, 1, "a");
      await watch.close();
      await arming;
      assert.equal(watch.armed, null);
      assert.equal(fs.inotify.size, 0);
    });
  });
});
