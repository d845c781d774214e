// Copyright 2026 the exec-server authors. MIT license.
/**
 * What every subcommand's flags share: the usage error, typed flag parsing,
 * positive numbers, `K=V` entries (`--env`), and token files
 * (`serve --token-file` and the client subcommands' `--token-file`).
 *
 * @module
 */
import { messageOf } from "../util/mod.ts";

/** A usage error: printed with a hint to run `--help`, exit code 2. */
export class UsageError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** One flag's spec: what it takes, whether it repeats, its one-letter alias. */
export interface OptionSpec {
  /** A string flag takes a value (`--name V` or `--name=V`); a boolean one none. */
  type: "string" | "boolean";
  /** Whether it may repeat (its value is then an array). @default {false} */
  multiple?: boolean;
  /** A one-letter alias (`-h`). */
  short?: string;
}

/** The flags a command accepts, by name (without the leading `--`). */
export type OptionSpecs = Record<string, OptionSpec>;

/** What {@linkcode parseFlags} parses. */
export interface FlagConfig {
  /** The words to parse. */
  args: readonly string[];
  /** The flags. */
  options: OptionSpecs;
  /** Unknown flags are errors: always (the word is node's `parseArgs` option). @default {true} */
  strict?: true;
  /** Whether words that are not flags are allowed. @default {false} */
  allowPositionals?: boolean;
}

/** The value of a flag with spec `S`. */
export type FlagValue<S extends OptionSpec> = S extends { type: "boolean" }
  ? S extends { multiple: true } ? boolean[] : boolean
  : S extends { multiple: true } ? string[]
  : string;

/** The parsed values, typed by the specs; an absent flag has no entry. */
export type FlagValues<O extends OptionSpecs> = { -readonly [K in keyof O]?: FlagValue<O[K]> };

/**
 * Parses `config.args` by `config.options` as `parseArgs` from `node:util`
 * does in strict mode (`--name V`, `--name=V`, `-h`, grouped `-ab`, `--` ends
 * the flags), without loading node's util module (over 1 MB resident in an
 * idle server). Bad flags are {@linkcode UsageError}s: an unknown flag, a
 * missing value (also one that looks like a flag: `--name=-x` gives it), a
 * value for a boolean, or a word where none is allowed. The values object
 * has no prototype, like node's.
 *
 * @example
 * ```ts
 * import { parseFlags } from "./flags.ts";
 * import assert from "node:assert/strict";
 * const { values } = parseFlags({
 *   args: ["--cwd", "/tmp", "--tty"],
 *   options: { cwd: { type: "string" }, tty: { type: "boolean" } },
 * });
 * assert.equal(values.cwd, "/tmp");
 * assert.equal(values.tty, true);
 * assert.throws(() => parseFlags({ args: ["--nope"], options: {} }), {
 *   name: "UsageError",
 *   message: "unknown option --nope",
 * });
 * assert.throws(() => parseFlags({ args: ["--cwd", "-x"], options: { cwd: { type: "string" } } }), {
 *   message: '--cwd needs a value, got the flag-like "-x" (a value that starts with "-" is written --cwd=-x)',
 * });
 * ```
 */
