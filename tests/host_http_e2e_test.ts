// Copyright 2026 the exec-server authors. MIT license.
// http/request through the real server to loopback origins: what goes on the
// wire, bodies, redirects, timeouts, refusals, streamed bodies in order, a
// client that stops reading a huge stream, and a stream cut by a disconnect.
import assert from "node:assert/strict";
import { type Message, ServerProcess, TestClient, waitUntil } from "./_harness.ts";
import { HttpOrigin, RawOrigin } from "./_http_origin.ts";
import { makeTestPki } from "./_pki.ts";
import { RawSocket, rssKib } from "./_wire.ts";

const ENV = { PROBE_SECRET: "s3cret-value", PROBE_EMPTY: "" };

function b64(text: string): string {
  return new TextEncoder().encode(text).toBase64();
}

function text(b64text: string): string {
  return new TextDecoder().decode(Uint8Array.fromBase64(b64text));
}

/** `http/request` with GET and a request id by default; resolves with the whole reply. */
function http(c: TestClient, params: Record<string, unknown>): Promise<Message> {
  return c.call("http/request", { method: "GET", requestId: "r", ...params });
}

function echoOf(
  reply: Message,
): { method: string; url: string; headers: [string, string][]; bodyBase64: string } {
  assert.ok(reply.result, JSON.stringify(reply.error));
  return JSON.parse(text(reply.result.bodyBase64));
}

function deltasOf(c: TestClient, requestId: string): Message[] {
  return c.notifications.filter((m) =>
    m.method === "http/request/bodyDelta" && m.params.requestId === requestId
  );
}

async function streamed(c: TestClient, requestId: string): Promise<Message[]> {
  await c.waitUntil(() => deltasOf(c, requestId).some((m) => m.params.done) || undefined, 15_000);
  return deltasOf(c, requestId);
}

Deno.test("http/request: exactly the caller's headers, then codex's defaults, and the body", async () => {
  await using raw = new RawOrigin();
  await using server = await ServerProcess.start([], { env: ENV });
  await using c = await TestClient.connect(server.url);
  raw.reply = "HTTP/1.1 201 Created\r\nx-a: 1\r\nX-A: 2\r\nset-cookie: a=1\r\nset-cookie: b=2\r\n" +
    "x-bin: caf\xe9\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok";
  const r = await http(c, {
    method: "POST",
    url: `${raw.base}/raw?q=1#frag`,
    headers: [
      { name: "X-A", value: "1" },
      { name: "x-a", value: "2" },
      { name: "Authorization", value: "Bearer ", valueEnvVar: "PROBE_SECRET" },
      { name: "x-utf8", value: "é" },
    ],
    bodyBase64: b64("body!"),
  });
  assert.deepEqual(r.result, {
    status: 201,
    headers: [
      { name: "x-a", value: "1" },
      { name: "x-a", value: "2" },
      { name: "set-cookie", value: "a=1" },
      { name: "set-cookie", value: "b=2" },
      // x-bin is left out: its value is not visible ASCII (as codex).
      { name: "content-length", value: "2" },
      { name: "connection", value: "close" },
    ],
    bodyBase64: b64("ok"),
  });
  assert.equal(
    raw.requests[0],
    "POST /raw?q=1 HTTP/1.1\r\nx-a: 1\r\nx-a: 2\r\nauthorization: Bearer s3cret-value\r\n" +
      "x-utf8: \xc3\xa9\r\naccept: */*\r\naccept-encoding: zstd,gzip\r\n" +
      `host: ${new URL(raw.base).host}\r\ncontent-length: 5\r\n\r\nbody!`,
  );
  // No body: no content-length, no transfer-encoding, no user agent; Host may be set.
  await http(c, { url: `${raw.base}/b`, headers: [{ name: "Host", value: "override.example" }] });
  assert.equal(
    raw.requests[1],
    "GET /b HTTP/1.1\r\nhost: override.example\r\naccept: */*\r\naccept-encoding: zstd,gzip\r\n\r\n",
  );
  await http(c, { method: "BREW", url: `${raw.base}/c`, bodyBase64: "" });
  assert.match(raw.requests[2]!, /^BREW \/c HTTP\/1\.1\r\naccept: \*\/\*\r\n[^]*\r\n\r\n$/);
  assert.doesNotMatch(raw.requests[2]!, /content-length|transfer-encoding/i);
});

