// Copyright 2026 the exec-server authors. MIT license.
// Issue 15's file attacks against a real server with --fs-root, each bounded
// and on loopback: a recursive copy through a planted link (row 3), a
// symlink swap race (row 8), a recursive watch that follows links out of
// the root (row 11), errors that tell what lies outside (row 14). Disk-full
// (row 13) is in fs_disk_full_e2e_test.ts.
import assert from "node:assert/strict";
import { ServerProcess, TestClient } from "./_harness.ts";

const enc = (s: string) => new TextEncoder().encode(s).toBase64();
const dec = (b64: string) => new TextDecoder().decode(Uint8Array.fromBase64(b64));

/** A root and a sibling directory outside it; both removed afterwards. */
async function withTree(fn: (root: string, outside: string) => Promise<void>): Promise<void> {
  const base = await Deno.realPath(await Deno.makeTempDir());
  const root = `${base}/root`;
  const outside = `${base}/outside`;
  await Deno.mkdir(root);
  await Deno.mkdir(outside);
  try {
    await fn(root, outside);
  } finally {
    await Deno.remove(base, { recursive: true });
  }
}

async function listing(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) names.push(e.name);
  return names.sort();
}

Deno.test("row 3: fs/copy never writes through a link in the destination tree", async () => {
  await withTree(async (root, outside) => {
    await using server = await ServerProcess.start(["--fs-root", root]);
    await using c = await TestClient.connect(server.url);
    // An innocent link inside the root, pointing inside: deep/er/up -> ../..
    await Deno.mkdir(`${root}/deep/er`, { recursive: true });
    await Deno.symlink("../..", `${root}/deep/er/up`);
    await Deno.mkdir(`${root}/dst`);
    // fs calls alone: copying the link one level up makes it point outside.
    await c.request("fs/copy", {
      sourcePath: `${root}/deep/er/up`,
      destinationPath: `${root}/dst/up`,
      recursive: false,
    });
    assert.equal(await Deno.readLink(`${root}/dst/up`), "../..");
    // Writing through it is refused...
    const direct = await c.call("fs/writeFile", {
      path: `${root}/dst/up/direct`,
      dataBase64: enc("x"),
    });
    assert.equal(direct.error?.code, -32600);
    // ...and so is a recursive copy whose tree holds a directory of that name.
    await c.request("fs/createDirectory", { path: `${root}/src/up` });
    await c.request("fs/writeFile", { path: `${root}/src/up/planted`, dataBase64: enc("x") });
    const copied = await c.call("fs/copy", {
      sourcePath: `${root}/src`,
      destinationPath: `${root}/dst`,
      recursive: true,
    });
    assert.ok(copied.error, "the copy must not succeed through the link");
    // A planted link straight to the outside, in the destination tree.
    await Deno.mkdir(`${root}/dst2`);
    await Deno.symlink(outside, `${root}/dst2/up`);
    await c.call("fs/copy", {
      sourcePath: `${root}/src`,
      destinationPath: `${root}/dst2`,
      recursive: true,
    });
    // A file copied over a planted link replaces the link, never its target.
    await Deno.writeTextFile(`${outside}/target`, "outside");
    await Deno.symlink(`${outside}/target`, `${root}/dst2/file_link`);
    await c.request("fs/writeFile", { path: `${root}/src/file_link`, dataBase64: enc("x") });
    await Deno.remove(`${root}/src/up`, { recursive: true });
    await c.call("fs/copy", {
      sourcePath: `${root}/src`,
      destinationPath: `${root}/dst2`,
      recursive: true,
    });
    assert.equal(await Deno.readTextFile(`${outside}/target`), "outside");
    assert.deepEqual(await listing(outside), ["target"]);
    assert.deepEqual(await listing(`${root}/..`), ["outside", "root"]);
  });
});

/**
 * A process that swaps `a` and `b` with renameat2(RENAME_EXCHANGE) as fast
 * as it can until killed, so `a` is always present, alternately a directory
 * inside the root and a link to the outside.
 */
