// Copyright 2026 the exec-server authors. MIT license.
// fs/canonicalize and fs/walk against codex 0.171's measured behaviour
// (/work/notes/codex-0171-methods.md §3, §4), on the probes' fixture tree.
import assert from "node:assert/strict";
import { FileSystemService } from "../lib/fs/service.ts";
import { RpcError } from "../lib/protocol/errors.ts";
import type { FsWalkOptions } from "../lib/protocol/fs.ts";
import { mkfifo, rejectsWith, withTemp } from "./_fs_helpers.ts";

/** The probes' fixture (fixture.sh) under `base/fx`; returns its path. */
async function fixture(base: string): Promise<string> {
  const f = `${base}/fx`;
  const w = (p: string, s: string) => Deno.writeTextFile(`${f}/${p}`, s);
  await Deno.mkdir(`${f}/.hdir`, { recursive: true });
  await Deno.mkdir(`${f}/d1/d2/d3`, { recursive: true });
  await Deno.mkdir(`${f}/d1/.hsub`);
  await Deno.mkdir(`${f}/e1`);
  await Deno.mkdir(`${f}/sp ace`);
  for (const [p, s] of [["a.txt", "a"], ["z.txt", "z"], ["m.txt", "m"], ["B.txt", "B"]]) {
    await w(p!, s!);
  }
  await w(".hidden.txt", "h");
  await w(".hdir/inner.txt", "i");
  await w("d1/b.txt", "b");
  await w("d1/d2/c.txt", "c");
  await w("d1/d2/d3/e.txt", "e");
  await w("d1/.hsub/x.txt", "x");
  await w("e1/f.txt", "f");
  await w("sp ace/q%.txt", "q");
  await Deno.symlink("d1", `${f}/link_to_d1`);
  await Deno.symlink("a.txt", `${f}/link_to_a`);
  await Deno.symlink("nonexistent", `${f}/broken`);
  await Deno.symlink("..", `${f}/link_up`);
  await mkfifo(`${f}/fifo`);
  return f;
}

const uri = (path: string) => `file://${path.split("/").map(encodeURIComponent).join("/")}`;

/** The walk of the race tests: deep and wide enough, no links followed, nothing pruned. */
const RACE_WALK: FsWalkOptions = {
  maxDepth: 8,
  maxDirectories: 1000,
  maxEntries: 1000,
  followDirectorySymlinks: false,
  pruneHiddenDirectories: false,
};

Deno.test("fs/canonicalize resolves like realpath and answers in the form it was asked", async () => {
  await withTemp(async (base) => {
    const f = await fixture(base);
    using fs = new FileSystemService();
    const canon = async (path: string) => (await fs.canonicalize({ path })).path;
    assert.equal(await canon(uri(`${f}/link_to_d1/d2/../b.txt`)), uri(`${f}/d1/b.txt`));
    assert.equal(await canon(uri(`${f}/link_up`)), uri(base));
    assert.equal(await canon(uri(`${f}/link_to_a`)), uri(`${f}/a.txt`));
    assert.equal(await canon(uri(`${f}/d1/./b.txt`)), uri(`${f}/d1/b.txt`));
    assert.equal(await canon(`${uri(f)}/`), uri(f), "no trailing slash");
    assert.equal(await canon("file:///"), "file:///");
    assert.equal(await canon(uri(`${f}/sp ace/q%.txt`)), `${uri(f)}/sp%20ace/q%25.txt`);
    assert.equal(await canon(uri(`${f}/fifo`)), uri(`${f}/fifo`));
    assert.equal(await canon(`${f}/link_to_d1`), `${f}/d1`, "a native path gets a native path");
    for (const missing of ["broken", "missing", "missing/x"]) {
      await rejectsWith(fs.canonicalize({ path: uri(`${f}/${missing}`) }), -32004);
    }
    await rejectsWith(
      fs.canonicalize({ path: uri(`${f}/a.txt/x`) }),
      -32603,
      /^Not a directory \(os error 20\)$/,
    );
  });
});

Deno.test("fs/canonicalize under --fs-root refuses what leads outside", async () => {
  await withTemp(async (base) => {
    const f = await fixture(base);
    using fs = new FileSystemService({ roots: [f] });
    assert.equal((await fs.canonicalize({ path: `${f}/link_to_d1` })).path, `${f}/d1`);
    await rejectsWith(fs.canonicalize({ path: `${f}/link_up` }), -32600, /is not permitted/);
  });
});

const W = (o: Partial<FsWalkOptions> = {}): FsWalkOptions => ({
  maxDepth: 10,
  maxDirectories: 100,
  maxEntries: 1000,
  followDirectorySymlinks: false,
  pruneHiddenDirectories: false,
  ...o,
});