Deno.test("http/request: valueEnvVar needs a set, non-empty variable of the executor", async () => {
  await using origin = new HttpOrigin();
  await using server = await ServerProcess.start([], { env: ENV });
  await using c = await TestClient.connect(server.url);
  const header = (valueEnvVar: unknown) => ({
    url: `${origin.base}/echo`,
    headers: [{ name: "x-a", value: "v=", valueEnvVar }],
  });
  const seen = echoOf(await http(c, header("PROBE_SECRET"))).headers;
  assert.deepEqual(seen.find(([n]) => n === "x-a"), ["x-a", "v=s3cret-value"]);
  assert.deepEqual(echoOf(await http(c, header(null))).headers.find(([n]) => n === "x-a"), [
    "x-a",
    "v=",
  ]);
  assert.deepEqual((await http(c, header("NO_SUCH_VAR_XYZ"))).error, {
    code: -32602,
    message: "http/request header x-a requires executor environment variable NO_SUCH_VAR_XYZ",
  });
  assert.deepEqual((await http(c, header("PROBE_EMPTY"))).error, {
    code: -32602,
    message:
      "http/request header x-a requires a non-empty executor environment variable PROBE_EMPTY",
  });
});

Deno.test("http/request: bad params are -32602 with codex's messages", async () => {
  await using server = await ServerProcess.start();
  await using c = await TestClient.connect(server.url);
  const cases: [Record<string, unknown>, string | RegExp][] = [
    [{ url: "ftp://127.0.0.1/x" }, "http/request only supports http and https URLs, got ftp"],
    [{ url: "file:///etc/passwd" }, "http/request only supports http and https URLs, got file"],
    [{ url: "/relative" }, "http/request url is invalid: relative URL without a base"],
    [
      { method: "GE T", url: "http://127.0.0.1:9/" },
      "http/request method is invalid: invalid HTTP method",
    ],
    [
      { method: "", url: "http://127.0.0.1:9/" },
      "http/request method is invalid: invalid HTTP method",
    ],
    [
      { url: "http://127.0.0.1:9/", headers: [{ name: "bad name", value: "v" }] },
      "http/request header name is invalid: invalid HTTP header name",
    ],
    [
      { url: "http://127.0.0.1:9/", headers: [{ name: "x", value: "a\nb" }] },
      "http/request header value is invalid for x: failed to parse header value",
    ],
    [{ url: "http://127.0.0.1:9/", headers: [{ name: "x" }] }, /headers\.0\.value/],
    [{ url: "http://127.0.0.1:9/", headers: { x: "y" } }, /headers/],
    [{ url: "http://127.0.0.1:9/", bodyBase64: "!!" }, /bodyBase64 is not valid base64/],
    [{ url: "http://127.0.0.1:9/", redirectPolicy: "manual" }, /redirectPolicy/],
    [{ url: "http://127.0.0.1:9/", redirectPolicy: null }, /redirectPolicy/],
    [{ url: "http://127.0.0.1:9/", streamResponse: null }, /streamResponse/],
    [{ url: "http://127.0.0.1:9/", timeoutMs: -1 }, /timeoutMs/],
    [{ url: "http://127.0.0.1:9/", requestId: 5 }, /requestId/],
  ];
  for (const [params, message] of cases) {
    const r = await http(c, params);
    assert.equal(r.error?.code, -32602, JSON.stringify(params));
    if (typeof message === "string") assert.equal(r.error.message, message);
    else assert.match(r.error.message, message);
  }
  const missing = await c.call("http/request", { method: "GET", url: "http://127.0.0.1:9/" });
  assert.match(missing.error.message, /requestId/);
});

