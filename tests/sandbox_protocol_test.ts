// Copyright 2026 the exec-server authors. MIT license.
// The sandbox schema accepts every object the real 0.171 client sent
// (tests/fixtures/sandbox_profiles, captured by the research probes) and
// rejects bad ones with serde's wording, as codex's server does.
import assert from "node:assert/strict";
import {
  FileSystemSandboxContextSchema,
  fileUriToPath,
  pathToFileUri,
  SandboxTypeSchema,
} from "../lib/protocol/sandbox.ts";

const FIXTURES = new URL("./fixtures/sandbox_profiles/", import.meta.url);

async function fixtures(): Promise<Map<string, unknown>> {
  const out = new Map<string, unknown>();
  for await (const entry of Deno.readDir(FIXTURES)) {
    if (!entry.name.endsWith(".json")) continue;
    const text = await Deno.readTextFile(new URL(entry.name, FIXTURES));
    out.set(entry.name, JSON.parse(text));
  }
  return out;
}

function clone<T>(value: T): T {
  return structuredClone(value);
}

/** The message of the first issue, prefixed by its path as the server does. */
function firstError(input: unknown): string {
  const parsed = FileSystemSandboxContextSchema.safeParse(input);
  assert.equal(parsed.success, false, `expected a failure for ${JSON.stringify(input)}`);
  const issue = parsed.error!.issues[0]!;
  return `${issue.path.join(".")}: ${issue.message}`;
}

Deno.test("every captured 0.171 sandbox object parses", async () => {
  const all = await fixtures();
  assert.ok(all.size >= 14, `found ${all.size} fixtures`);
  for (const [name, raw] of all) {
    const parsed = FileSystemSandboxContextSchema.safeParse(raw);
    assert.ok(parsed.success, `${name}: ${JSON.stringify(parsed.error?.issues)}`);
    assert.equal(parsed.data.permissions.type, "managed", name);
  }
});

Deno.test("parsed values keep the meaning: entries, aliases, roots", async () => {
  const all = await fixtures();
  const ww = FileSystemSandboxContextSchema.parse(all.get("workspace-write-default.json"));
  assert.equal(ww.windowsSandboxLevel, "disabled");
  assert.deepEqual(ww.workspaceRoots, ["file:///tmp/sbx/work"]);
  assert.equal(ww.permissions.type, "managed");
  if (ww.permissions.type !== "managed") return;
  assert.equal(ww.permissions.network, "restricted");
  const fs = ww.permissions.file_system;
  assert.equal(fs.type, "restricted");
  if (fs.type !== "restricted") return;
  assert.equal(fs.entries.length, 8);
  assert.deepEqual(fs.entries[4], {
    path: { type: "special", value: { kind: "project_roots", subpath: ".git" } },
    access: "read",
    missing_path_behavior: "skip",
  });

  const custom = FileSystemSandboxContextSchema.parse(
    all.get("permissions-custom-restricted.fs-discovery.json"),
  );
  assert.deepEqual(custom.temporaryDirectories, []);
  assert.equal(custom.userHomeDir, "file:///root");
  assert.deepEqual(custom.policyContext, {
    cwd: "file:///tmp/sbx/w_custom",
    workspaceRoots: ["file:///tmp/sbx/w_custom"],
  });
  if (custom.permissions.type !== "managed") throw new Error("managed expected");
  const cfs = custom.permissions.file_system;
  if (cfs.type !== "restricted") throw new Error("restricted expected");
  assert.equal(cfs.glob_scan_max_depth, 3);
  assert.deepEqual(cfs.entries[3]!.path, {
    type: "glob_pattern",
    pattern: "codex-project-roots://**/*.env",
  });

  // `none` is the legacy alias of `deny`; unknown keys are dropped.
  const aliased = clone(all.get("read-only.json")) as {
    permissions: { file_system: { entries: Record<string, unknown>[] } };
    zzz?: number;
  };
  aliased.permissions.file_system.entries[0]!.access = "none";
  aliased.permissions.file_system.entries[0]!.extra = true;
  aliased.zzz = 1;
  const parsed = FileSystemSandboxContextSchema.parse(aliased);
  assert.ok(!("zzz" in parsed));
  if (parsed.permissions.type !== "managed") throw new Error("managed expected");
  if (parsed.permissions.file_system.type !== "restricted") throw new Error("restricted");
  assert.deepEqual(parsed.permissions.file_system.entries[0], {
    path: { type: "special", value: { kind: "root" } },
    access: "deny",
  });
});

