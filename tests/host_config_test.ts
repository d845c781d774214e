// Copyright 2026 the exec-server authors. MIT license.
// environmentConfig/read against real files in a temporary tree, with the
// outcomes measured on codex 0.171's server (see the host branch's probes):
// which layers appear, trust, project roots, filtering and the TOML layout.
import assert from "node:assert/strict";
import { readEnvironmentConfig } from "../lib/host/config.ts";
import { parseToml, selectPaths, writeToml } from "../lib/host/toml.ts";
import { pathToFileUri } from "../lib/protocol/sandbox.ts";
import { RpcError } from "../lib/protocol/errors.ts";
import { ServerProcess, TestClient } from "./_harness.ts";

const cfg = (name: string) => `[mcp_servers.${name}]\ncommand = "${name}"\n`;

async function tree(files: Record<string, string>): Promise<string> {
  const root = await Deno.realPath(await Deno.makeTempDir({ prefix: "host-config-" }));
  for (const [name, text] of Object.entries(files)) {
    const path = `${root}/${name}`;
    await Deno.mkdir(path.slice(0, path.lastIndexOf("/")), { recursive: true });
    if (name.endsWith("/")) await Deno.mkdir(path, { recursive: true });
    else await Deno.writeTextFile(path, text);
  }
  return root;
}

function read(
  root: string,
  cwd: string,
  configPaths: string[][],
  requirementsPaths: string[][] = [],
) {
  return readEnvironmentConfig(
    { cwd: pathToFileUri(`${root}/${cwd}`), configPaths, requirementsPaths },
    {
      env: { CODEX_HOME: `${root}/ch`, HOME: `${root}/home` },
      systemDir: `${root}/etc`,
      hostname: "h",
    },
  );
}

async function sources(root: string, cwd: string): Promise<string[]> {
  const r = await read(root, cwd, [["mcp_servers"]]);
  return r.config.layers.map((l) => l.source.replaceAll(root, "R"));
}

const trusted = (root: string, ...dirs: string[]) =>
  dirs.map((d) => `[projects."${root}/${d}"]\ntrust_level = "trusted"\n`).join("");