Deno.test("http/request: bodies are bytes; HEAD and 204 are empty; gzip is decoded", async () => {
  await using origin = new HttpOrigin();
  await using server = await ServerProcess.start();
  await using c = await TestClient.connect(server.url);
  const all = new Uint8Array(512).map((_, i) => i & 0xff);
  const bytes = await http(c, { url: `${origin.base}/bytes?n=512` });
  assert.deepEqual(Uint8Array.fromBase64(bytes.result.bodyBase64), all);
  const echoed = echoOf(
    await http(c, { method: "PUT", url: `${origin.base}/echo`, bodyBase64: all.toBase64() }),
  );
  assert.equal(echoed.bodyBase64, all.toBase64());
  assert.equal(echoed.method, "PUT");
  assert.equal(
    (await http(c, { method: "HEAD", url: `${origin.base}/echo` })).result.bodyBase64,
    "",
  );
  const empty = await http(c, { url: `${origin.base}/status?c=204` });
  assert.deepEqual([empty.result.status, empty.result.bodyBase64], [204, ""]);
  const notFound = await http(c, { url: `${origin.base}/status?c=404` });
  assert.deepEqual([notFound.result.status, text(notFound.result.bodyBase64)], [404, "s"]);
  const gz = await http(c, { url: `${origin.base}/gzip` });
  assert.equal(text(gz.result.bodyBase64), "decoded text ".repeat(100));
  const names = gz.result.headers.map((h: { name: string }) => h.name);
  assert.ok(!names.includes("content-encoding"), "a decoded body drops content-encoding");
});

Deno.test("http/request: redirects followed up to 10, or not; never to another scheme", async () => {
  await using origin = new HttpOrigin();
  await using other = new HttpOrigin();
  await using server = await ServerProcess.start([], { env: ENV });
  await using c = await TestClient.connect(server.url);
  const landed = echoOf(await http(c, { url: `${origin.base}/redirect?n=2` }));
  assert.equal(landed.method, "GET");
  assert.ok(landed.headers.some(([n, v]) => n === "referer" && v.includes("/redirect?n=0")));
  const stopped = await http(c, { url: `${origin.base}/redirect?n=2`, redirectPolicy: "stop" });
  assert.equal(stopped.result.status, 302);
  assert.ok(
    stopped.result.headers.some((h: { name: string; value: string }) =>
      h.name === "location" && h.value === "/redirect?n=1&code=302"
    ),
  );
  assert.equal((await http(c, { url: `${origin.base}/redirect?n=9` })).result.status, 200);
  assert.deepEqual((await http(c, { url: `${origin.base}/redirect?n=10` })).error, {
    code: -32603,
    message: "http/request failed: too many redirects",
  });
  const toFile = await http(c, {
    url: `${origin.base}/redirect?to=${encodeURIComponent("file:///etc/passwd")}`,
  });
  assert.deepEqual(toFile.error, {
    code: -32603,
    message: "http/request failed: redirect target uses unsupported URL scheme: file",
  });
  const post = { method: "POST", bodyBase64: b64("keep") };
  const as302 = echoOf(await http(c, { ...post, url: `${origin.base}/redirect?code=302` }));
  assert.deepEqual([as302.method, as302.bodyBase64], ["GET", ""]);
  const as307 = echoOf(await http(c, { ...post, url: `${origin.base}/redirect?code=307` }));
  assert.deepEqual([as307.method, as307.bodyBase64], ["POST", b64("keep")]);
  // 301 and 302 change only a POST (codex 0.171's rule); 303 all but a HEAD.
  const put = { method: "PUT", bodyBase64: b64("keep") };
  const put302 = echoOf(await http(c, { ...put, url: `${origin.base}/redirect?code=302` }));
  assert.deepEqual([put302.method, put302.bodyBase64], ["PUT", b64("keep")]);
  const put303 = echoOf(await http(c, { ...put, url: `${origin.base}/redirect?code=303` }));
  assert.deepEqual([put303.method, put303.bodyBase64], ["GET", ""]);
  // A secret header does not follow a redirect to another origin.
  const away = echoOf(
    await http(c, {
      url: `${origin.base}/redirect?to=${encodeURIComponent(`${other.base}/echo`)}`,
      headers: [{ name: "authorization", value: "Bearer ", valueEnvVar: "PROBE_SECRET" }, {
        name: "x-kept",
        value: "1",
      }],
    }),
  );
  assert.ok(!away.headers.some(([n]) => n === "authorization"), JSON.stringify(away.headers));
  assert.ok(away.headers.some(([n]) => n === "x-kept"));
});

