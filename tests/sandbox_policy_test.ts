// Copyright 2026 the exec-server authors. MIT license.
// The pure parts of lib/sandbox: the policy compiler (meaning and precedence
// of codex 0.171's profiles, measured against codex's server), intersection
// with an operator's profile, the bwrap planner, the seccomp program, the
// sandboxDenied rule and the fs check. The file system is a fake.
import assert from "node:assert/strict";
import {
  accessAt,
  compileProfile,
  DENIAL_KEYWORDS,
  DenialScanner,
  type Enforcement,
  FsPolicy,
  GlobMatcher,
  intersect,
  type PathFacts,
  planBwrap,
  SandboxError,
  type SandboxPolicy,
  seccompProgram,
} from "../lib/sandbox/mod.ts";
import {
  type FileSystemSandboxContext,
  FileSystemSandboxContextSchema,
  sandboxProfile,
} from "../lib/protocol/sandbox.ts";
import { RpcError } from "../lib/protocol/errors.ts";

/** A fake file system: directories, files and symlinks by path. */
class FakeFs implements PathFacts {
  dirs = new Set<string>(["/"]);
  files = new Map<string, string>();
  links = new Map<string, string>();

  constructor(entries: Record<string, string | null> = {}) {
    for (const [path, content] of Object.entries(entries)) {
      if (content === null) this.mkdir(path);
      else if (content.startsWith("->")) this.links.set(path, content.slice(2));
      else this.write(path, content);
    }
  }

  mkdir(path: string): void {
    for (let p = path; p !== "/"; p = p.slice(0, p.lastIndexOf("/")) || "/") this.dirs.add(p);
  }

  write(path: string, content: string): void {
    this.mkdir(path.slice(0, path.lastIndexOf("/")) || "/");
    this.files.set(path, content);
  }

  resolve(path: string): string {
    const todo = path.split("/").filter((p) => p !== "");
    const done: string[] = [];
    let hops = 0;
    while (todo.length > 0) {
      const name = todo.shift()!;
      if (name === "..") {
        done.pop();
        continue;
      }
      const here = `/${[...done, name].join("/")}`;
      const link = this.links.get(here);
      if (link !== undefined && ++hops < 40) {
        if (link.startsWith("/")) done.length = 0;
        todo.unshift(...link.split("/").filter((p) => p !== ""));
        continue;
      }
      done.push(name);
    }
    return `/${done.join("/")}`;
  }

  kind(path: string) {
    if (this.links.has(path)) return "other" as const;
    if (this.dirs.has(path)) return "dir" as const;
    return this.files.has(path) ? "file" as const : "missing" as const;
  }

  gitdir(path: string): string | null {
    const m = /^gitdir:\s*(.+)$/m.exec(this.files.get(path) ?? "");
    return m ? m[1]!.trim() : null;
  }

  list(dir: string) {
    const out: { name: string; type: "dir" | "file" | "other" }[] = [];
    const prefix = dir === "/" ? "/" : `${dir}/`;
    for (const d of this.dirs) {
      if (d.startsWith(prefix) && d !== dir && !d.slice(prefix.length).includes("/")) {
        out.push({ name: d.slice(prefix.length), type: "dir" });
      }
    }
    for (const f of this.files.keys()) {
      if (f.startsWith(prefix) && !f.slice(prefix.length).includes("/")) {
        out.push({ name: f.slice(prefix.length), type: "file" });
      }
    }
    return out;
  }
}

const FIXTURES = new URL("./fixtures/sandbox_profiles/", import.meta.url);

function fixture(name: string, rebase: Record<string, string> = {}): FileSystemSandboxContext {
  let text = Deno.readTextFileSync(new URL(name, FIXTURES));
  for (const [from, to] of Object.entries(rebase)) text = text.replaceAll(from, to);
  return FileSystemSandboxContextSchema.parse(JSON.parse(text));
}

function bwrapPolicy(e: Enforcement): SandboxPolicy {
  assert.equal(e.kind, "bwrap", JSON.stringify(e));
  return (e as { policy: SandboxPolicy }).policy;
}

