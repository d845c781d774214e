// Copyright 2026 the exec-server authors. MIT license.
/**
 * The exec-server client on its own, without the server: the entry point of
 * the npm bundle for Node 20+ and what `lib/mod.ts` re-exports for Deno.
 *
 * @example Deno or Node
 * ```ts ignore
 * import { ExecServerClient } from "./mod.ts";
 * await using client = await ExecServerClient.connect({ url: "ws://127.0.0.1:8080" });
 * const out = await client.exec(["echo", "hello"]);
 * console.log(new TextDecoder().decode(out.stdout)); // "hello\n"
 * ```
 *
 * @module
 */
export { ExecServerClient } from "./client.ts";
export type { ClientState, ExecServerClientOptions, StartOptions } from "./options.ts";
export {
  CallInterruptedError,
  ConnectionClosedError,
  ExecServerError,
  ProtocolError,
  RequestTimeoutError,
} from "./errors.ts";
export {
  ClientFiles,
  type FsOptions,
  type FsWatcher,
  type TransferOptions,
  type TransferProgress,
  type UploadSource,
} from "./files.ts";
export type {
  ClosedEvent,
  ExitedEvent,
  ExitStatus,
  FailedEvent,
  GapEvent,
  OutputEvent,
  ProcessEvent,
  ProcessOutput,
  ReadOptions,
} from "./events.ts";
export { ProcessHandle } from "./process.ts";
export { type CallOptions, REPLAYABLE_METHODS } from "./rpc.ts";
export {
  type ClientTransport,
  type TransportConnector,
  type TransportHandlers,
  webSocketConnector,
  type WebSocketConnectorOptions,
} from "./transport.ts";
export {
  connectStdio,
  type PreambleIo,
  stdioConnector,
  type StdioConnectorOptions,
} from "./stdio.ts";
export {
  connectSsh,
  type InstallEvent,
  parseSshTarget,
  sshCommandLine,
  type SshOptions,
  type SshTarget,
} from "./ssh.ts";
export { type LocalPayloadOptions, localServerPayload, type ServerPayload } from "./ssh_payload.ts";
export type { MethodName, ParamsOf, ResultOf } from "../protocol/methods.ts";
// The wire types as plain TypeScript (generated from the schemas by scripts/wire_types.ts).
export type * from "../protocol/wire.ts";
export { pathToFileUri, sandboxProfile, type SandboxProfileOptions } from "../protocol/sandbox.ts";