Deno.test("http/request: the method goes out as given, case included (codex 0.171 sends `get` as `get`)", async () => {
  await using raw = new RawOrigin();
  await using server = await ServerProcess.start();
  await using c = await TestClient.connect(server.url);
  for (const method of ["get", "Post", "BREW", "GET"]) {
    const r = await http(c, { method, url: `${raw.base}/m` });
    assert.equal(r.result?.status, 200, JSON.stringify(r.error));
    assert.equal(raw.requests.at(-1)!.split("\r\n")[0], `${method} /m HTTP/1.1`);
  }
});

Deno.test("http/request: a header carrying an executor variable (valueEnvVar) never follows a redirect to another origin", async () => {
  await using origin = new HttpOrigin();
  await using other = new HttpOrigin();
  await using server = await ServerProcess.start([], { env: ENV });
  await using c = await TestClient.connect(server.url);
  const headers = [
    { name: "X-Api-Key", value: "k=", valueEnvVar: "PROBE_SECRET" },
    { name: "x-kept", value: "1" },
    { name: "cookie", value: "a=1" },
    { name: "authorization", value: "Bearer literal" },
  ];
  const names = (echo: { headers: [string, string][] }) => echo.headers.map(([n]) => n);
  // Within the origin, over two hops, everything is sent.
  const home = echoOf(await http(c, { url: `${origin.base}/redirect?n=1`, headers }));
  assert.ok(home.headers.some(([n, v]) => n === "x-api-key" && v === "k=s3cret-value"));
  assert.ok(names(home).includes("authorization") && names(home).includes("cookie"));
  assert.ok(home.headers.some(([n, v]) => n === "referer" && v.endsWith("/redirect?n=0&code=302")));
  // One hop within the origin, then one to another origin (a second loopback
  // server): the secret is not sent there, by 302 nor by 307.
  for (const code of [302, 307]) {
    const to = encodeURIComponent(`${other.base}/echo`);
    const away = echoOf(
      await http(c, { url: `${origin.base}/redirect?n=1&code=${code}&to=${to}`, headers }),
    );
    assert.ok(away.url.startsWith(other.base), away.url);
    assert.ok(!JSON.stringify(away.headers).includes("s3cret"), JSON.stringify(away.headers));
    for (const n of ["x-api-key", "authorization", "cookie"]) {
      assert.ok(!names(away).includes(n), `${code}: ${n} went to the other origin`);
    }
    assert.ok(names(away).includes("x-kept"), `${code}: an ordinary header is kept`);
    // The other origin learns where the request came from, not the path and
    // query it came from (codex 0.171 sends the same).
    assert.deepEqual(away.headers.filter(([n]) => n === "referer"), [[
      "referer",
      `${origin.base}/`,
    ]]);
  }
});

