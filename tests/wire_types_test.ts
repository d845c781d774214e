// Copyright 2026 the exec-server authors. MIT license.
// lib/protocol/wire.ts, the public plain-TypeScript form of the zod schemas,
// is what scripts/wire_types.ts makes of them now, and each of its types is
// the same as what its schema accepts or yields (checked by the compiler).
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import * as protocol from "../lib/protocol/mod.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

async function run(args: string[], cwd = ROOT): Promise<{ code: number; out: string }> {
  const r = await new Deno.Command(Deno.execPath(), {
    args,
    cwd,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const dec = new TextDecoder();
  return { code: r.code, out: dec.decode(r.stdout) + dec.decode(r.stderr) };
}

Deno.test("lib/protocol/wire.ts is current (deno task wire --check)", async () => {
  const r = await run(["run", "-A", `${ROOT}scripts/wire_types.ts`, "--check"]);
  assert.equal(r.code, 0, r.out);
});

Deno.test("every wire type equals its schema's type, both ways", async () => {
  const wire = await Deno.readTextFile(`${ROOT}lib/protocol/wire.ts`);
  const names = [...wire.matchAll(/^export type (\w+) =/gm)].map((m) => m[1]!);
  const schemas = new Set(Object.keys(protocol).filter((k) => k.endsWith("Schema")));
  const lines = [
    `import type { z } from "npm:zod@^4.1.0";`,
    `import type * as W from "${new URL("../lib/protocol/wire.ts", import.meta.url).href}";`,
    `import type * as P from "${new URL("../lib/protocol/mod.ts", import.meta.url).href}";`,
    `import type { METHODS } from "${
      new URL("../lib/protocol/methods.ts", import.meta.url).href
    }";`,
    "type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;",
  ];
  let checked = 0;
  for (const name of names) {
    const input = name.endsWith("Input");
    const schema = `${input ? name.slice(0, -5) : name}Schema`;
    assert.ok(schemas.has(schema), `${name} has no ${schema}`);
    const zodType = `z.${input ? "input" : "output"}<typeof P.${schema}>`;
    lines.push(`const _${name}: Same<W.${name}, ${zodType}> = true;`);
    checked++;
  }
  for (const method of Object.keys(protocol.METHODS)) {
    const m = JSON.stringify(method);
    const id = method.replace(/\W/g, "_");
    lines.push(
      `const _p_${id}: Same<W.WireMethods[${m}]["params"], ` +
        `z.input<(typeof METHODS)[${m}]["params"]>> = true;`,
      `const _r_${id}: Same<W.WireMethods[${m}]["result"], ` +
        `z.output<(typeof METHODS)[${m}]["result"]>> = true;`,
    );
  }
  // Every schema has its wire type.
  for (const schema of schemas) {
    assert.ok(names.includes(schema.slice(0, -"Schema".length)), `${schema} has no wire type`);
  }
  assert.ok(checked > 50, `only ${checked} wire types`);
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/probe.ts`, lines.join("\n") + "\n");
    const r = await run(["check", "--config", `${ROOT}deno.json`, `${dir}/probe.ts`]);
    assert.equal(r.code, 0, r.out);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
