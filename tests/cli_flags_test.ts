// Copyright 2026 the exec-server authors. MIT license.
import assert from "node:assert/strict";
import { parseArgs } from "node:util";
import fc from "fast-check";
import {
  parseFlags,
  parseKeyValues,
  positiveNumber,
  readTokenFile,
  UsageError,
} from "../lib/cli/flags.ts";
import { parseClientFlags } from "../lib/cli/connect.ts";
import { bridgeConfig } from "../lib/cli/mcp.ts";

Deno.test("parseKeyValues(): K=V entries, the value may hold = or be empty", () => {
  assert.deepEqual(parseKeyValues([], "--env"), {});
  assert.deepEqual(parseKeyValues(["A=1", "B=x=y", "C=", "A=2"], "--env"), {
    A: "2",
    B: "x=y",
    C: "",
  });
  for (const bad of ["A", "=1", ""]) {
    assert.throws(() => parseKeyValues([bad], "--env"), (err: unknown) => {
      assert.ok(err instanceof UsageError);
      assert.equal(err.message, `--env expects K=V, got ${JSON.stringify(bad)}`);
      return true;
    });
  }
});

Deno.test("the CLI's --env flags share the one K=V parser", () => {
  const config = bridgeConfig(["srv"], "/", ["K=v=w"], []);
  assert.deepEqual(config.env, { K: "v=w" });
  assert.throws(() => bridgeConfig(["srv"], "/", ["novalue"], []), {
    name: "UsageError",
    message: '--env expects K=V, got "novalue"',
  });
});

