// Copyright 2026 the exec-server authors. MIT license.
/**
 * Glob patterns of deny entries, as absolute paths: `*` and `?` within one
 * name, `[…]` classes (`!` or `^` negates), `{a,b}` alternatives, `\` escapes,
 * and `**` for any number of whole names (zero included).
 *
 * A pattern compiles to a small automaton that is run over the path once,
 * tracking every place in the pattern at the same time, so a match costs at
 * most (path length) × (pattern length) steps whatever the pattern. (A
 * backtracking regular expression took exponential time on deny globs such as
 * `**\/**\/**\/*a` or `*a*a*a*a*b` that a client may send; every `fs/*` call
 * and every launch checks paths against them.)
 *
 * @module
 */

const META = /[*?[{\\]/;

/** The longest pattern accepted, in UTF-16 code units (PATH_MAX). */
export const GLOB_MAX_LENGTH = 4096;

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

// Instructions of the automaton. CHAR, ANY and CLASS consume one code point
// (ANY and CLASS never a "/"); SPLIT and JMP move without consuming.
const CHAR = 0;
const ANY = 1;
const CLASS = 2;
const SPLIT = 3;
const JMP = 4;
const MATCH = 5;

/** Code point ranges of a `[…]` class, inclusive pairs. */
interface CharClass {
  ranges: number[];
  negate: boolean;
}

type Node =
  | { kind: "char"; cp: number }
  | { kind: "any" }
  | { kind: "star" }
  | { kind: "class"; set: CharClass }
  | { kind: "alt"; branches: Node[][] };

const SLASH = 0x2f;

/**
 * The absolute paths one absolute pattern names, matched in linear time.
 *
 * @example
 * ```ts
 * import { GlobMatcher } from "./glob.ts";
 * import assert from "node:assert/strict";
 * const glob = new GlobMatcher("/w/**\/*.{env,key}");
 * assert.ok(glob.test("/w/a.env"));
 * assert.ok(glob.test("/w/deep/er/b.key"));
 * assert.ok(!glob.test("/w/a.env/x"));
 * assert.ok(glob.testOrAncestor("/w/a.env/x"));
 * assert.ok(!glob.test("/other/a.env"));
 * assert.throws(() => new GlobMatcher("/w/["), /unclosed/);
 * // No backtracking: this answers at once.
 * assert.ok(!new GlobMatcher("/w/" + "*a".repeat(30) + "*b").test("/w/" + "a".repeat(200)));
 * ```
 */
export class GlobMatcher {
  /** The pattern it was made from. */
  readonly pattern: string;
  #op: number[] = [];
  #x: number[] = [];
  #y: number[] = [];
  #classes: CharClass[] = [];
  #prefix = "";
  #start = 0;
  #current = new Int32Array(0);
  #next = new Int32Array(0);
  #seen = new Int32Array(0);
  #stack = new Int32Array(0);
  #generation = 0;
  #matched = false;

  /**
   * Compiles `pattern`.
   *
   * @throws {SyntaxError} For an unclosed `[` or `{`, a trailing `\`, a class
   * range out of order, or a pattern longer than {@linkcode GLOB_MAX_LENGTH}.
   */
  constructor(pattern: string) {
    if (pattern.length > GLOB_MAX_LENGTH) {
      throw new SyntaxError(`longer than ${GLOB_MAX_LENGTH} characters`);
    }
    this.pattern = pattern;
    const parts = pattern.split("/").filter((p) => p !== "");
    for (const part of parts) {
      if (part === "**") {
        // (?:/[^/]+)*
        const loop = this.#emit(SPLIT);
        this.#x[loop] = this.#emit(CHAR, SLASH);
        const any = this.#emit(ANY);
        this.#emit(SPLIT, any, loop); // x: another character; y: the next name
        this.#y[loop] = this.#op.length;
      } else {
        this.#emit(CHAR, SLASH);
        this.#compile(parsePart(part));
      }
    }
    if (parts.length === 0) this.#emit(CHAR, SLASH);
    this.#emit(MATCH);
    this.#seal();
  }

  /** Whether `path` itself matches. */
  test(path: string): boolean {
    return this.#run(path, false);
  }

  /** Whether `path` or one of its ancestors (`/` included) matches. */
  testOrAncestor(path: string): boolean {
    return this.#run(path, true);
  }

  #emit(op: number, x = 0, y = 0): number {
    this.#op.push(op);
    this.#x.push(x);
    this.#y.push(y);
    return this.#op.length - 1;
  }

  #compile(seq: readonly Node[]): void {
    for (const node of seq) {
      switch (node.kind) {
        case "char":
          this.#emit(CHAR, node.cp);
          break;
        case "any":
          this.#emit(ANY);
          break;
        case "star": {
          // [^/]*
          const split = this.#emit(SPLIT);
          this.#x[split] = this.#emit(ANY);
          this.#emit(JMP, split);
          this.#y[split] = this.#op.length;
          break;
        }
        case "class":
          this.#classes.push(node.set);
          this.#emit(CLASS, this.#classes.length - 1);
          break;
        case "alt": {
          // SPLIT b0 next; b0; JMP end; next: SPLIT b1 next'; …; last branch; end:
          const jumps: number[] = [];
          node.branches.forEach((branch, i) => {
            const last = i === node.branches.length - 1;
            const split = last ? -1 : this.#emit(SPLIT);
            if (split >= 0) this.#x[split] = this.#op.length;
            this.#compile(branch);
            if (!last) {
              jumps.push(this.#emit(JMP));
              this.#y[split] = this.#op.length;
            }
          });
          for (const jump of jumps) this.#x[jump] = this.#op.length;
          break;
        }
      }
    }
  }

  /** Fixes the program and sizes the buffers #run reuses. */
  #seal(): void {
    const size = this.#op.length;
    this.#current = new Int32Array(size);
    this.#next = new Int32Array(size);
    this.#seen = new Int32Array(size);
    this.#stack = new Int32Array(2 * size + 1);
    // The literal start every match begins with (whole code points outside
    // the surrogate range, so a comparison of code units is exact).
    let pc = 0;
    let prefix = "";
    while (this.#op[pc] === CHAR && (this.#x[pc]! < 0xd800 || this.#x[pc]! > 0xdfff)) {
      prefix += String.fromCodePoint(this.#x[pc]!);
      pc++;
    }
    this.#prefix = prefix;
    this.#start = pc;
  }

  /** Adds the thread at `pc` and what it reaches without consuming; returns the new count. */
  #add(list: Int32Array, count: number, pc: number): number {
    const stack = this.#stack;
    const seen = this.#seen;
    const generation = this.#generation;
    let top = 0;
    stack[top++] = pc;
    while (top > 0) {
      const at = stack[--top]!;
      if (seen[at] === generation) continue;
      seen[at] = generation;
      const op = this.#op[at]!;
      if (op === SPLIT) {
        stack[top++] = this.#y[at]!;
        stack[top++] = this.#x[at]!;
      } else if (op === JMP) {
        stack[top++] = this.#x[at]!;
      } else {
        if (op === MATCH) this.#matched = true;
        list[count++] = at;
      }
    }
    return count;
  }

  #nextGeneration(): void {
    if (++this.#generation > 0x3fffffff) {
      this.#seen.fill(0);
      this.#generation = 1;
    }
  }

  /** Runs the automaton over `path`, all threads in lock step. */
  #run(path: string, ancestors: boolean): boolean {
    const prefix = this.#prefix;
    if (!path.startsWith(prefix)) return false; // nor can an ancestor match
    let current = this.#current;
    let next = this.#next;
    this.#nextGeneration();
    this.#matched = false;
    let count = this.#add(current, 0, this.#start);
    // Whether what was read so far (path up to `pos`) is an ancestor of path
    // that matches: "/" or a prefix followed by "/".
    const ancestorMatched = (pos: number) =>
      ancestors && this.#matched && pos > 0 && pos < path.length &&
      (pos === 1 ? path.charCodeAt(0) === SLASH : path.charCodeAt(pos) === SLASH);
    if (ancestorMatched(prefix.length)) return true;
    for (let i = prefix.length; i < path.length;) {
      let cp = path.charCodeAt(i++);
      if (cp >= 0xd800 && cp <= 0xdbff && i < path.length) {
        const low = path.charCodeAt(i);
        if (low >= 0xdc00 && low <= 0xdfff) {
          cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
          i++;
        }
      }
      this.#nextGeneration();
      this.#matched = false;
      let n = 0;
      for (let t = 0; t < count; t++) {
        const at = current[t]!;
        if (this.#step(at, cp)) n = this.#add(next, n, at + 1);
      }
      if (n === 0) return false;
      [current, next] = [next, current];
      count = n;
      if (ancestorMatched(i)) return true;
    }
    return this.#matched;
  }

  #step(at: number, cp: number): boolean {
    switch (this.#op[at]) {
      case CHAR:
        return this.#x[at] === cp;
      case ANY:
        return cp !== SLASH;
      case CLASS: {
        if (cp === SLASH) return false;
        const { ranges, negate } = this.#classes[this.#x[at]!]!;
        let inside = false;
        for (let i = 0; i < ranges.length && !inside; i += 2) {
          inside = ranges[i]! <= cp && cp <= ranges[i + 1]!;
        }
        return inside !== negate;
      }
      default:
        return false;
    }
  }
}

