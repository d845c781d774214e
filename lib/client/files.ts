// Copyright 2026 the exec-server authors. MIT license.
/**
 * The client's file calls: one typed method per `fs/*` RPC, plus chunked
 * upload and download for files bigger than one message (`fs/writeFile` with
 * `append`, `fs/readFile` with `offset`/`length`), with progress callbacks.
 *
 * @module
 */
import { open, stat } from "node:fs/promises";
import type { Caller, CallOptions } from "./rpc.ts";
import { concatBytes, decodeBase64, encodeBase64 } from "../util/mod.ts";
import type { FsChangedNotification, FsDirectoryEntry } from "../protocol/wire.ts";
import type { MethodName, ParamsOf, ResultOf } from "../protocol/methods.ts";

/**
 * Progress of an upload or download, passed to `onProgress`.
 *
 * @example
 * ```ts
 * import type { TransferProgress } from "./files.ts";
 * import assert from "node:assert/strict";
 * const show = (p: TransferProgress) => `${p.bytes}/${p.totalBytes ?? "?"}`;
 * assert.equal(show({ bytes: 5, totalBytes: 10 }), "5/10");
 * ```
 */
export interface TransferProgress {
  /** Bytes moved so far. */
  bytes: number;
  /** Total size when known (the local file's size, or the remote size). */
  totalBytes?: number;
}

/**
 * Options of {@linkcode ClientFiles.upload} and the downloads.
 *
 * @example
 * ```ts
 * import type { TransferOptions } from "./files.ts";
 * import assert from "node:assert/strict";
 * const options: TransferOptions = { chunkBytes: 1 << 20, onProgress: (p) => console.log(p.bytes) };
 * assert.equal(options.chunkBytes, 1048576);
 * ```
 */
export interface TransferOptions extends CallOptions {
  /** Bytes per message (at most 12 MiB, the server's read limit). @default {4194304} */
  chunkBytes?: number;
  /** Called after every chunk. @default {undefined} */
  onProgress?: (progress: TransferProgress) => void;
  /** The fs sandbox sent with every call. @default {undefined} */
  sandbox?: ParamsOf<"fs/readFile">["sandbox"];
}

/**
 * What {@linkcode ClientFiles.upload} reads: a local path, bytes, or a byte stream.
 *
 * @example
 * ```ts
 * import type { UploadSource } from "./files.ts";
 * import assert from "node:assert/strict";
 * const sources: UploadSource[] = ["./local.bin", new Uint8Array(3), new Blob(["x"]).stream()];
 * assert.equal(sources.length, 3);
 * ```
 */
export type UploadSource =
  | string
  | Uint8Array
  | ReadableStream<Uint8Array>
  | AsyncIterable<Uint8Array>;

/**
 * Params of method `M` without the fields `K` that the method's arguments
 * supply, plus call options: the options argument of the fs helpers.
 *
 * @example
 * ```ts
 * import type { FsOptions } from "./files.ts";
 * import assert from "node:assert/strict";
 * const options: FsOptions<"fs/remove", "path"> = { recursive: false, requestTimeoutMs: 5000 };
 * assert.equal(options.force, undefined);
 * ```
 */
export type FsOptions<M extends MethodName, K extends string> = Omit<ParamsOf<M>, K> & CallOptions;

/**
 * A live `fs/watch`; see {@linkcode ClientFiles.watch}.
 *
 * @example
 * ```ts ignore
 * const watcher = await client.fs.watch("/src", (c) => console.log(c.kind, c.paths));
 * await watcher.unwatch();
 * ```
 */
export interface FsWatcher {
  /** The server's watch id. */
  readonly watchId: string;
  /** `fs/unwatch`; idempotent. */
  unwatch(): Promise<void>;
}

/** What the file calls need from the client (internal). */
export interface FilesHost extends Caller {
  /** Routes `fs/changed` for `watchId` to `listener` (null removes it). */
  watchListener(watchId: string, listener: ((n: FsChangedNotification) => void) | null): void;
}

const DEFAULT_CHUNK = 4 * 1024 * 1024;
const MAX_CHUNK = 12 * 1024 * 1024;

function split<T extends CallOptions>(options: T): [Omit<T, keyof CallOptions>, CallOptions] {
  const { signal, requestTimeoutMs, ...rest } = options;
  const call: CallOptions = {};
  if (signal) call.signal = signal;
  if (requestTimeoutMs !== undefined) call.requestTimeoutMs = requestTimeoutMs;
  return [rest, call];
}

