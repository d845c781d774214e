// Copyright 2026 the exec-server authors. MIT license.
// fs/* under a codex permission profile, through the real server: the
// profile's rules applied in-process on the canonical path (symlinks
// resolved as --fs-root resolves them), with codex's error codes; the same
// calls against codex's own server where they should agree; and an
// operator's --sandbox, which also covers calls that bring no profile.
import assert from "node:assert/strict";
import { CODEX_BIN, startCodexServer } from "./_codex.ts";
import { ServerProcess, TestClient } from "./_harness.ts";
import { restricted, rootEntry, scratch, workspaceDenyProfile } from "./_sandbox.ts";
import { pathToFileUri, sandboxProfile } from "../lib/protocol/sandbox.ts";

const b64 = (s: string) => new TextEncoder().encode(s).toBase64();

/** A tree with a workspace, a secret, and symlinks in and out. */
async function tree(base: string) {
  const w = `${base}/w`;
  const secret = `${base}/secret`;
  const outside = `${base}/outside`;
  for (const d of [`${w}/.git`, `${w}/sub`, secret, outside]) {
    await Deno.mkdir(d, { recursive: true });
  }
  await Deno.writeTextFile(`${w}/.git/config`, "[core]\n");
  await Deno.writeTextFile(`${w}/a.env`, "K=V\n");
  await Deno.writeTextFile(`${w}/f.txt`, "f\n");
  await Deno.writeTextFile(`${secret}/k`, "s3cret\n");
  await Deno.writeTextFile(`${outside}/o.txt`, "o\n");
  await Deno.symlink(outside, `${w}/outlink`); // inside → outside
  await Deno.symlink(`${w}/.git`, `${w}/gitlink`); // inside → protected
  await Deno.symlink(`${w}/f.txt`, `${outside}/inlink`); // outside → inside
  await Deno.symlink(`${outside}/new.txt`, `${w}/dangling`); // dangling, target outside
  await Deno.symlink(secret, `${w}/secretlink`); // inside → denied
  const profile = workspaceDenyProfile(w, secret);
  return { w, secret, outside, profile };
}

type Call = [label: string, method: string, params: Record<string, unknown>];

function calls(t: Awaited<ReturnType<typeof tree>>): Call[] {
  const u = pathToFileUri;
  return [
    ["write in W", "fs/writeFile", { path: u(`${t.w}/new.txt`), dataBase64: b64("n\n") }],
    ["write outside W", "fs/writeFile", { path: u(`${t.outside}/x.txt`), dataBase64: b64("x") }],
    ["append .git/config", "fs/writeFile", {
      path: u(`${t.w}/.git/config`),
      dataBase64: b64("x"),
      append: true,
    }],
    ["write missing .codex/x", "fs/writeFile", {
      path: u(`${t.w}/.codex/x`),
      dataBase64: b64("x"),
    }],
    ["write through W/outlink", "fs/writeFile", {
      path: u(`${t.w}/outlink/y.txt`),
      dataBase64: b64("y"),
    }],
    ["write through W/gitlink", "fs/writeFile", {
      path: u(`${t.w}/gitlink/hooks`),
      dataBase64: b64("h"),
    }],
    ["write through outside/inlink", "fs/writeFile", {
      path: u(`${t.outside}/inlink`),
      dataBase64: b64("i\n"),
    }],
    ["write dangling W/dangling", "fs/writeFile", {
      path: u(`${t.w}/dangling`),
      dataBase64: b64("d"),
    }],
    ["read secret", "fs/readFile", { path: u(`${t.secret}/k`) }],
    ["read through W/secretlink", "fs/readFile", { path: u(`${t.w}/secretlink/k`) }],
    ["read W/a.env (glob)", "fs/readFile", { path: u(`${t.w}/a.env`) }],
    ["read /etc/hostname", "fs/readFile", { path: "file:///etc/hostname" }],
    ["mkdir in W", "fs/createDirectory", { path: u(`${t.w}/sub/d`), recursive: true }],
    ["mkdir outside", "fs/createDirectory", { path: u(`${t.outside}/d`), recursive: true }],
    ["remove outside", "fs/remove", {
      path: u(`${t.outside}/o.txt`),
      recursive: false,
      force: false,
    }],
    ["copy outside → W", "fs/copy", {
      sourcePath: u(`${t.outside}/o.txt`),
      destinationPath: u(`${t.w}/o.txt`),
      recursive: false,
    }],
    ["copy W → outside", "fs/copy", {
      sourcePath: u(`${t.w}/f.txt`),
      destinationPath: u(`${t.outside}/f.txt`),
      recursive: false,
    }],
    ["mkdir masked .codex", "fs/createDirectory", { path: u(`${t.w}/.codex`), recursive: true }],
    ["stat the denied dir", "fs/getMetadata", { path: u(t.secret) }],
    ["remove missing outside, force", "fs/remove", {
      path: u(`${t.outside}/none`),
      recursive: false,
      force: true,
    }],
  ];
}

