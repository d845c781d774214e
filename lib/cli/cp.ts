// Copyright 2026 the exec-server authors. MIT license.
/**
 * `exec-server cp`: copy one file to or from the server, like `scp`, with a
 * progress line on a terminal.
 *
 * @module
 */
import type { ExecServerClient } from "../client/client.ts";
import { ExecServerError } from "../client/errors.ts";
import { CONNECT_HELP, connectFromFlags, parseClientFlags } from "./connect.ts";
import { CliExit, UsageError } from "./flags.ts";
import { Progress } from "./progress.ts";
import { messageOf } from "../util/mod.ts";

/** `cp --help`. */
const CP_HELP = `Usage: exec-server cp [flags] SOURCE DEST

Copies one file between this machine and the server, like scp. The remote side is written
with a leading colon (:/ABSOLUTE/PATH); the other side is a local path (relative paths are
from the current directory). A DEST that is a directory (or ends with /) receives the file
under its own name. On a terminal a progress line shows bytes, percent and speed.

  exec-server cp --ssh me@host ./build.tar.gz :/tmp/
  exec-server cp --url ws://127.0.0.1:8765 :/var/log/app.log ./app.log

${CONNECT_HELP}
  --chunk-bytes N          bytes per message (default 4194304)
  --progress / --no-progress
                           force the progress line on or off (default: on a terminal)
  -h, --help               this text
`;

function baseName(path: string): string {
  const trimmed = path.replace(/\/+$/, "");
  return trimmed.slice(trimmed.lastIndexOf("/") + 1);
}

/** Runs `cp`; resolves to the exit code. */
export async function cpMain(args: string[], entry?: string | URL): Promise<number> {
  const { values: v, positionals } = parseClientFlags(args, {
    "chunk-bytes": { type: "string" },
    "progress": { type: "boolean" },
    "no-progress": { type: "boolean" },
  });
  if (v.help) {
    console.log(CP_HELP);
    return 0;
  }
  if (positionals.length !== 2) throw new UsageError("cp expects SOURCE DEST");
  const [source, dest] = positionals as [string, string];
  const remoteSource = source.startsWith(":");
  const remoteDest = dest.startsWith(":");
  if (remoteSource === remoteDest) {
    throw new UsageError(
      "cp copies between here and the server: write exactly one side as :/REMOTE/PATH",
    );
  }
  const remote = (remoteSource ? source : dest).slice(1);
  if (!remote.startsWith("/")) {
    throw new UsageError(`the remote path must be absolute, got ${JSON.stringify(remote)}`);
  }
  const chunkBytes = v["chunk-bytes"] === undefined ? undefined : Number(v["chunk-bytes"]);
  if (chunkBytes !== undefined && !(Number.isInteger(chunkBytes) && chunkBytes > 0)) {
    throw new UsageError(`--chunk-bytes must be a positive whole number, got ${v["chunk-bytes"]}`);
  }
  const enabled = v["no-progress"] ? false : v.progress ? true : Deno.stderr.isTerminal();
  const progress = new Progress(enabled);
  const client: ExecServerClient = await connectFromFlags(v, Deno.env.toObject(), {
    clientName: "exec-server-cp",
    entry,
  });
  const options = {
    ...(chunkBytes ? { chunkBytes } : {}),
    onProgress: (p: { bytes: number }) => progress.update(p.bytes),
  };
  try {
    if (remoteDest) {
      const size = await Deno.stat(source).then((s) => s, (err) => {
        throw new CliExit(`cannot read ${source}: ${messageOf(err)}`, 1);
      });
      if (!size.isFile) throw new CliExit(`${source} is not a file`, 1);
      let target = remote;
      const meta = await client.fs.getMetadata(remote).catch(() => null);
      if (remote.endsWith("/") || meta?.isDirectory) {
        target = `${remote.replace(/\/+$/, "")}/${baseName(source)}`;
      }
      progress.start(baseName(source), size.size);
      const bytes = await client.fs.upload(source, target, options);
      progress.done();
      if (!enabled) return 0;
      console.error(`exec-server: copied ${bytes} bytes to ${target}`);
    } else {
      const meta = await client.fs.getMetadata(remote);
      if (meta.isDirectory) throw new CliExit(`${remote} on the server is a directory`, 1);
      let target = dest;
      const local = await Deno.stat(dest).catch(() => null);
      if (dest.endsWith("/") || local?.isDirectory) {
        target = `${dest.replace(/\/+$/, "")}/${baseName(remote)}`;
      }
      progress.start(baseName(remote), meta.size);
      const bytes = await client.fs.downloadToFile(remote, target, options);
      progress.done();
      if (!enabled) return 0;
      console.error(`exec-server: copied ${bytes} bytes to ${target}`);
    }
    return 0;
  } catch (err) {
    progress.clear();
    if (err instanceof ExecServerError) throw new CliExit(err.message, 1);
    throw err;
  } finally {
    await client.close();
  }
}
