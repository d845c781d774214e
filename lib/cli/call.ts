// Copyright 2026 the exec-server authors. MIT license.
/**
 * `exec-server call`: send one raw request and print its result, optionally
 * in a session that outlives the command (`--session ID`).
 *
 * @module
 */
import type { ExecServerClient } from "../client/client.ts";
import { ExecServerError } from "../client/errors.ts";
import { CONNECT_HELP, connectFromFlags, parseClientFlags } from "./connect.ts";
import { CliExit, UsageError } from "./flags.ts";
import { isMethodName, METHODS, type ParamsOf } from "../protocol/methods.ts";
import { messageOf } from "../util/mod.ts";

/** `call --help`. */
const CALL_HELP = `Usage: exec-server call [flags] METHOD [JSON-PARAMS]

Sends one request and prints its result as JSON on stdout. A JSON-RPC error is printed on
stderr (as {"code", "message"}) and the exit code is 1; a connection failure exits 255.
For scripts and debugging.

Each call runs in a session. Without --session that session is new, and the server ends it
(and its processes) once its --session-ttl (80 s by default) passes after the call. To make
several calls in one session, over --url:

  id=$(exec-server call --url URL initialize | sed -n 's/.*"sessionId": "\\(.*\\)".*/\\1/p')
  exec-server call --url URL --session "$id" process/start \\
    '{"processId":"p","argv":["sh","-c","echo hi"],"cwd":"/","env":{},"tty":false}'
  exec-server call --url URL --session "$id" process/read '{"processId":"p","waitMs":1000}'

"initialize" prints {"sessionId"}: a new session, left detached for the next call. Over --ssh
the session ends with the connection, so --session needs --url.

Methods: ${Object.keys(METHODS).join(", ")}.

${CONNECT_HELP}
  --session ID             run the call in this detached session (from "call initialize");
                           it stays detached afterwards, within the server's --session-ttl
  -h, --help               this text
`;

/** Runs `call`; resolves to the exit code. */
export async function callMain(args: string[], entry?: string | URL): Promise<number> {
  const { values: v, positionals } = parseClientFlags(args, { session: { type: "string" } });
  if (v.help) {
    console.log(CALL_HELP);
    return 0;
  }
  const [method, json, ...extra] = positionals;
  if (!method || extra.length > 0) {
    throw new UsageError("call expects METHOD [JSON-PARAMS] (one JSON argument, quoted)");
  }
  if (!isMethodName(method)) {
    throw new UsageError(`unknown method ${JSON.stringify(method)}; call --help lists them`);
  }
  let params: unknown = {};
  if (json !== undefined) {
    try {
      params = JSON.parse(json);
    } catch (err) {
      throw new UsageError(`JSON-PARAMS is not valid JSON: ${messageOf(err)}`);
    }
  }
  if (method === "initialize" && v.session) {
    throw new UsageError("initialize starts a new session; leave out --session");
  }
  let client: ExecServerClient;
  try {
    client = await connectFromFlags(v, Deno.env.toObject(), {
      clientName: "exec-server-cli",
      sessionId: v.session,
      reportReconnects: false,
      entry,
    });
  } catch (err) {
    if (v.session && err instanceof ExecServerError) {
      throw new CliExit(
        `cannot resume session ${v.session}: ${err.message}\nhint: a detached session lasts ` +
          `the server's --session-ttl (80 s by default) after the last call; start a new one ` +
          `with "call initialize"`,
        1,
      );
    }
    throw err;
  }
  try {
    if (method === "initialize") {
      console.log(JSON.stringify({ sessionId: client.sessionId }, null, 2));
      return 0;
    }
    // Sent as typed: checking the params is the server's job here.
    const result = await client.call(method, params as ParamsOf<typeof method>);
    console.log(JSON.stringify(result, null, 2));
    return 0;
  } catch (err) {
    if (err instanceof ExecServerError) {
      console.error(JSON.stringify({ code: err.code, message: err.message }));
      return 1;
    }
    throw err;
  } finally {
    await client.close();
  }
}