Deno.test("the smallest objects 0.171 accepts are accepted", () => {
  const ok = [
    { permissions: { type: "disabled" }, windowsSandboxLevel: "disabled" },
    { permissions: { type: "external", network: "enabled" }, windowsSandboxLevel: "mxc" },
    {
      permissions: {
        type: "managed",
        file_system: { type: "unrestricted" },
        network: "restricted",
      },
      windowsSandboxLevel: "elevated",
      cwd: null,
      windowsSandboxProxySettingsMode: null,
      policyContext: {},
    },
    {
      permissions: {
        type: "managed",
        file_system: {
          type: "restricted",
          entries: [
            {
              path: { type: "special", value: { kind: "current_working_directory" } },
              access: "write",
            },
            {
              path: { type: "special", value: { kind: "unknown", path: ":future" } },
              access: "read",
            },
            {
              path: { type: "special", value: { kind: "root", subpath: "ignored" } },
              access: "read",
            },
            { path: { type: "path", path: "file://localhost/etc" }, access: "read" },
            { path: { type: "path", path: "file:///a%20b" }, access: "read" },
            { path: { type: "path", path: "file://" }, access: "read" },
            { path: { type: "glob_pattern", pattern: "[" }, access: "deny" },
            {
              path: { type: "special", value: { kind: "project_roots", subpath: null } },
              access: "read",
              missing_path_behavior: null,
            },
          ],
          glob_scan_max_depth: null,
        },
        network: "enabled",
      },
      windowsSandboxLevel: "restricted-token",
      workspaceRoots: [],
    },
  ];
  for (const input of ok) {
    const parsed = FileSystemSandboxContextSchema.safeParse(input);
    assert.ok(parsed.success, `${JSON.stringify(input)}: ${JSON.stringify(parsed.error?.issues)}`);
  }
});