/**
 * File calls on the remote machine, as `client.fs`. Paths are absolute
 * native paths or `file://` URIs on the server's machine.
 *
 * @example Round trip
 * ```ts ignore
 * await client.fs.writeFile("/tmp/hello.txt", "hello");
 * const bytes = await client.fs.readFile("/tmp/hello.txt");
 * ```
 */
export class ClientFiles {
  readonly #host: FilesHost;

  /** @internal Use `ExecServerClient.fs`. */
  constructor(host: FilesHost) {
    this.#host = host;
  }

  /** `fs/readFile`: the whole file, or `length` bytes from `offset`. */
  async readFile(
    path: string,
    options: FsOptions<"fs/readFile", "path"> = {},
  ): Promise<Uint8Array> {
    const [rest, call] = split(options);
    const r = await this.#host.call("fs/readFile", { path, ...rest }, call);
    return decodeBase64(r.dataBase64);
  }

  /** `fs/writeFile`: creates or truncates the file (or appends), bytes or UTF-8 text. */
  async writeFile(
    path: string,
    data: Uint8Array | string,
    options: FsOptions<"fs/writeFile", "path" | "dataBase64"> = {},
  ): Promise<void> {
    const [rest, call] = split(options);
    const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
    await this.#host.call("fs/writeFile", { path, dataBase64: encodeBase64(bytes), ...rest }, call);
  }

  /** `fs/createDirectory` (recursive by default, like `mkdir -p`). */
  async createDirectory(
    path: string,
    options: FsOptions<"fs/createDirectory", "path"> = {},
  ): Promise<void> {
    const [rest, call] = split(options);
    await this.#host.call("fs/createDirectory", { path, ...rest }, call);
  }

  /** `fs/getMetadata`. */
  async getMetadata(
    path: string,
    options: FsOptions<"fs/getMetadata", "path"> = {},
  ): Promise<ResultOf<"fs/getMetadata">> {
    const [rest, call] = split(options);
    return await this.#host.call("fs/getMetadata", { path, ...rest }, call);
  }

  /** `fs/readDirectory`: entries in no particular order. */
  async readDirectory(
    path: string,
    options: FsOptions<"fs/readDirectory", "path"> = {},
  ): Promise<FsDirectoryEntry[]> {
    const [rest, call] = split(options);
    return (await this.#host.call("fs/readDirectory", { path, ...rest }, call)).entries;
  }

  /** `fs/remove` (recursive and forced by default). */
  async remove(path: string, options: FsOptions<"fs/remove", "path"> = {}): Promise<void> {
    const [rest, call] = split(options);
    await this.#host.call("fs/remove", { path, ...rest }, call);
  }

  /** `fs/copy`; `recursive` is required, as on the wire. */
  async copy(
    sourcePath: string,
    destinationPath: string,
    options: FsOptions<"fs/copy", "sourcePath" | "destinationPath">,
  ): Promise<void> {
    const [rest, call] = split(options);
    await this.#host.call("fs/copy", { sourcePath, destinationPath, ...rest }, call);
  }

  /**
   * `fs/watch`: calls `onChange` for every `fs/changed` of this watch until
   * {@linkcode FsWatcher.unwatch}. Changes while disconnected are not replayed.
   */
  async watch(
    path: string,
    onChange: (change: FsChangedNotification) => void,
    options: FsOptions<"fs/watch", "path"> = {},
  ): Promise<FsWatcher> {
    const [rest, call] = split(options);
    const { watchId } = await this.#host.call("fs/watch", { path, ...rest }, call);
    this.#host.watchListener(watchId, onChange);
    let done: Promise<void> | null = null;
    return {
      watchId,
      unwatch: () => {
        done ??= (async () => {
          this.#host.watchListener(watchId, null);
          await this.#host.call("fs/unwatch", { watchId }, call);
        })();
        return done;
      },
    };
  }

  /**
   * Uploads a local file (by path), bytes or a stream to `remotePath`, in
   * chunks: the first `fs/writeFile` creates or truncates, the rest append.
   * Not resumed across a dropped connection (an append is not idempotent).
   *
   * @returns the number of bytes written
   */
  async upload(
    source: UploadSource,
    remotePath: string,
    options: TransferOptions = {},
  ): Promise<number> {
    const chunkBytes = chunkSize(options.chunkBytes);
    const [_, call] = split(options);
    let totalBytes: number | undefined;
    let pieces: AsyncIterable<Uint8Array>;
    if (typeof source === "string") {
      totalBytes = (await stat(source)).size;
      pieces = readLocal(source, chunkBytes);
    } else if (source instanceof Uint8Array) {
      totalBytes = source.byteLength;
      pieces = fromArray([source]);
    } else {
      pieces = source instanceof ReadableStream ? fromStream(source) : source;
    }
    let bytes = 0;
    let first = true;
    for await (const chunk of rechunk(pieces, chunkBytes)) {
      await this.#write(remotePath, chunk, !first, options, call);
      first = false;
      bytes += chunk.byteLength;
      options.onProgress?.(progress(bytes, totalBytes));
    }
    if (first) {
      await this.#write(remotePath, new Uint8Array(0), false, options, call);
      options.onProgress?.(progress(0, totalBytes));
    }
    return bytes;
  }

  async #write(
    path: string,
    data: Uint8Array,
    append: boolean,
    options: TransferOptions,
    call: CallOptions,
  ): Promise<void> {
    const params: ParamsOf<"fs/writeFile"> = { path, dataBase64: encodeBase64(data), append };
    if (options.sandbox) params.sandbox = options.sandbox;
    await this.#host.call("fs/writeFile", params, call);
  }

