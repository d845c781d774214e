// Copyright 2026 the exec-server authors. MIT license.
import assert from "node:assert/strict";
import { FileSystemService } from "../lib/fs/service.ts";
import { FS_METHODS, FsRemoveParamsSchema } from "../lib/protocol/fs.ts";
import { dec, enc, mkfifo, rejectsWith, withTemp } from "./_fs_helpers.ts";

// -- Protocol --

Deno.test("FS_METHODS lists the sixteen fs methods with schemas", () => {
  assert.deepEqual(Object.keys(FS_METHODS).sort(), [
    "fs/canonicalize",
    "fs/close",
    "fs/copy",
    "fs/createDirectory",
    "fs/getMetadata",
    "fs/open",
    "fs/readBlock",
    "fs/readDirectory",
    "fs/readFile",
    "fs/remove",
    "fs/unwatch",
    "fs/walk",
    "fs/watch",
    "fs/watchMissing",
    "fs/writeBlock",
    "fs/writeFile",
  ]);
  // Relative paths pass the schema; the handler rejects them by field name.
  assert.deepEqual(FsRemoveParamsSchema.parse({ path: "rel" }), {
    path: "rel",
  });
  assert.ok(
    !FS_METHODS["fs/copy"].params.safeParse({
      sourcePath: "/a",
      destinationPath: "/b",
    }).success,
  );
  assert.ok(
    !FS_METHODS["fs/readFile"].params.safeParse({
      path: "/a",
      offset: -1,
    }).success,
  );
});

// -- Methods --

Deno.test("file_system_methods_cover_surface_area", async () => {
  await withTemp(async (dir) => {
    using fs = new FileSystemService();
    await fs.createDirectory({ path: `${dir}/a/b/c` }); // recursive default
    await fs.writeFile({ path: `${dir}/a/f.txt`, dataBase64: enc("hello") });
    await fs.writeFile({
      path: `file://${dir}/a/f.txt`,
      dataBase64: enc(" world"),
      append: true,
    });
    const read = await fs.readFile({ path: `${dir}/a/f.txt` });
    assert.deepEqual(read, {
      dataBase64: enc("hello world"),
      size: 11,
      eof: true,
    });
    const meta = await fs.getMetadata({ path: `${dir}/a/f.txt` });
    assert.equal(meta.isFile, true);
    assert.equal(meta.size, 11);
    const list = await fs.readDirectory({ path: `${dir}/a` });
    assert.deepEqual(
      list.entries.sort((x, y) => x.fileName.localeCompare(y.fileName)),
      [
        { fileName: "b", isDirectory: true, isFile: false },
        { fileName: "f.txt", isDirectory: false, isFile: true },
      ],
    );
    await fs.copy({
      sourcePath: `${dir}/a`,
      destinationPath: `${dir}/copy`,
      recursive: true,
    });
    assert.equal(await Deno.readTextFile(`${dir}/copy/f.txt`), "hello world");
    assert.ok((await Deno.stat(`${dir}/copy/b/c`)).isDirectory);
    await fs.copy({
      sourcePath: `${dir}/a/f.txt`,
      destinationPath: `${dir}/g.txt`,
      recursive: false,
    });
    assert.equal(await Deno.readTextFile(`${dir}/g.txt`), "hello world");
    await fs.remove({ path: `${dir}/a` }); // recursive default
    await assert.rejects(Deno.lstat(`${dir}/a`), Deno.errors.NotFound);
  });
});