function profile(
  entries: unknown[],
  extra: Record<string, unknown> = {},
  network = "restricted",
): FileSystemSandboxContext {
  return FileSystemSandboxContextSchema.parse({
    permissions: {
      type: "managed",
      file_system: { type: "restricted", entries },
      network,
    },
    windowsSandboxLevel: "disabled",
    ...extra,
  });
}

const sp = (kind: string, subpath?: string) => ({
  type: "special",
  value: subpath === undefined ? { kind } : { kind, subpath },
});
const path = (p: string) => ({ type: "path", path: `file://${p}` });

Deno.test("workspace-write (captured): W, /tmp, $TMPDIR writable, the rest and protected names read-only", () => {
  const fs = new FakeFs({ "/w/.git/config": "x", "/w/src/a.ts": "", "/tmp": null, "/t": null });
  const policy = bwrapPolicy(compileProfile(
    fixture("workspace-write-default.json", { "/tmp/sbx/work": "/w" }),
    { cwd: "/w", env: { TMPDIR: "/t" } },
    fs,
  ));
  const expect: [string, string][] = [
    ["/w/src/a.ts", "write"],
    ["/w", "write"],
    ["/tmp/x", "write"],
    ["/t/x", "write"],
    ["/usr/local/x", "read"],
    ["/w/.git/config", "read"],
    ["/w/.codex/x", "read"],
    ["/tmp/.git", "read"], // every writable root's protected names, /tmp's too
    ["/t/.aws/credentials", "read"],
  ];
  for (const [p, access] of expect) assert.equal(accessAt(policy, p), access, p);
  assert.equal(policy.network, "restricted");
});

Deno.test("project_roots means workspaceRoots, never the cwd; subpaths stay inside their root", () => {
  const fs = new FakeFs({ "/w": null, "/other": null });
  const entries = [
    { path: sp("root"), access: "read" },
    { path: sp("project_roots"), access: "write" },
    { path: sp("current_working_directory", "../escape"), access: "write" },
    { path: sp("project_roots", "/etc"), access: "write" },
  ];
  for (const roots of [undefined, []]) {
    const extra = roots === undefined
      ? { cwd: "file:///w" }
      : { cwd: "file:///w", workspaceRoots: roots };
    const policy = bwrapPolicy(compileProfile(profile(entries, extra), { cwd: "/w", env: {} }, fs));
    assert.equal(accessAt(policy, "/w/a"), "read", "no workspace roots: nothing writable");
    assert.equal(accessAt(policy, "/escape"), "read");
    assert.equal(accessAt(policy, "/etc/x"), "read");
  }
  const other = bwrapPolicy(compileProfile(
    profile(entries, { cwd: "file:///w", workspaceRoots: ["file:///other"] }),
    { cwd: "/w", env: {} },
    fs,
  ));
  assert.equal(accessAt(other, "/other/a"), "write");
  assert.equal(accessAt(other, "/w/a"), "read");
});

Deno.test("precedence: the deeper rule wins; at one path deny > write > read; no rule: invisible", () => {
  const fs = new FakeFs({ "/w/ro/rw": null, "/x/y": null });
  const policy = bwrapPolicy(compileProfile(
    profile([
      { path: sp("root"), access: "read" },
      { path: path("/w"), access: "write" },
      { path: path("/w/ro"), access: "read" },
      { path: path("/w/ro/rw"), access: "write" },
      { path: path("/x"), access: "deny" },
      { path: path("/x/y"), access: "write" },
      { path: path("/d"), access: "write" },
      { path: path("/d"), access: "read" },
      { path: path("/e"), access: "write" },
      { path: path("/e"), access: "none" },
    ]),
    { cwd: "/", env: {} },
    fs,
  ));
  const expect: [string, string][] = [
    ["/w/a", "write"],
    ["/w/ro/a", "read"],
    ["/w/ro/rw/a", "write"],
    ["/x/f", "deny"],
    ["/x/y/a", "write"],
    ["/d/a", "write"],
    ["/e/a", "deny"],
    ["/etc", "read"],
  ];
  for (const [p, access] of expect) assert.equal(accessAt(policy, p), access, p);
  const minimal = bwrapPolicy(compileProfile(
    profile([{ path: sp("minimal"), access: "read" }, { path: path("/w"), access: "write" }]),
    { cwd: "/w", env: {} },
    new FakeFs({ "/usr/bin/sh": "", "/etc/passwd": "", "/lib": null, "/w": null, "/home/u": null }),
  ));
  assert.equal(accessAt(minimal, "/usr/bin/sh"), "read");
  assert.equal(accessAt(minimal, "/home/u"), "none");
  assert.equal(accessAt(minimal, "/w/x"), "write");
  assert.ok(!minimal.rules.some((r) => r.path === "/lib64"), "missing system dirs are left out");
});