  /** Downloads `remotePath` in chunks as one byte array. */
  async download(remotePath: string, options: TransferOptions = {}): Promise<Uint8Array> {
    const parts: Uint8Array[] = [];
    for await (const chunk of this.readChunks(remotePath, options)) parts.push(chunk);
    return concatBytes(parts);
  }

  /**
   * Downloads `remotePath` in chunks into the local file `localPath`
   * (created or truncated).
   *
   * @returns the number of bytes written
   */
  async downloadToFile(
    remotePath: string,
    localPath: string,
    options: TransferOptions = {},
  ): Promise<number> {
    const file = await open(localPath, "w");
    let bytes = 0;
    try {
      for await (const chunk of this.readChunks(remotePath, options)) {
        let off = 0;
        while (off < chunk.byteLength) {
          off += (await file.write(chunk, off, chunk.byteLength - off)).bytesWritten;
        }
        bytes += chunk.byteLength;
      }
    } finally {
      await file.close();
    }
    return bytes;
  }

  /** Reads `remotePath` chunk by chunk with `fs/readFile` `offset`/`length`. */
  async *readChunks(remotePath: string, options: TransferOptions = {}): AsyncGenerator<Uint8Array> {
    const length = chunkSize(options.chunkBytes);
    const [_, call] = split(options);
    let offset = 0;
    for (;;) {
      const params: ParamsOf<"fs/readFile"> = { path: remotePath, offset, length };
      if (options.sandbox) params.sandbox = options.sandbox;
      const r = await this.#host.call("fs/readFile", params, call);
      const data = decodeBase64(r.dataBase64);
      offset += data.byteLength;
      options.onProgress?.(progress(offset, r.size));
      if (data.byteLength > 0) yield data;
      if (r.eof || data.byteLength === 0) return;
    }
  }
}

function chunkSize(value: number | undefined): number {
  const n = value ?? DEFAULT_CHUNK;
  if (!Number.isInteger(n) || n < 1 || n > MAX_CHUNK) {
    throw new RangeError(
      `Cannot transfer file: chunkBytes must be an integer from 1 to ${MAX_CHUNK}, received ${n}`,
    );
  }
  return n;
}

function progress(bytes: number, totalBytes: number | undefined): TransferProgress {
  return totalBytes === undefined ? { bytes } : { bytes, totalBytes };
}

async function* fromArray(parts: Uint8Array[]): AsyncGenerator<Uint8Array> {
  yield* parts;
}

async function* fromStream(stream: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  const reader = stream.getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      yield value;
    }
  } finally {
    reader.releaseLock();
  }
}

async function* readLocal(path: string, chunkBytes: number): AsyncGenerator<Uint8Array> {
  const file = await open(path, "r");
  try {
    for (;;) {
      const buf = new Uint8Array(chunkBytes);
      const { bytesRead } = await file.read(buf, 0, chunkBytes, null);
      if (bytesRead === 0) return;
      yield buf.subarray(0, bytesRead);
    }
  } finally {
    await file.close();
  }
}

/** Re-cuts a byte stream into pieces of exactly `size` bytes (the last may be shorter). */
async function* rechunk(
  source: AsyncIterable<Uint8Array>,
  size: number,
): AsyncGenerator<Uint8Array> {
  let parts: Uint8Array[] = [];
  let held = 0;
  for await (const piece of source) {
    let rest = piece;
    while (rest.byteLength > 0) {
      const take = Math.min(size - held, rest.byteLength);
      parts.push(rest.subarray(0, take));
      held += take;
      rest = rest.subarray(take);
      if (held === size) {
        yield parts.length === 1 ? parts[0]! : concatBytes(parts);
        parts = [];
        held = 0;
      }
    }
  }
  if (held > 0) yield parts.length === 1 ? parts[0]! : concatBytes(parts);
}
