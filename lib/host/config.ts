// Copyright 2026 the exec-server authors. MIT license.
/**
 * `environmentConfig/read`: the executor's own codex configuration, as
 * codex 0.171 layers it, so that what is configured on the executor host
 * (its MCP servers, say) reaches the client. Layers, lowest precedence
 * first:
 *
 * - `system`: `/etc/codex/config.toml`;
 * - `user`: `$CODEX_HOME/config.toml` (`~/.codex` by default);
 * - `project`: `.codex/config.toml` in each directory from the project root
 *   down to `cwd`, each only when its directory is trusted.
 *
 * The project root is the nearest directory at or above `cwd` holding one of
 * `project_root_markers` (default `.git`; a `.git` directory counts only with
 * a `HEAD` in it), else `cwd` itself. A directory is trusted when the
 * `projects` table says `trust_level = "trusted"` for it, else for the
 * project root, else for the git repository root (paths compared after
 * resolving symlinks). Requirements come from `/etc/codex/requirements.toml`.
 * Each layer is cut down to the key paths asked for, and left out when
 * nothing remains; a missing file is no layer, a broken one an error.
 *
 * Every file is looked at before it is read: one that is not a regular file
 * (a FIFO would never end, a device never stop) is codex's "is not a file"
 * error, and one over {@linkcode MAX_CONFIG_BYTES} is refused. What the
 * client's `cwd` leads to (markers, `.codex` directories and their files) is
 * read only where {@linkcode ConfigSources.mayRead} allows: the server's
 * `--fs-root` confinement and `--sandbox` read rules.
 *
 * @module
 */
import { internalError, invalidParams, RpcError } from "../protocol/errors.ts";
import type {
  ConfigLayer,
  EnvironmentConfigReadParams,
  EnvironmentConfigReadResult,
} from "../protocol/host.ts";
import { fileUriToPath, pathToFileUri } from "../protocol/sandbox.ts";
import { messageOf } from "../util/errors.ts";
import {
  isTable,
  parseToml,
  selectPaths,
  TomlSyntaxError,
  type TomlTable,
  writeToml,
} from "./toml.ts";

/**
 * Largest config file read: 1 MiB. codex 0.171 has no limit (it read a
 * 20 MiB `config.toml`); real ones are a few KB.
 */
export const MAX_CONFIG_BYTES = 1024 * 1024;

/** Where the executor's configuration lives. */
export interface ConfigSources {
  /** The server's environment (`CODEX_HOME`, `HOME`). */
  env: Record<string, string>;
  /**
   * Whether the canonical `path` may be looked at. `steered` is true for
   * what the client's `cwd` leads to (the project search) and false for the
   * system and user files, which the operator placed. Refused is treated as
   * absent. @default {everything may}
   */
  mayRead?: (path: string, steered: boolean) => boolean;
  /** The system config directory. @default {"/etc/codex"} */
  systemDir?: string;
  /** The host name reported. @default {Deno.hostname()} */
  hostname?: string;
}

interface LoadedLayer {
  source: string;
  baseDir: string;
  doc: TomlTable;
}

function parent(path: string): string | null {
  if (path === "/") return null;
  const i = path.lastIndexOf("/");
  return i <= 0 ? "/" : path.slice(0, i);
}

function join(dir: string, name: string): string {
  return dir === "/" ? `/${name}` : `${dir}/${name}`;
}

async function stat(path: string): Promise<Deno.FileInfo | null> {
  try {
    return await Deno.stat(path);
  } catch {
    return null;
  }
}

async function canonical(path: string): Promise<string> {
  try {
    return await Deno.realPath(path);
  } catch {
    return path;
  }
}

/** Whether `path` may be looked at (canonicalized first: the check sees where it leads). */
type Gate = (path: string) => Promise<boolean>;

function gateOf(sources: ConfigSources, steered: boolean): Gate {
  const may = sources.mayRead;
  if (may === undefined) return () => Promise.resolve(true);
  return async (path) => may(await canonical(path), steered);
}

/** The codex-worded error for a config file that cannot be loaded. */
function loadError(path: string, why: string) {
  return internalError(
    `failed to load executor-local config: Failed to read config file ${path}: ${why}`,
  );
}