Deno.test("symlinks: rules sit at canonical paths; a .git file's gitdir is protected too", () => {
  const fs = new FakeFs({
    "/real/w": null,
    "/link": "->/real",
    "/real/w/.git": "gitdir: /real/repo/.git/worktrees/w",
    "/real/repo/.git/worktrees/w": null,
  });
  const policy = bwrapPolicy(compileProfile(
    profile([
      { path: sp("root"), access: "read" },
      { path: path("/link/w"), access: "write" },
      { path: path("/real/repo"), access: "write" },
    ]),
    { cwd: "/", env: {} },
    fs,
  ));
  const w = policy.rules.find((r) => r.path === "/real/w")!;
  assert.equal(w.alias, "/link/w");
  assert.equal(accessAt(policy, "/real/w/x"), "write");
  assert.equal(accessAt(policy, "/real/repo/src"), "write");
  assert.equal(accessAt(policy, "/real/repo/.git/worktrees/w/HEAD"), "read");
});

Deno.test("the non-bwrap profiles, the unknown and the unenforceable", () => {
  const fs = new FakeFs({ "/w": null });
  const input = { cwd: "/w", env: {} };
  const parse = (v: unknown) => FileSystemSandboxContextSchema.parse(v);
  const disabled = compileProfile(
    parse({ permissions: { type: "disabled" }, windowsSandboxLevel: "disabled" }),
    input,
    fs,
  );
  assert.equal(disabled.kind, "none");
  const open = compileProfile(
    parse({
      permissions: { type: "external", network: "enabled" },
      windowsSandboxLevel: "disabled",
    }),
    input,
    fs,
  );
  assert.equal(open.kind, "none");
  const netOnly = bwrapPolicy(compileProfile(
    parse({
      permissions: {
        type: "managed",
        file_system: { type: "unrestricted" },
        network: "restricted",
      },
      windowsSandboxLevel: "disabled",
    }),
    input,
    fs,
  ));
  assert.deepEqual(netOnly.rules.map((r) => [r.path, r.access, r.protectNames]), [[
    "/",
    "write",
    false,
  ]]);
  // An unknown special path grants nothing; as a deny it cannot be enforced.
  const unknownRead = bwrapPolicy(compileProfile(
    profile([{ path: sp("root"), access: "read" }, {
      path: { type: "special", value: { kind: "unknown", path: ":x" } },
      access: "write",
    }]),
    input,
    fs,
  ));
  assert.equal(unknownRead.rules.length, 1);
  const refused: [string, FileSystemSandboxContext, string, RegExp][] = [
    [
      "unknown deny",
      profile([{
        path: { type: "special", value: { kind: "unknown", path: ":secrets" } },
        access: "deny",
      }]),
      "sandboxPreparation",
      /deny entry on the special path ":secrets"/,
    ],
    [
      "bad glob",
      profile([{ path: { type: "glob_pattern", pattern: "/w/[" }, access: "deny" }]),
      "sandboxPreparation",
      /deny glob "\/w\/\[".*unclosed/,
    ],
    [
      "legacy landlock",
      profile([{ path: sp("root"), access: "read" }], { useLegacyLandlock: true }),
      "sandboxUnavailable",
      /Landlock is not supported/,
    ],
  ];
  for (const [what, ctx, kind, message] of refused) {
    assert.throws(() => compileProfile(ctx, input, fs), (err: unknown) => {
      assert.ok(err instanceof SandboxError, what);
      assert.equal(err.kind, kind, what);
      assert.match(err.message, message, what);
      return true;
    });
  }
});

