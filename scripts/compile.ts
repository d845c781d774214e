// Copyright 2026 the exec-server authors. MIT license.
/**
 * `deno task compile`: builds the single `exec-server` binary for Linux
 * x86_64 and aarch64 and macOS (x86_64 and arm64) into dist/bin/.
 *
 * `deno compile` downloads Deno's `denort` runtime for each target; where
 * that download is unreachable it fails, and this script says so and points
 * to `deno task bundle`, which works offline.
 *
 * Usage: deno run -A scripts/compile.ts [--target TRIPLE]...
 *
 * @module
 */
import { parseArgs } from "node:util";

/** Permissions compiled into the binary: what `serve` needs (FFI for terminals). */
export const PERMISSIONS = [
  "--allow-net",
  "--allow-run",
  "--allow-read",
  "--allow-write",
  "--allow-env",
  "--allow-ffi",
  "--allow-sys",
];

const TARGETS: Record<string, string> = {
  "x86_64-unknown-linux-gnu": "exec-server-linux-x86_64",
  "aarch64-unknown-linux-gnu": "exec-server-linux-aarch64",
  "x86_64-apple-darwin": "exec-server-macos-x86_64",
  "aarch64-apple-darwin": "exec-server-macos-arm64",
};

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: { target: { type: "string", multiple: true }, help: { type: "boolean", short: "h" } },
  });
  if (values.help) {
    console.log(
      `Usage: deno task compile [--target TRIPLE]...\nTargets: ${Object.keys(TARGETS).join(", ")}`,
    );
    Deno.exit(0);
  }
  const targets = values.target ?? Object.keys(TARGETS);
  const root = new URL("..", import.meta.url).pathname;
  await Deno.mkdir(`${root}dist/bin`, { recursive: true });
  let failed = 0;
  for (const target of targets) {
    const name = TARGETS[target];
    if (!name) {
      console.error(`unknown target ${target}; known: ${Object.keys(TARGETS).join(", ")}`);
      Deno.exit(2);
    }
    console.error(`compiling ${target} → dist/bin/${name}`);
    const { success, stderr } = await new Deno.Command(Deno.execPath(), {
      args: [
        "compile",
        "--target",
        target,
        ...PERMISSIONS,
        "-o",
        `${root}dist/bin/${name}`,
        `${root}main.ts`,
      ],
      stdout: "inherit",
      stderr: "piped",
    }).output();
    if (success) continue;
    failed++;
    const text = new TextDecoder().decode(stderr);
    if (/denort|dns error|error sending request|Connect/i.test(text)) {
      console.error(
        `cannot compile for ${target}: deno compile must download the denort runtime for that ` +
          `target from Deno's release server, which is unreachable from here. Build on a machine ` +
          `with that access, or use \`deno task bundle\` (one offline JS file run with ` +
          `\`deno run -A dist/exec-server.js\`).`,
      );
    } else {
      console.error(`cannot compile for ${target}:\n${text}`);
    }
  }
  Deno.exit(failed === 0 ? 0 : 1);
}