/**
 * Reads and parses a config file; null when it does not exist (or `gate`
 * refuses it). Only a regular file of at most {@linkcode MAX_CONFIG_BYTES}
 * is read, and only that many bytes of it.
 */
async function load(path: string, gate: Gate): Promise<TomlTable | null> {
  let text: string;
  try {
    if (!(await gate(path))) return null;
    const info = await Deno.stat(path);
    if (!info.isFile) throw loadError(path, `path \`${path}\` is not a file`);
    if (info.size > MAX_CONFIG_BYTES) throw tooBig(path, info.size);
    using file = await Deno.open(path, { read: true });
    // Whatever was opened (the path may have changed since the stat) must pass too.
    const opened = await file.stat();
    if (!opened.isFile) throw loadError(path, `path \`${path}\` is not a file`);
    if (opened.size > MAX_CONFIG_BYTES) throw tooBig(path, opened.size);
    text = new TextDecoder().decode(await readAtMost(file, path));
  } catch (err) {
    if (err instanceof Deno.errors.NotFound || err instanceof Deno.errors.NotADirectory) {
      return null;
    }
    if (err instanceof RpcError) throw err;
    throw internalError(`failed to load executor-local config: ${path}: ${messageOf(err)}`);
  }
  try {
    return parseToml(text);
  } catch (err) {
    if (err instanceof TomlSyntaxError) {
      throw internalError(
        `failed to load executor-local config: ${path}:${err.line}:${err.column}: ${err.message}`,
      );
    }
    throw err;
  }
}

function tooBig(path: string, size: number) {
  return loadError(
    path,
    `it is ${size} bytes, more than the limit of ${MAX_CONFIG_BYTES} bytes for a config file`,
  );
}

/** The whole file, failing once it grows past the limit. */
async function readAtMost(file: Deno.FsFile, path: string): Promise<Uint8Array> {
  const buffer = new Uint8Array(MAX_CONFIG_BYTES + 1);
  let length = 0;
  for (;;) {
    const n = await file.read(buffer.subarray(length));
    if (n === null) return buffer.subarray(0, length);
    length += n;
    if (length > MAX_CONFIG_BYTES) throw tooBig(path, length);
  }
}

/** Whether `dir` holds `marker` (a `.git` directory needs its `HEAD`). */
async function hasMarker(dir: string, marker: string, gate: Gate): Promise<boolean> {
  const path = join(dir, marker);
  if (!(await gate(path))) return false;
  const info = await stat(path);
  if (!info) return false;
  if (marker === ".git" && info.isDirectory) return (await stat(join(dir, ".git/HEAD"))) !== null;
  return true;
}

/** The nearest directory at or above `cwd` with a marker, stopping where `gate` refuses. */
async function nearest(
  cwd: string,
  markers: readonly string[],
  gate: Gate,
): Promise<string | null> {
  if (markers.length === 0) return null;
  for (let dir: string | null = cwd; dir !== null; dir = parent(dir)) {
    if (!(await gate(dir))) return null;
    for (const m of markers) if (await hasMarker(dir, m, gate)) return dir;
  }
  return null;
}

/** `project_root_markers` from the layers below the projects, or the default. */
function markersOf(layers: LoadedLayer[]): string[] {
  let markers: unknown = undefined;
  for (const l of layers) {
    if (Object.hasOwn(l.doc, "project_root_markers")) markers = l.doc.project_root_markers;
  }
  if (markers === undefined) return [".git"];
  if (!Array.isArray(markers) || !markers.every((m) => typeof m === "string")) {
    throw internalError(
      "failed to load executor-local config: project_root_markers must be an array of strings",
    );
  }
  return markers as string[];
}

/** `projects` trust levels from those layers, keyed by canonical path. */
async function trustOf(layers: LoadedLayer[]): Promise<Map<string, string>> {
  const trust = new Map<string, string>();
  for (const l of layers) {
    const projects = l.doc.projects;
    if (!isTable(projects)) continue;
    for (const [path, entry] of Object.entries(projects)) {
      if (isTable(entry) && typeof entry.trust_level === "string") {
        trust.set(await canonical(path), entry.trust_level);
      }
    }
  }
  return trust;
}