Deno.test("fs/walk: breadth first, bytewise, links and special files left out", async (t) => {
  await withTemp(async (base) => {
    const f = await fixture(base);
    using fs = new FileSystemService();
    const walk = async (path: string, o: Partial<FsWalkOptions> = {}) => {
      const r = await fs.walk({ path, options: W(o) });
      return { ...r, entries: r.entries.map((e) => `${e.kind[0]} ${e.path.slice(f.length + 1)}`) };
    };
    await t.step("the whole tree", async () => {
      const r = await walk(f);
      assert.deepEqual(r.entries, [
        "d .hdir",
        "f .hidden.txt",
        "f B.txt",
        "f a.txt",
        "d d1",
        "d e1",
        "f m.txt",
        "d sp ace",
        "f z.txt",
        "f .hdir/inner.txt",
        "d d1/.hsub",
        "f d1/b.txt",
        "d d1/d2",
        "f e1/f.txt",
        "f sp ace/q%.txt",
        "f d1/.hsub/x.txt",
        "f d1/d2/c.txt",
        "d d1/d2/d3",
        "f d1/d2/d3/e.txt",
      ]);
      assert.deepEqual([r.errors, r.truncated], [[], false]);
    });
    await t.step("hidden directories listed, not descended", async () => {
      const r = await walk(f, { pruneHiddenDirectories: true });
      assert.ok(r.entries.includes("d .hdir") && r.entries.includes("d d1/.hsub"));
      assert.ok(!r.entries.some((e) => e.includes("inner.txt") || e.includes("x.txt")));
      const root = await fs.walk({
        path: `${f}/.hdir`,
        options: W({ pruneHiddenDirectories: true }),
      });
      assert.equal(root.entries.length, 1, "the root itself is exempt");
    });
    await t.step("links to directories: each target once", async () => {
      const r = await walk(f, { followDirectorySymlinks: true });
      assert.ok(r.entries.includes("d link_to_d1"));
      assert.ok(!r.entries.some((e) => e.startsWith("f link_to_d1/")), "d1 is already queued");
      assert.ok(r.entries.includes("d link_up"), "the parent of the root is walked");
      assert.ok(r.entries.includes("d link_up/fx"), "the root is listed inside it...");
      assert.ok(!r.entries.some((e) => e.startsWith("f link_up/fx/")), "...but not read again");
      assert.ok(!r.entries.some((e) => /link_to_a|broken|fifo/.test(e)));
    });
    await t.step("depth: the root's children are depth 0", async () => {
      const d0 = await walk(`${f}/d1`, { maxDepth: 0 });
      assert.deepEqual(d0.entries, ["d d1/.hsub", "f d1/b.txt", "d d1/d2"]);
      assert.equal(d0.truncated, false, "the depth limit is no truncation");
      const d1 = await walk(`${f}/d1`, { maxDepth: 1 });
      assert.deepEqual(d1.entries.slice(3), ["f d1/.hsub/x.txt", "f d1/d2/c.txt", "d d1/d2/d3"]);
    });
    await t.step("maxEntries and maxDirectories set truncated", async () => {
      const three = await walk(f, { maxEntries: 3 });
      assert.deepEqual([three.entries.length, three.truncated], [3, true]);
      const exact = await walk(`${f}/d1/d2/d3`, { maxEntries: 1 });
      assert.deepEqual([exact.entries.length, exact.truncated], [1, false]);
      const one = await walk(f, { maxDirectories: 1 });
      assert.deepEqual([one.entries.length, one.truncated], [9, true]);
      const leaf = await walk(`${f}/d1/d2/d3`, { maxDirectories: 1 });
      assert.equal(leaf.truncated, false);
    });
    await t.step("odd roots", async () => {
      const empty = { entries: [], errors: [], truncated: false };
      for (const root of ["a.txt", "fifo", "link_to_d1"]) {
        assert.deepEqual(await fs.walk({ path: `${f}/${root}`, options: W() }), empty);
      }
      const linked = await fs.walk({
        path: `${f}/link_to_d1`,
        options: W({ followDirectorySymlinks: true, maxDepth: 0 }),
      });
      assert.deepEqual(linked.entries.map((e) => e.path), [
        `${f}/link_to_d1/.hsub`,
        `${f}/link_to_d1/b.txt`,
        `${f}/link_to_d1/d2`,
      ]);
      for (const root of ["missing", "broken"]) {
        await rejectsWith(fs.walk({ path: `${f}/${root}`, options: W() }), -32004);
      }
    });
    await t.step("URIs in, URIs out", async () => {
      const r = await fs.walk({ path: uri(`${f}/sp ace`), options: W() });
      assert.deepEqual(r.entries, [{ path: `${uri(f)}/sp%20ace/q%25.txt`, kind: "file" }]);
    });
    await t.step("limits", async () => {
      const zero = /^filesystem walk limits must be greater than zero$/;
      await rejectsWith(fs.walk({ path: f, options: W({ maxEntries: 0 }) }), -32600, zero);
      await rejectsWith(fs.walk({ path: f, options: W({ maxDirectories: 0 }) }), -32600, zero);
      const over =
        /^filesystem walk limits exceed maximums: depth=64, directories=10000, entries=50000$/;
      for (const o of [{ maxDepth: 65 }, { maxDirectories: 10001 }, { maxEntries: 50001 }]) {
        await rejectsWith(fs.walk({ path: f, options: W(o) }), -32600, over);
      }
      const max = { maxDepth: 64, maxDirectories: 10000, maxEntries: 50000 };
      assert.equal((await fs.walk({ path: f, options: W(max) })).entries.length, 19);
    });
  });
});