export function parseFlags<const T extends FlagConfig>(
  config: T,
): { values: FlagValues<T["options"]>; positionals: string[] } {
  const { options, allowPositionals = false } = config;
  const values: Record<string, unknown> = Object.create(null);
  const positionals: string[] = [];
  const args = [...config.args];
  let i = 0;
  const own = (name: string) => Object.hasOwn(options, name) ? options[name] : undefined;
  const byShort = (letter: string) =>
    Object.keys(options).find((name) => options[name]!.short === letter);
  const positional = (word: string) => {
    if (!allowPositionals) throw new UsageError(`unexpected argument ${JSON.stringify(word)}`);
    positionals.push(word);
  };
  const store = (name: string, multiple: boolean | undefined, value: string | true) => {
    if (multiple) ((values[name] ??= []) as unknown[]).push(value);
    else values[name] = value;
  };
  // `raw` as written, `name` its long name, `inline` a value after `=` (or in -fVALUE).
  const option = (raw: string, name: string, inline: string | undefined) => {
    const spec = own(name);
    if (spec === undefined) throw new UsageError(`unknown option ${raw}`);
    const names = `${spec.short ? `-${spec.short}, ` : ""}--${name}`;
    if (spec.type === "boolean") {
      if (inline !== undefined) throw new UsageError(`${names} does not take a value`);
      return store(name, spec.multiple, true);
    }
    if (inline !== undefined) return store(name, spec.multiple, inline);
    const next = args[i];
    if (next === undefined) throw new UsageError(`${names} needs a value`);
    if (next.length > 1 && next.startsWith("-")) {
      const example = raw.startsWith("--") ? `${raw}=-x` : `${raw}-x`;
      throw new UsageError(
        `${raw} needs a value, got the flag-like ${JSON.stringify(next)} ` +
          `(a value that starts with "-" is written ${example})`,
      );
    }
    i++;
    store(name, spec.multiple, next);
  };
  while (i < args.length) {
    const arg = args[i++]!;
    if (arg === "--") {
      for (const word of args.slice(i)) positional(word);
      break;
    }
    if (arg === "-" || !arg.startsWith("-")) {
      positional(arg);
    } else if (arg.startsWith("--")) {
      const eq = arg.indexOf("=", 3); // as node: "--=x" is a flag named "=x"
      if (eq === -1) option(arg, arg.slice(2), undefined);
      else option(arg.slice(0, eq), arg.slice(2, eq), arg.slice(eq + 1));
    } else {
      // -x; -xVALUE where x takes a value; else a group -abc, one flag each.
      const letter = arg[1]!;
      const name = byShort(letter);
      if (arg.length === 2) {
        option(arg, name ?? letter, undefined);
      } else if (name !== undefined && options[name]!.type === "string") {
        option(`-${letter}`, name, arg.slice(2));
      } else {
        const expanded: string[] = [];
        for (let k = 1; k < arg.length; k++) {
          const long = byShort(arg[k]!);
          if (long === undefined || options[long]!.type !== "string" || k === arg.length - 1) {
            expanded.push(`-${arg[k]}`);
          } else {
            expanded.push(`-${arg.slice(k)}`);
            break;
          }
        }
        args.splice(i, 0, ...expanded);
      }
    }
  }
  return { values: values as FlagValues<T["options"]>, positionals };
}

/**
 * Splits `args` where a command begins, as `ssh host cmd -l` does: the
 * leading flags (and their values) are ours; the first other word, or
 * everything after `--`, starts the command, and from there on every word
 * belongs to it, even ones that look like our flags. An unknown flag before
 * the command stays among the flags, so parsing them reports it.
 *
 * @example
 * ```ts
 * import { splitAtCommand } from "./flags.ts";
 * import assert from "node:assert/strict";
 * const options = { url: { type: "string" }, tty: { type: "boolean" } } as const;
 * assert.deepEqual(splitAtCommand(["--url", "ws://h:1", "--tty", "ls", "-la", "--url"], options), {
 *   flags: ["--url", "ws://h:1", "--tty"],
 *   command: ["ls", "-la", "--url"],
 * });
 * assert.deepEqual(splitAtCommand(["--url=ws://h:1", "--", "-x"], options), {
 *   flags: ["--url=ws://h:1"],
 *   command: ["-x"],
 * });
 * ```
 */
export function splitAtCommand(
  args: readonly string[],
  options: OptionSpecs,
): { flags: string[]; command: string[] } {
  const byShort = new Map(
    Object.entries(options).flatMap(([name, spec]) => spec.short ? [[spec.short, name]] : []),
  );
  let i = 0;
  while (i < args.length) {
    const arg = args[i]!;
    if (arg === "--") return { flags: args.slice(0, i), command: args.slice(i + 1) };
    if (arg === "-" || !arg.startsWith("-")) break;
    const name = arg.startsWith("--")
      ? arg.slice(2).split("=", 1)[0]!
      : arg.length === 2
      ? byShort.get(arg[1]!)
      : undefined;
    const takesValue = name !== undefined && options[name]?.type === "string" &&
      !arg.includes("=");
    i += takesValue ? 2 : 1;
  }
  return { flags: args.slice(0, Math.min(i, args.length)), command: args.slice(i) };
}

