// Copyright 2026 the exec-server authors. MIT license.
/**
 * Writes `lib/protocol/wire.ts`: the wire types as plain TypeScript, derived
 * from the zod schemas of `lib/protocol/` (which stay the single source of
 * truth). The public API (the package's exports, its docs and the npm
 * declarations) uses these, so it never exposes zod's types: JSR's
 * "no slow types" and `deno doc --lint` need explicit, self-contained types.
 *
 * For every exported `FooSchema` it writes `Foo` (what the schema outputs:
 * what a reader receives) and, when a caller may send something looser
 * (defaults, transforms), `FooInput`; then `WireMethods`, each method's
 * params (as sent) and result. Nested types that equal a named one are
 * written by name; JSDoc of schemas and of their fields is carried over.
 *
 * The TypeScript compiler (npm `typescript`) reads a copy of lib/protocol
 * whose `npm:zod@…` specifiers say `zod`, under `.tools/tsc`, where npm
 * installed zod.
 *
 * Usage: `deno task wire` (write), `deno task wire --check` (exit 1 when the
 * file is not what the schemas give; tests/wire_types_test.ts runs this).
 *
 * @module
 */
import ts from "npm:typescript@5.9.3";
import { ensureTscTools, rewrittenCopy, TSC_DIR } from "./build_npm.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const OUT = `${ROOT}lib/protocol/wire.ts`;

const FLAGS = ts.TypeFormatFlags.NoTruncation | ts.TypeFormatFlags.InTypeAlias;

interface Named {
  /** The type's name in wire.ts. */
  name: string;
  /** The alias in the probe file that holds it. */
  probe: string;
  /** JSDoc text. */
  doc: string;
}

/** What the real lib/protocol exports: schema names and methods, read at run time. */
async function protocolNames(): Promise<{ schemas: string[]; methods: string[] }> {
  const mod = await import("../lib/protocol/mod.ts") as Record<string, unknown>;
  const schemas = Object.keys(mod).filter((k) => /^[A-Z]\w*Schema$/.test(k)).sort();
  const methods = Object.keys(mod.METHODS as Record<string, unknown>);
  return { schemas, methods };
}

function probeSource(schemas: string[], methods: string[]): string {
  const lines = [
    'import type { z } from "zod";',
    'import type * as P from "./lib/protocol/mod.ts";',
  ];
  for (const s of schemas) {
    lines.push(`export type Out_${s} = z.output<typeof P.${s}>;`);
    lines.push(`export type In_${s} = z.input<typeof P.${s}>;`);
  }
  methods.forEach((m, i) => {
    lines.push(
      `export type MP_${i} = z.input<(typeof P.METHODS)[${JSON.stringify(m)}]["params"]>;`,
    );
    lines.push(
      `export type MR_${i} = z.output<(typeof P.METHODS)[${JSON.stringify(m)}]["result"]>;`,
    );
  });
  return lines.join("\n") + "\n";
}