Deno.test("file_system_get_metadata_returns_expected_fields", async () => {
  await withTemp(async (dir) => {
    using fs = new FileSystemService();
    await Deno.writeTextFile(`${dir}/f`, "abc");
    await Deno.symlink(`${dir}/f`, `${dir}/l`);
    const file = await fs.getMetadata({ path: `${dir}/f` });
    assert.deepEqual(
      { ...file, createdAtMs: 0, modifiedAtMs: 0 },
      {
        isDirectory: false,
        isFile: true,
        isSymlink: false,
        size: 3,
        createdAtMs: 0,
        modifiedAtMs: 0,
      },
    );
    assert.ok(file.modifiedAtMs > 0);
    const link = await fs.getMetadata({ path: `${dir}/l` });
    assert.equal(link.isSymlink, true);
    assert.equal(link.isFile, true);
    assert.equal(link.size, 3);
    const d = await fs.getMetadata({ path: dir });
    assert.equal(d.isDirectory && !d.isFile && !d.isSymlink, true);
    await rejectsWith(fs.getMetadata({ path: `${dir}/none` }), -32004);
  });
});

Deno.test("FileSystemService.readFile() reads ranges and maps errors", async (t) => {
  await withTemp(async (dir) => {
    using fs = new FileSystemService({ maxReadBytes: 8 });
    await Deno.writeTextFile(`${dir}/f`, "0123456789");
    await t.step("ranges report size and eof", async () => {
      const r = await fs.readFile({ path: `${dir}/f`, offset: 2, length: 3 });
      assert.deepEqual([dec(r.dataBase64), r.size, r.eof], ["234", 10, false]);
      const end = await fs.readFile({ path: `${dir}/f`, offset: 6 });
      assert.deepEqual([dec(end.dataBase64), end.eof], ["6789", true]);
      const past = await fs.readFile({ path: `${dir}/f`, offset: 50 });
      assert.deepEqual([past.dataBase64, past.size, past.eof], ["", 10, true]);
      const exact = await fs.readFile({
        path: `${dir}/f`,
        offset: 7,
        length: 3,
      });
      assert.equal(exact.eof, true);
    });
    await t.step("a read over the limit points to ranged reads", async () => {
      await rejectsWith(
        fs.readFile({ path: `${dir}/f` }),
        -32600,
        /too large to read: .* 10 bytes, limit is 8 bytes .*offset and length/,
      );
      await rejectsWith(
        fs.readFile({ path: `${dir}/f`, length: 9 }),
        -32600,
        /range is too large/,
      );
    });
    await t.step("errors", async () => {
      await rejectsWith(fs.readFile({ path: `${dir}/none` }), -32004);
      await rejectsWith(
        fs.readFile({ path: "rel/f" }),
        -32602,
        /^path must be absolute \(a path or a file:\/\/ URI\): rel\/f$/,
      );
      // A directory is codex's -32600, its path shown normalised (codex's words).
      for (const path of [dir, `${dir}/`, `file://${dir}/./`]) {
        await rejectsWith(
          fs.readFile({ path }),
          -32600,
          new RegExp(`^path \`${dir}\` is not a file$`),
        );
      }
      // A device that never ends is cut off at the limit, not read forever.
      await rejectsWith(
        fs.readFile({ path: "/dev/zero" }),
        -32600,
        /is more than 8 bytes, limit is 8 bytes/,
      );
      // A FIFO without a writer neither hangs the open nor the read.
      await mkfifo(`${dir}/fifo`);
      const r = await fs.readFile({ path: `${dir}/fifo` });
      assert.deepEqual(r, { dataBase64: "", size: 0, eof: true });
    });
  });
});

Deno.test("FileSystemService.writeFile() creates, truncates and validates", async () => {
  await withTemp(async (dir) => {
    using fs = new FileSystemService();
    await fs.writeFile({ path: `${dir}/f`, dataBase64: enc("long text") });
    await fs.writeFile({ path: `${dir}/f`, dataBase64: enc("short") });
    assert.equal(await Deno.readTextFile(`${dir}/f`), "short");
    await rejectsWith(
      fs.writeFile({ path: `${dir}/f`, dataBase64: "not base64!" }),
      -32600,
      /^fs\/writeFile requires valid base64 dataBase64: /,
    );
    // Parent directories are not created.
    await rejectsWith(
      fs.writeFile({ path: `${dir}/no/f`, dataBase64: "" }),
      -32004,
    );
  });
});