Deno.test("bad objects fail with serde's messages and the field's path", async () => {
  // Mutations of untyped JSON read best with `any`.
  // deno-lint-ignore no-explicit-any
  type Json = Record<string, any>;
  const base = (await fixtures()).get("workspace-write-default.json") as Json;
  const entry = (e: unknown) => (b: Json) => {
    b.permissions.file_system.entries.push(e);
  };
  const cases: [string, (b: Json) => unknown, string][] = [
    [
      "no permissions",
      (b) => void delete b.permissions,
      "permissions: missing field `permissions`",
    ],
    ["permissions {}", (b) => void (b.permissions = {}), "permissions.type: missing field `type`"],
    [
      "permissions null",
      (b) => void (b.permissions = null),
      "permissions: invalid type: null, expected internally tagged enum",
    ],
    [
      "permissions.type x",
      (b) => void (b.permissions.type = "x"),
      "permissions.type: unknown variant `x`, expected one of `managed`, `disabled`, `external`",
    ],
    [
      "no file_system",
      (b) => void delete b.permissions.file_system,
      "permissions.file_system: missing field `file_system`",
    ],
    [
      "file_system.type",
      (b) => void (b.permissions.file_system = { type: "external_sandbox" }),
      "permissions.file_system.type: unknown variant `external_sandbox`, expected `restricted` or `unrestricted`",
    ],
    [
      "no network",
      (b) => void delete b.permissions.network,
      "permissions.network: missing field `network`",
    ],
    [
      "network x",
      (b) => void (b.permissions.network = "x"),
      "permissions.network: unknown variant `x`, expected `restricted` or `enabled`",
    ],
    [
      "external without network",
      (b) => void (b.permissions = { type: "external" }),
      "permissions.network: missing field `network`",
    ],
    [
      "no entries",
      (b) => void delete b.permissions.file_system.entries,
      "permissions.file_system.entries: missing field `entries`",
    ],
    [
      "entries null",
      (b) => void (b.permissions.file_system.entries = null),
      "permissions.file_system.entries: invalid type: null, expected a sequence",
    ],
    [
      "access x",
      (b) => void (b.permissions.file_system.entries[0].access = "x"),
      "permissions.file_system.entries.0.access: unknown variant `x`, expected one of `read`, `write`, `deny`, `none`",
    ],
    [
      "path.type x",
      (b) => void (b.permissions.file_system.entries[0].path.type = "x"),
      "permissions.file_system.entries.0.path.type: unknown variant `x`, expected one of `path`, `glob_pattern`, `special`",
    ],
    [
      "special.kind x",
      (b) => void (b.permissions.file_system.entries[0].path.value.kind = "x"),
      "permissions.file_system.entries.0.path.value.kind: unknown variant `x`, expected one of `root`, `minimal`, `current_working_directory`, `project_roots`, `tmpdir`, `slash_tmp`, `unknown`",
    ],
    [
      "missing_path_behavior x",
      (b) => void (b.permissions.file_system.entries[4].missing_path_behavior = "x"),
      "permissions.file_system.entries.4.missing_path_behavior: unknown variant `x`, expected `skip`",
    ],
    [
      "no access",
      entry({ path: { type: "special", value: { kind: "root" } } }),
      "permissions.file_system.entries.8.access: missing field `access`",
    ],
    [
      "special without value",
      entry({ path: { type: "special" }, access: "read" }),
      "permissions.file_system.entries.8.path.value: missing field `value`",
    ],
    [
      "unknown without path",
      entry({ path: { type: "special", value: { kind: "unknown" } }, access: "read" }),
      "permissions.file_system.entries.8.path.value.path: missing field `path`",
    ],
    [
      "glob without pattern",
      entry({ path: { type: "glob_pattern" }, access: "read" }),
      "permissions.file_system.entries.8.path.pattern: missing field `pattern`",
    ],
    [
      "path number",
      entry({ path: { type: "path", path: 3 }, access: "read" }),
      "permissions.file_system.entries.8.path.path: invalid type: integer `3`, expected a string",
    ],
    [
      "subpath number",
      entry({
        path: { type: "special", value: { kind: "project_roots", subpath: 3 } },
        access: "read",
      }),
      "permissions.file_system.entries.8.path.value.subpath: invalid type: integer `3`, expected a string",
    ],
    [
      "native path",
      entry({ path: { type: "path", path: "/tmp" }, access: "read" }),
      "permissions.file_system.entries.8.path.path: invalid URI: relative URL without a base",
    ],
    [
      "empty path",
      entry({ path: { type: "path", path: "" }, access: "read" }),
      "permissions.file_system.entries.8.path.path: invalid URI: relative URL without a base",
    ],
    [
      "http path",
      entry({ path: { type: "path", path: "http://x/y" }, access: "read" }),
      "permissions.file_system.entries.8.path.path: unsupported path URI scheme `http`",
    ],
    [
      "query",
      entry({ path: { type: "path", path: "file:///a?x=1" }, access: "read" }),
      "permissions.file_system.entries.8.path.path: query parameters are not allowed in path URIs",
    ],
    [
      "empty query",
      entry({ path: { type: "path", path: "file:///a?" }, access: "read" }),
      "permissions.file_system.entries.8.path.path: query parameters are not allowed in path URIs",
    ],
    [
      "fragment",
      entry({ path: { type: "path", path: "file:///a#f" }, access: "read" }),
      "permissions.file_system.entries.8.path.path: fragments are not allowed in path URIs",
    ],
    [
      "other host",
      entry({ path: { type: "path", path: "file://host/y" }, access: "read" }),
      "permissions.file_system.entries.8.path.path: 'file://host/y' is invalid on 'linux'",
    ],
    [
      "NUL",
      entry({ path: { type: "path", path: "file:///a%00b" }, access: "read" }),
      "permissions.file_system.entries.8.path.path: 'file:///a%00b' is invalid on 'linux'",
    ],
    [
      "encoded slash",
      entry({ path: { type: "path", path: "file:///a%2Fb" }, access: "read" }),
      "permissions.file_system.entries.8.path.path: 'file:///a%2Fb' is invalid on 'linux'",
    ],
    [
      "depth 0",
      (b) => void (b.permissions.file_system.glob_scan_max_depth = 0),
      "permissions.file_system.glob_scan_max_depth: invalid value: integer `0`, expected a nonzero usize",
    ],
    [
      "depth -1",
      (b) => void (b.permissions.file_system.glob_scan_max_depth = -1),
      "permissions.file_system.glob_scan_max_depth: invalid value: integer `-1`, expected a nonzero usize",
    ],
    [
      "depth 1.5",
      (b) => void (b.permissions.file_system.glob_scan_max_depth = 1.5),
      "permissions.file_system.glob_scan_max_depth: invalid type: floating point `1.5`, expected a nonzero usize",
    ],
    [
      "no windowsSandboxLevel",
      (b) => void delete b.windowsSandboxLevel,
      "windowsSandboxLevel: missing field `windowsSandboxLevel`",
    ],
    [
      "windowsSandboxLevel x",
      (b) => void (b.windowsSandboxLevel = "x"),
      "windowsSandboxLevel: unknown variant `x`, expected one of `disabled`, `restricted-token`, `elevated`, `mxc`",
    ],
    [
      "proxy mode x",
      (b) => void (b.windowsSandboxProxySettingsMode = "x"),
      "windowsSandboxProxySettingsMode: unknown variant `x`, expected `reconcile` or `preserve`",
    ],
    [
      "useLegacyLandlock x",
      (b) => void (b.useLegacyLandlock = "x"),
      'useLegacyLandlock: invalid type: string "x", expected a boolean',
    ],
    [
      "useLegacyLandlock null",
      (b) => void (b.useLegacyLandlock = null),
      "useLegacyLandlock: invalid type: null, expected a boolean",
    ],
    ["cwd native", (b) => void (b.cwd = "/tmp"), "cwd: invalid URI: relative URL without a base"],
    [
      "workspaceRoots native",
      (b) => void (b.workspaceRoots = ["/tmp"]),
      "workspaceRoots.0: invalid URI: relative URL without a base",
    ],
    [
      "workspaceRoots null",
      (b) => void (b.workspaceRoots = null),
      "workspaceRoots: invalid type: null, expected a sequence",
    ],
    [
      "userHomeDir native",
      (b) => void (b.userHomeDir = "/root"),
      "userHomeDir: invalid URI: relative URL without a base",
    ],
    [
      "temporaryDirectories native",
      (b) => void (b.temporaryDirectories = ["/tmp"]),
      "temporaryDirectories.0: invalid URI: relative URL without a base",
    ],
    [
      "policyContext cwd native",
      (b) => void (b.policyContext = { cwd: "/tmp" }),
      "policyContext.cwd: invalid URI: relative URL without a base",
    ],
  ];
  const wrong: string[] = [];
  for (const [name, mutate, expected] of cases) {
    const input = clone(base);
    mutate(input);
    const actual = firstError(input);
    if (actual !== expected) wrong.push(`${name}:\n  got  ${actual}\n  want ${expected}`);
  }
  assert.deepEqual(wrong, []);
  assert.equal(
    firstError("x"),
    ': invalid type: string "x", expected struct FileSystemSandboxContext',
  );
  assert.equal(
    firstError([]),
    ": invalid type: sequence, expected struct FileSystemSandboxContext",
  );
});

