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
 * @module
 */
import { internalError, invalidParams } from "../protocol/errors.ts";
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

/** Where the executor's configuration lives. */
export interface ConfigSources {
  /** The server's environment (`CODEX_HOME`, `HOME`). */
  env: Record<string, string>;
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

/** Reads and parses a config file; null when it does not exist. */
async function load(path: string): Promise<TomlTable | null> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound || err instanceof Deno.errors.NotADirectory) {
      return null;
    }
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

/** Whether `dir` holds `marker` (a `.git` directory needs its `HEAD`). */
async function hasMarker(dir: string, marker: string): Promise<boolean> {
  const info = await stat(join(dir, marker));
  if (!info) return false;
  if (marker === ".git" && info.isDirectory) return (await stat(join(dir, ".git/HEAD"))) !== null;
  return true;
}

async function nearest(cwd: string, markers: readonly string[]): Promise<string | null> {
  if (markers.length === 0) return null;
  for (let dir: string | null = cwd; dir !== null; dir = parent(dir)) {
    for (const m of markers) if (await hasMarker(dir, m)) return dir;
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
): Promise<LoadedLayer[]> {
  const root = (await nearest(cwd, markersOf(below))) ?? cwd;
  const repo = await nearest(cwd, [".git"]);
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
    if (!(await stat(dotCodex))?.isDirectory || (await canonical(dotCodex)) === home) continue;
    const decision = (await level(dir)) ?? (await level(root)) ?? (await level(repo));
    if (decision !== "trusted") continue;
    const file = join(dotCodex, "config.toml");
    const doc = await load(file);
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

  const system: LoadedLayer[] = [];
  const systemFile = join(systemDir, "config.toml");
  const systemDoc = await load(systemFile);
  if (systemDoc) {
    system.push({ source: `system (${systemFile})`, baseDir: systemDir, doc: systemDoc });
  }
  const user: LoadedLayer[] = [];
  const userFile = join(codexHome, "config.toml");
  const userDoc = await load(userFile);
  if (userDoc) user.push({ source: `user (${userFile})`, baseDir: codexHome, doc: userDoc });
  const projects = await projectLayers(cwd, codexHome, [...system, ...user]);
  const requirements: LoadedLayer[] = [];
  const reqFile = join(systemDir, "requirements.toml");
  const reqDoc = await load(reqFile);
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
