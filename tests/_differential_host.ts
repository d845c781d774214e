// Copyright 2026 the exec-server authors. MIT license.
/**
 * What the differential suite's two servers share: a directory holding a
 * `CODEX_HOME` (with a `config.toml`, a trusted project and skills) and a
 * `HOME` (with `.agents/skills`), the environment of the servers that play the
 * cases marked `sharedHome`, and a loopback HTTP server for `http/request`. The cases reach them as `$SHARED`,
 * `$SHARED_URI` and `$HTTP`.
 *
 * @module
 */

/** The user config: MCP servers, a model, a trusted project. */
function userConfig(shared: string): string {
  return [
    "# a comment that is not returned",
    'model = "gpt-x"',
    "",
    "[mcp_servers.echo]",
    'command = "echo"',
    'args = ["hi"]',
    "",
    "[mcp_servers.remote]",
    'url = "http://127.0.0.1:9/mcp"',
    "",
    `[projects.${JSON.stringify(`${shared}/project`)}]`,
    'trust_level = "trusted"',
    "",
  ].join("\n");
}

/** A SKILL.md with front matter. */
function skill(name: string, description: string, short?: string): string {
  const meta = short ? `metadata:\n  short-description: ${short}\n` : "";
  return `---\nname: ${name}\ndescription: ${description}\n${meta}---\n\nBody of ${name}.\n`;
}

/** The files of the shared directory. */
function files(shared: string): Record<string, string> {
  return {
    "codex-home/config.toml": userConfig(shared),
    "codex-home/skills/chskill/SKILL.md": skill("chskill", "from codex home"),
    "codex-home/skills/nested/deeper/deep/SKILL.md": skill("deep", "nested", "short d"),
    "home/.agents/skills/homeskill/SKILL.md": skill("homeskill", "from home agents"),
    "project/.codex/config.toml": '[mcp_servers.projsrv]\ncommand = "proj"\n',
    "project/.agents/skills/projskill/SKILL.md": skill("projskill", "from the project"),
    "untrusted/.codex/config.toml": '[mcp_servers.nope]\ncommand = "nope"\n',
  };
}

/** Answers the HTTP cases' requests; see the routes below. */
async function route(req: Request): Promise<Response> {
  const url = new URL(req.url);
  const path = url.pathname;
  if (path === "/echo") {
    const headers = [...req.headers].filter(([name]) => name !== "host");
    const body = await req.text();
    return Response.json({ method: req.method, query: url.search, headers, body });
  }
  if (path.startsWith("/status/")) {
    const status = Number(path.slice("/status/".length));
    return new Response(status === 204 ? null : `status ${status}`, { status });
  }
  if (path === "/headers") {
    const headers = new Headers([["x-a", "1"], ["x-a", "2"], ["content-type", "text/plain"]]);
    headers.append("set-cookie", "a=1");
    headers.append("set-cookie", "b=2");
    return new Response("h", { headers });
  }
  if (path === "/redirect") {
    const n = Number(url.searchParams.get("n") ?? "0");
    const code = Number(url.searchParams.get("code") ?? "302");
    if (n <= 0) {
      // The method in a header too: a HEAD's body is not sent.
      return new Response(`landed with ${req.method}: ${await req.text()}`, {
        headers: { "x-method": req.method },
      });
    }
    return new Response("redirecting", {
      status: code,
      headers: { location: `/redirect?n=${n - 1}&code=${code}` },
    });
  }
  if (path === "/loop") return new Response(null, { status: 302, headers: { location: "/loop" } });
  if (path === "/to-file") {
    return new Response(null, { status: 302, headers: { location: "file:///etc/passwd" } });
  }
  if (path === "/stream") {
    const n = Number(url.searchParams.get("n") ?? "3");
    const parts = Array.from({ length: n }, (_, i) => new TextEncoder().encode(`chunk${i};`));
    return new Response(ReadableStream.from(parts), { headers: { "content-type": "text/plain" } });
  }
  if (path === "/abort") {
    // Promises 1000 bytes and sends 7: the body fails.
    return new Response(
      new ReadableStream({
        start(controller) {
          controller.enqueue(new TextEncoder().encode("partial"));
          controller.error(new Error("cut short"));
        },
      }),
      { headers: { "content-length": "1000" } },
    );
  }
  return new Response("not found", { status: 404 });
}

/** The shared directory and HTTP server; `await using` it. */
export class SharedHost implements AsyncDisposable {
  /** The shared directory. */
  readonly dir: string;
  readonly #http: Deno.HttpServer<Deno.NetAddr>;

  private constructor(dir: string, http: Deno.HttpServer<Deno.NetAddr>) {
    this.dir = dir;
    this.#http = http;
  }

  /** Creates the directory and starts the HTTP server. */
  static async start(): Promise<SharedHost> {
    const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "diff-shared-" }));
    for (const [name, text] of Object.entries(files(dir))) {
      await Deno.mkdir(`${dir}/${name.slice(0, name.lastIndexOf("/"))}`, { recursive: true });
      await Deno.writeTextFile(`${dir}/${name}`, text);
    }
    const http = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, route);
    return new SharedHost(dir, http);
  }

  /** The environment of the servers that play `sharedHome` cases. */
  get env(): Record<string, string> {
    return { CODEX_HOME: `${this.dir}/codex-home`, HOME: `${this.dir}/home` };
  }

  /** The variables the cases use. */
  get vars(): Record<string, string> {
    return {
      SHARED: this.dir,
      SHARED_URI: `file://${encodeURI(this.dir)}`,
      HTTP: `http://127.0.0.1:${this.#http.addr.port}`,
    };
  }

  /** Stops the HTTP server and removes the directory. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.#http.shutdown();
    await Deno.remove(this.dir, { recursive: true });
  }
}