/** The code of a call (0 for success). */
async function codeOf(client: TestClient, method: string, params: unknown): Promise<number> {
  const r = await client.call(method, params);
  return r.error ? r.error.code : 0;
}

const EXPECTED: Record<string, number> = {
  "write in W": 0,
  "write outside W": -32603,
  "append .git/config": -32603,
  "write missing .codex/x": -32603,
  "write through W/outlink": -32603,
  "write through W/gitlink": -32603,
  "write through outside/inlink": 0,
  "write dangling W/dangling": -32603,
  "read secret": -32600,
  "read through W/secretlink": -32600,
  "read W/a.env (glob)": -32600,
  "read /etc/hostname": 0,
  "mkdir in W": 0,
  "mkdir outside": -32603,
  "remove outside": -32603,
  "copy outside → W": 0,
  "copy W → outside": -32603,
  "mkdir masked .codex": -32603,
  "stat the denied dir": -32600,
  "remove missing outside, force": -32603,
};

Deno.test("fs/* under a profile: its rules on the canonical path, symlinks followed, codex's codes", async () => {
  await using srv = await ServerProcess.start(["--log-level", "warn"]);
  await using client = await TestClient.connect(srv.url);
  await using tmp = await scratch();
  const t = await tree(tmp.dir);
  const got: Record<string, number> = {};
  for (const [label, method, params] of calls(t)) {
    got[label] = await codeOf(client, method, { ...params, sandbox: t.profile });
  }
  assert.deepEqual(got, EXPECTED);
  // What was refused left the host alone; what was allowed happened.
  assert.equal(await Deno.readTextFile(`${t.w}/.git/config`), "[core]\n");
  assert.equal(await Deno.readTextFile(`${t.outside}/o.txt`), "o\n");
  assert.equal(await Deno.readTextFile(`${t.w}/f.txt`), "i\n", "written through the outside link");
  for (
    const gone of [
      `${t.outside}/x.txt`,
      `${t.outside}/new.txt`,
      `${t.outside}/y.txt`,
      `${t.w}/.codex`,
    ]
  ) {
    await assert.rejects(Deno.lstat(gone), Deno.errors.NotFound, gone);
  }
  const denied = await client.call("fs/readFile", {
    path: pathToFileUri(`${t.secret}/k`),
    sandbox: t.profile,
  });
  assert.match(
    denied.error.message,
    /^Permission denied \(os error 13\): .* is denied by the sandbox profile/,
  );
  // A profile this server cannot enforce fails the call, saying why.
  const bad = await client.call("fs/readFile", {
    path: "file:///etc/hostname",
    sandbox: restricted([rootEntry("read"), {
      path: { type: "special", value: { kind: "unknown", path: ":x" } },
      access: "deny",
    }]),
  });
  assert.deepEqual([bad.error?.code, bad.error?.data], [-32603, { kind: "sandboxPreparation" }]);
});

