// Copyright 2026 the exec-server authors. MIT license.
/**
 * Glob patterns of deny entries, as absolute paths: `*` and `?` within one
 * name, `[…]` classes (`!` or `^` negates), `{a,b}` alternatives, `\` escapes,
 * and `**` for any number of whole names (zero included).
 *
 * @module
 */

const META = /[*?[{\\]/;

/**
 * The longest leading directory of an absolute pattern that has no glob
 * characters (the pattern itself when it has none).
 *
 * @example
 * ```ts
 * import { globBase } from "./glob.ts";
 * import assert from "node:assert/strict";
 * assert.equal(globBase("/w/src/**\/*.env"), "/w/src");
 * assert.equal(globBase("/w/a.env"), "/w/a.env");
 * assert.equal(globBase("/*.env"), "/");
 * ```
 */
export function globBase(pattern: string): string {
  const parts = pattern.split("/").filter((p) => p !== "");
  const literal: string[] = [];
  for (const part of parts) {
    if (META.test(part)) break;
    literal.push(part);
  }
  return `/${literal.join("/")}`;
}

/**
 * A regular expression matching exactly the absolute paths an absolute
 * pattern names.
 *
 * @throws {SyntaxError} For an unclosed `[` or `{`, or a trailing `\`.
 *
 * @example
 * ```ts
 * import { globToRegExp } from "./glob.ts";
 * import assert from "node:assert/strict";
 * const re = globToRegExp("/w/**\/*.{env,key}");
 * assert.ok(re.test("/w/a.env"));
 * assert.ok(re.test("/w/deep/er/b.key"));
 * assert.ok(!re.test("/w/a.env/x"));
 * assert.ok(!re.test("/other/a.env"));
 * assert.throws(() => globToRegExp("/w/["), /unclosed/);
 * ```
 */
export function globToRegExp(pattern: string): RegExp {
  const parts = pattern.split("/").filter((p) => p !== "");
  let source = "^";
  for (const part of parts) {
    source += part === "**" ? "(?:/[^/]+)*" : `/${translate(part)}`;
  }
  if (parts.length === 0) source += "/";
  return new RegExp(`${source}$`, "u");
}

function escape(ch: string): string {
  return /[.*+?^${}()|[\]\\/]/.test(ch) ? `\\${ch}` : ch;
}

/** One name's pattern as a regular expression source (no `/` matched). */
function translate(part: string): string {
  let out = "";
  let i = 0;
  const braces: number[] = [];
  while (i < part.length) {
    const ch = part[i]!;
    if (ch === "\\") {
      if (i + 1 >= part.length) throw new SyntaxError(`trailing \\ in ${JSON.stringify(part)}`);
      out += escape(part[i + 1]!);
      i += 2;
    } else if (ch === "*") {
      out += "[^/]*";
      i++;
    } else if (ch === "?") {
      out += "[^/]";
      i++;
    } else if (ch === "[") {
      const end = classEnd(part, i);
      if (end < 0) throw new SyntaxError(`unclosed [ in ${JSON.stringify(part)}`);
      let body = part.slice(i + 1, end);
      let negate = false;
      if (body.startsWith("!") || body.startsWith("^")) {
        negate = true;
        body = body.slice(1);
      }
      const chars = [...body].map((c) => (c === "-" ? "-" : /[\\\]^[]/.test(c) ? `\\${c}` : c))
        .join("");
      out += negate ? `[^/${chars}]` : `[${chars}]`;
      i = end + 1;
    } else if (ch === "{") {
      braces.push(out.length);
      out += "(?:";
      i++;
    } else if (ch === "," && braces.length > 0) {
      out += "|";
      i++;
    } else if (ch === "}" && braces.length > 0) {
      braces.pop();
      out += ")";
      i++;
    } else {
      out += escape(ch);
      i++;
    }
  }
  if (braces.length > 0) throw new SyntaxError(`unclosed { in ${JSON.stringify(part)}`);
  return out;
}

/** Index of the `]` closing the class opened at `start`, or -1. */
function classEnd(part: string, start: number): number {
  let i = start + 1;
  if (part[i] === "!" || part[i] === "^") i++;
  if (part[i] === "]") i++; // a leading ] is literal
  for (; i < part.length; i++) if (part[i] === "]") return i;
  return -1;
}
