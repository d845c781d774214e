// Copyright 2026 the exec-server authors. MIT license.
// fs/open, fs/readBlock, fs/writeBlock, fs/close: codex 0.171's rules
// (/work/notes/codex-0171-methods.md §5) and our deliberate differences:
// replace handles write a temporary file put in place by fs/close.
import assert from "node:assert/strict";
import { FileSystemService } from "../lib/fs/service.ts";
import { FsOpenParamsSchema } from "../lib/protocol/fs.ts";
import { dec, enc, mkfifo, rejectsWith, withTemp } from "./_fs_helpers.ts";

async function names(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) out.push(e.name);
  return out.sort();
}

Deno.test("read handles: positional blocks, eof, and what they see", async () => {
  await withTemp(async (dir) => {
    using fs = new FileSystemService();
    await using h = fs.handleTable();
    await Deno.writeTextFile(`${dir}/f`, "a\n");
    assert.deepEqual(await fs.open(h, { handleId: "r", path: `file://${dir}/f` }), {
      handleId: "r",
    });
    const read = (offset: number, len: number) => fs.readBlock(h, { handleId: "r", offset, len });
    assert.deepEqual(await read(0, 2), { chunk: enc("a\n"), eof: false }, "exactly the rest");
    assert.deepEqual(await read(2, 2), { chunk: "", eof: true });
    assert.deepEqual(await read(0, 3), { chunk: enc("a\n"), eof: true });
    assert.deepEqual(await read(99, 1), { chunk: "", eof: true });
    await Deno.writeTextFile(`${dir}/f`, "more", { append: true });
    assert.equal(dec((await read(2, 10)).chunk), "more", "sees data appended after the open");
    await Deno.remove(`${dir}/f`);
    assert.equal(dec((await read(0, 1)).chunk), "a", "works after the file is unlinked");
    const len = /^file read block length must be between 1 and 1048576$/;
    await rejectsWith(read(0, 0), -32600, len);
    await rejectsWith(read(0, 1048577), -32600, len);
    await rejectsWith(fs.readBlock(h, { handleId: "nope", offset: 0, len: 0 }), -32600, len);
    await rejectsWith(
      fs.readBlock(h, { handleId: "nope", offset: 0, len: 1 }),
      -32004,
      /^unknown file handle `nope`$/,
    );
    await rejectsWith(
      fs.writeBlock(h, { handleId: "r", offset: 0, chunk: enc("x") }),
      -32603,
      /^Bad file descriptor \(os error 9\)$/,
    );
    assert.equal(dec((await read(0, 1)).chunk), "a", "a wrong-direction write keeps the handle");
    assert.deepEqual(await fs.closeHandle(h, { handleId: "r" }), {});
    assert.deepEqual(await fs.closeHandle(h, { handleId: "r" }), {}, "closing twice is fine");
    await rejectsWith(read(0, 1), -32004);
  });
});

Deno.test("fs/open: ids, limits and what can be opened", async () => {
  await withTemp(async (dir) => {
    using fs = new FileSystemService({ maxOpenHandles: 130 });
    await using h = fs.handleTable();
    await Deno.writeTextFile(`${dir}/f`, "x");
    const open = (handleId: string, path = `${dir}/f`) => fs.open(h, { handleId, path });
    await open("");
    await open("é".repeat(16));
    await rejectsWith(open("é".repeat(17)), -32600, /^file handle ID must not exceed 32 bytes$/);
    await rejectsWith(open(""), -32600, /^file handle `` already exists$/);
    for (let i = 2; i < 128; i++) await open(`h${i}`);
    await rejectsWith(open("h128"), -32600, /^at most 128 file handles may be open per session$/);
    await fs.closeHandle(h, { handleId: "" });
    await open("", `${dir}/f`);
    // The server-wide budget (130 here) binds across sessions.
    await using other = fs.handleTable();
    await fs.open(other, { handleId: "a", path: `${dir}/f` });
    await fs.open(other, { handleId: "b", path: `${dir}/f` });
    await rejectsWith(
      fs.open(other, { handleId: "c", path: `${dir}/f` }),
      -32600,
      /too many file handles are open on this server: the limit is 130/,
    );
    await h.close();
    await fs.open(other, { handleId: "c", path: `${dir}/f` });
    await Deno.mkdir(`${dir}/d`);
    await mkfifo(`${dir}/fifo`);
    for (const path of [`${dir}/d`, `${dir}/fifo`]) {
      await rejectsWith(
        fs.open(other, { handleId: "x", path }),
        -32600,
        new RegExp(`^path \`${path}\` is not a file$`),
      );
    }
    await rejectsWith(fs.open(other, { handleId: "x", path: `${dir}/none` }), -32004);
    await rejectsWith(fs.open(other, { handleId: "x", path: `${dir}/f/x` }), -32603, /Not a dir/);
    await rejectsWith(
      fs.open(other, { handleId: "x", path: `${dir}/d`, mode: "replace" }),
      -32603,
      /^Is a directory \(os error 21\)$/,
    );
    await rejectsWith(
      fs.open(other, { handleId: "x", path: `${dir}/no/new`, mode: "replace" }),
      -32004,
    );
    assert.equal(other.size, 3, "failed opens leave no handle");
  });
});

