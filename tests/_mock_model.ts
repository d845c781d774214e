// Copyright 2026 the exec-server authors. MIT license.
/**
 * A loopback mock of the OpenAI Responses API, driven by a script of turns,
 * for running the real `codex exec` agent offline.
 *
 * Each `POST …/responses` consumes the next turn and is answered with an SSE
 * stream of `response.created`, one `response.output_item.done` and
 * `response.completed`. Every request is recorded, so a test can read the
 * tool outputs the agent sent back (`function_call_output` /
 * `custom_tool_call_output` items in the next request's `input`).
 *
 * @module
 */

/** A scripted reply: the model calls a JSON-argument function tool. */
export interface FunctionCallTurn {
  /** Discriminator. */
  kind: "function_call";
  /** The call id the agent echoes in its `function_call_output`. */
  callId: string;
  /** Tool name, e.g. `exec_command`. */
  name: string;
  /** Tool arguments; serialised to the JSON string the API carries. */
  arguments: Record<string, unknown>;
}

/** A scripted reply: the model calls a freeform (custom) tool such as `apply_patch`. */
export interface CustomToolCallTurn {
  /** Discriminator. */
  kind: "custom_tool_call";
  /** The call id the agent echoes in its `custom_tool_call_output`. */
  callId: string;
  /** Tool name, e.g. `apply_patch`. */
  name: string;
  /** The raw freeform input (for apply_patch: the patch text). */
  input: string;
}

/** A scripted reply: a final assistant message, which ends `codex exec`. */
export interface MessageTurn {
  /** Discriminator. */
  kind: "message";
  /** The assistant's text. */
  text: string;
}

/** One scripted model reply. */
export type Turn = FunctionCallTurn | CustomToolCallTurn | MessageTurn;

/** What a dynamic turn sees: the request it answers and the tool outputs so far. */
export interface TurnContext {
  /** The `/responses` request body being answered. */
  request: Record<string, unknown>;
  /** Tool output text by call id, from every request so far. */
  outputs: Map<string, string>;
}

/**
 * A script entry: a fixed turn, or a function computing it from the request
 * (e.g. to pass the `session_id` an earlier `exec_command` returned).
 */
export type ScriptedTurn = Turn | ((context: TurnContext) => Turn);

/** One request the mock received. */
export interface RecordedRequest {
  /** HTTP method. */
  method: string;
  /** URL path, e.g. `/v1/responses`. */
  path: string;
  /** The parsed JSON body, or the raw text when it is not JSON. */
  body: unknown;
  /** Milliseconds since the mock started. */
  atMs: number;
}

/** One SSE event of the Responses API stream. */
export type SseEvent = { type: string } & Record<string, unknown>;

/** `function_call` turn builder. */
export function functionCall(
  callId: string,
  name: string,
  args: Record<string, unknown>,
): FunctionCallTurn {
  return { kind: "function_call", callId, name, arguments: args };
}

/** `custom_tool_call` turn builder. */
export function customToolCall(callId: string, name: string, input: string): CustomToolCallTurn {
  return { kind: "custom_tool_call", callId, name, input };
}

/** Final assistant message turn builder. */
export function message(text: string): MessageTurn {
  return { kind: "message", text };
}

/** The SSE events answering one turn, as codex 0.171 accepts them. */
export function turnEvents(turn: Turn, responseId: string): SseEvent[] {
  let item: Record<string, unknown>;
  switch (turn.kind) {
    case "function_call":
      item = {
        type: "function_call",
        call_id: turn.callId,
        name: turn.name,
        arguments: JSON.stringify(turn.arguments),
      };
      break;
    case "custom_tool_call":
      item = { type: "custom_tool_call", call_id: turn.callId, name: turn.name, input: turn.input };
      break;
    case "message":
      item = {
        type: "message",
        role: "assistant",
        id: `msg_${responseId}`,
        content: [{ type: "output_text", text: turn.text }],
      };
      break;
  }
  return [
    { type: "response.created", response: { id: responseId } },
    { type: "response.output_item.done", item },
    {
      type: "response.completed",
      response: {
        id: responseId,
        usage: {
          input_tokens: 0,
          input_tokens_details: null,
          output_tokens: 0,
          output_tokens_details: null,
          total_tokens: 0,
        },
      },
    },
  ];
}

/** Encodes events as an SSE body (`event:` line, `data:` line, blank line). */
export function encodeSse(events: SseEvent[]): string {
  return events.map((ev) => `event: ${ev.type}\ndata: ${JSON.stringify(ev)}\n\n`).join("");
}