/** Generates wire.ts's text. */
export async function generateWireTypes(): Promise<string> {
  await ensureTscTools();
  const { schemas, methods } = await protocolNames();
  const dir = await Deno.makeTempDir({ dir: TSC_DIR, prefix: "wire-" });
  try {
    await rewrittenCopy(["protocol"], dir);
    // The schemas' type aliases point at wire.ts; the schemas themselves do not. An empty
    // stand-in keeps the previous output from steering this one (union member order).
    await Deno.writeTextFile(`${dir}/lib/protocol/wire.ts`, "export {};\n");
    await Deno.writeTextFile(`${dir}/package.json`, '{ "type": "module" }\n');
    const probe = `${dir}/probe.ts`;
    await Deno.writeTextFile(probe, probeSource(schemas, methods));
    const program = ts.createProgram([probe], {
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      target: ts.ScriptTarget.ES2022,
      lib: ["lib.es2024.d.ts", "lib.dom.d.ts"],
      strict: true,
      exactOptionalPropertyTypes: true,
      allowImportingTsExtensions: true,
      noEmit: true,
      skipLibCheck: true,
      types: [],
    });
    // Only the probe must type-check: elsewhere a stale wire.ts (the schemas' aliases
    // point at it) may fail, and regenerating it is what fixes that.
    const errors = ts.getPreEmitDiagnostics(program, program.getSourceFile(probe)).filter((d) =>
      d.category === ts.DiagnosticCategory.Error
    );
    if (errors.length > 0) {
      throw new Error(
        "the schemas do not type-check:\n" +
          errors.map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n")).join("\n"),
      );
    }
    return render(program, probe, schemas, methods, `${dir}/lib/protocol/`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function render(
  program: ts.Program,
  probe: string,
  schemas: string[],
  methods: string[],
  protocolDir: string,
): string {
  const checker = program.getTypeChecker();
  const aliases = new Map<string, ts.Type>();
  for (const st of program.getSourceFile(probe)!.statements) {
    if (ts.isTypeAliasDeclaration(st)) {
      aliases.set(st.name.text, checker.getTypeAtLocation(st.name));
    }
  }
  const text = (t: ts.Type) => checker.typeToString(t, undefined, FLAGS);

  // Schema docs and home files, from the copy's declarations.
  const docs = new Map<string, { doc: string; file: string }>();
  for (const file of program.getSourceFiles()) {
    if (!file.fileName.startsWith(protocolDir) || file.fileName.endsWith("/mod.ts")) continue;
    const symbol = checker.getSymbolAtLocation(file);
    if (!symbol) continue;
    for (const exp of checker.getExportsOfModule(symbol)) {
      if (!exp.name.endsWith("Schema")) continue;
      docs.set(exp.name, {
        doc: ts.displayPartsToString(exp.getDocumentationComment(checker)).trim(),
        file: `lib/protocol/${file.fileName.slice(protocolDir.length)}`,
      });
    }
  }

  // Names: output types first (they win a tie), then inputs that differ.
  const named: Named[] = [];
  const byText = new Map<string, string>();
  const seen = new Map<string, number>();
  const note = (t: ts.Type) => seen.set(text(t), (seen.get(text(t)) ?? 0) + 1);
  for (const s of schemas) {
    const name = s.slice(0, -"Schema".length);
    const out = aliases.get(`Out_${s}`)!;
    const where = docs.get(s);
    const doc = where?.doc || `\`${name}\` on the wire.`;
    const from = where ? ` in \`${where.file}\`` : "";
    named.push({
      name,
      probe: `Out_${s}`,
      doc: `${doc}\n\nWhat \`${s}\`${from} yields (generated by scripts/wire_types.ts).`,
    });
    note(out);
    if (nameable(out) && !byText.has(text(out))) byText.set(text(out), name);
  }
  for (const s of schemas) {
    const input = aliases.get(`In_${s}`)!;
    if (byText.has(text(input)) || text(input) === text(aliases.get(`Out_${s}`)!)) continue;
    const name = `${s.slice(0, -"Schema".length)}Input`;
    named.push({
      name,
      probe: `In_${s}`,
      doc: `What a sender may pass as \`${s.slice(0, -6)}\`: \`${s}\` accepts it ` +
        `(defaults and conversions apply on receipt; generated by scripts/wire_types.ts).`,
    });
    note(input);
    if (nameable(input)) byText.set(text(input), name);
  }
  // A shape two names share (an empty object, a lone id) is written out, not named.
  for (const [t, n] of seen) if (n > 1) byText.delete(t);

  const printer = new Printer(checker, byText);
  const parts = [HEADER];
  for (const n of named) {
    parts.push(jsdoc(n.doc, ""));
    parts.push(`export type ${n.name} = ${printer.top(aliases.get(n.probe)!)};\n`);
  }
  parts.push(
    jsdoc(
      "Every request method with its params (as a caller sends them) and result: what " +
        "`ParamsOf` and `ResultOf` index.",
      "",
    ),
  );
  parts.push("export interface WireMethods {\n");
  methods.forEach((m, i) => {
    parts.push(jsdoc(`\`${m}\`.`, "  "));
    parts.push(`  ${JSON.stringify(m)}: {\n`);
    parts.push(jsdoc(`What the caller sends.`, "    "));
    parts.push(`    params: ${printer.print(aliases.get(`MP_${i}`)!, "", "    ")};\n`);
    parts.push(jsdoc(`What the server answers.`, "    "));
    parts.push(`    result: ${printer.print(aliases.get(`MR_${i}`)!, "", "    ")};\n`);
    parts.push("  };\n");
  });
  parts.push("}\n");
  return parts.join("");
}

const HEADER = `// Copyright 2026 the exec-server authors. MIT license.
// GENERATED by scripts/wire_types.ts from the zod schemas of lib/protocol/: do not edit.
// After changing a schema, run \`deno task wire\` (tests/wire_types_test.ts checks this file).
/**
 * The wire types as plain TypeScript: what the zod schemas of lib/protocol/
 * accept and yield, for the public API and its documentation.
 *
 * @example
 * \`\`\`ts
 * import type { ProcessInfo, WireMethods } from "./wire.ts";
 * import assert from "node:assert/strict";
 * const info: Pick<ProcessInfo, "processId" | "state"> = { processId: "p", state: "running" };
 * const params: WireMethods["process/read"]["params"] = { processId: info.processId };
 * assert.equal(params.processId, "p");
 * \`\`\`
 *
 * @module
 */

`;

/** Whether uses of a type may be written by name: objects and literal unions, not `string`. */
function nameable(type: ts.Type): boolean {
  if (type.isUnion()) return type.types.some((t) => nameable(t) || t.isLiteral());
  return (type.flags & ts.TypeFlags.Object) !== 0;
}

function jsdoc(text: string, indent: string): string {
  const lines = text.replaceAll("*/", "*\\/").split("\n");
  if (lines.length === 1) return `${indent}/** ${lines[0]} */\n`;
  return `${indent}/**\n${
    lines.map((l) => `${indent} *${l ? ` ${l}` : ""}`).join("\n")
  }\n${indent} */\n`;
}

/** Prints a type as TypeScript, naming the parts that equal a named wire type. */
class Printer {
  readonly #checker: ts.TypeChecker;
  readonly #byText: Map<string, string>;

  constructor(checker: ts.TypeChecker, byText: Map<string, string>) {
    this.#checker = checker;
    this.#byText = byText;
  }

  /** A named type's own body: never itself by name. */
  top(type: ts.Type): string {
    return this.print(type, "", "", false);
  }

  print(type: ts.Type, _self: string, indent: string, byName = true): string {
    const c = this.#checker;
    const whole = c.typeToString(type, undefined, FLAGS);
    const known = byName ? this.#byText.get(whole) : undefined;
    if (known) return known;
    if (type.isUnion()) {
      const members = type.types;
      // A union of literals reads best as TypeScript prints it (source order).
      if (members.every((m) => m.isLiteral() || m.flags & ts.TypeFlags.BooleanLiteral)) {
        return whole;
      }
      const bools = members.filter((m) => m.flags & ts.TypeFlags.BooleanLiteral);
      const rest = members.filter((m) => !(m.flags & ts.TypeFlags.BooleanLiteral));
      const printed = rest.map((m) => this.#member(m, indent));
      if (bools.length === 2) printed.unshift("boolean");
      else printed.unshift(...bools.map((b) => c.typeToString(b)));
      // null and undefined last, as people write them.
      const tail = printed.filter((p) => p === "null" || p === "undefined");
      return [...printed.filter((p) => p !== "null" && p !== "undefined"), ...tail].join(" | ");
    }
    if (c.isArrayType(type)) {
      const [element] = c.getTypeArguments(type as ts.TypeReference);
      const inner = this.print(element!, "", indent);
      return /[|&]/.test(inner) && !inner.startsWith("{") ? `(${inner})[]` : `${inner}[]`;
    }
    if (c.isTupleType(type)) {
      const elements = c.getTypeArguments(type as ts.TypeReference);
      return `[${elements.map((e) => this.print(e, "", indent)).join(", ")}]`;
    }
    if (type.aliasSymbol?.name === "Record" && type.aliasTypeArguments?.length === 2) {
      const [k, v] = type.aliasTypeArguments;
      return `Record<${this.print(k!, "", indent)}, ${this.print(v!, "", indent)}>`;
    }
    if (type.flags & ts.TypeFlags.Object && !(type.getCallSignatures().length > 0)) {
      const props = c.getPropertiesOfType(type);
      const index = c.getIndexInfosOfType(type);
      if (props.length === 0 && index.length === 0) return "Record<string, never>";
      const inner = `${indent}  `;
      const lines: string[] = [];
      for (const info of index) {
        lines.push(
          `${inner}[key: ${c.typeToString(info.keyType)}]: ${this.print(info.type, "", inner)};`,
        );
      }
      for (const p of props) {
        const doc = ts.displayPartsToString(p.getDocumentationComment(c)).trim();
        if (doc) lines.push(jsdoc(doc, inner).trimEnd());
        const optional = (p.flags & ts.SymbolFlags.Optional) !== 0;
        // codex's snake_case fields are quoted, as the camelcase lint rule asks.
        const key = /^[A-Za-z$][A-Za-z0-9$]*$/.test(p.name) ? p.name : JSON.stringify(p.name);
        const propType = this.print(c.getTypeOfSymbol(p), "", inner);
        lines.push(`${inner}${key}${optional ? "?" : ""}: ${propType};`);
      }
      return `{\n${lines.join("\n")}\n${indent}}`;
    }
    return whole;
  }

  #member(type: ts.Type, indent: string): string {
    const printed = this.print(type, "", indent);
    return printed;
  }
}

if (import.meta.main) {
  const check = Deno.args.includes("--check");
  const raw = await generateWireTypes();
  // Format as deno fmt would, so the file is stable.
  const tmp = await Deno.makeTempFile({ suffix: ".ts" });
  await Deno.writeTextFile(tmp, raw);
  const fmt = await new Deno.Command(Deno.execPath(), {
    args: ["fmt", "--quiet", "--config", `${ROOT}deno.json`, tmp],
  }).output();
  if (!fmt.success) throw new Error(`deno fmt failed: ${new TextDecoder().decode(fmt.stderr)}`);
  const text = await Deno.readTextFile(tmp);
  await Deno.remove(tmp);
  if (check) {
    const current = await Deno.readTextFile(OUT).catch(() => "");
    if (current !== text) {
      console.error(
        "lib/protocol/wire.ts is not what the schemas give: run `deno task wire` and commit it",
      );
      Deno.exit(1);
    }
    console.log("lib/protocol/wire.ts is current");
  } else {
    await Deno.writeTextFile(OUT, text);
    console.log(`wrote ${OUT}`);
  }
}