Deno.test("replace handles: nothing changes until fs/close puts the file in place", async () => {
  await withTemp(async (dir) => {
    using fs = new FileSystemService();
    await using h = fs.handleTable();
    await Deno.writeTextFile(`${dir}/f`, "KEEP ME");
    await Deno.chmod(`${dir}/f`, 0o640);
    await fs.open(h, { handleId: "w", path: `${dir}/f`, mode: "replace" });
    const write = (offset: number, text: string) =>
      fs.writeBlock(h, { handleId: "w", offset, chunk: enc(text) });
    await write(0, "hello");
    await write(8, "gap");
    assert.equal(await Deno.readTextFile(`${dir}/f`), "KEEP ME", "readers see the old file");
    await rejectsWith(
      fs.readBlock(h, { handleId: "w", offset: 0, len: 1 }),
      -32603,
      /Bad file descriptor/,
    );
    await write(0, "J");
    const chunk = /^file write block length must be between 1 and 1048576$/;
    await rejectsWith(fs.writeBlock(h, { handleId: "w", offset: 0, chunk: "" }), -32600, chunk);
    await rejectsWith(
      fs.writeBlock(h, { handleId: "w", offset: 0, chunk: new Uint8Array(1048577).toBase64() }),
      -32600,
      chunk,
    );
    await rejectsWith(
      fs.writeBlock(h, { handleId: "w", offset: 2 ** 63, chunk: enc("x") }),
      -32600,
      /^file write range exceeds the signed 64-bit file offset limit$/,
    );
    await rejectsWith(fs.writeBlock(h, { handleId: "w", offset: 0, chunk: "!!" }), -32602);
    assert.deepEqual(await fs.closeHandle(h, { handleId: "w" }), {});
    assert.equal(await Deno.readTextFile(`${dir}/f`), "Jello\0\0\0gap", "gaps are zeros");
    assert.equal((await Deno.stat(`${dir}/f`)).mode! & 0o777, 0o640, "the mode is kept");
    assert.deepEqual(await names(dir), ["f"], "no temporary file is left");
  });
});

Deno.test("replace handles follow a symlink, keep it, and vanish with the session", async () => {
  await withTemp(async (dir) => {
    using fs = new FileSystemService();
    await Deno.writeTextFile(`${dir}/target`, "old");
    await Deno.symlink("target", `${dir}/link`);
    {
      await using h = fs.handleTable();
      // codex's tagged form parses to "replace".
      const mode =
        FsOpenParamsSchema.parse({ handleId: "w", path: "/", mode: { replace: null } }).mode;
      await fs.open(h, { handleId: "w", path: `${dir}/link`, mode });
      await fs.writeBlock(h, { handleId: "w", offset: 0, chunk: enc("new") });
      await fs.closeHandle(h, { handleId: "w" });
      assert.equal(await Deno.readLink(`${dir}/link`), "target");
      assert.equal(await Deno.readTextFile(`${dir}/target`), "new");
      await fs.open(h, { handleId: "abandoned", path: `${dir}/target`, mode: "replace" });
      await fs.writeBlock(h, { handleId: "abandoned", offset: 0, chunk: enc("partial") });
      await fs.open(h, { handleId: "fresh", path: `${dir}/fresh`, mode: "replace" });
    }
    // The session ended without fs/close: the old file stands, no temporary file.
    assert.equal(await Deno.readTextFile(`${dir}/target`), "new");
    assert.deepEqual(await names(dir), ["link", "target"]);
  });
});

Deno.test("handles honour --fs-root and the request sandbox", async () => {
  await withTemp(async (dir) => {
    await Deno.mkdir(`${dir}/root`);
    await Deno.writeTextFile(`${dir}/secret`, "s");
    await Deno.symlink(`${dir}/secret`, `${dir}/root/link`);
    using fs = new FileSystemService({ roots: [`${dir}/root`] });
    await using h = fs.handleTable();
    for (const path of [`${dir}/secret`, `${dir}/root/link`]) {
      await rejectsWith(fs.open(h, { handleId: "x", path }), -32600, /is not permitted/);
      await rejectsWith(
        fs.open(h, { handleId: "x", path, mode: "replace" }),
        -32600,
        /is not permitted/,
      );
    }
    await rejectsWith(
      fs.open(h, {
        handleId: "x",
        path: `${dir}/root/new`,
        mode: "replace",
        sandbox: { readOnly: true },
      }),
      -32600,
      /read-only/,
    );
    assert.equal(h.size, 0);
  });
});
