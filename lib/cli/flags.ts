// Copyright 2026 the exec-server authors. MIT license.
/**
 * What every subcommand's flags share: the usage error, typed flag parsing,
 * positive numbers, `K=V` entries (`--env`), and token files
 * (`serve --token-file` and the client subcommands' `--token-file`).
 *
 * @module
 */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { messageOf } from "../util/mod.ts";

/** A usage error: printed with a hint to run `--help`, exit code 2. */
export class UsageError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/**
 * `parseArgs` from `node:util`, typed by `config`, whose errors (an unknown
 * flag, a missing value) are {@linkcode UsageError}s in our own words.
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
 * ```
 */
export function parseFlags<const T extends ParseArgsConfig>(
  config: T,
): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs(config);
  } catch (err) {
    throw new UsageError(flagErrorMessage(err));
  }
}

/** node's parseArgs messages, reworded (its unknown-option hint has an unbalanced quote). */
function flagErrorMessage(err: unknown): string {
  const message = messageOf(err);
  const code = (err as { code?: unknown }).code;
  const quoted = /'([^']*)'/.exec(message)?.[1] ?? "";
  switch (code) {
    case "ERR_PARSE_ARGS_UNKNOWN_OPTION":
      return `unknown option ${quoted}`;
    case "ERR_PARSE_ARGS_INVALID_OPTION_VALUE":
      return /argument missing/.test(message)
        ? `${quoted.replace(/ <value>$/, "")} needs a value`
        : `${quoted} does not take a value`;
    case "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL":
      return `unexpected argument ${JSON.stringify(quoted)}`;
    default:
      return message;
  }
}

/** The option specs {@linkcode splitAtCommand} reads: parseArgs' `options`. */
export type OptionSpecs = Record<
  string,
  { type: "string" | "boolean"; multiple?: boolean; short?: string }
>;

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