function swapper(a: string, b: string): Deno.ChildProcess {
  const code = `
    const lib = Deno.dlopen("libc.so.6", {
      renameat2: { parameters: ["i32", "buffer", "i32", "buffer", "u32"], result: "i32" },
    }).symbols;
    const c = (s) => new TextEncoder().encode(s + "\\0");
    const [x, y] = [c(${JSON.stringify(a)}), c(${JSON.stringify(b)})];
    console.log("ready");
    for (;;) if (lib.renameat2(-100, x, -100, y, 2) !== 0) throw new Error("exchange failed");
  `;
  return new Deno.Command(Deno.execPath(), {
    args: ["eval", code],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
}

const RACE_MS = Number(Deno.env.get("FS_RACE_SECONDS") ?? "4") * 1000;

Deno.test({
  name: `row 8: a symlink swap race wins zero times in ${RACE_MS / 1000} s`,
  fn: async () => {
    await withTree(async (root, outside) => {
      await Deno.mkdir(`${root}/d`);
      await Deno.writeTextFile(`${root}/d/f`, "inside");
      await Deno.mkdir(`${root}/d/sub`);
      await Deno.writeTextFile(`${outside}/f`, "SECRET");
      await Deno.writeTextFile(`${outside}/keep`, "keep");
      await Deno.mkdir(`${outside}/sub`);
      await Deno.symlink(outside, `${root}/l`);
      await using server = await ServerProcess.start(["--fs-root", root]);
      await using c = await TestClient.connect(server.url);
      const child = swapper(`${root}/d`, `${root}/l`);
      const reader = child.stdout.getReader();
      await reader.read(); // "ready"
      const wins: string[] = [];
      let attempts = 0;
      const deadline = Date.now() + RACE_MS;
      const lane = async (lane: number) => {
        for (let i = 0; Date.now() < deadline; i++) {
          attempts++;
          const tag = `${lane}_${i}`;
          const read = await c.call("fs/readFile", { path: `${root}/d/f` });
          if (read.result && dec(read.result.dataBase64) !== "inside") wins.push("readFile");
          const sub = await c.call("fs/readFile", { path: `${root}/d/sub/../f` });
          if (sub.result && dec(sub.result.dataBase64) !== "inside") wins.push("readFile ..");
          await c.call("fs/writeFile", { path: `${root}/d/w${tag}`, dataBase64: enc("w") });
          await c.call("fs/writeFile", {
            path: `${root}/d/sub/a${tag}`,
            dataBase64: enc("a"),
            append: true,
          });
          await c.call("fs/createDirectory", { path: `${root}/d/m${tag}` });
          await c.call("fs/remove", { path: `${root}/d/keep` });
          const meta = await c.call("fs/getMetadata", { path: `${root}/d/keep` });
          if (meta.result) wins.push("getMetadata");
          const list = await c.call("fs/readDirectory", { path: `${root}/d` });
          if (list.result?.entries.some((e: { fileName: string }) => e.fileName === "keep")) {
            wins.push("readDirectory");
          }
          await c.call("fs/copy", {
            sourcePath: `${root}/d/f`,
            destinationPath: `${root}/copy${tag}`,
            recursive: false,
          });
          await c.call("fs/copy", {
            sourcePath: `${root}/d`,
            destinationPath: `${root}/tree${tag}`,
            recursive: true,
          });
        }
      };
      try {
        await Promise.all([0, 1, 2, 3].map(lane));
      } finally {
        child.kill("SIGKILL");
        await child.status;
        await reader.cancel();
      }
      // Whatever the copies got must be the inside file.
      for (const name of await listing(root)) {
        if (name.startsWith("copy")) {
          if (await Deno.readTextFile(`${root}/${name}`) !== "inside") wins.push(`copy ${name}`);
        }
        // A link copied as a link is not an escape; only real trees are checked.
        if (name.startsWith("tree") && !(await Deno.lstat(`${root}/${name}`)).isSymlink) {
          const inner = await listing(`${root}/${name}`);
          if (inner.includes("keep")) wins.push(`copy -r ${name}`);
          if (inner.includes("f") && await Deno.readTextFile(`${root}/${name}/f`) !== "inside") {
            wins.push(`copy -r ${name}`);
          }
        }
      }
      const left = await listing(outside);
      if (left.join() !== ["f", "keep", "sub"].join()) wins.push(`outside now holds ${left}`);
      if (await Deno.readTextFile(`${outside}/f`) !== "SECRET") wins.push("outside f changed");
      if ((await listing(`${outside}/sub`)).length > 0) wins.push("outside sub written");
      // The old path-based code lost two rounds in three: ten rounds are plenty to tell.
      assert.ok(attempts >= 10, `only ${attempts} rounds`);
      console.log(`swap race: ${attempts} rounds of 10 calls, ${wins.length} wins`);
      assert.deepEqual(wins, [], `${wins.length} wins out of ${attempts} rounds`);
    });
  },
});

Deno.test("row 11: a recursive fs/watch stays inside the tree it was given", async (t) => {
  await withTree(async (root, outside) => {
    await Deno.mkdir(`${root}/in/deeper`, { recursive: true });
    await Deno.mkdir(`${outside}/sub`);
    await Deno.symlink(outside, `${root}/in/out`);
    await Deno.symlink("/usr", `${root}/usr`);
    await using server = await ServerProcess.start(["--fs-root", root]);
    await using c = await TestClient.connect(server.url);
    await using other = await TestClient.connect(server.url);

    await t.step("events from outside never arrive", async () => {
      const started = Date.now();
      const { watchId } = await c.request("fs/watch", { path: root, recursive: true });
      assert.ok(Date.now() - started < 2000, "the watch does not walk /usr");
      await Deno.writeTextFile(`${outside}/sub/leak`, "x");
      await Deno.writeTextFile(`${outside}/leak`, "x");
      await Deno.writeTextFile(`${root}/in/deeper/marker`, "x");
      await c.waitFor((m) =>
        m.method === "fs/changed" && m.params.watchId === watchId &&
        m.params.paths.includes(`${root}/in/deeper/marker`)
      );
      const leaked = c.notifications.filter((m) =>
        m.method === "fs/changed" &&
        m.params.paths.some((p: string) => p.includes("leak") || !p.startsWith(root))
      );
      assert.deepEqual(leaked, []);
      await c.request("fs/unwatch", { watchId });
    });

    await t.step("a tree over the limit fails fast and stalls nobody", async () => {
      // 9000 directories: more than one session may watch (8192).
      const big = `${root}/big`;
      await Deno.mkdir(big);
      for (let i = 0; i < 90; i++) {
        await Deno.mkdir(`${big}/${i}`);
        await Promise.all(
          Array.from({ length: 100 }, (_, j) => Deno.mkdir(`${big}/${i}/${j}`)),
        );
      }
      const watching = c.call("fs/watch", { path: big, recursive: true });
      const pings: number[] = [];
      let done = false;
      const pinger = (async () => {
        while (!done) {
          const at = Date.now();
          await other.request("ping");
          pings.push(Date.now() - at);
          await new Promise((r) => setTimeout(r, 20));
        }
      })();
      const r = await watching;
      done = true;
      await pinger;
      assert.equal(r.error?.code, -32600, JSON.stringify(r));
      assert.match(r.error.message, /too many watched directories/);
      // Generous for a loaded 2-core machine; the old code walked /usr for 52 s.
      assert.ok(Math.max(...pings) < 2000, `a ping took ${Math.max(...pings)} ms`);
    });
  });
});

Deno.test("row 14: errors under --fs-root tell nothing about the outside", async () => {
  await withTree(async (root, outside) => {
    await Deno.writeTextFile(`${outside}/exists`, "x");
    await Deno.mkdir(`${outside}/sub`);
    await Deno.symlink(`${outside}/exists`, `${root}/to_existing`);
    await Deno.symlink(`${outside}/missing`, `${root}/to_missing`);
    await Deno.symlink(`${outside}/sub`, `${root}/to_dir`);
    await Deno.symlink("../outside/exists", `${root}/rel_existing`);
    await Deno.symlink("../outside/missing", `${root}/rel_missing`);
    await using server = await ServerProcess.start(["--fs-root", root]);
    await using c = await TestClient.connect(server.url);
    const name = outside.slice(outside.lastIndexOf("/") + 1);
    // Each pair differs only in whether the outside thing exists. The
    // third element says the last component is a link inside the root.
    const pairs: [string, string, boolean][] = [
      [`${outside}/exists`, `${outside}/missing`, false],
      [`${outside}/sub`, `${outside}/nodir`, false],
      [`${root}/to_existing`, `${root}/to_missing`, true],
      [`${root}/rel_existing`, `${root}/rel_missing`, true],
      [`${root}/../${name}/exists`, `${root}/../${name}/missing`, false],
      [`${root}/to_dir/../exists`, `${root}/to_dir/../missing`, false],
      [`${root}/to_dir/x`, `${root}/to_missing/x`, false],
    ];
    // Methods that act on a final link itself (remove, copy's source) may.
    const methods: [string, (path: string) => unknown, boolean][] = [
      ["fs/readFile", (path) => ({ path }), true],
      ["fs/getMetadata", (path) => ({ path }), true],
      ["fs/readDirectory", (path) => ({ path }), true],
      ["fs/writeFile", (path) => ({ path, dataBase64: "" }), true],
      ["fs/createDirectory", (path) => ({ path }), true],
      ["fs/remove", (path) => ({ path, force: false }), false],
      ["fs/watch", (path) => ({ path }), true],
      ["fs/canonicalize", (path) => ({ path }), true],
      [
        "fs/copy",
        (path) => ({ sourcePath: path, destinationPath: `${root}/c`, recursive: true }),
        false,
      ],
    ];
    for (const [method, params, follows] of methods) {
      for (const [a, b, finalLink] of pairs) {
        if (finalLink && !follows) continue;
        const [ra, rb] = [await c.call(method, params(a)), await c.call(method, params(b))];
        const shape = (r: { error?: { code: number; message: string } }, p: string) =>
          r.error ? `${r.error.code} ${r.error.message.replaceAll(p, "P")}` : "ok";
        assert.equal(shape(ra, a), shape(rb, b), `${method} ${a} vs ${b}`);
        assert.ok(ra.error, `${method} ${a} must fail`);
        assert.ok(!ra.error.message.replaceAll(a, "P").includes(outside), ra.error.message);
      }
    }
    assert.deepEqual(await listing(outside), ["exists", "sub"]);
  });
});