/** One name's pattern (no `/` in it) as a sequence of nodes. */
function parsePart(part: string): Node[] {
  const cps = [...part];
  let i = 0;
  const quoted = JSON.stringify(part);
  // Parses up to the end, or up to a "," or "}" of an open group.
  const sequence = (depth: number): Node[] => {
    const seq: Node[] = [];
    while (i < cps.length) {
      const ch = cps[i]!;
      if (ch === "\\") {
        if (i + 1 >= cps.length) throw new SyntaxError(`trailing \\ in ${quoted}`);
        seq.push({ kind: "char", cp: cps[i + 1]!.codePointAt(0)! });
        i += 2;
      } else if (ch === "*") {
        seq.push({ kind: "star" });
        i++;
      } else if (ch === "?") {
        seq.push({ kind: "any" });
        i++;
      } else if (ch === "[") {
        const end = classEnd(cps, i);
        if (end < 0) throw new SyntaxError(`unclosed [ in ${quoted}`);
        seq.push({ kind: "class", set: charClass(cps.slice(i + 1, end), quoted) });
        i = end + 1;
      } else if (ch === "{") {
        i++;
        const branches = [sequence(depth + 1)];
        while (cps[i] === ",") {
          i++;
          branches.push(sequence(depth + 1));
        }
        if (cps[i] !== "}") throw new SyntaxError(`unclosed { in ${quoted}`);
        i++;
        seq.push({ kind: "alt", branches });
      } else if ((ch === "," || ch === "}") && depth > 0) {
        return seq;
      } else {
        seq.push({ kind: "char", cp: ch.codePointAt(0)! });
        i++;
      }
    }
    return seq;
  };
  return sequence(0);
}

/** A class's body (between `[` and `]`): a leading `!` or `^` negates, `a-z` is a range. */
function charClass(body: string[], quoted: string): CharClass {
  let start = 0;
  const negate = body[0] === "!" || body[0] === "^";
  if (negate) start = 1;
  const ranges: number[] = [];
  for (let i = start; i < body.length; i++) {
    const low = body[i]!.codePointAt(0)!;
    if (body[i + 1] === "-" && i + 2 < body.length) {
      const high = body[i + 2]!.codePointAt(0)!;
      if (high < low) throw new SyntaxError(`range out of order in ${quoted}`);
      ranges.push(low, high);
      i += 2;
    } else {
      ranges.push(low, low);
    }
  }
  return { ranges, negate };
}

/** Index of the `]` closing the class opened at `start`, or -1. */
function classEnd(cps: readonly string[], start: number): number {
  let i = start + 1;
  if (cps[i] === "!" || cps[i] === "^") i++;
  if (cps[i] === "]") i++; // a leading ] is literal
  for (; i < cps.length; i++) if (cps[i] === "]") return i;
  return -1;
}