Deno.test("fs/walk: a directory it cannot read is listed and reported", async () => {
  await withTemp(async (base) => {
    const f = await fixture(base);
    using fs = new FileSystemService({
      sandboxPolicy: () => ({
        check(path) {
          if (path === `${f}/e1`) throw Object.assign(new Error("Permission denied (os error 13)"));
        },
      }),
    });
    const r = await fs.walk({ path: f, options: W(), sandbox: { permissions: {} } as never });
    assert.ok(r.entries.some((e) => e.path === `${f}/e1`));
    assert.ok(!r.entries.some((e) => e.path === `${f}/e1/f.txt`));
    assert.deepEqual(r.errors, [{ path: `${f}/e1`, message: "Permission denied (os error 13)" }]);
  });
});

Deno.test("fs/walk under --fs-root leaves out links that lead outside", async () => {
  await withTemp(async (base) => {
    const f = await fixture(base);
    using fs = new FileSystemService({ roots: [f] });
    const r = await fs.walk({ path: f, options: W({ followDirectorySymlinks: true }) });
    assert.ok(r.entries.some((e) => e.path === `${f}/link_to_d1`));
    assert.ok(!r.entries.some((e) => e.path.startsWith(`${f}/link_up`)));
    assert.deepEqual(r.errors, []);
  });
});

Deno.test("fs/walk opens each queued directory by its canonical path, following no link that appeared since", async () => {
  await withTemp(async (base) => {
    // `a/b` is queued when `a` is read, and read only after the d* siblings:
    // with more than 64 of them the walk yields to the event loop in between
    // (it does every 64 directories), and the swap below runs there.
    const f = `${base}/w`;
    await Deno.mkdir(`${f}/a/b`, { recursive: true });
    for (let i = 0; i < 100; i++) await Deno.mkdir(`${f}/d${String(i).padStart(3, "0")}`);
    await Deno.mkdir(`${base}/secret/b`, { recursive: true });
    await Deno.writeTextFile(`${base}/secret/b/hidden.txt`, "s3cret");
    const secret = `${base}/secret`;
    using fs = new FileSystemService({
      // The operator's policy: the secret directory is denied.
      sandboxPolicy: () => ({
        check(path) {
          if (path === secret || path.startsWith(`${secret}/`)) {
            throw new RpcError(-32600, `Permission denied (os error 13): ${path} is denied`);
          }
        },
      }),
    });
    const options = RACE_WALK;
    const walking = fs.walk({ path: f, options });
    // The walk runs synchronously up to its first yield: a/b is queued by now.
    // Synchronously, so that the walk never sees the moment between the two.
    // deno-lint-ignore no-sync-fn-in-async-fn
    Deno.renameSync(`${f}/a`, `${base}/a.old`);
    // deno-lint-ignore no-sync-fn-in-async-fn
    Deno.symlinkSync(secret, `${f}/a`);
    const result = await walking;
    const paths = result.entries.map((e) => e.path);
    assert.ok(
      !paths.includes(`${f}/a/b/hidden.txt`),
      "listed the denied directory through the new link",
    );
    assert.deepEqual(result.errors.map((e) => e.path), [`${f}/a/b`]);
    assert.match(result.errors[0]!.message, /os error 40/);
  });
});

Deno.test("fs/walk reports a queued directory removed before it is read as missing", async () => {
  await withTemp(async (f) => {
    // As above: a/b is queued, and read only after 100 siblings, past a yield.
    await Deno.mkdir(`${f}/a/b`, { recursive: true });
    for (let i = 0; i < 100; i++) await Deno.mkdir(`${f}/d${String(i).padStart(3, "0")}`);
    using fs = new FileSystemService();
    const options = RACE_WALK;
    const walking = fs.walk({ path: f, options });
    // Synchronously: the walk is parked at its first yield.
    // deno-lint-ignore no-sync-fn-in-async-fn
    Deno.removeSync(`${f}/a/b`);
    const result = await walking;
    assert.deepEqual(result.errors, [{
      path: `${f}/a/b`,
      message: "No such file or directory (os error 2)",
    }]);
  });
});