Deno.test("deny globs: relative to each workspace root, checked on any path under them", () => {
  const fs = new FakeFs({ "/w/a.env": "", "/w/deep/b.env": "", "/w/c.txt": "" });
  const policy = bwrapPolicy(compileProfile(
    fixture("permissions-custom-restricted.json", { "/tmp/sbx/w_custom": "/w" }),
    { cwd: "/w", env: {} },
    fs,
  ));
  assert.equal(accessAt(policy, "/w/a.env"), "deny");
  assert.equal(accessAt(policy, "/w/deep/b.env"), "deny");
  assert.equal(accessAt(policy, "/w/new.env"), "deny", "also files created later (for fs/*)");
  assert.equal(accessAt(policy, "/w/c.txt"), "write");
  assert.equal(accessAt(policy, "/w/private/x"), "deny");
  assert.equal(accessAt(policy, "/etc/ssl/certs"), "read");
  assert.ok(new GlobMatcher("/w/{a,b}[0-9]?.key").test("/w/b7x.key"));
  assert.ok(!new GlobMatcher("/w/*.env").test("/w/sub/a.env"));
});

Deno.test("an operator's profile caps a client's: the lesser access wins everywhere", () => {
  const fs = new FakeFs({ "/srv/w": null, "/home/u": null, "/tmp": null });
  const input = { cwd: "/srv/w", env: {} };
  const server = bwrapPolicy(compileProfile(
    FileSystemSandboxContextSchema.parse(
      sandboxProfile({ mode: "workspace-write", writable: ["/srv"] }),
    ),
    input,
    fs,
  ));
  const client = bwrapPolicy(compileProfile(
    profile(
      [
        { path: sp("root"), access: "write" },
        { path: path("/home/u/secret"), access: "deny" },
      ],
      {},
      "enabled",
    ),
    input,
    fs,
  ));
  const both = intersect(server, client, fs);
  assert.equal(accessAt(both, "/srv/w/x"), "write");
  assert.equal(accessAt(both, "/srv/.git/x"), "read");
  assert.equal(accessAt(both, "/etc/passwd"), "read", "the client's root write is capped");
  assert.equal(accessAt(both, "/home/u/secret/k"), "deny", "the client's deny stays");
  assert.equal(both.network, "restricted", "the operator's network cut stays");
  const readOnly = bwrapPolicy(compileProfile(
    FileSystemSandboxContextSchema.parse(sandboxProfile({ mode: "read-only" })),
    input,
    fs,
  ));
  const capped = intersect(readOnly, server, fs);
  assert.ok(!capped.rules.some((r) => r.access === "write"), JSON.stringify(capped.rules));
  // What one side does not show at all stays hidden.
  const minimal = bwrapPolicy(compileProfile(
    profile([{ path: sp("minimal"), access: "read" }, { path: path("/srv/w"), access: "write" }]),
    input,
    new FakeFs({ "/usr": null, "/srv/w": null }),
  ));
  const hidden = intersect(minimal, server, fs);
  assert.equal(accessAt(hidden, "/home/u"), "none");
  assert.equal(accessAt(hidden, "/srv/w/a"), "write");
});

const HOST = { bwrap: "/usr/bin/bwrap", emptyFile: "/run/x/empty", seccompFile: "/run/x/f.bpf" };

