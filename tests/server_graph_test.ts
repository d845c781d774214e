// Copyright 2026 the exec-server authors. MIT license.
// The server's import graph, from `deno info --json`: the stdio path never
// loads the WebSocket edge, and no server module imports the client.
import assert from "node:assert/strict";

const LIB = new URL("../lib/", import.meta.url);

interface Dependency {
  code?: { specifier: string };
  type?: { specifier: string };
  isDynamic?: boolean;
}
type Graph = Map<string, Dependency[]>;

async function graphOf(entry: string): Promise<Graph> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", new URL(entry, LIB).pathname],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  assert.equal(out.code, 0, "deno info failed");
  const info = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    modules: { specifier: string; dependencies?: (Dependency & { specifier: string })[] }[];
  };
  return new Map(info.modules.map((m) => [m.specifier, m.dependencies ?? []]));
}

/** Modules reachable from `roots`; `follow` picks the edges. */
function reachable(
  graph: Graph,
  roots: string[],
  follow: (d: Dependency) => string[],
): Set<string> {
  const seen = new Set<string>();
  const todo = roots.map((r) => new URL(r, LIB).href);
  for (let next = todo.pop(); next !== undefined; next = todo.pop()) {
    if (seen.has(next)) continue;
    seen.add(next);
    for (const d of graph.get(next) ?? []) todo.push(...follow(d));
  }
  return seen;
}

const local = (s: Set<string>) =>
  [...s].filter((m) => m.startsWith(LIB.href)).map((m) => m.slice(LIB.href.length));
const WEBSOCKET = /^server\/(ws_server|ws_peer|upgrade)\.ts$/;

Deno.test("serve --listen stdio never loads the WebSocket edge", async () => {
  const graph = await graphOf("cli/main.ts");
  // What main.ts loads up front, then what the stdio path can load later
  // (the fs service and the PTY backend are imported on first use).
  const upFront = reachable(
    graph,
    ["cli/main.ts"],
    (d) => d.code && !d.isDynamic ? [d.code.specifier] : [],
  );
  const stdio = reachable(
    graph,
    ["server/core.ts", "server/stdio_server.ts"],
    (d) => d.code ? [d.code.specifier] : [],
  );
  const loaded = local(new Set([...upFront, ...stdio]));
  assert.ok(loaded.includes("server/stdio_server.ts") && loaded.includes("server/core.ts"));
  assert.deepEqual(loaded.filter((m) => WEBSOCKET.test(m)), []);
  assert.ok(
    local(reachable(graph, ["cli/main.ts"], (d) => d.code ? [d.code.specifier] : [])).includes(
      "server/ws_server.ts",
    ),
    "the WebSocket edge is still there for ws:// listens",
  );
});

Deno.test("no server module imports the client", async () => {
  const graph = await graphOf("server/mod.ts");
  const all = local(
    reachable(
      graph,
      ["server/mod.ts"],
      (d) => [d.code, d.type].flatMap((x) => x ? [x.specifier] : []),
    ),
  );
  assert.ok(all.includes("server/core.ts"));
  assert.deepEqual(all.filter((m) => m.startsWith("client/")), []);
});
