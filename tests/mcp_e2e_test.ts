// Copyright 2026 the exec-server authors. MIT license.
// mcp-bridge: the CLI bridging a local MCP host to a server-everything run
// through a real exec-server subprocess. The transport itself is tested in
// process, in mcp_test.ts.
import assert from "node:assert/strict";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { ServerProcess } from "./_harness.ts";
import { everythingServer } from "./_mcp.ts";

function textOf(result: unknown): string {
  const content = (result as { content: { type: string; text?: string }[] }).content;
  return content.filter((c) => c.type === "text").map((c) => c.text).join("");
}

Deno.test("mcp-bridge: a local stdio MCP server driven by the SDK's StdioClientTransport", async () => {
  const everything = await everythingServer();
  await using server = await ServerProcess.start();
  const main = new URL("../main.ts", import.meta.url).pathname;
  const transport = new StdioClientTransport({
    command: Deno.execPath(),
    args: [
      "run",
      "-A",
      main,
      "mcp-bridge",
      "--url",
      server.url,
      "--cwd",
      "/tmp",
      "--env",
      "BRIDGE_LITERAL=yes",
      "--",
      "node",
      everything,
      "stdio",
    ],
    stderr: "pipe",
  });
  const mcp = new Client({ name: "bridge-test", version: "1.0.0" });
  await mcp.connect(transport);
  const names = (await mcp.listTools()).tools.map((t: { name: string }) => t.name);
  assert.ok(names.includes("echo"));
  assert.equal(
    textOf(await mcp.callTool({ name: "echo", arguments: { message: "bridged" } })),
    "Echo: bridged",
  );
  const env = JSON.parse(textOf(await mcp.callTool({ name: "get-env", arguments: {} })));
  assert.equal(env.BRIDGE_LITERAL, "yes");
  // End the bridge the way an MCP host does (close its stdin) and check it
  // exits by itself. The SDK's own close() would race the exit against a 2 s
  // timer it never clears, which the op sanitizer reports, so detach the
  // child from the transport first.
  const inner = transport as unknown as {
    _process?:
      | { stdin: { end(): void }; once(event: "close", fn: (code: number) => void): void }
      | undefined;
  };
  const child = inner._process!;
  const exited = new Promise<number>((resolve) => child.once("close", resolve));
  child.stdin.end();
  assert.equal(await exited, 0, "the bridge exits 0 when its stdin closes");
  inner._process = undefined;
  await mcp.close();
});