Deno.test("readTokenFile(): the first line, trimmed; empty, unreadable and shared files", async (t) => {
  const dir = await Deno.makeTempDir();
  const write = async (name: string, text: string, mode = 0o600) => {
    const path = `${dir}/${name}`;
    await Deno.writeTextFile(path, text);
    await Deno.chmod(path, mode);
    return path;
  };
  try {
    await t.step("first line only, \\r\\n and spaces dropped", async () => {
      const path = await write("crlf", "  tok-123 \r\nsecond line\n");
      assert.deepEqual(await readTokenFile(path), { token: "tok-123", warning: null });
      assert.deepEqual(await readTokenFile(await write("bare", "tok")), {
        token: "tok",
        warning: null,
      });
    });
    await t.step("an empty first line is an error, even with text below it", async () => {
      for (const text of ["", "\n", "  \nlater\n"]) {
        const path = await write("empty", text);
        await assert.rejects(readTokenFile(path), {
          name: "UsageError",
          message: `--token-file ${path} is empty`,
        });
      }
    });
    await t.step("an unreadable file names the flag and the path", async () => {
      await assert.rejects(readTokenFile(`${dir}/missing`, "--ws-token-file"), (err: unknown) => {
        assert.ok(err instanceof UsageError);
        assert.match(err.message, new RegExp(`^cannot read --ws-token-file ${dir}/missing: `));
        return true;
      });
    });
    await t.step("a file others can read comes with a warning", async () => {
      const path = await write("shared", "tok\n", 0o644);
      assert.deepEqual(await readTokenFile(path), {
        token: "tok",
        warning: `WARNING: --token-file ${path} can be read by other users (mode 644); ` +
          "run chmod 600 on it",
      });
      const group = await write("group", "tok\n", 0o640);
      assert.match((await readTokenFile(group)).warning ?? "", /\(mode 640\)/);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("parseFlags(): typed values, and usage errors for bad flags", () => {
  const { values, positionals } = parseFlags({
    args: ["--n", "3", "--on", "--many", "a", "--many", "b", "rest"],
    allowPositionals: true,
    options: {
      n: { type: "string" },
      on: { type: "boolean" },
      many: { type: "string", multiple: true },
    },
  });
  const n: string | undefined = values.n;
  const on: boolean | undefined = values.on;
  const many: string[] | undefined = values.many;
  assert.deepEqual({ n, on, many, positionals }, {
    n: "3",
    on: true,
    many: ["a", "b"],
    positionals: ["rest"],
  });
  assert.throws(() => parseFlags({ args: ["--nope"], options: {} }), {
    name: "UsageError",
    message: /--nope/,
  });
  assert.throws(() => parseFlags({ args: ["--n"], options: { n: { type: "string" } } }), {
    name: "UsageError",
  });
});

Deno.test("positiveNumber(): a finite number above zero, or the fallback", () => {
  assert.equal(positiveNumber("--x", "2.5", 1), 2.5);
  assert.equal(positiveNumber("--x", undefined, 7), 7);
  for (const bad of ["0", "-1", "abc", "Infinity", ""]) {
    assert.throws(() => positiveNumber("--x", bad, 1), {
      name: "UsageError",
      message: `--x must be a positive number, got ${JSON.stringify(bad)}`,
    });
  }
});

Deno.test("parseClientFlags(): connection flags, extras, and a command after --", () => {
  const r = parseClientFlags(["--url", "ws://h:1", "--cwd", "/w", "--", "ls", "--url", "-h"], {
    cwd: { type: "string" },
  });
  assert.equal(r.values.url, "ws://h:1");
  assert.equal(r.values.cwd, "/w");
  assert.equal(r.values.help, undefined);
  assert.deepEqual(r.positionals, ["ls", "--url", "-h"]);
  assert.deepEqual(parseClientFlags(["m", "{}"], {}).positionals, ["m", "{}"]);
  assert.equal(parseClientFlags(["-h"], {}).values.help, true);
  assert.throws(() => parseClientFlags(["--tty"], {}), { name: "UsageError" });
});

Deno.test("parseFlags() parses as node's parseArgs does in strict mode (property)", () => {
  // The parser replaced node's (whose module costs an idle server over 1 MB):
  // the same values and words, or an error where node has one, in the words
  // the CLI always used.
  const options = {
    a: { type: "boolean" },
    help: { type: "boolean", short: "h" },
    verbose: { type: "boolean", short: "v", multiple: true },
    file: { type: "string", short: "f" },
    many: { type: "string", multiple: true },
    n: { type: "string" },
  } as const;
  const words = [
    ...["--a", "--help", "--verbose", "--file", "--many", "--n", "-h", "-v", "-f", "-hv", "-vf"],
    ...["-fx", "-hfx", "-vhf", "-x", "-hx", "--nope", "--a=1", "--n=", "--n=-1", "--many=a=b"],
    ...["--=x", "---a", "-1", "-", "--", "x", "", "=", "-=", "--help=", "-h=1", "-vv", "-f="],
    ...["--file=-x", "-f-x", "-hvf"],
  ];
  // node's messages, as the CLI reworded them before.
  const nodeWords = (err: { code?: string; message: string }) => {
    const quoted = /'([^']*)'/.exec(err.message)?.[1] ?? "";
    switch (err.code) {
      case "ERR_PARSE_ARGS_UNKNOWN_OPTION":
        return `unknown option ${quoted}`;
      case "ERR_PARSE_ARGS_INVALID_OPTION_VALUE":
        if (/argument missing/.test(err.message)) {
          return `${quoted.replace(/ <value>$/, "")} needs a value`;
        }
        if (/ambiguous/.test(err.message)) {
          return new RegExp(`^${quoted} needs a value, got the flag-like "`);
        }
        return `${quoted} does not take a value`;
      case "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL":
        return `unexpected argument ${JSON.stringify(quoted)}`;
    }
    throw new Error(`unexpected node error ${err.code}: ${err.message}`);
  };
  fc.assert(
    fc.property(
      fc.array(fc.constantFrom(...words), { maxLength: 7 }),
      fc.boolean(),
      (args, allowPositionals) => {
        let expected: { values: Record<string, unknown>; positionals: string[] } | string | RegExp;
        try {
          const r = parseArgs({ args, options, strict: true, allowPositionals });
          expected = { values: { ...r.values }, positionals: r.positionals };
        } catch (err) {
          expected = nodeWords(err as { code?: string; message: string });
        }
        let actual: { values: Record<string, unknown>; positionals: string[] } | string;
        try {
          const r = parseFlags({ args, options, strict: true, allowPositionals });
          assert.equal(Object.getPrototypeOf(r.values), null);
          actual = { values: { ...r.values }, positionals: r.positionals };
        } catch (err) {
          assert.ok(err instanceof UsageError, String(err));
          actual = err.message;
        }
        if (expected instanceof RegExp) {
          assert.match(String(actual), expected, JSON.stringify(args));
        } else assert.deepEqual(actual, expected, JSON.stringify(args));
      },
    ),
    { numRuns: 3000 },
  );
});
