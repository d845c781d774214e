// Copyright 2026 the exec-server authors. MIT license.
// The real MCP SDK Client and the real server-everything, run through an
// in-process exec-server with ExecutorStdioTransport. The CLI's mcp-bridge,
// which needs the server as a subprocess, is in mcp_e2e_test.ts.
import assert from "node:assert/strict";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";
import { ExecutorStdioTransport } from "../lib/mcp/transport.ts";
import { waitUntil } from "./_harness.ts";
import { everythingServer } from "./_mcp.ts";
import { memoryServer } from "./_memory.ts";

function textOf(result: unknown): string {
  const content = (result as { content: { type: string; text?: string }[] }).content;
  return content.filter((c) => c.type === "text").map((c) => c.text).join("");
}

Deno.test("MCP over exec-server: tools, resources, and a dropped link in the middle", async () => {
  const everything = await everythingServer();
  await using server = await memoryServer();
  await using exec = await server.connect();
  const stderr: string[] = [];
  const errors: Error[] = [];
  const transport = new ExecutorStdioTransport(exec, {
    command: "node",
    args: [everything, "stdio"],
    cwd: "/tmp",
  }, { onStderr: (t) => stderr.push(t) });
  const mcp = new Client({ name: "exec-server-test", version: "1.0.0" });
  mcp.onerror = (e: Error) => errors.push(e);
  await mcp.connect(transport);
  const tools = await mcp.listTools();
  const names = tools.tools.map((t: { name: string }) => t.name);
  assert.ok(names.includes("echo") && names.includes("get-sum"), names.join(","));
  assert.equal(
    textOf(await mcp.callTool({ name: "echo", arguments: { message: "hi" } })),
    "Echo: hi",
  );
  assert.match(textOf(await mcp.callTool({ name: "get-sum", arguments: { a: 2, b: 3 } })), /\b5\b/);
  const resources = await mcp.listResources();
  assert.ok(resources.resources.length > 0);

  // Drop the link abruptly; the client resumes and the MCP session goes on.
  server.cut();
  for (let i = 0; i < 5; i++) {
    const r = await mcp.callTool({ name: "echo", arguments: { message: `after-${i}` } });
    assert.equal(textOf(r), `Echo: after-${i}`);
  }
  assert.deepEqual(errors, [], "no MCP message lost or repeated");
  assert.ok(stderr.join("").length > 0, "stderr reaches the callback");
  await mcp.close();
  assert.equal(transport.process?.finished, true, "closing the transport ends the process");
});

Deno.test("MCP envVars: local values are sent, remote ones come from the executor host", async () => {
  const everything = await everythingServer();
  await using server = await memoryServer({
    baseEnv: () => ({ MCP_REMOTE_VAR: "from-host", PATH: Deno.env.get("PATH") ?? "" }),
  });
  await using exec = await server.connect();
  const transport = new ExecutorStdioTransport(exec, {
    command: "node",
    args: [everything, "stdio"],
    cwd: "/tmp",
    envVars: ["MCP_LOCAL_VAR", { name: "MCP_REMOTE_VAR", source: "remote" }],
  }, { localEnv: { MCP_LOCAL_VAR: "from-client", MCP_REMOTE_VAR: "client-value-must-not-win" } });
  const mcp = new Client({ name: "t", version: "1.0.0" });
  await mcp.connect(transport);
  const env = JSON.parse(textOf(await mcp.callTool({ name: "get-env", arguments: {} })));
  assert.equal(env.MCP_LOCAL_VAR, "from-client");
  assert.equal(env.MCP_REMOTE_VAR, "from-host");
  await mcp.close();
});