Deno.test("http/request: timeouts cover the whole exchange; refused connections fail clearly", async () => {
  await using origin = new HttpOrigin();
  await using server = await ServerProcess.start();
  await using c = await TestClient.connect(server.url);
  const headersLate = await http(c, { url: `${origin.base}/slow?ms=3000`, timeoutMs: 200 });
  assert.equal(headersLate.error.code, -32603);
  assert.match(
    headersLate.error.message,
    /^http\/request failed: error sending request for url \(http:\/\/127\.0\.0\.1:\d+\/slow\?ms=3000\): timed out after 200 ms$/,
  );
  const bodyLate = await http(c, { url: `${origin.base}/slowbody?n=20&gap=100`, timeoutMs: 300 });
  assert.equal(bodyLate.error.code, -32603);
  assert.match(
    bodyLate.error.message,
    /^failed to read http\/request response body: error decoding response body: timed out/,
  );
  const zero = await http(c, { url: `${origin.base}/echo`, timeoutMs: 0 });
  assert.equal(zero.error.code, -32603);
  assert.equal(
    (await http(c, { url: `${origin.base}/slow?ms=50`, timeoutMs: null })).result.status,
    200,
  );
  const refused = await http(c, { url: "http://127.0.0.1:9/refused" });
  assert.equal(refused.error.code, -32603);
  assert.match(
    refused.error.message,
    /^http\/request failed: error sending request for url \(http:\/\/127\.0\.0\.1:9\/refused\): .*(ECONNREFUSED|refused)/i,
  );
  await using short = new RawOrigin();
  short.reply = "HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\npartial";
  const cut = await http(c, { url: `${short.base}/short` });
  assert.equal(cut.error.code, -32603);
  assert.match(
    cut.error.message,
    /^failed to read http\/request response body: error decoding response body/,
  );
  await waitUntil(() => origin.cancelledSlowBodies === 1, {
    message: "the timed-out body to be cancelled",
  });
});