Deno.test("fileUriToPath and pathToFileUri round-trip native paths", () => {
  assert.equal(fileUriToPath("file:///"), "/");
  assert.equal(fileUriToPath("file://"), "/");
  assert.equal(fileUriToPath("file:rel"), "/rel");
  assert.equal(fileUriToPath("file:////x//y/"), "/x/y");
  assert.equal(fileUriToPath("file:///a/%2e%2e/etc"), "/etc");
  assert.equal(fileUriToPath("FILE://LOCALHOST/x"), "/x");
  assert.throws(() => fileUriToPath("file://h/x"), /'file:\/\/h\/x' is invalid on 'linux'/);
  for (const path of ["/", "/tmp", "/tmp/sp ace/q%.txt", "/a#b?c", "/ü/日本", "/x/.."]) {
    const uri = pathToFileUri(path);
    assert.match(uri, /^file:\/\//);
    const back = fileUriToPath(uri);
    assert.equal(back, path === "/x/.." ? "/" : path, uri);
  }
  assert.throws(() => pathToFileUri("rel"), /not an absolute path/);
  assert.throws(() => pathToFileUri("/a\0b"), /not an absolute path/);
});

Deno.test("sandboxType is one of the values the 0.171 client decodes", () => {
  assert.equal(SandboxTypeSchema.parse("linuxSeccomp"), "linuxSeccomp");
  assert.equal(SandboxTypeSchema.parse("none"), "none");
  assert.equal(SandboxTypeSchema.safeParse("linuxBubblewrap").success, false);
});