Deno.test("ExecutorStdioTransport reports garbage lines and flushes a final partial line", async () => {
  await using server = await memoryServer();
  await using exec = await server.connect();
  const script = [
    "printf 'this is not json\\r\\n'",
    // JSON, but not JSON-RPC 2.0: a wrong version, a response without a result or error.
    'printf \'{"jsonrpc":"1.0","method":"m"}\\n{"jsonrpc":"2.0","id":1}\\n\'',
    'printf \'{"jsonrpc":"2.0","method":"notifications/first"}\\r\\n\'',
    'printf \'{"jsonrpc":"2.0","method":"notifications/last"}\'',
  ].join("; ");
  const transport = new ExecutorStdioTransport(exec, {
    command: "sh",
    args: ["-c", script],
    cwd: "/",
  });
  const messages: JSONRPCMessage[] = [];
  const errors: Error[] = [];
  let closed = false;
  transport.onmessage = (m) => {
    messages.push(m);
    // A consumer bug must reach onerror, not crash the host or stop the stream.
    if ((m as { method?: string }).method === "notifications/first") {
      throw new Error("consumer bug");
    }
  };
  transport.onerror = (e) => errors.push(e);
  transport.onclose = () => (closed = true);
  await transport.start();
  await waitUntil(() => closed, { timeoutMs: 10_000, message: "transport close" });
  assert.deepEqual(messages.map((m) => (m as { method: string }).method), [
    "notifications/first",
    "notifications/last",
  ]);
  assert.equal(errors.length, 4);
  assert.match(errors[0]!.message, /not a JSON-RPC message: this is not json$/);
  assert.match(errors[1]!.message, /not a JSON-RPC message: \{"jsonrpc":"1\.0"/);
  assert.match(errors[2]!.message, /not a JSON-RPC message: \{"jsonrpc":"2\.0","id":1\}$/);
  assert.equal(errors[3]!.message, "consumer bug");
  await transport.close();
});

Deno.test("ExecutorStdioTransport drops a line longer than maxLineBytes without holding it, and goes on", async () => {
  // Retention and client buffer big enough that no output is evicted before
  // the transport reads it (the line is the point, not a slow reader).
  await using server = await memoryServer({ retainedBytes: 128 * 1024 * 1024 });
  await using exec = await server.connect({ maxBufferedBytes: 128 * 1024 * 1024 });
  const run = async (script: string, options: { maxLineBytes?: number }) => {
    const transport = new ExecutorStdioTransport(exec, {
      command: "sh",
      args: ["-c", script],
      cwd: "/",
    }, options);
    const methods: string[] = [];
    const errors: Error[] = [];
    let closed = false;
    transport.onmessage = (m) => methods.push((m as { method: string }).method);
    transport.onerror = (e) => errors.push(e);
    transport.onclose = () => (closed = true);
    await transport.start();
    await waitUntil(() => closed, { timeoutMs: 30_000, message: "transport close" });
    await transport.close();
    return { methods, errors: errors.map((e) => e.message) };
  };
  const after = `printf '{"jsonrpc":"2.0","method":"after"}\\n'`;
  // 3 MiB without a newline against a 1 MiB limit; at the limit is fine.
  const small = await run(
    `head -c 3145728 /dev/zero | tr '\\0' x; echo; ${after}; ` +
      `printf '{"jsonrpc":"2.0","method":"%s"}\\n' "$(head -c 1048540 /dev/zero | tr '\\0' y)"`,
    { maxLineBytes: 1024 * 1024 },
  );
  assert.deepEqual(small.errors, [
    "MCP server wrote a line of 3145728 bytes, more than the 1048576 one message may take " +
    "(maxLineBytes): it was dropped",
  ]);
  assert.equal(small.methods.length, 2);
  assert.equal(small.methods[0], "after");
  assert.equal(small.methods[1]!.length, 1048540);
  // The default bound (64 MiB): an endless line no longer grows the client's memory without end.
  const big = await run(`head -c 70000000 /dev/zero | tr '\\0' x; echo; ${after}`, {});
  assert.deepEqual(big.errors, [
    "MCP server wrote a line of 70000000 bytes, more than the 67108864 one message may take " +
    "(maxLineBytes): it was dropped",
  ]);
  assert.deepEqual(big.methods, ["after"]);
});

Deno.test("ExecutorStdioTransport: a gap in the output drops the line it cut, instead of joining its ends into a wrong message", async () => {
  const enc = (s: string) => new TextEncoder().encode(s);
  const events = [
    {
      type: "output",
      stream: "stdout",
      seq: 1,
      data: enc('{"jsonrpc":"2.0","method":"before"}\n'),
    },
    { type: "output", stream: "stdout", seq: 2, data: enc('{"jsonrpc":"2.0","method":"dele') },
    { type: "gap", afterSeq: 2, throughSeq: 5, bytes: 4096 },
    {
      type: "output",
      stream: "stdout",
      seq: 6,
      data: enc('te"}\n{"jsonrpc":"2.0","method":"after"}\n'),
    },
    { type: "closed", seq: 7 },
  ];
  // A scripted client: the transport needs only start() and the handle's events.
  const handle = {
    finished: true,
    async *events() {
      yield* events;
    },
  };
  const client = { start: () => Promise.resolve(handle) };
  const transport = new ExecutorStdioTransport(client as never, { command: "x", cwd: "/" });
  const methods: string[] = [];
  const errors: string[] = [];
  let closed = false;
  transport.onmessage = (m) => methods.push((m as { method: string }).method);
  transport.onerror = (e) => errors.push(e.message);
  transport.onclose = () => (closed = true);
  await transport.start();
  await waitUntil(() => closed, { message: "transport close" });
  assert.deepEqual(methods, ["before", "after"], "no spliced 'delete'");
  assert.deepEqual(errors, [
    "MCP server output was lost: 4096 bytes after seq 2 were evicted",
    'MCP server wrote a line that is not a JSON-RPC message: te"}',
  ]);
});
