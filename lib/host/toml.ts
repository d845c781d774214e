// Copyright 2026 the exec-server authors. MIT license.
/**
 * TOML for `environmentConfig/read`: parsing is smol-toml's (integers as
 * bigints, so an integer and a float stay apart); selecting key paths and
 * writing the result back keep codex 0.171's layout, which is the Rust
 * `toml` crate's: a table's plain values first, then its sub-tables as
 * `[a.b]` sections (a table holding only sub-tables gets no header of its
 * own), arrays of tables as `[[a.b]]`, inline arrays as `[1, 2]`, floats
 * with a fraction (`1000.0`), and the crate's choice of string style.
 * smol-toml's own writer lays these out differently (`[ 1, 2 ]`, `1000`),
 * and clients compare the text with codex's, so the layout is written here.
 *
 * @example
 * ```ts
 * import { parseToml, selectPaths, writeToml } from "./toml.ts";
 * import assert from "node:assert/strict";
 * const doc = parseToml('model = "m" # note\n[mcp_servers.x]\ncommand = "echo"\nargs = ["hi"]\n');
 * assert.equal(
 *   writeToml(selectPaths(doc, [["mcp_servers"]])),
 *   '[mcp_servers.x]\ncommand = "echo"\nargs = ["hi"]\n',
 * );
 * ```
 *
 * @module
 */
import { parse, TomlDate, TomlError } from "npm:smol-toml@^1.9.1";

/** A TOML table as parsed. */
export type TomlTable = { [key: string]: TomlValue };
/** A TOML value as parsed (integers are bigints). */
export type TomlValue = string | bigint | number | boolean | TomlDate | TomlValue[] | TomlTable;

/** A document that is not TOML: where, and why. */
export class TomlSyntaxError extends Error {
  /** 1-based line and column. */
  readonly line: number;
  readonly column: number;
  /** Creates it. */
  constructor(message: string, line: number, column: number) {
    super(message);
    this.name = "TomlSyntaxError";
    this.line = line;
    this.column = column;
  }
}

/** Parses a document; throws {@linkcode TomlSyntaxError}. */
export function parseToml(text: string): TomlTable {
  try {
    return parse(text, { integersAsBigInt: true }) as TomlTable;
  } catch (err) {
    if (err instanceof TomlError) {
      const reason = err.message.replace(/^Invalid TOML document: /, "").split("\n")[0]!;
      throw new TomlSyntaxError(reason, err.line, err.column);
    }
    throw err;
  }
}

