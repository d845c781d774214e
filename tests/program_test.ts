// Copyright 2026 the exec-server authors. MIT license.
// One program lookup for pipes and terminals: the same argv starts the same
// file on both, and a program that cannot be started fails both the same way.
import assert from "node:assert/strict";
import type { ChildSink, ExitStatus, SpawnOptions } from "../lib/process/child.ts";
import { spawnPipedCommand } from "../lib/process/pipe.ts";
import { spawnPipedFfi } from "../lib/process/pipe_ffi.ts";
import { ptySupport, spawnPty } from "../lib/process/pty.ts";
import { DEFAULT_SEARCH_PATH, findProgram } from "../lib/process/program.ts";

const decoder = new TextDecoder();

/** Collects a child's output and settles once it exited and every stream ended. */
class Sink implements ChildSink {
  text = "";
  status: ExitStatus | null = null;
  ends = 0;
  readonly #done = Promise.withResolvers<void>();
  constructor(readonly streams: number) {}
  output(_stream: string, data: Uint8Array): void {
    this.text += decoder.decode(data);
  }
  end(): void {
    this.ends++;
    this.#check();
  }
  exit(status: ExitStatus): void {
    this.status = status;
    this.#check();
  }
  #check(): void {
    if (this.status !== null && this.ends === this.streams) this.#done.resolve();
  }
  /** Resolves when the child is done; rejects after `ms`. */
  async done(ms = 10_000): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`child not done in ${ms} ms: ${this.text}`)), ms);
    });
    try {
      await Promise.race([this.#done.promise, deadline]);
    } finally {
      clearTimeout(timer);
    }
  }
}

type Outcome = { output: string; code: number } | { error: string; name: string };

/** Starts `argv` on pipes and on a terminal; what each printed, or how each failed. */
async function onBoth(
  argv: string[],
  cwd: string,
  env: Record<string, string>,
  arg0: string | null = null,
): Promise<{ pipe: Outcome; pty: Outcome }> {
  const options: SpawnOptions = {
    argv,
    arg0,
    cwd,
    env,
    tty: false,
    pipeStdin: false,
    size: { rows: 24, cols: 80 },
  };
  const run = async (backend: "ffi" | "command" | "pty"): Promise<Outcome> => {
    const sink = new Sink(backend === "pty" ? 1 : 2);
    try {
      if (backend === "pty") await spawnPty({ ...options, tty: true }, sink);
      else if (backend === "ffi") await spawnPipedFfi(options, sink);
      else await spawnPipedCommand(options, sink);
    } catch (err) {
      assert.ok(err instanceof Error);
      return { error: err.message, name: err.name };
    }
    await sink.done();
    return { output: sink.text.replaceAll("\r\n", "\n"), code: sink.status!.code };
  };
  // Both pipe backends (FFI, and Deno.Command for servers without FFI) agree.
  const pipe = await run("ffi");
  assert.deepEqual(await run("command"), pipe, `the pipe backends differ on ${argv.join(" ")}`);
  return { pipe, pty: await run("pty") };
}

/** A temporary directory with `prog` in bin1 (prints A) and bin2 (prints B), bin0/prog not executable, dir/prog a directory. */
async function fixture(): Promise<{ root: string } & AsyncDisposable> {
  const root = await Deno.realPath(await Deno.makeTempDir());
  for (const [dir, mark] of [["bin1", "A"], ["bin2", "B"], ["bin0", "never"]]) {
    await Deno.mkdir(`${root}/${dir}`);
    await Deno.writeTextFile(`${root}/${dir}/prog`, `#!/bin/sh\necho ${mark}\n`);
  }
  await Deno.chmod(`${root}/bin1/prog`, 0o755);
  await Deno.chmod(`${root}/bin2/prog`, 0o755);
  await Deno.chmod(`${root}/bin0/prog`, 0o644);
  await Deno.mkdir(`${root}/dir/prog`, { recursive: true });
  return { root, [Symbol.asyncDispose]: () => Deno.remove(root, { recursive: true }) };
}

Deno.test({
  name: "pipes and terminals start the same file for the same argv",
  ignore: !ptySupport().ok,
}, async (t) => {
  await using dir = await fixture();
  const root = dir.root;
  const same = async (
    argv: string[],
    env: Record<string, string>,
    expected: { path: string; output: string },
    cwd = root,
  ) => {
    assert.equal(findProgram(argv[0]!, cwd, env), expected.path);
    const both = await onBoth(argv, cwd, env);
    assert.deepEqual(both.pipe, { output: expected.output, code: 0 });
    assert.deepEqual(both.pty, both.pipe);
  };

  await t.step("PATH order, with relative entries taken from cwd", async () => {
    await same(["prog"], { PATH: "nowhere:bin2:bin1" }, {
      path: `${root}/bin2/prog`,
      output: "B\n",
    });
    await same(["prog"], { PATH: `${root}/bin1:bin2` }, {
      path: `${root}/bin1/prog`,
      output: "A\n",
    });
  });

  await t.step("a non-executable file or a directory is passed over", async () => {
    await same(["prog"], { PATH: "bin0:dir:bin1" }, { path: `${root}/bin1/prog`, output: "A\n" });
  });

  await t.step("an empty PATH entry is cwd", async () => {
    await same(
      ["prog"],
      { PATH: "/nowhere:" },
      { path: `${root}/bin2/prog`, output: "B\n" },
      `${root}/bin2`,
    );
  });

  await t.step("a name with a slash is a path from cwd; PATH is not searched", async () => {
    await same(["./bin1/prog"], { PATH: "bin2" }, { path: `${root}/./bin1/prog`, output: "A\n" });
    await same([`${root}/bin2/prog`], {}, { path: `${root}/bin2/prog`, output: "B\n" });
  });

  await t.step(`without PATH, ${DEFAULT_SEARCH_PATH} is searched on both`, async () => {
    const sh = findProgram("sh", root, {});
    assert.ok(DEFAULT_SEARCH_PATH.split(":").map((d) => `${d}/sh`).includes(sh), sh);
    await same(["sh", "-c", "echo started"], {}, { path: sh, output: "started\n" });
  });

  await t.step("arg0 changes what the program sees, not which program runs", async () => {
    const both = await onBoth(
      ["sh", "-c", 'echo "$0"'],
      root,
      { PATH: "/usr/bin:/bin" },
      "shown",
    );
    assert.deepEqual(both.pipe, { output: "shown\n", code: 0 });
    assert.deepEqual(both.pty, both.pipe);
  });

  await t.step("argv[0] reaches the program as given", async () => {
    const both = await onBoth(["sh", "-c", 'echo "$0"'], root, { PATH: "/usr/bin:/bin" });
    assert.deepEqual(both.pipe, { output: "sh\n", code: 0 });
    assert.deepEqual(both.pty, both.pipe);
  });
});