Deno.test("serve --sandbox covers fs/* calls that bring no profile, and caps those that do", async () => {
  await using tmp = await scratch();
  const t = await tree(tmp.dir);
  const inW = { path: pathToFileUri(`${t.w}/cap.txt`), dataBase64: b64("c") };
  const outW = { path: pathToFileUri(`${t.outside}/cap.txt`), dataBase64: b64("c") };
  {
    await using srv = await ServerProcess.start(["--log-level", "warn", "--sandbox", "read-only"]);
    await using client = await TestClient.connect(srv.url);
    assert.equal(await codeOf(client, "fs/writeFile", { ...inW, sandbox: null }), -32603);
    assert.equal(
      await codeOf(client, "fs/writeFile", { ...inW, sandbox: t.profile }),
      -32603,
      "no widening",
    );
    assert.equal(
      await codeOf(client, "fs/writeFile", { ...inW, sandbox: { readOnly: false } }),
      -32603,
    );
    assert.equal(
      await codeOf(client, "fs/readFile", { path: "file:///etc/hostname", sandbox: null }),
      0,
    );
  }
  {
    await using srv = await ServerProcess.start([
      "--log-level",
      "warn",
      "--sandbox",
      "workspace-write",
      "--sandbox-writable",
      t.w,
    ]);
    await using client = await TestClient.connect(srv.url);
    assert.equal(await codeOf(client, "fs/writeFile", { ...inW, sandbox: null }), 0);
    assert.equal(await codeOf(client, "fs/writeFile", { ...outW, sandbox: null }), -32603);
    assert.equal(
      await codeOf(client, "fs/writeFile", {
        ...inW,
        sandbox: sandboxProfile({ mode: "read-only" }),
      }),
      -32603,
      "a client may narrow it",
    );
    assert.equal(
      await codeOf(client, "fs/writeFile", { ...inW, sandbox: { readOnly: true } }),
      -32600,
    );
  }
});

/** Where we answer otherwise than codex on purpose (codex's code, and why). */
const FS_DIFFERENCES: Record<string, [number, string]> = {
  "mkdir masked .codex": [
    0,
    "codex reports success and creates nothing (the path is its mount point); we refuse the write",
  ],
  "stat the denied dir": [
    0,
    "codex stats its mount point over the denied directory; we deny the path itself too",
  ],
  "remove missing outside, force": [
    0,
    "codex's forced remove of a missing path succeeds before the sandbox matters; we check first",
  ],
};

Deno.test({
  name: "fs/* under a profile: the same codes from codex's server and ours",
  ignore: !CODEX_BIN,
  async fn() {
    await using codexServer = await startCodexServer();
    await using oursServer = await ServerProcess.start(["--log-level", "warn"]);
    await using codex = await TestClient.connect(codexServer.url);
    await using ours = await TestClient.connect(oursServer.url);
    await using a = await scratch();
    await using b = await scratch();
    const tc = await tree(a.dir);
    const to = await tree(b.dir);
    const problems: string[] = [];
    const cc = calls(tc);
    const oc = calls(to);
    for (let i = 0; i < cc.length; i++) {
      const [label, method, params] = cc[i]!;
      const fromCodex = await codeOf(codex, method, { ...params, sandbox: tc.profile });
      const fromOurs = await codeOf(ours, method, { ...oc[i]![2], sandbox: to.profile });
      const differs = FS_DIFFERENCES[label];
      if (differs) {
        if (fromCodex !== differs[0] || fromOurs === fromCodex) {
          problems.push(
            `${label}: expected codex ${
              differs[0]
            } and ours otherwise, got ${fromCodex} / ${fromOurs}`,
          );
        }
      } else if (fromCodex !== fromOurs) {
        problems.push(`${label}: codex ${fromCodex}, ours ${fromOurs}`);
      }
    }
    assert.deepEqual(problems, []);
  },
});
