// Copyright 2026 the exec-server authors. MIT license.
// Issue 15 row 13: on a full disk, writes fail without destroying anything.
// The disk is a 2 MiB tmpfs the test mounts, so it needs root (CI runs as
// root; elsewhere the test is skipped and says why).
import assert from "node:assert/strict";
import { ServerProcess, TestClient } from "./_harness.ts";

async function run(cmd: string, args: string[]): Promise<boolean> {
  const out = await new Deno.Command(cmd, { args, stdout: "null", stderr: "null" }).output()
    .catch(() => ({ success: false }));
  return out.success;
}

const base = await Deno.makeTempDir();
const mounted = Deno.uid() === 0 &&
  await run("mount", ["-t", "tmpfs", "-o", "size=2m", "tmpfs", base]);
if (!mounted) await Deno.remove(base);

Deno.test({
  name: "row 13: on a full disk no write destroys the old file or leaves a partial one",
  ignore: !mounted,
  fn: async (t) => {
    try {
      const root = await Deno.realPath(base);
      const old = new Uint8Array(256 * 1024).fill(65);
      await Deno.writeFile(`${root}/keep`, old);
      await Deno.writeFile(`${root}/src`, new Uint8Array(512 * 1024).fill(66));
      // Fill the disk until about 128 KiB are left.
      const free = () => {
        const out = new Deno.Command("df", { args: ["-B1", "--output=avail", root] }).outputSync();
        return Number(new TextDecoder().decode(out.stdout).trim().split("\n").pop());
      };
      await Deno.writeFile(`${root}/filler`, new Uint8Array(free() - 128 * 1024));
      assert.ok(free() < 200 * 1024, `free ${free()}`);
      await using server = await ServerProcess.start(["--fs-root", root]);
      await using c = await TestClient.connect(server.url);
      const big = new Uint8Array(400 * 1024).fill(67).toBase64();
      const noSpace = (r: { error?: { code: number; message: string } }) => {
        assert.equal(r.error?.code, -32603, JSON.stringify(r));
        assert.match(r.error!.message, /No space left on device \(os error 28\)/);
      };
      // Not assert.deepEqual: its diff of two 256 KiB arrays takes gigabytes.
      const keepIntact = async () => {
        const now = await Deno.readFile(`${root}/keep`);
        const same = now.length === old.length && now.every((b, i) => b === old[i]);
        assert.ok(same, `keep is ${now.length} bytes, not the old ${old.length}`);
      };

      await t.step("overwriting a file leaves the old contents", async () => {
        noSpace(await c.call("fs/writeFile", { path: `${root}/keep`, dataBase64: big }));
        await keepIntact();
      });
      await t.step("a new file is not left half-written", async () => {
        noSpace(await c.call("fs/writeFile", { path: `${root}/new`, dataBase64: big }));
        await assert.rejects(Deno.lstat(`${root}/new`), Deno.errors.NotFound);
      });
      await t.step("a failed append is cut back to the old size", async () => {
        const append = { path: `${root}/keep`, dataBase64: big, append: true };
        noSpace(await c.call("fs/writeFile", append));
        await keepIntact();
        noSpace(await c.call("fs/writeFile", { ...append, path: `${root}/fresh` }));
        await assert.rejects(Deno.lstat(`${root}/fresh`), Deno.errors.NotFound);
      });
      await t.step("copies: no partial file, no destroyed target, no partial tree", async () => {
        const copy = {
          sourcePath: `${root}/src`,
          destinationPath: `${root}/dst`,
          recursive: false,
        };
        noSpace(await c.call("fs/copy", copy));
        await assert.rejects(Deno.lstat(`${root}/dst`), Deno.errors.NotFound);
        noSpace(await c.call("fs/copy", { ...copy, destinationPath: `${root}/keep` }));
        await keepIntact();
        await Deno.mkdir(`${root}/tree`);
        await Deno.writeFile(`${root}/tree/a`, new Uint8Array(10));
        await Deno.link(`${root}/src`, `${root}/tree/b`);
        noSpace(
          await c.call("fs/copy", {
            sourcePath: `${root}/tree`,
            destinationPath: `${root}/tree2`,
            recursive: true,
          }),
        );
        await assert.rejects(Deno.lstat(`${root}/tree2`), Deno.errors.NotFound);
      });
      await t.step("a replace handle that cannot be completed changes nothing", async () => {
        await c.request("fs/open", { handleId: "h", path: `${root}/keep`, mode: "replace" });
        const block = new Uint8Array(1024 * 1024).fill(68).toBase64();
        noSpace(await c.call("fs/writeBlock", { handleId: "h", offset: 0, chunk: block }));
        await keepIntact();
        const closed = await c.call("fs/close", { handleId: "h" });
        assert.equal(closed.error?.code, -32603);
        assert.match(closed.error.message, /not replaced because a block could not be written/);
        await keepIntact();
      });
      await t.step("no temporary file is left behind", async () => {
        const names: string[] = [];
        for await (const e of Deno.readDir(root)) names.push(e.name);
        assert.deepEqual(names.sort(), ["filler", "keep", "src", "tree"]);
      });
    } finally {
      await run("umount", [base]);
      await Deno.remove(base, { recursive: true });
    }
  },
});