Deno.test("environmentConfig/read: the user layer, filtered and re-serialized; no file, no layer", async () => {
  const root = await tree({
    "ch/config.toml":
      'model = "gpt-x"\n# a comment\n[mcp_servers.x]\ncommand = "echo"\nargs = ["hi"]\n\n' +
      '[mcp_servers.y]\nurl = "http://127.0.0.1:9/mcp"\n',
  });
  try {
    const r = await read(root, "nowhere", [["mcp_servers"]]);
    assert.deepEqual(r, {
      userHomeDir: pathToFileUri(`${root}/home`),
      codexHomeDir: pathToFileUri(`${root}/ch`),
      hostname: "h",
      config: {
        layers: [{
          source: `user (${root}/ch/config.toml)`,
          baseDir: pathToFileUri(`${root}/ch`),
          toml:
            '[mcp_servers.x]\ncommand = "echo"\nargs = ["hi"]\n\n[mcp_servers.y]\nurl = "http://127.0.0.1:9/mcp"\n',
        }],
        cloudInsertionIndex: 0,
      },
      requirements: { layers: [], cloudInsertionIndex: 0 },
    });
    const two = await read(root, "", [["mcp_servers", "x"], ["model"]]);
    assert.equal(
      two.config.layers[0]!.toml,
      'model = "gpt-x"\n\n[mcp_servers.x]\ncommand = "echo"\nargs = ["hi"]\n',
    );
    assert.deepEqual((await read(root, "", [["no_such_key"]])).config.layers, []);
    await Deno.remove(`${root}/ch/config.toml`);
    assert.deepEqual((await read(root, "", [["mcp_servers"]])).config.layers, []);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("environmentConfig/read: bad paths are -32602; a broken file is -32603 naming it", async () => {
  const root = await tree({ "ch/config.toml": "[mcp_servers.x\ncommand = 1\n" });
  try {
    await assert.rejects(
      () => read(root, "", [], []),
      (e: RpcError) =>
        e.code === -32602 && e.message === "at least one config or requirements path is required",
    );
    await assert.rejects(
      () => read(root, "", [[]]),
      (e: RpcError) =>
        e.code === -32602 && e.message === "TOML paths must contain at least one key segment",
    );
    await assert.rejects(
      () => read(root, "", [["mcp_servers"]]),
      (e: RpcError) =>
        e.code === -32603 &&
        e.message.startsWith(`failed to load executor-local config: ${root}/ch/config.toml:1:`),
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("environmentConfig/read: project layers from the root down to cwd, each only if trusted", async () => {
  const dirs = [
    "a",
    "a/sub",
    "b",
    "b/sub",
    "b/sub/deeper",
    "c",
    "c/sub",
    "e",
    "h",
    "h/sub",
    "p",
    "p/sub",
    "p/sub/deeper",
    "q",
    "q/sub",
  ];
  const files: Record<string, string> = {};
  for (const d of dirs) files[`${d}/.codex/config.toml`] = cfg(d.replaceAll("/", "_"));
  Object.assign(files, {
    "b/.git/HEAD": "ref: refs/heads/main\n",
    "c/.git/HEAD": "ref: refs/heads/main\n",
    "h/.git/": "", // a .git directory without HEAD is no marker
    "p/.git/HEAD": "ref: refs/heads/main\n",
    "q/.git": "gitdir: /elsewhere\n", // a .git file is one
    "ch/": "",
  });
  const root = await tree(files);
  try {
    await Deno.writeTextFile(
      `${root}/ch/config.toml`,
      cfg("user") + trusted(root, "a", "b", "c/sub", "h", "p", "q") +
        `[projects."${root}/p/sub"]\ntrust_level = "untrusted"\n` +
        `[projects."${root}/e"]\ntrust_level = "untrusted"\n`,
    );
    await Deno.symlink(`${root}/a`, `${root}/alink`);
    const user = "user (R/ch/config.toml)";
    const p = (d: string) => `project (R/${d}/.codex/config.toml)`;
    const want: Record<string, string[]> = {
      "a": [user, p("a")],
      "a/sub": [user], // no root marker: the root is cwd, and a/sub is not trusted
      "b/sub/deeper": [user, p("b"), p("b/sub"), p("b/sub/deeper")],
      "c": [user],
      "c/sub": [user, p("c/sub")], // c itself is not trusted
      "e": [user],
      "h/sub": [user],
      "p/sub/deeper": [user, p("p"), p("p/sub/deeper")], // p/sub says untrusted
      "q/sub": [user, p("q"), p("q/sub")],
      "alink": [user, p("alink")], // trust is looked up through the symlink
      "missing/dir": [user],
    };
    for (const [cwd, layers] of Object.entries(want)) {
      assert.deepEqual(await sources(root, cwd), layers, cwd);
    }
    const layer = (await read(root, "b", [["mcp_servers"]])).config.layers[1]!;
    assert.equal(layer.baseDir, pathToFileUri(`${root}/b/.codex`));
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("environmentConfig/read: project_root_markers from the user config", async () => {
  const root = await tree({
    "o/.projdir/": "",
    "o/.codex/config.toml": cfg("o"),
    "o/sub/.codex/config.toml": cfg("o_sub"),
    "k/.git/HEAD": "x",
    "k/.codex/config.toml": cfg("k"),
    "k/sub/x/.codex/config.toml": cfg("k_sub_x"),
  });
  try {
    await Deno.mkdir(`${root}/ch`);
    await Deno.writeTextFile(
      `${root}/ch/config.toml`,
      `project_root_markers = [".projdir"]\n` + cfg("user") + trusted(root, "o", "k"),
    );
    assert.deepEqual(await sources(root, "o/sub"), [
      "user (R/ch/config.toml)",
      "project (R/o/.codex/config.toml)",
      "project (R/o/sub/.codex/config.toml)",
    ]);
    // The root is cwd now, trusted through the git repository's root.
    assert.deepEqual(await sources(root, "k/sub/x"), [
      "user (R/ch/config.toml)",
      "project (R/k/sub/x/.codex/config.toml)",
    ]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("environmentConfig/read: the system layer comes first and sets cloudInsertionIndex; requirements are the system's", async () => {
  const root = await tree({
    "etc/config.toml": 'marker = "system"\n',
    "etc/requirements.toml": 'marker = "sysreq"\n',
    "ch/config.toml": 'marker = "user"\n',
    "ch/requirements.toml": 'marker = "not read"\n',
  });
  try {
    const r = await read(root, "", [["marker"]], [["marker"]]);
    assert.deepEqual(r.config, {
      layers: [
        {
          source: `system (${root}/etc/config.toml)`,
          baseDir: pathToFileUri(`${root}/etc`),
          toml: 'marker = "system"\n',
        },
        {
          source: `user (${root}/ch/config.toml)`,
          baseDir: pathToFileUri(`${root}/ch`),
          toml: 'marker = "user"\n',
        },
      ],
      cloudInsertionIndex: 1,
    });
    assert.deepEqual(r.requirements, {
      layers: [{
        source: `${root}/etc/requirements.toml`,
        baseDir: pathToFileUri(`${root}/etc`),
        toml: 'marker = "sysreq"\n',
      }],
      cloudInsertionIndex: 1,
    });
    // A system layer without the paths asked for is left out, and counts for nothing.
    const none = await read(root, "", [["nothing"]], [["nothing"]]);
    assert.deepEqual([none.config, none.requirements], [
      { layers: [], cloudInsertionIndex: 0 },
      { layers: [], cloudInsertionIndex: 0 },
    ]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("TOML: values, tables and strings written as codex 0.171 writes them (measured)", () => {
  const src = `model = "gpt-x"
top_int = 42
[mcp_servers.x]
command = "echo"
args = ["hi", "there", 'lit\\n']
env = { A = "1", "b c" = "2" }
enabled = true
startup_timeout_sec = 10.5
tool_timeout_sec = 1e3
big = 9007199254740993
neg = -0.0
dt = 1979-05-27T07:32:00Z
ld = 1979-05-27
lt = 07:32:00
s = "tab\\tquote\\"uni\\u00e9 ctrl\\u0001"
ml = """
line1
line2"""
empty_arr = []
empty_tab = {}
nested_arr = [[1, 2], ["a"]]
mixed = [{ a = 1 }, { b = 2 }]
"dotted.key" = 1
a.b.c = 2

[mcp_servers.x.sub]
k = "v"

[mcp_servers."y z"]
url = "http://127.0.0.1:9/mcp"

[[mcp_servers.x.list]]
n = 1
[[mcp_servers.x.list]]
n = 2
`;
  // codex 0.171's reply to configPaths [["mcp_servers"], ["top_int"], ["model"]] for this file.
  const codex = 'model = "gpt-x"\ntop_int = 42\n\n[mcp_servers.x]\ncommand = "echo"\n' +
    'args = ["hi", "there", \'lit\\n\']\nenabled = true\nstartup_timeout_sec = 10.5\n' +
    "tool_timeout_sec = 1000.0\nbig = 9007199254740993\nneg = -0.0\ndt = 1979-05-27T07:32:00Z\n" +
    'ld = 1979-05-27\nlt = 07:32:00\ns = "tab\\tquote\\"unié ctrl\\u0001"\n' +
    'ml = """\nline1\nline2"""\nempty_arr = []\nnested_arr = [[1, 2], ["a"]]\n"dotted.key" = 1\n\n' +
    '[mcp_servers.x.env]\nA = "1"\n"b c" = "2"\n\n[mcp_servers.x.empty_tab]\n\n' +
    "[[mcp_servers.x.mixed]]\na = 1\n\n[[mcp_servers.x.mixed]]\nb = 2\n\n[mcp_servers.x.a.b]\nc = 2\n\n" +
    '[mcp_servers.x.sub]\nk = "v"\n\n[[mcp_servers.x.list]]\nn = 1\n\n[[mcp_servers.x.list]]\nn = 2\n\n' +
    '[mcp_servers."y z"]\nurl = "http://127.0.0.1:9/mcp"\n';
  const doc = parseToml(src);
  assert.equal(writeToml(selectPaths(doc, [["mcp_servers"], ["top_int"], ["model"]])), codex);
  // A path through a value that is not a table keeps the value; paths that name nothing add nothing.
  assert.equal(
    writeToml(
      selectPaths(doc, [["mcp_servers", "x", "env"], ["mcp_servers", "x", "args"], [
        "mcp_servers",
        "nope",
      ], ["model", "deeper"]]),
    ),
    'model = "gpt-x"\n\n[mcp_servers.x]\nargs = ["hi", "there", \'lit\\n\']\n\n[mcp_servers.x.env]\nA = "1"\n"b c" = "2"\n',
  );
  // What is written parses back to the same values.
  assert.deepEqual(parseToml(writeToml(doc)), doc);
});

Deno.test("environmentConfig/read through the real server: CODEX_HOME's layers; bad params are -32602", async () => {
  const root = await tree({ "ch/config.toml": cfg("onexec") });
  try {
    await using server = await ServerProcess.start([], {
      env: { CODEX_HOME: `${root}/ch`, HOME: root },
    });
    await using c = await TestClient.connect(server.url);
    const call = (params: unknown) => c.call("environmentConfig/read", params);
    const r = await call({
      cwd: pathToFileUri(root),
      configPaths: [["mcp_servers"]],
      requirementsPaths: [],
    });
    assert.deepEqual(r.result.config.layers, [{
      source: `user (${root}/ch/config.toml)`,
      baseDir: pathToFileUri(`${root}/ch`),
      toml: '[mcp_servers.onexec]\ncommand = "onexec"\n',
    }]);
    assert.equal(r.result.codexHomeDir, pathToFileUri(`${root}/ch`));
    assert.equal(r.result.hostname, Deno.hostname());
    for (
      const bad of [null, {}, { cwd: root, configPaths: [["x"]], requirementsPaths: [] }, {
        cwd: pathToFileUri(root),
        configPaths: ["mcp_servers"],
        requirementsPaths: [],
      }]
    ) {
      assert.equal((await call(bad)).error?.code, -32602, JSON.stringify(bad));
    }
    const info = await c.request("environment/info", {});
    assert.equal(info.capabilities.environmentConfigRead, true);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
