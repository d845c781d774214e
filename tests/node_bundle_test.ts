// Copyright 2026 the exec-server authors. MIT license.
// The npm bundle under Node: build dist/npm, install it like a user would
// (npm pack + npm install, which fetches ws and zod from the npm registry),
// type-check a TypeScript consumer against its declarations, then run an ESM
// script under node against the real server, including a resume after the
// test cuts the connection.
import assert from "node:assert/strict";
import { buildNpm } from "../scripts/build_npm.ts";
import { CuttableProxy, ServerProcess } from "./_harness.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const hasNode = await new Deno.Command("node", { args: ["--version"], stdout: "null" })
  .output().then((o) => o.success, () => false);

async function run(cmd: string, args: string[], cwd: string): Promise<string> {
  const out = await new Deno.Command(cmd, { args, cwd, stdout: "piped", stderr: "piped" }).output();
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success) {
    throw new Error(
      `${cmd} ${args.join(" ")} failed: ${text}${new TextDecoder().decode(out.stderr)}`,
    );
  }
  return text;
}

const CONSUMER_TS = `
import { ExecServerClient, type ProcessEvent, ConnectionClosedError } from "@exec-server/client";
const client = await ExecServerClient.connect({ url: "ws://127.0.0.1:1", token: "t" });
const meta = await client.call("fs/getMetadata", { path: "/" });
const isDir: boolean = meta.isDirectory;
const proc = await client.start({ argv: ["true"], pipeStdin: true });
for await (const ev of proc.events()) {
  const e: ProcessEvent = ev;
  if (e.type === "output") console.log(e.data.byteLength, isDir);
}
const err: unknown = null;
if (err instanceof ConnectionClosedError) console.log(err.message);
`;

// Prints one JSON line per milestone; waits for "cut" on stdin where the test cuts.
const SCRIPT_MJS = `
import { createInterface } from "node:readline";
import { ExecServerClient, ExecServerError } from "@exec-server/client";
const [url, proxyUrl, token] = process.argv.slice(2);
const say = (o) => console.log(JSON.stringify(o));
const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const dec = new TextDecoder();

const client = await ExecServerClient.connect({ url, token });
const out = await client.exec(["sh", "-c", "echo hello from node; exit 3"]);
say({ step: "exec", stdout: dec.decode(out.stdout), exitCode: out.exitCode, binary: client.binaryOutput });
const err = await client.fs.readFile("/no/such/file").catch((e) => e);
say({ step: "error", server: err instanceof ExecServerError, code: err.code });
const data = new Uint8Array(200000).map((_, i) => i % 251);
await client.fs.upload(data, "/tmp/exec-server-node-" + process.pid, { chunkBytes: 65536 });
const back = await client.fs.download("/tmp/exec-server-node-" + process.pid, { chunkBytes: 50000 });
await client.fs.remove("/tmp/exec-server-node-" + process.pid);
say({ step: "files", same: back.length === data.length && back.every((b, i) => b === data[i]) });
await client.close();

let resumes = 0;
const resumable = await ExecServerClient.connect({
  url: proxyUrl,
  token,
  onStateChange: (s) => { if (s === "resuming") resumes++; },
});
const job = "i=1; while [ $i -le 200 ]; do echo line $i; sleep 0.005; i=$((i + 1)); done";
const proc = await resumable.start({ argv: ["sh", "-c", job] });
let text = "";
const seqs = [];
let asked = false;
for await (const ev of proc.events()) {
  if ("seq" in ev) seqs.push(ev.seq);
  if (ev.type === "output") text += dec.decode(ev.data);
  if (!asked && text.split("\\n").length > 50) {
    asked = true;
    say({ step: "cut" });
    await lines.next();
  }
}
const expected = Array.from({ length: 200 }, (_, i) => "line " + (i + 1) + "\\n").join("");
say({
  step: "resume",
  exact: text === expected,
  ordered: seqs.every((s, i) => s === i + 1),
  state: resumable.state,
  resumes,
});
await resumable.close();
process.exit(0);
`;

Deno.test({
  name: "npm bundle runs under Node against the real server",
  ignore: !hasNode,
  async fn(t) {
    const work = await Deno.makeTempDir({ prefix: "exec-server-node-" });
    try {
      await t.step("build, pack and install like a user", async () => {
        const dist = await buildNpm(`${work}/package`);
        const tgz = (await run("npm", ["pack", "--silent", "--pack-destination", work], dist))
          .trim();
        await Deno.writeTextFile(`${work}/package.json`, '{"type":"module","private":true}\n');
        await run(
          "npm",
          ["install", "--silent", "--no-fund", "--no-audit", `${work}/${tgz}`],
          work,
        );
      });

      await t.step("the declarations type-check a strict TypeScript consumer", async () => {
        await Deno.writeTextFile(`${work}/consumer.mts`, CONSUMER_TS);
        await run(`${ROOT}.tools/tsc/node_modules/.bin/tsc`, [
          "--noEmit",
          "--strict",
          "--module",
          "nodenext",
          "--target",
          "es2022",
          "--lib",
          "es2023,dom,esnext.disposable",
          "consumer.mts",
        ], work);
      });

      await t.step("an ESM script under node: calls, files, and a resume", async () => {
        const dir = await Deno.makeTempDir();
        const token = crypto.randomUUID();
        await Deno.writeTextFile(`${dir}/token`, token);
        await using server = await ServerProcess.start(["--token-file", `${dir}/token`]);
        await using proxy = new CuttableProxy(server.url);
        await Deno.writeTextFile(`${work}/script.mjs`, SCRIPT_MJS);
        const child = new Deno.Command("node", {
          args: ["script.mjs", server.url, proxy.url, token],
          cwd: work,
          stdin: "piped",
          stdout: "piped",
          stderr: "piped",
        }).spawn();
        const stderr = new Response(child.stderr).text();
        const writer = child.stdin.getWriter();
        const steps: Record<string, Record<string, unknown>> = {};
        const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
        let buffered = "";
        const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
        for (;;) {
          const { value, done } = await lines.read();
          if (done) break;
          buffered += value;
          let nl;
          while ((nl = buffered.indexOf("\n")) >= 0) {
            const msg = JSON.parse(buffered.slice(0, nl));
            buffered = buffered.slice(nl + 1);
            steps[msg.step] = msg;
            if (msg.step === "cut") {
              await proxy.cut();
              await writer.write(new TextEncoder().encode("cut\n"));
            }
          }
        }
        clearTimeout(timer);
        await writer.close();
        const status = await child.status;
        const errText = await stderr;
        await Deno.remove(dir, { recursive: true });
        assert.equal(status.code, 0, errText);
        assert.deepEqual(steps.exec, {
          step: "exec",
          stdout: "hello from node\n",
          exitCode: 3,
          binary: true,
        });
        assert.deepEqual(steps.error, { step: "error", server: true, code: -32004 });
        assert.deepEqual(steps.files, { step: "files", same: true });
        assert.deepEqual(steps.resume, {
          step: "resume",
          exact: true,
          ordered: true,
          state: "connected",
          resumes: 1,
        });
      });
    } finally {
      await Deno.remove(work, { recursive: true });
    }
  },
});