Deno.test({
  name: "a program that cannot be started fails pipes and terminals alike",
  ignore: !ptySupport().ok,
}, async (t) => {
  await using dir = await fixture();
  const root = dir.root;
  const fails = async (argv: string[], env: Record<string, string>, error: string) => {
    const both = await onBoth(argv, root, env);
    const name = error.startsWith("Permission") ? "PermissionDenied" : "NotFound";
    assert.deepEqual(both.pipe, { error, name });
    assert.deepEqual(both.pty, both.pipe);
  };

  await t.step("missing from the child's PATH", async () => {
    await fails(
      ["no-such-program-xyz"],
      { PATH: "/usr/bin:/bin" },
      "No such file or directory (os error 2): no-such-program-xyz",
    );
  });

  await t.step("on the server's PATH but not the child's", async () => {
    assert.ok(findProgram("sh", "/", { PATH: Deno.env.get("PATH") ?? DEFAULT_SEARCH_PATH }));
    await fails(["sh"], { PATH: `${root}/bin1` }, "No such file or directory (os error 2): sh");
  });

  await t.step("without PATH, a program outside the default search path", async () => {
    await fails(["prog"], {}, "No such file or directory (os error 2): prog");
  });

  await t.step("a path that does not exist, and an empty argv[0]", async () => {
    await fails(
      [`${root}/bin1/nope`],
      {},
      `No such file or directory (os error 2): ${root}/bin1/nope`,
    );
    await fails([""], {}, "No such file or directory (os error 2): ");
  });

  await t.step("only files that are not executable, or directories", async () => {
    await fails(["prog"], { PATH: "bin0:dir" }, "Permission denied (os error 13): prog");
    await fails(["./bin0/prog"], {}, "Permission denied (os error 13): ./bin0/prog");
    await fails(["dir/prog"], {}, "Permission denied (os error 13): dir/prog");
  });
});

Deno.test("findProgram() remembers a hit for a second, never a miss", async () => {
  await using dir = await fixture();
  const root = dir.root;
  const env = { PATH: "bin2:bin1" };
  assert.equal(findProgram("prog", root, env), `${root}/bin2/prog`);
  await Deno.remove(`${root}/bin2/prog`);
  assert.equal(findProgram("prog", root, env), `${root}/bin2/prog`, "a recent hit is reused");
  assert.equal(findProgram("prog", root, { PATH: "bin1" }), `${root}/bin1/prog`);
  assert.throws(() => findProgram("prog", root, { PATH: "bin2" }), { name: "NotFound" });
  await Deno.writeTextFile(`${root}/bin2/prog`, "#!/bin/sh\n", { mode: 0o755 });
  assert.equal(findProgram("prog", root, { PATH: "bin2" }), `${root}/bin2/prog`);
});

Deno.test({
  name: "the server's own PATH is used by neither pipes nor terminals",
  ignore: !ptySupport().ok,
}, async () => {
  await using dir = await fixture();
  // A server whose PATH has bin1/prog starts a child that has no PATH: the
  // child's search is /bin:/usr/bin on both backends, so prog is missing.
  const lib = new URL("../lib/process/", import.meta.url).href;
  const script = `
    import { spawnPipedCommand as spawnPiped } from "${lib}pipe.ts";
    import { spawnPipedFfi } from "${lib}pipe_ffi.ts";
    import { spawnPty } from "${lib}pty.ts";
    const options = { argv: ["prog"], arg0: null, cwd: "/", env: {}, tty: false,
      pipeStdin: false, size: { rows: 24, cols: 80 } };
    const sink = { output() {}, end() {}, exit() {} };
    const outcome = async (start) => {
      try {
        const child = await start();
        child.signal("SIGKILL");
        return "started";
      } catch (err) {
        return err.name + ": " + err.message;
      }
    };
    console.log(JSON.stringify({
      pipe: await outcome(() => spawnPiped(options, sink)),
      ffi: await outcome(() => spawnPipedFfi(options, sink)),
      pty: await outcome(() => spawnPty({ ...options, tty: true }, sink)),
    }));
    Deno.exit(0);
  `;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "-"],
    cwd: new URL("..", import.meta.url).pathname,
    env: { PATH: `${dir.root}/bin1:${Deno.env.get("PATH") ?? DEFAULT_SEARCH_PATH}` },
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(script));
  await writer.close();
  const { code, stdout, stderr } = await child.output();
  assert.equal(code, 0, decoder.decode(stderr));
  const missing = "NotFound: No such file or directory (os error 2): prog";
  assert.deepEqual(JSON.parse(decoder.decode(stdout)), {
    pipe: missing,
    ffi: missing,
    pty: missing,
  });
});