Deno.test("FileSystemService.createDirectory() and readDirectory() edge cases", async () => {
  await withTemp(async (dir) => {
    using fs = new FileSystemService();
    await rejectsWith(
      fs.createDirectory({ path: `${dir}/x/y`, recursive: false }),
      -32004,
    );
    await fs.createDirectory({ path: `${dir}/x`, recursive: false });
    await rejectsWith(
      fs.createDirectory({ path: `${dir}/x`, recursive: false }),
      -32603,
    );
    await Deno.symlink(`${dir}/x`, `${dir}/to_dir`);
    await Deno.symlink(`${dir}/gone`, `${dir}/dangling`);
    const { entries } = await fs.readDirectory({ path: dir });
    const byName = new Map(entries.map((e) => [e.fileName, e]));
    assert.equal(byName.get("to_dir")?.isDirectory, true); // followed
    assert.equal(byName.has("dangling"), false); // unreadable: skipped
    await rejectsWith(fs.readDirectory({ path: `${dir}/none` }), -32004);
  });
});

Deno.test("FileSystemService.remove() honours recursive and force", async () => {
  await withTemp(async (dir) => {
    using fs = new FileSystemService();
    await Deno.mkdir(`${dir}/d/e`, { recursive: true });
    await rejectsWith(
      fs.remove({ path: `${dir}/d`, recursive: false }),
      -32603,
    );
    await fs.remove({ path: `${dir}/d/e`, recursive: false }); // rmdir
    await fs.remove({ path: `${dir}/none` }); // force default
    await fs.remove({ path: `${dir}/none/deeper` });
    await rejectsWith(fs.remove({ path: `${dir}/none`, force: false }), -32004);
  });
});

Deno.test("file_system_remove_removes_symlink_not_target", async () => {
  await withTemp(async (dir) => {
    using fs = new FileSystemService();
    await Deno.mkdir(`${dir}/target_dir`);
    await Deno.writeTextFile(`${dir}/target_dir/keep`, "x");
    await Deno.symlink(`${dir}/target_dir`, `${dir}/dir_link`);
    await Deno.symlink(`${dir}/target_dir/keep`, `${dir}/file_link`);
    await fs.remove({ path: `${dir}/dir_link` });
    await fs.remove({ path: `${dir}/file_link`, recursive: false });
    await assert.rejects(Deno.lstat(`${dir}/dir_link`), Deno.errors.NotFound);
    await assert.rejects(Deno.lstat(`${dir}/file_link`), Deno.errors.NotFound);
    assert.equal(await Deno.readTextFile(`${dir}/target_dir/keep`), "x");
  });
});

// -- Copy --

Deno.test("file_system_copy_rejects_directory_without_recursive", async () => {
  await withTemp(async (dir) => {
    await Deno.mkdir(`${dir}/src`);
    using fs = new FileSystemService();
    await rejectsWith(
      fs.copy({
        sourcePath: `${dir}/src`,
        destinationPath: `${dir}/dst`,
        recursive: false,
      }),
      -32600,
      /^fs\/copy requires recursive: true when sourcePath is a directory$/,
    );
  });
});

Deno.test("file_system_copy_rejects_copying_directory_into_descendant", async () => {
  await withTemp(async (dir) => {
    using fs = new FileSystemService();
    await Deno.mkdir(`${dir}/src/sub`, { recursive: true });
    for (const dest of [`${dir}/src`, `${dir}/src/sub/copy`]) {
      await rejectsWith(
        fs.copy({
          sourcePath: `${dir}/src`,
          destinationPath: dest,
          recursive: true,
        }),
        -32600,
        /^fs\/copy cannot copy a directory to itself or one of its descendants$/,
      );
    }
  });
});