/**
 * The number `value` gives `flag`, or `fallback` when the flag is absent.
 *
 * @throws {UsageError} When `value` is not a finite number above 0.
 *
 * @example
 * ```ts
 * import { positiveNumber } from "./flags.ts";
 * import assert from "node:assert/strict";
 * assert.equal(positiveNumber("--kill-grace", "0.5", 2), 0.5);
 * assert.equal(positiveNumber("--kill-grace", undefined, 2), 2);
 * assert.throws(() => positiveNumber("--kill-grace", "-1", 2), { name: "UsageError" });
 * ```
 */
export function positiveNumber(flag: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) {
    throw new UsageError(`${flag} must be a positive number, got ${JSON.stringify(value)}`);
  }
  return n;
}

/**
 * Parses `K=V` entries (as repeated `--env` flags give them) into a record;
 * a later entry for a name wins. The value may be empty and may contain `=`.
 *
 * @throws {UsageError} For an entry without `=` or with an empty name.
 *
 * @example
 * ```ts
 * import { parseKeyValues } from "./flags.ts";
 * import assert from "node:assert/strict";
 * assert.deepEqual(parseKeyValues(["A=1", "B=x=y", "C="], "--env"), { A: "1", B: "x=y", C: "" });
 * assert.throws(() => parseKeyValues(["=1"], "--env"), { message: '--env expects K=V, got "=1"' });
 * ```
 */
export function parseKeyValues(entries: readonly string[], flag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of entries) {
    const eq = entry.indexOf("=");
    if (eq <= 0) throw new UsageError(`${flag} expects K=V, got ${JSON.stringify(entry)}`);
    out[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return out;
}

/** A token read by {@linkcode readTokenFile}. */
export interface TokenFile {
  /** The file's first line, trimmed; never empty. */
  token: string;
  /** A warning to print when other users can read the file, else null. */
  warning: string | null;
}

/**
 * Reads a bearer token from a file: its first line, trimmed.
 *
 * @param path The file.
 * @param flag The flag that named it, for messages. @default {"--token-file"}
 * @throws {UsageError} When the file cannot be read or its first line is empty.
 *
 * @example
 * ```ts
 * import { readTokenFile } from "./flags.ts";
 * import assert from "node:assert/strict";
 * const path = await Deno.makeTempFile();
 * await Deno.writeTextFile(path, "  s3cret-token-value  \r\nignored\n", { mode: 0o600 });
 * await Deno.chmod(path, 0o600);
 * assert.deepEqual(await readTokenFile(path), { token: "s3cret-token-value", warning: null });
 * await Deno.remove(path);
 * ```
 */
export async function readTokenFile(path: string, flag = "--token-file"): Promise<TokenFile> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    throw new UsageError(`cannot read ${flag} ${path}: ${messageOf(err)}`);
  }
  const token = text.split(/\r?\n/, 1)[0]!.trim();
  if (token === "") throw new UsageError(`${flag} ${path} is empty`);
  const mode = (await Deno.stat(path).catch(() => null))?.mode ?? null;
  const warning = mode !== null && (mode & 0o077) !== 0
    ? `WARNING: ${flag} ${path} can be read by other users (mode ` +
      `${(mode & 0o777).toString(8).padStart(3, "0")}); run chmod 600 on it`
    : null;
  return { token, warning };
}

/**
 * An error that ends the command with `code` after printing its message
 * (prefixed "exec-server: ") on stderr, without a stack trace.
 *
 * @example
 * ```ts
 * import { CliExit } from "./flags.ts";
 * import assert from "node:assert/strict";
 * const err = new CliExit("the connection dropped", 255);
 * assert.equal(err.code, 255);
 * ```
 */
export class CliExit extends Error {
  /** The exit code. */
  readonly code: number;

  /** Creates the error. */
  constructor(message: string, code: number) {
    super(message);
    this.name = "CliExit";
    this.code = code;
  }
}
