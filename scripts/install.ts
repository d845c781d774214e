// Copyright 2026 the exec-server authors. MIT license.
/**
 * `deno task install`: puts a global `exec-server` command on this machine
 * that runs this checkout, with `deno install -g` (into `~/.deno/bin`, or
 * `--root DIR`/bin). The command works from any directory, and relative
 * paths in its arguments are the caller's.
 *
 * `deno install` writes a shim that runs `deno` from the PATH; this script
 * points it at the absolute path of the Deno running it instead, so the
 * command works in shells whose PATH has no `deno` (for example when Deno
 * came from npm into .tools/ through ./scripts/deno).
 *
 * Usage: deno task install [--root DIR] [--name NAME]
 *
 * @module
 */
import { parseArgs } from "node:util";
import { PERMISSIONS } from "./compile.ts";

const ROOT = new URL("..", import.meta.url).pathname;

/** Installs the command; returns the shim's path. */
export async function install(options: { root?: string; name?: string } = {}): Promise<string> {
  const name = options.name ?? "exec-server";
  const args = [
    "install",
    "-g",
    "-f",
    "-q",
    "-n",
    name,
    ...PERMISSIONS,
    "--config",
    `${ROOT}deno.json`,
    ...(options.root ? ["--root", options.root] : []),
    `${ROOT}main.ts`,
  ];
  const out = await new Deno.Command(Deno.execPath(), { args, stdout: "piped", stderr: "piped" })
    .output();
  if (!out.success) {
    throw new Error(`deno install failed:\n${new TextDecoder().decode(out.stderr)}`);
  }
  const root = options.root ?? Deno.env.get("DENO_INSTALL_ROOT") ??
    `${Deno.env.get("HOME")}/.deno`;
  const shim = `${root}/bin/${name}`;
  const self = await Deno.realPath(Deno.execPath());
  const text = await Deno.readTextFile(shim);
  const quoted = `'${self.replaceAll("'", `'\\''`)}'`;
  await Deno.writeTextFile(shim, text.replace(/^exec deno /m, `exec ${quoted} `));
  return shim;
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      root: { type: "string" },
      name: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log("Usage: deno task install [--root DIR] [--name NAME]");
    Deno.exit(0);
  }
  const root = values.root
    ? (values.root.startsWith("/")
      ? values.root
      : `${Deno.env.get("INIT_CWD") ?? Deno.cwd()}/${values.root}`)
    : undefined;
  const shim = await install({
    ...(root ? { root } : {}),
    ...(values.name ? { name: values.name } : {}),
  });
  console.log(`installed ${shim} (runs ${ROOT}main.ts)`);
  const dir = shim.slice(0, shim.lastIndexOf("/"));
  if (!(Deno.env.get("PATH") ?? "").split(":").includes(dir)) {
    console.log(`add it to your PATH:  export PATH="${dir}:$PATH"`);
  }
}
