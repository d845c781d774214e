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

/** The most telling line of deno compile's error output. */
function firstLine(text: string): string {
  // deno-lint-ignore no-control-regex -- strips the ANSI colours of deno's own messages
  const lines = text.split("\n").map((l) => l.replace(/\x1b\[[0-9;]*m/g, "").trim());
  return lines.find((l) => /dns error|error sending request|Connect/i.test(l)) ??
    lines.find((l) => l.startsWith("error")) ?? "download failed";
}

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
          `target from Deno's release server (dl.deno.land), which is unreachable from here ` +
          `(${firstLine(text)}). Build on a machine with that access. Without it, install the ` +
          `command another way: \`deno task install\` (this checkout, with Deno), or the npm ` +
          `package that brings its own Deno from the npm registry (\`deno task build:npm\`, ` +
          `then \`npm install -g dist/exec-server-cli-VERSION.tgz\`); \`deno task bundle\` ` +
          `writes the one-file dist/exec-server.js for \`deno run -A\`.`,
      );
    } else {
      console.error(`cannot compile for ${target}:\n${text}`);
    }
  }
  Deno.exit(failed === 0 ? 0 : 1);
}