Deno.test("file_system_copy_preserves_symlink_source", async () => {
  await withTemp(async (dir) => {
    await Deno.writeTextFile(`${dir}/f`, "x");
    await Deno.symlink("f", `${dir}/l`);
    using fs = new FileSystemService();
    await fs.copy({
      sourcePath: `${dir}/l`,
      destinationPath: `${dir}/l2`,
      recursive: false,
    });
    assert.equal(await Deno.readLink(`${dir}/l2`), "f");
  });
});

Deno.test("file_system_copy_preserves_symlinks_in_recursive_copy", async () => {
  await withTemp(async (dir) => {
    await Deno.mkdir(`${dir}/src`);
    await Deno.writeTextFile(`${dir}/src/f`, "x");
    await Deno.symlink("f", `${dir}/src/rel`);
    await Deno.symlink(`${dir}/src/f`, `${dir}/src/abs`);
    using fs = new FileSystemService();
    await fs.copy({
      sourcePath: `${dir}/src`,
      destinationPath: `${dir}/dst`,
      recursive: true,
    });
    assert.equal(await Deno.readLink(`${dir}/dst/rel`), "f");
    assert.equal(await Deno.readLink(`${dir}/dst/abs`), `${dir}/src/f`);
  });
});

Deno.test("file_system_copy_ignores_unknown_special_files_in_recursive_copy", async () => {
  await withTemp(async (dir) => {
    await Deno.mkdir(`${dir}/src`);
    await Deno.writeTextFile(`${dir}/src/f`, "x");
    await mkfifo(`${dir}/src/fifo`);
    using fs = new FileSystemService();
    await fs.copy({
      sourcePath: `${dir}/src`,
      destinationPath: `${dir}/dst`,
      recursive: true,
    });
    assert.equal(await Deno.readTextFile(`${dir}/dst/f`), "x");
    await assert.rejects(Deno.lstat(`${dir}/dst/fifo`), Deno.errors.NotFound);
  });
});

Deno.test("file_system_copy_rejects_standalone_fifo_source", async () => {
  await withTemp(async (dir) => {
    await mkfifo(`${dir}/fifo`);
    using fs = new FileSystemService();
    await rejectsWith(
      fs.copy({
        sourcePath: `${dir}/fifo`,
        destinationPath: `${dir}/copy`,
        recursive: false,
      }),
      -32600,
      /^fs\/copy only supports regular files, directories, and symlinks$/,
    );
  });
});

// -- Big files --

Deno.test("FileSystemService moves a 64 MiB file in chunks intact", async () => {
  await withTemp(async (dir) => {
    using fs = new FileSystemService();
    const size = 64 * 1024 * 1024;
    const data = new Uint8Array(size);
    const words = new Uint32Array(data.buffer);
    let x = 2463534242;
    for (let i = 0; i < words.length; i++) {
      x ^= x << 13, x ^= x >>> 17, x ^= x << 5; // xorshift32
      words[i] = x >>> 0;
    }
    await Deno.writeFile(`${dir}/src`, data);
    const chunk = 8 * 1024 * 1024;
    let eof = false;
    for (let offset = 0; !eof; offset += chunk) {
      const r = await fs.readFile({
        path: `${dir}/src`,
        offset,
        length: chunk,
      });
      assert.equal(r.size, size);
      await fs.writeFile({
        path: `${dir}/dst`,
        dataBase64: r.dataBase64,
        append: offset > 0,
      });
      eof = r.eof;
    }
    const digest = async (p: string) =>
      new Uint8Array(
        await crypto.subtle.digest("SHA-256", await Deno.readFile(p)),
      ).toHex();
    assert.equal(await digest(`${dir}/dst`), await digest(`${dir}/src`));
    // The whole file in one message is refused, pointing to ranged reads.
    await rejectsWith(fs.readFile({ path: `${dir}/src` }), -32600, /offset/);
  });
});