async function projectLayers(
  cwd: string,
  codexHome: string,
  below: LoadedLayer[],
  gate: Gate,
): Promise<LoadedLayer[]> {
  const root = (await nearest(cwd, markersOf(below), gate)) ?? cwd;
  const repo = await nearest(cwd, [".git"], gate);
  const trust = await trustOf(below);
  const level = async (dir: string | null) =>
    dir === null ? undefined : trust.get(await canonical(dir));
  const dirs: string[] = [];
  for (let dir: string | null = cwd; dir !== null; dir = parent(dir)) {
    dirs.unshift(dir);
    if (dir === root) break;
  }
  const layers: LoadedLayer[] = [];
  const home = await canonical(codexHome);
  for (const dir of dirs) {
    const dotCodex = join(dir, ".codex");
    if (!(await gate(dotCodex))) continue;
    if (!(await stat(dotCodex))?.isDirectory || (await canonical(dotCodex)) === home) continue;
    const decision = (await level(dir)) ?? (await level(root)) ?? (await level(repo));
    if (decision !== "trusted") continue;
    const file = join(dotCodex, "config.toml");
    const doc = await load(file, gate);
    if (doc) layers.push({ source: `project (${file})`, baseDir: dotCodex, doc });
  }
  return layers;
}

function checkPaths(paths: readonly (readonly string[])[]): void {
  if (paths.some((p) => p.length === 0)) {
    throw invalidParams("TOML paths must contain at least one key segment");
  }
}

function filtered(layers: LoadedLayer[], paths: readonly (readonly string[])[]): ConfigLayer[] {
  if (paths.length === 0) return [];
  const out: ConfigLayer[] = [];
  for (const l of layers) {
    const toml = writeToml(selectPaths(l.doc, paths));
    if (toml !== "") out.push({ source: l.source, baseDir: pathToFileUri(l.baseDir), toml });
  }
  return out;
}

function trimSlash(path: string): string {
  return path.length > 1 ? path.replace(/\/+$/, "") : path;
}

/** Answers `environmentConfig/read` from this host's files. */
export async function readEnvironmentConfig(
  params: EnvironmentConfigReadParams,
  sources: ConfigSources,
): Promise<EnvironmentConfigReadResult> {
  if (params.configPaths.length === 0 && params.requirementsPaths.length === 0) {
    throw invalidParams("at least one config or requirements path is required");
  }
  checkPaths(params.configPaths);
  checkPaths(params.requirementsPaths);
  const env = sources.env;
  const home = trimSlash(env.HOME?.startsWith("/") ? env.HOME : "/");
  const codexHome = trimSlash(
    env.CODEX_HOME?.startsWith("/") ? env.CODEX_HOME : join(home, ".codex"),
  );
  const systemDir = sources.systemDir ?? "/etc/codex";
  const cwd = fileUriToPath(params.cwd);
  const own = gateOf(sources, false);

  const system: LoadedLayer[] = [];
  const systemFile = join(systemDir, "config.toml");
  const systemDoc = await load(systemFile, own);
  if (systemDoc) {
    system.push({ source: `system (${systemFile})`, baseDir: systemDir, doc: systemDoc });
  }
  const user: LoadedLayer[] = [];
  const userFile = join(codexHome, "config.toml");
  const userDoc = await load(userFile, own);
  if (userDoc) user.push({ source: `user (${userFile})`, baseDir: codexHome, doc: userDoc });
  const projects = await projectLayers(cwd, codexHome, [...system, ...user], gateOf(sources, true));
  const requirements: LoadedLayer[] = [];
  const reqFile = join(systemDir, "requirements.toml");
  const reqDoc = await load(reqFile, own);
  if (reqDoc) requirements.push({ source: reqFile, baseDir: systemDir, doc: reqDoc });

  const systemLayers = filtered(system, params.configPaths);
  const reqLayers = filtered(requirements, params.requirementsPaths);
  return {
    userHomeDir: pathToFileUri(home),
    codexHomeDir: pathToFileUri(codexHome),
    hostname: sources.hostname ?? hostname(),
    config: {
      layers: [...systemLayers, ...filtered([...user, ...projects], params.configPaths)],
      cloudInsertionIndex: systemLayers.length,
    },
    requirements: { layers: reqLayers, cloudInsertionIndex: reqLayers.length },
  };
}

function hostname(): string {
  try {
    return Deno.hostname();
  } catch {
    return "";
  }
}