/** Whether `v` is a table (not an array, not a date). */
export function isTable(v: unknown): v is TomlTable {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

type Selection = true | Map<string, Selection>;

/**
 * The part of `doc` under the key `paths`, in the document's order. A path
 * that reaches a value that is not a table keeps that value whole; a path
 * that names nothing adds nothing.
 */
export function selectPaths(doc: TomlTable, paths: readonly (readonly string[])[]): TomlTable {
  const root = new Map<string, Selection>();
  for (const path of paths) {
    let node = root;
    path.forEach((key, i) => {
      const last = i === path.length - 1;
      const prev = node.get(key);
      if (prev === true) return;
      if (last) {
        node.set(key, true);
        return;
      }
      const next = prev ?? new Map<string, Selection>();
      node.set(key, next);
      node = next;
    });
  }
  return project(doc, root);
}

function project(table: TomlTable, sel: Map<string, Selection>): TomlTable {
  const out: TomlTable = {};
  for (const [key, value] of Object.entries(table)) {
    const s = sel.get(key);
    if (s === undefined) continue;
    if (s === true || !isTable(value)) out[key] = value;
    else {
      const sub = project(value, s);
      if (Object.keys(sub).length > 0) out[key] = sub;
    }
  }
  return out;
}

const BARE_KEY = /^[A-Za-z0-9_-]+$/;

function key(k: string): string {
  return BARE_KEY.test(k) ? k : basicString(k);
}

function escapeChar(c: string, multiline: boolean): string {
  switch (c) {
    case "\b":
      return "\\b";
    case "\t":
      return "\\t";
    case "\n":
      return multiline ? "\n" : "\\n";
    case "\f":
      return "\\f";
    case "\r":
      return "\\r";
    case '"':
      return '\\"';
    case "\\":
      return "\\\\";
  }
  const code = c.charCodeAt(0);
  if (code < 0x20 || code === 0x7f) return `\\u${code.toString(16).toUpperCase().padStart(4, "0")}`;
  return c;
}

function basicString(s: string, multiline = false): string {
  let out = "";
  for (const c of s) out += escapeChar(c, multiline);
  return multiline ? `"""\n${out}"""` : `"${out}"`;
}

/** A string in the style the Rust `toml` crate picks. */
function stringValue(s: string): string {
  const multiline = s.includes("\n");
  // A literal string when it saves escaping a backslash and can hold the text.
  // deno-lint-ignore no-control-regex
  const literalOk = s.includes("\\") && !/[\x00-\x08\x0b-\x1f\x7f]/.test(s) &&
    !s.includes("'''") && !s.endsWith("'");
  if (literalOk) {
    if (multiline) return `'''\n${s}'''`;
    return s.includes("'") ? `'''${s}'''` : `'${s}'`;
  }
  return basicString(s, multiline);
}

/** A float as Rust prints it: no exponent, always a fraction. */
function floatValue(n: number): string {
  if (Number.isNaN(n)) return "nan";
  if (n === Infinity) return "inf";
  if (n === -Infinity) return "-inf";
  if (Object.is(n, -0)) return "-0.0";
  let s = String(n);
  const m = /^(-?)(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(s);
  if (m) {
    const [, sign, lead, frac = "", exp] = m;
    const digits = lead! + frac;
    const point = 1 + Number(exp);
    s = point <= 0
      ? `${sign}0.${"0".repeat(-point)}${digits}`
      : point >= digits.length
      ? `${sign}${digits}${"0".repeat(point - digits.length)}`
      : `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
  }
  return s.includes(".") ? s : `${s}.0`;
}

function dateValue(d: TomlDate): string {
  return d.toISOString().replace(/\.000(?=Z|[+-]\d\d:\d\d|$)/, "");
}

function inlineValue(v: TomlValue): string {
  if (typeof v === "string") return stringValue(v);
  if (typeof v === "bigint") return v.toString();
  if (typeof v === "number") return floatValue(v);
  if (typeof v === "boolean") return String(v);
  if (v instanceof TomlDate) return dateValue(v);
  if (Array.isArray(v)) return `[${v.map(inlineValue).join(", ")}]`;
  const entries = Object.entries(v).map(([k, x]) => `${key(k)} = ${inlineValue(x)}`);
  return entries.length === 0 ? "{}" : `{ ${entries.join(", ")} }`;
}

function isArrayOfTables(v: TomlValue): v is TomlTable[] {
  return Array.isArray(v) && v.length > 0 && v.every(isTable);
}

function writeTable(
  table: TomlTable,
  path: string[],
  out: string[],
  header: "table" | "array" | null,
) {
  const plain = Object.entries(table).filter(([, v]) => !isTable(v) && !isArrayOfTables(v));
  const nested = Object.entries(table).filter(([, v]) => isTable(v) || isArrayOfTables(v));
  const heading = header === "array" ||
    (header === "table" && (plain.length > 0 || nested.length === 0));
  if (heading) {
    if (out.length > 0) out.push("");
    const name = path.map(key).join(".");
    out.push(header === "array" ? `[[${name}]]` : `[${name}]`);
  }
  for (const [k, v] of plain) out.push(`${key(k)} = ${inlineValue(v)}`);
  for (const [k, v] of nested) {
    if (isArrayOfTables(v)) { for (const t of v) writeTable(t, [...path, k], out, "array"); }
    else writeTable(v as TomlTable, [...path, k], out, "table");
  }
}

/** Writes a document in the Rust `toml` crate's layout ("" for an empty one). */
export function writeToml(doc: TomlTable): string {
  const out: string[] = [];
  writeTable(doc, [], out, null);
  return out.length === 0 ? "" : `${out.join("\n")}\n`;
}
