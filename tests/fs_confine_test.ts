// Copyright 2026 the exec-server authors. MIT license.
// Path resolution and confinement under --fs-root (codex's escape cases).
import assert from "node:assert/strict";
import { FileSystemService } from "../lib/fs/service.ts";
import { FsRoots } from "../lib/fs/roots.ts";
import { OsError } from "../lib/fs/libc.ts";
import { toNativePath } from "../lib/fs/paths.ts";
import { dec, rejectsWith, withTemp } from "./_fs_helpers.ts";

// -- Paths and the resolver --

Deno.test("toNativePath() accepts file URIs and rejects relative paths", () => {
  assert.equal(toNativePath("file:///tmp/a%20b"), "/tmp/a b");
  assert.equal(toNativePath("/tmp/x"), "/tmp/x");
  for (const bad of ["rel/x", "file:///%00/x", "/a\0b"]) {
    assert.throws(() => toNativePath(bad, "sourcePath"), (err: Error) => {
      assert.equal((err as unknown as { code: number }).code, -32602);
      return /^sourcePath /.test(err.message);
    });
  }
  // As codex: another host is -32600, and an encoded "/" names nothing that can exist.
  assert.throws(() => toNativePath("file://host/x"), (err: Error) => {
    assert.equal((err as unknown as { code: number }).code, -32600);
    return err.message === "'file://host/x' is invalid on 'linux'";
  });
  assert.equal(toNativePath("file://localhost/tmp/x"), "/tmp/x");
  assert.throws(() => toNativePath("file:///tmp/a%2Fb"), (err: Error) => {
    return (err as unknown as { code: number }).code === -32004;
  });
});

Deno.test("FsRoots.resolve() resolves symlinks before applying ..", async (t) => {
  await withTemp(async (dir) => {
    using roots = FsRoots.open([]);
    await Deno.mkdir(`${dir}/a/b`, { recursive: true });
    await Deno.symlink(`${dir}/a/b`, `${dir}/link`);
    await Deno.symlink("../loop2", `${dir}/a/loop1`);
    await Deno.symlink("a/loop1", `${dir}/loop2`);
    const where = (path: string, follow = true) => {
      using at = roots.resolve(path, { follow });
      return { path: at.path, exists: at.exists, missing: [...at.missing] };
    };
    await t.step("a .. after a symlink leaves its target", () => {
      assert.deepEqual(where(`${dir}/link/../x`), {
        path: `${dir}/a/x`,
        exists: false,
        missing: ["x"],
      });
    });
    await t.step("follow false keeps the final link", () => {
      assert.deepEqual(where(`${dir}/./link`, false), {
        path: `${dir}/link`,
        exists: true,
        missing: [],
      });
      assert.equal(where(`${dir}/link`).path, `${dir}/a/b`);
      assert.equal(where(`${dir}/link/`, false).path, `${dir}/a/b`, "a trailing / follows");
    });
    await t.step("missing tails are appended, but not with ..", () => {
      assert.deepEqual(where(`${dir}/link/new/deeper`), {
        path: `${dir}/a/b/new/deeper`,
        exists: false,
        missing: ["new", "deeper"],
      });
      assert.throws(() => where(`${dir}/new/../a`), (err) => (err as OsError).errno === 2);
    });
    await t.step("a symlink loop fails", () => {
      assert.throws(() => where(`${dir}/loop2`), /symbolic links \(os error 40\)$/);
    });
    await t.step("a file used as a directory is ENOTDIR", async () => {
      await Deno.writeTextFile(`${dir}/f`, "");
      assert.throws(() => where(`${dir}/f/x`), /Not a directory \(os error 20\)/);
      assert.equal(where(`${dir}/f/`).path, `${dir}/f`, "a trailing slash, as codex, is no error");
    });
  });
});

// -- Confinement --

/** A root with `inside/file`, and a sibling `outside/secret` it must not reach. */
async function withRoot(
  fn: (fs: FileSystemService, root: string, outside: string) => Promise<void>,
): Promise<void> {
  await withTemp(async (dir) => {
    const root = `${dir}/root`;
    const outside = `${dir}/outside`;
    await Deno.mkdir(`${root}/inside`, { recursive: true });
    await Deno.mkdir(outside);
    await Deno.writeTextFile(`${root}/inside/file`, "ok");
    await Deno.writeTextFile(`${outside}/secret`, "secret");
    await Deno.symlink(outside, `${root}/escape`); // dir link out of the root
    await Deno.symlink(`${outside}/secret`, `${root}/secret_link`);
    await Deno.symlink(`${outside}/sub`, `${root}/pending`); // dangling, outside
    using fs = new FileSystemService({ roots: [root] });
    await fn(fs, root, outside);
  });
}

const NOT_PERMITTED = /is not permitted: .*outside the allowed roots .*\/root/;

Deno.test("file_system_sandboxed_read_allows_readable_root", async () => {
  await withRoot(async (fs, root) => {
    const r = await fs.readFile({ path: `${root}/inside/../inside/file` });
    assert.equal(dec(r.dataBase64), "ok");
    await rejectsWith(
      fs.readFile({ path: "/etc/hostname" }),
      -32600,
      /^path \/etc\/hostname is not permitted: it is outside the allowed roots /,
    );
  });
});