Deno.test("http/request over https trusts NODE_EXTRA_CA_CERTS, and refuses an unknown CA", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const pki = await makeTestPki(dir);
    await using origin = new HttpOrigin({
      cert: await Deno.readTextFile(pki.cert),
      key: await Deno.readTextFile(pki.key),
    });
    {
      await using server = await ServerProcess.start([], { env: { NODE_EXTRA_CA_CERTS: pki.ca } });
      await using c = await TestClient.connect(server.url);
      const r = echoOf(
        await http(c, { url: `${origin.base}/echo`, headers: [{ name: "x-a", value: "1" }] }),
      );
      assert.equal(r.method, "GET");
    }
    await using server = await ServerProcess.start();
    await using c = await TestClient.connect(server.url);
    const r = await http(c, { url: `${origin.base}/echo` });
    assert.equal(r.error.code, -32603);
    assert.match(r.error.message, /certificate/i);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("http/request streamResponse: the reply first, then bodyDeltas in order ending with an empty done frame", async () => {
  await using origin = new HttpOrigin();
  await using server = await ServerProcess.start();
  await using c = await TestClient.connect(server.url);
  const reply = await http(c, {
    url: `${origin.base}/slowbody?n=3&gap=50`,
    requestId: "s1",
    streamResponse: true,
  });
  assert.deepEqual([reply.result.status, reply.result.bodyBase64], [200, ""]);
  const frames = await streamed(c, "s1");
  assert.deepEqual(frames.map((m) => m.params.seq), frames.map((_, i) => i + 1));
  assert.equal(frames.map((m) => text(m.params.deltaBase64)).join(""), "chunk0;chunk1;chunk2;");
  assert.deepEqual(frames.at(-1)!.params, {
    requestId: "s1",
    seq: frames.length,
    deltaBase64: "",
    done: true,
    error: null,
  });
  assert.ok(frames.slice(0, -1).every((m) => m.params.done === false && m.params.error === null));
  // An empty body is one terminal frame.
  await http(c, { url: `${origin.base}/status?c=204`, requestId: "s2", streamResponse: true });
  assert.deepEqual((await streamed(c, "s2")).map((m) => m.params), [
    { requestId: "s2", seq: 1, deltaBase64: "", done: true, error: null },
  ]);
  // A body that fails ends with an error frame.
  await using short = new RawOrigin();
  short.reply = "HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\npartial";
  await http(c, { url: `${short.base}/short`, requestId: "s3", streamResponse: true });
  const failed = (await streamed(c, "s3")).at(-1)!.params;
  assert.deepEqual([failed.done, failed.error, failed.deltaBase64], [
    true,
    "error decoding response body",
    "",
  ]);
});

Deno.test("http/request streamResponse: an active requestId is refused, a buffered request may reuse it", async () => {
  await using origin = new HttpOrigin();
  await using server = await ServerProcess.start();
  await using c = await TestClient.connect(server.url);
  const url = `${origin.base}/slowbody?n=4&gap=150`;
  await http(c, { url, requestId: "dup", streamResponse: true });
  assert.deepEqual((await http(c, { url, requestId: "dup", streamResponse: true })).error, {
    code: -32602,
    message: "http/request streamResponse requestId `dup` is already active",
  });
  assert.equal(
    (await http(c, { url: `${origin.base}/echo`, requestId: "dup" })).result.status,
    200,
  );
  await streamed(c, "dup");
  // Once its last frame is sent, the id is free again.
  await http(c, { url: `${origin.base}/status?c=204`, requestId: "dup", streamResponse: true });
  await c.waitUntil(() =>
    deltasOf(c, "dup").filter((m) => m.params.done).length === 2 || undefined
  );
});

Deno.test("http/request: a profile that restricts network is refused, not made", async () => {
  await using raw = new RawOrigin();
  await using server = await ServerProcess.start();
  await using c = await TestClient.connect(server.url);
  const profile = {
    permissions: { type: "external", network: "restricted" },
    windowsSandboxLevel: "disabled",
  };
  const r = await http(c, { url: `${raw.base}/x`, sandbox: profile });
  assert.equal(r.error.code, -32600);
  assert.match(r.error.message, /restricts network access/);
  const open = { ...profile, permissions: { type: "external", network: "enabled" } };
  assert.equal((await http(c, { url: `${raw.base}/y`, sandbox: open })).result.status, 200);
  assert.deepEqual(raw.requests.map((t) => t.split(" ")[1]), ["/y"]);
});

Deno.test("http/request streamResponse: a client that stops reading holds the stream, not the server's memory; a disconnect ends it", async () => {
  await using origin = new HttpOrigin();
  await using server = await ServerProcess.start();
  const ws = await RawSocket.connect(server.url);
  await ws.sendJson({ id: 1, method: "initialize", params: { clientName: "slow" } });
  await ws.readJsonUntil((m) => m.id === 1);
  await ws.sendJson({ method: "initialized", params: {} });
  const baseline = rssKib(server.pid);
  await ws.sendJson({
    id: 2,
    method: "http/request",
    params: {
      method: "GET",
      url: `${origin.base}/firehose`,
      requestId: "big",
      streamResponse: true,
    },
  });
  await ws.readJsonUntil((m) => m.id === 2);
  // The client reads nothing more: the server stops pulling once its send
  // queue is full, so the origin stops producing.
  await waitUntil(() => origin.firehoses[0]?.produced! > 8 * 1024 * 1024, {
    message: "the stream to flow",
  });
  let last = -1;
  await waitUntil(async () => {
    const now = origin.firehoses[0]!.produced;
    const still = now === last;
    last = now;
    await new Promise((r) => setTimeout(r, 300));
    return still;
  }, { timeoutMs: 30_000, message: "the origin to stop producing" });
  const produced = origin.firehoses[0]!.produced;
  // 12 MiB measured (8 MiB queued for the socket, plus socket buffers).
  assert.ok(
    produced < 64 * 1024 * 1024,
    `the origin produced ${produced >> 20} MiB for a client that reads nothing`,
  );
  const grown = (rssKib(server.pid) - baseline) / 1024;
  assert.ok(grown < 200, `the server grew ${grown.toFixed(0)} MiB`);
  ws.close();
  await waitUntil(() => origin.firehoses[0]!.cancelled, {
    message: "the origin's stream to be cancelled",
  });
});

Deno.test("http/request: serve --sandbox without --sandbox-network refuses every request", async () => {
  await using raw = new RawOrigin();
  await using server = await ServerProcess.start(["--sandbox", "read-only"]);
  await using c = await TestClient.connect(server.url);
  const r = await http(c, { url: `${raw.base}/x` });
  assert.deepEqual(r.error, {
    code: -32600,
    message: "http/request refused: this server's sandbox restricts network access",
  });
  assert.deepEqual(raw.requests, []);
  await using open = await ServerProcess.start(["--sandbox", "read-only", "--sandbox-network"]);
  await using d = await TestClient.connect(open.url);
  assert.equal((await http(d, { url: `${raw.base}/y` })).result.status, 200);
});