Deno.test("planBwrap: mounts broad to specific, masks and placeholders, namespaces, seccomp on fd 3", () => {
  const fs = new FakeFs({
    "/w/.git/config": "",
    "/w/ro": null,
    "/w/secret.txt": "",
    "/x/f": "",
    "/tmp": null,
    "/usr/bin/true": "",
  });
  const policy = bwrapPolicy(compileProfile(
    profile([
      { path: sp("root"), access: "read" },
      { path: sp("project_roots"), access: "write" },
      { path: path("/w/ro"), access: "read" },
      { path: path("/w/ro2"), access: "read" },
      { path: path("/w/secret.txt"), access: "deny" },
      { path: path("/w/private"), access: "deny" },
      { path: path("/x"), access: "deny" },
      { path: path("/nope"), access: "read" },
    ], { workspaceRoots: ["file:///w"] }),
    { cwd: "/w", env: {} },
    fs,
  ));
  const plan = planBwrap(
    policy,
    { argv: ["true"], cwd: "/w", env: { PWD: "/w" }, tty: false },
    HOST,
    fs,
  );
  const line = plan.argv.join(" ");
  assert.deepEqual(plan.argv.slice(0, 5), [
    "/bin/sh",
    "-c",
    'exec "$@" 3<"$0"',
    "/run/x/f.bpf",
    "/usr/bin/bwrap",
  ]);
  const order = [
    "--ro-bind / /",
    "--bind /w /w",
    "--ro-bind /w/.git /w/.git",
    "--ro-bind /w/ro /w/ro",
  ];
  let at = -1;
  for (const piece of order) {
    const i = line.indexOf(piece);
    assert.ok(i > at, `${piece} after the previous mount in: ${line}`);
    at = i;
  }
  assert.ok(
    line.includes("--ro-bind /run/x/empty /w/secret.txt"),
    "a denied file: the empty 000 file",
  );
  assert.ok(line.includes("--perms 000 --tmpfs /x"), "a denied directory: a 000 tmpfs");
  assert.ok(line.includes("--remount-ro /x"));
  assert.ok(!line.includes("/nope"), "a missing path outside writable roots is skipped");
  // Missing paths inside a writable root are masked with placeholders.
  assert.deepEqual(
    plan.placeholders.map((p) => `${p.type} ${p.path}`).sort(),
    ["dir /w/.agents", "dir /w/.aws", "dir /w/.codex", "file /w/private", "file /w/ro2"],
  );
  assert.ok(line.includes("--ro-bind /w/.codex /w/.codex"));
  assert.ok(line.includes("--ro-bind /run/x/empty /w/private"));
  for (
    const flag of [
      "--unshare-user",
      "--unshare-pid",
      "--unshare-ipc",
      "--unshare-net",
      "--new-session",
      "--die-with-parent",
      "--seccomp 3",
      "--chdir /w",
      "--setenv PWD /w",
    ]
  ) {
    assert.ok(line.includes(flag), flag);
  }
  assert.ok(line.includes("--cap-drop ALL"));
  assert.ok(!line.includes("--as-pid-1"), "bwrap's own init is pid 1, the command gets signals");
  assert.deepEqual(plan.argv.slice(-2), ["--", "true"]);

  const tty = planBwrap({ ...policy, network: "enabled" }, {
    argv: ["sh"],
    cwd: "/w",
    env: {},
    tty: true,
  }, {
    ...HOST,
    seccompFile: null,
  }, fs);
  assert.equal(tty.argv[0], "/usr/bin/bwrap");
  const asRoot = planBwrap(policy, { argv: ["true"], cwd: "/w", env: {}, tty: false }, {
    ...HOST,
    root: true,
  }, fs).argv.join(" ");
  assert.ok(asRoot.includes("--remount-ro /proc"), "real root inside: /proc/sys stays read-only");
  assert.ok(!line.includes("--remount-ro /proc"));
  assert.ok(!tty.argv.includes("--new-session"), "a terminal keeps its controlling tty");
  assert.ok(!tty.argv.includes("--unshare-net"));
  assert.ok(tty.argv.join(" ").includes("--unsetenv PWD"));
});