/** The text of a tool output item (`output` may be a string or a content list). */
export function outputText(output: unknown): string {
  if (typeof output === "string") return output;
  if (Array.isArray(output)) {
    return output.map((part) => {
      const p = part as Record<string, unknown>;
      return typeof p.text === "string" ? p.text : "";
    }).join("");
  }
  return JSON.stringify(output);
}

/** Options for {@linkcode MockModel.start}. */
export interface MockModelOptions {
  /** Text of the final message sent once the script is used up. @default "done" */
  fallbackText?: string;
}

/**
 * The running mock. Serve it on loopback, point codex's `base_url` at
 * {@linkcode MockModel.baseUrl}, and `await using` it (or call `close()`).
 */
export class MockModel implements AsyncDisposable {
  /** Every request received, in order (`/responses` and anything else). */
  readonly requests: RecordedRequest[] = [];
  /** Requests to paths the mock does not know (answered 404). */
  readonly unknownRequests: RecordedRequest[] = [];
  /** Errors thrown by dynamic turns (each answered with a final message). */
  readonly scriptErrors: string[] = [];
  readonly #turns: ScriptedTurn[];
  readonly #fallbackText: string;
  readonly #server: Deno.HttpServer<Deno.NetAddr>;
  readonly #startedAt = Date.now();
  #served = 0;
  #closed: Promise<void> | null = null;

  private constructor(turns: ScriptedTurn[], options: MockModelOptions) {
    this.#turns = [...turns];
    this.#fallbackText = options.fallbackText ?? "done";
    this.#server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen() {} },
      (req) => this.#handle(req),
    );
  }

  /** Starts a mock that answers with `turns`, in order. */
  static start(turns: ScriptedTurn[], options: MockModelOptions = {}): MockModel {
    return new MockModel(turns, options);
  }

  /** The provider base URL, e.g. `http://127.0.0.1:PORT/v1`. */
  get baseUrl(): string {
    return `http://127.0.0.1:${this.#server.addr.port}/v1`;
  }

  /** How many `/responses` requests were answered (script turns and fallbacks). */
  get served(): number {
    return this.#served;
  }

  /** Bodies of the `/responses` requests, in order. */
  get responseRequests(): Record<string, unknown>[] {
    return this.requests.filter((r) => r.path.endsWith("/responses"))
      .map((r) => r.body as Record<string, unknown>);
  }

  /** Tool outputs (`function_call_output` and `custom_tool_call_output`) by call id. */
  toolOutputs(): Map<string, unknown> {
    const out = new Map<string, unknown>();
    for (const body of this.responseRequests) {
      const input = Array.isArray(body.input) ? body.input : [];
      for (const raw of input) {
        const item = raw as Record<string, unknown>;
        if (
          (item.type === "function_call_output" || item.type === "custom_tool_call_output") &&
          typeof item.call_id === "string"
        ) {
          out.set(item.call_id, item.output);
        }
      }
    }
    return out;
  }

  async #handle(req: Request): Promise<Response> {
    const path = new URL(req.url).pathname;
    const text = await req.text();
    let body: unknown = text;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {
      // keep the raw text
    }
    const recorded = { method: req.method, path, body, atMs: Date.now() - this.#startedAt };
    this.requests.push(recorded);
    if (req.method !== "POST" || !path.endsWith("/responses")) {
      this.unknownRequests.push(recorded);
      return new Response("not found", { status: 404 });
    }
    this.#served++;
    const next = this.#turns.shift() ?? message(this.#fallbackText);
    const outputs = new Map([...this.toolOutputs()].map(([id, out]) => [id, outputText(out)]));
    let turn: Turn;
    try {
      turn = typeof next === "function"
        ? next({ request: body as Record<string, unknown>, outputs })
        : next;
    } catch (err) {
      // End the agent's turn instead of failing the HTTP request (no retries).
      this.scriptErrors.push(String(err));
      turn = message(`script error: ${err}`);
    }
    const events = turnEvents(turn, `resp_${this.#served}`);
    return new Response(encodeSse(events), {
      headers: { "content-type": "text/event-stream" },
    });
  }

  /** Stops serving; idempotent. */
  close(): Promise<void> {
    this.#closed ??= this.#server.shutdown();
    return this.#closed;
  }

  /** Same as {@linkcode MockModel.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