Deno.test("file_system_sandboxed_write_rejects_unwritable_path", async () => {
  await withRoot(async (fs, root) => {
    const sandbox = { writableRoots: [`${root}/inside`] };
    await fs.writeFile({ path: `${root}/inside/n`, dataBase64: "", sandbox });
    await rejectsWith(
      fs.writeFile({ path: `${root}/n`, dataBase64: "", sandbox }),
      -32600,
      /is not permitted: it is outside the writable roots .*\/inside$/,
    );
    const readOnly = { sandbox: { readOnly: true } };
    await rejectsWith(
      fs.createDirectory({ path: `${root}/d`, ...readOnly }),
      -32600,
      /read-only/,
    );
    await rejectsWith(
      fs.remove({ path: `${root}/inside/file`, ...readOnly }),
      -32600,
      /read-only/,
    );
    // Reads still work under a read-only sandbox.
    await fs.readFile({ path: `${root}/inside/file`, ...readOnly });
    // A writable root cannot widen the server's roots.
    await rejectsWith(
      fs.writeFile({
        path: `${root}/n`,
        dataBase64: "",
        sandbox: { writableRoots: ["/tmp"] },
      }),
      -32600,
      /^writable root \/tmp is not permitted/,
    );
  });
});

Deno.test("file_system_read_rejects_symlink_escape", async () => {
  await withRoot(async (fs, root) => {
    await rejectsWith(
      fs.readFile({ path: `${root}/secret_link` }),
      -32600,
      new RegExp(
        `^path ${root}/secret_link is not permitted: it is outside the allowed roots ${root}$`,
      ),
    );
    await rejectsWith(fs.readFile({ path: `${root}/escape/secret` }), -32600);
  });
});

Deno.test("file_system_read_rejects_symlink_parent_dotdot_escape", async () => {
  await withRoot(async (fs, root, outside) => {
    // Lexically root/inside/secret, really outside/../outside/secret.
    await Deno.mkdir(`${outside}/sub`);
    await Deno.symlink(`${outside}/sub`, `${root}/inside/hop`);
    await rejectsWith(
      fs.readFile({ path: `${root}/inside/hop/../secret` }),
      -32600,
      NOT_PERMITTED,
    );
  });
});

Deno.test("file_system_write_rejects_symlink_escape", async () => {
  await withRoot(async (fs, root, outside) => {
    const cases = [
      `${root}/escape/new`,
      `${root}/secret_link`,
      `${root}/pending`,
    ];
    for (const path of cases) {
      await rejectsWith(fs.writeFile({ path, dataBase64: "" }), -32600);
    }
    assert.equal(await Deno.readTextFile(`${outside}/secret`), "secret");
    await assert.rejects(Deno.lstat(`${outside}/new`), Deno.errors.NotFound);
  });
});

Deno.test("file_system_create_directory_rejects_symlink_escape", async () => {
  await withRoot(async (fs, root, outside) => {
    await rejectsWith(fs.createDirectory({ path: `${root}/escape/d` }), -32600);
    await rejectsWith(fs.createDirectory({ path: `${root}/pending` }), -32600);
    await assert.rejects(Deno.lstat(`${outside}/d`), Deno.errors.NotFound);
    await assert.rejects(Deno.lstat(`${outside}/sub`), Deno.errors.NotFound);
  });
});

Deno.test("file_system_get_metadata_rejects_symlink_escape", async () => {
  await withRoot(async (fs, root) => {
    await rejectsWith(fs.getMetadata({ path: `${root}/secret_link` }), -32600);
    await rejectsWith(fs.getMetadata({ path: `${root}/escape` }), -32600);
  });
});

Deno.test("file_system_read_directory_rejects_symlink_escape", async () => {
  await withRoot(async (fs, root) => {
    await rejectsWith(fs.readDirectory({ path: `${root}/escape` }), -32600);
    // Listing the root does not reveal what escaping links point at.
    const { entries } = await fs.readDirectory({ path: root });
    const escape = entries.find((e) => e.fileName === "escape");
    assert.deepEqual(escape, {
      fileName: "escape",
      isDirectory: false,
      isFile: false,
    });
  });
});

Deno.test("file_system_remove_rejects_symlink_escape", async () => {
  await withRoot(async (fs, root, outside) => {
    await rejectsWith(fs.remove({ path: `${root}/escape/secret` }), -32600);
    await rejectsWith(fs.remove({ path: `${root}/escape/.` }), -32600);
    assert.equal(await Deno.readTextFile(`${outside}/secret`), "secret");
    // Removing the escaping link itself is fine: the target is untouched.
    await fs.remove({ path: `${root}/escape` });
    assert.equal(await Deno.readTextFile(`${outside}/secret`), "secret");
  });
});

Deno.test("file_system_copy_rejects_symlink_escape_source", async () => {
  await withRoot(async (fs, root) => {
    await rejectsWith(
      fs.copy({
        sourcePath: `${root}/escape/secret`,
        destinationPath: `${root}/stolen`,
        recursive: false,
      }),
      -32600,
      /^path .*\/escape\/secret is not permitted/,
    );
    await assert.rejects(Deno.lstat(`${root}/stolen`), Deno.errors.NotFound);
  });
});

Deno.test("file_system_copy_rejects_symlink_escape_destination", async () => {
  await withRoot(async (fs, root, outside) => {
    for (const dest of [`${root}/escape/planted`, `${root}/secret_link`]) {
      await rejectsWith(
        fs.copy({
          sourcePath: `${root}/inside/file`,
          destinationPath: dest,
          recursive: false,
        }),
        -32600,
        NOT_PERMITTED,
      );
    }
    await assert.rejects(
      Deno.lstat(`${outside}/planted`),
      Deno.errors.NotFound,
    );
    assert.equal(await Deno.readTextFile(`${outside}/secret`), "secret");
  });
});