Deno.test("planBwrap: a tmpfs root for minimal, with symlinked system dirs and no /tmp", () => {
  const fs = new FakeFs({ "/usr/bin": null, "/bin": "->usr/bin", "/etc": null, "/w": null });
  const policy = bwrapPolicy(compileProfile(
    profile([{ path: sp("minimal"), access: "read" }, { path: path("/w"), access: "write" }]),
    { cwd: "/w", env: {} },
    fs,
  ));
  const line = planBwrap(policy, { argv: ["sh"], cwd: "/w", env: {}, tty: false }, HOST, fs).argv
    .join(" ");
  assert.ok(line.includes("--tmpfs / --dev /dev --proc /proc --ro-bind"), line);
  assert.ok(!line.includes("/tmp"), "as in codex: no /tmp unless a rule names it");
  assert.ok(line.includes("--ro-bind /usr/bin /usr/bin") || line.includes("--ro-bind /usr /usr"));
  assert.ok(line.includes("--symlink /usr/bin /bin"), line);
});

Deno.test("planBwrap: deny globs mask what matches at launch", () => {
  const fs = new FakeFs({ "/w/a.env": "", "/w/sub/b.env": "", "/w/envs.env": null, "/w/c": "" });
  const policy = bwrapPolicy(compileProfile(
    profile([
      { path: sp("root"), access: "read" },
      { path: sp("project_roots"), access: "write" },
      { path: { type: "glob_pattern", pattern: "codex-project-roots://**/*.env" }, access: "deny" },
    ], { workspaceRoots: ["file:///w"] }),
    { cwd: "/w", env: {} },
    fs,
  ));
  const line = planBwrap(policy, { argv: ["sh"], cwd: "/w", env: {}, tty: false }, HOST, fs).argv
    .join(" ");
  assert.ok(line.includes("--ro-bind /run/x/empty /w/a.env"), line);
  assert.ok(line.includes("--ro-bind /run/x/empty /w/sub/b.env"), line);
  assert.ok(line.includes("--perms 000 --tmpfs /w/envs.env"), line);
  assert.ok(!line.includes("/w/c "), line);
});

Deno.test("seccomp: valid classic BPF for x86_64 and aarch64, every jump in range", () => {
  for (const arch of ["x86_64", "aarch64"] as const) {
    for (const mode of ["restricted", "enabled"] as const) {
      const program = seccompProgram(arch, mode);
      const view = new DataView(program.buffer);
      const n = program.byteLength / 8;
      for (let i = 0; i < n; i++) {
        const code = view.getUint16(i * 8, true);
        const jt = view.getUint8(i * 8 + 2);
        const jf = view.getUint8(i * 8 + 3);
        if ((code & 0x07) === 0x05) { // BPF_JMP
          assert.ok(i + 1 + jt < n && i + 1 + jf < n, `${arch}/${mode} insn ${i} jumps out`);
        }
      }
      // Last two: allow, EPERM.
      assert.equal(view.getUint32((n - 2) * 8 + 4, true), 0x7fff0000);
      assert.equal(view.getUint32((n - 1) * 8 + 4, true), 0x00050001);
    }
  }
  const ks = (mode: "restricted" | "enabled") => {
    const view = new DataView(seccompProgram("x86_64", mode).buffer);
    const out: number[] = [];
    for (let i = 0; i < view.byteLength / 8; i++) out.push(view.getUint32(i * 8 + 4, true));
    return out;
  };
  assert.ok(
    ks("restricted").includes(0xc000003e) && ks("restricted").includes(41),
    "x86_64, socket",
  );
  assert.ok(!ks("restricted").includes(40), "restricted: every socket() is refused");
  assert.ok(ks("enabled").includes(40), "enabled: AF_VSOCK is compared");
});

