// Copyright 2026 the exec-server authors. MIT license.
/**
 * Loopback HTTP servers the `http/request` tests send to: `HttpOrigin`
 * (Deno.serve, plain or TLS) with routes for echoes, redirects, slow and
 * streamed bodies, and `RawOrigin`, a TCP listener that records the exact
 * bytes of each request and answers with bytes a test chooses.
 *
 * @module
 */

/** What an infinite stream route has produced, and whether its reader let go. */
export interface Firehose {
  produced: number;
  cancelled: boolean;
}

const enc = new TextEncoder();

/** A Deno.serve origin with the routes below; `await using` it. */
export class HttpOrigin implements AsyncDisposable {
  readonly #server: Deno.HttpServer<Deno.NetAddr>;
  readonly #aborts = new Set<AbortController>();
  /** The infinite `/firehose` streams started, in order. */
  readonly firehoses: Firehose[] = [];
  /** `/slowbody` streams the reader cancelled. */
  cancelledSlowBodies = 0;
  /** Base URL, e.g. http://127.0.0.1:PORT. */
  readonly base: string;

  constructor(tls?: { cert: string; key: string }) {
    this.#server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen() {}, ...(tls ?? {}) },
      (req) => this.#route(req),
    );
    this.base = `${tls ? "https" : "http"}://127.0.0.1:${this.#server.addr.port}`;
  }

  #sleep(ms: number): Promise<void> {
    const ac = new AbortController();
    this.#aborts.add(ac);
    return new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        this.#aborts.delete(ac);
        resolve();
      }, ms);
      ac.signal.addEventListener("abort", () => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  async #route(req: Request): Promise<Response> {
    const url = new URL(req.url);
    const q = (k: string, d: number) => Number(url.searchParams.get(k) ?? d);
    switch (url.pathname) {
      case "/echo": {
        const body = new Uint8Array(await req.arrayBuffer());
        return Response.json({
          method: req.method,
          url: req.url,
          headers: [...req.headers],
          bodyBase64: body.toBase64(),
        });
      }
      case "/redirect": {
        const n = q("n", 0);
        const code = q("code", 302);
        const to = url.searchParams.get("to");
        if (n <= 0) {
          return new Response(null, { status: code, headers: { location: to ?? "/echo" } });
        }
        return new Response("redirecting", {
          status: code,
          headers: {
            location: `/redirect?n=${n - 1}&code=${code}${
              to ? `&to=${encodeURIComponent(to)}` : ""
            }`,
          },
        });
      }
      case "/status":
        return new Response(q("c", 200) === 204 ? null : "s", { status: q("c", 200) });
      case "/slow":
        await this.#sleep(q("ms", 1000));
        return new Response("slow done");
      case "/slowbody": {
        const n = q("n", 5);
        const gap = q("gap", 200);
        let i = 0;
        return new Response(
          new ReadableStream({
            pull: async (ctl) => {
              if (i > 0) await this.#sleep(gap);
              if (i++ >= n) ctl.close();
              else ctl.enqueue(enc.encode(`chunk${i - 1};`));
            },
            cancel: () => void this.cancelledSlowBodies++,
          }),
          { headers: { "content-type": "text/plain" } },
        );
      }
      case "/bytes": {
        const n = q("n", 256);
        const body = new Uint8Array(n).map((_, i) => i & 0xff);
        return new Response(body);
      }
      case "/gzip": {
        const stream = ReadableStream.from([enc.encode("decoded text ".repeat(100))])
          .pipeThrough(new CompressionStream("gzip"));
        return new Response(stream, { headers: { "content-encoding": "gzip" } });
      }
      case "/firehose": {
        const hose: Firehose = { produced: 0, cancelled: false };
        this.firehoses.push(hose);
        const piece = new Uint8Array(64 * 1024).fill(0x61);
        return new Response(
          new ReadableStream({
            pull(ctl) {
              hose.produced += piece.byteLength;
              ctl.enqueue(piece);
            },
            cancel() {
              hose.cancelled = true;
            },
          }, { highWaterMark: 1 }),
        );
      }
      default:
        return new Response("not found", { status: 404 });
    }
  }

  /** Stops the server (and every sleeping route). */
  async [Symbol.asyncDispose](): Promise<void> {
    for (const ac of this.#aborts) ac.abort();
    await this.#server.shutdown();
  }
}

/** A TCP origin that records each request's bytes and answers with `reply`. */
export class RawOrigin implements AsyncDisposable {
  readonly #listener: Deno.TcpListener;
  readonly #done: Promise<void>;
  /** Each request's bytes (head and body), as latin1 text. */
  readonly requests: string[] = [];
  /** The bytes each connection is answered with. */
  reply = "HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok";
  /** Base URL. */
  readonly base: string;

  constructor() {
    this.#listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    this.base = `http://127.0.0.1:${this.#listener.addr.port}`;
    this.#done = this.#accept();
  }

  async #accept(): Promise<void> {
    for await (const conn of this.#listener) {
      try {
        let text = "";
        const buf = new Uint8Array(65536);
        for (;;) {
          const n = await conn.read(buf);
          if (n === null) break;
          text += String.fromCharCode(...buf.subarray(0, n));
          const end = text.indexOf("\r\n\r\n");
          if (end < 0) continue;
          const length = Number(/\r\ncontent-length: *(\d+)/i.exec(text)?.[1] ?? 0);
          if (text.length >= end + 4 + length) break;
        }
        this.requests.push(text);
        await conn.write(Uint8Array.from(this.reply, (c) => c.charCodeAt(0)));
      } catch {
        // the client went away
      } finally {
        try {
          conn.close();
        } catch {
          // closed
        }
      }
    }
  }

  /** Stops listening. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.#listener.close();
    await this.#done;
  }
}
