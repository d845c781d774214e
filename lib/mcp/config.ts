// Copyright 2026 the exec-server authors. MIT license.
/**
 * MCP stdio server configuration as codex has it, and its translation into a
 * `process/start` request for the executor. Pure: the local environment is
 * passed in.
 *
 * @module
 */
import { z } from "npm:zod@^4.1.0";
import { inheritEnv } from "../protocol/process.ts";
import type { EnvPolicy, ProcessStartParams } from "../protocol/wire.ts";

/**
 * One `envVars` entry: a bare name (its value is read locally and sent), or
 * `{name, source}` with `source` `"local"` (the default) or `"remote"` (taken
 * from the executor host's environment).
 */
export type McpEnvVar = string | {
  /** The variable's name. */
  name: string;
  /** Where its value comes from: `"local"` or `"remote"`. @default {"local"} */
  source?: string | undefined;
};

/** An MCP stdio server started through the executor, as codex configures one. */
export interface McpServerConfig {
  /** The program. */
  command: string;
  /** Its arguments. @default {[]} */
  args?: string[] | undefined;
  /** Working directory on the executor host (required). */
  cwd?: string | undefined;
  /** Literal variables to set. */
  env?: Record<string, string> | undefined;
  /** Variables to pass: local ones are read here and sent; remote ones come from the executor host. */
  envVars?: McpEnvVar[] | undefined;
}

/** Validates one `envVars` entry (internal: the public type is {@linkcode McpEnvVar}). */
const McpEnvVarSchema: z.ZodType<McpEnvVar> = z.union([
  z.string().min(1),
  z.object({
    name: z.string().min(1),
    source: z.string().optional(),
  }),
]);

/** Validates an MCP server config (internal: the public type is {@linkcode McpServerConfig}). */
const McpServerConfigSchema: z.ZodType<McpServerConfig> = z.object({
  /** The program. */
  command: z.string().min(1),
  /** Its arguments. @default {[]} */
  args: z.array(z.string()).optional(),
  /** Working directory on the executor host (required). */
  cwd: z.string().optional(),
  /** Literal variables to set. */
  env: z.record(z.string(), z.string()).optional(),
  /** Variables to pass: local ones are read here and sent; remote ones come from the executor host. */
  envVars: z.array(McpEnvVarSchema).optional(),
});

/** Variables MCP servers get from the executor host when remote variables are in play (Unix). */
export const DEFAULT_ENV_VARS: readonly string[] = [
  "HOME",
  "LOGNAME",
  "PATH",
  "SHELL",
  "USER",
  "__CF_USER_TEXT_ENCODING",
  "LANG",
  "LC_ALL",
  "TERM",
  "TMPDIR",
  "TZ",
];

/**
 * Builds the `process/start` params for an MCP server: `tty:false`,
 * `pipeStdin:true`, env with the local variables and the literal map, and an
 * `envPolicy` that takes remote variables from the executor host.
 *
 * @throws {TypeError} For a missing cwd or an unsupported `envVars` source.
 *
 * @example
 * ```ts
 * import { mcpStartParams } from "./config.ts";
 * import assert from "node:assert/strict";
 * const p = mcpStartParams("mcp-stdio-1", { command: "node", args: ["s.js"], cwd: "/srv", envVars: ["API_URL"] }, { API_URL: "x" });
 * assert.equal(p.env.API_URL, "x");
 * assert.ok(p.envPolicy?.inherit === "core");
 * ```
 */
export function mcpStartParams(
  processId: string,
  config: McpServerConfig,
  localEnv: Readonly<Record<string, string | undefined>>,
): ProcessStartParams & { envPolicy: EnvPolicy } {
  const parsed = McpServerConfigSchema.parse(config);
  if (!parsed.cwd) throw new TypeError("executor stdio server requires an explicit cwd");
  const env: Record<string, string> = {};
  const remote: string[] = [];
  for (const entry of parsed.envVars ?? []) {
    const name = typeof entry === "string" ? entry : entry.name;
    const source = typeof entry === "string" ? "local" : entry.source ?? "local";
    if (source === "remote") remote.push(name);
    else if (source === "local") {
      const value = localEnv[name];
      if (value !== undefined) env[name] = value;
    } else {
      throw new TypeError(
        `unsupported env_vars source ${
          JSON.stringify(source)
        } for ${name}; expected \`local\` or \`remote\``,
      );
    }
  }
  Object.assign(env, parsed.env ?? {});
  const envPolicy = remote.length === 0
    ? inheritEnv({ inherit: "core" })
    : inheritEnv({ includeOnly: [...DEFAULT_ENV_VARS, ...remote] });
  return {
    processId,
    argv: [parsed.command, ...(parsed.args ?? [])],
    cwd: parsed.cwd,
    env,
    envPolicy,
    tty: false,
    pipeStdin: true,
    arg0: null,
  };
}