Deno.test("sandboxDenied: codex 0.171's rule, keywords across chunk boundaries", () => {
  const enc = new TextEncoder();
  const verdict = (chunks: [string, string][], code: number) => {
    const s = new DenialScanner();
    for (const [stream, text] of chunks) s.feed(stream, enc.encode(text));
    return s.verdict(code);
  };
  assert.equal(verdict([["stderr", "touch: x: Read-only file system\n"]], 1), true);
  assert.equal(verdict([["stderr", "touch: x: Read-only file system\n"]], 0), false);
  assert.equal(verdict([["stderr", "nope\n"]], 1), false);
  assert.equal(
    verdict([["stderr", "Permission denied\n"]], 2),
    true,
    "the keyword check comes first",
  );
  assert.equal(verdict([["stderr", "usage\n"]], 2), false);
  assert.equal(verdict([], 126), false);
  assert.equal(verdict([], 127), false);
  assert.equal(verdict([], 159), true, "128 + SIGSYS");
  assert.equal(verdict([["stdout", "SANDBOX\n"]], 3), true, "stdout counts, case-insensitively");
  assert.equal(verdict([["pty", "Operation not "], ["pty", "permitted"]], 1), true);
  assert.equal(verdict([["stdout", "Operation not "], ["stderr", "permitted"]], 1), false);
  assert.equal(verdict([["stderr", "x".repeat(100_000) + "landlock"]], 5), true);
  // Any split of one stream's output gives the verdict of the whole (keywords
  // at the start, end and across seams of short and long chunks).
  const text = "x".repeat(40) + "a seccomp b " + "y".repeat(30) + "Failed To Write File";
  for (const size of [1, 2, 5, 21, 22, 23, 50, 1000]) {
    for (const keyword of ["seccomp", "failed to write file"]) {
      const at = text.toLowerCase().indexOf(keyword);
      for (const cut of [at, at + 1, at + keyword.length - 1]) {
        const shown = text.slice(0, cut + 1); // a prefix ending inside the keyword, or with it
        const chunks: [string, string][] = [];
        for (let i = 0; i < text.length; i += size) chunks.push(["pty", text.slice(i, i + size)]);
        assert.equal(verdict(chunks, 1), true, `${size} ${keyword}`);
        const partial: [string, string][] = [];
        for (let i = 0; i < shown.length; i += size) {
          partial.push(["pty", shown.slice(i, i + size)]);
        }
        const whole = keywordsIn(shown);
        assert.equal(verdict(partial, 1), whole, `${size} ${keyword} cut at ${cut}`);
      }
    }
  }
});

function keywordsIn(text: string): boolean {
  return DENIAL_KEYWORDS.some((k) => text.toLowerCase().includes(k));
}

Deno.test("FsPolicy: codex's codes for fs/* under a profile", () => {
  const fs = new FakeFs({ "/w/.git": null, "/s": null });
  const policy = bwrapPolicy(compileProfile(
    profile([
      { path: sp("root"), access: "read" },
      { path: sp("project_roots"), access: "write" },
      { path: path("/s"), access: "deny" },
    ], { workspaceRoots: ["file:///w"] }),
    { cwd: "/w", env: {} },
    fs,
  ));
  const check = new FsPolicy(policy);
  check.check("/w/a", "write");
  check.check("/etc/passwd", "read");
  const codeOf = (p: string, a: "read" | "write") => {
    try {
      check.check(p, a);
      return 0;
    } catch (err) {
      assert.ok(err instanceof RpcError);
      return err.code;
    }
  };
  assert.equal(codeOf("/usr/local/x", "write"), -32603);
  assert.equal(codeOf("/w/.git/config", "write"), -32603);
  assert.equal(codeOf("/s/k", "read"), -32600);
  assert.equal(codeOf("/s/k", "write"), -32600);
  assert.throws(
    () => check.check("/usr/x", "write"),
    /Read-only file system \(os error 30\): \/usr\/x/,
  );
  const partial = new FsPolicy({
    rules: [{ path: "/w", access: "write", protected: false, protectNames: true, origin: "x" }],
    globs: [],
    network: "enabled",
  });
  assert.equal(
    (() => {
      try {
        partial.check("/etc/passwd", "read");
      } catch (err) {
        return (err as RpcError).code;
      }
    })(),
    -32004,
  );
});
