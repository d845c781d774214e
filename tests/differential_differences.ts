// Copyright 2026 the exec-server authors. MIT license.
/**
 * Where ours differs from codex 0.171's `codex exec-server` on purpose: the
 * one list. The differential suite (`tests/differential_test.ts`) requires
 * every step marked `differs: ID` to name a row here and to really differ,
 * and the README's table of deliberate differences must say the same as this
 * list (the suite checks it; `deno run tests/differential_differences.ts`
 * prints the table as the README should have it).
 *
 * @module
 */

/** One deliberate difference. */
export interface DeliberateDifference {
  /** A stable id, used by the cases (`differs: ID`). */
  id: string;
  /** The behaviour, as the README's first column names it. */
  behaviour: string;
  /** What codex 0.171 does. */
  codex: string;
  /** What ours does. */
  ours: string;
  /** Why. */
  reason: string;
  /**
   * Where it is shown when no differential step can (`differs: ID` is the
   * rule): a test, or a normalisation rule.
   */
  shownBy?: string;
}

/** The list, in the README's order. */
export const DELIBERATE_DIFFERENCES: readonly DeliberateDifference[] = [
  {
    id: "terminate-grace",
    behaviour: "`process/terminate`",
    codex: "SIGKILL to the process group at once (exit code 137)",
    ours:
      "SIGTERM to the whole tree (descendants that left the group too), SIGKILL after 2 s (`--kill-grace`); exit code 143 for a process " +
      "that ends on SIGTERM",
    reason: "a process gets the chance to clean up (flush output, remove temporary files, stop " +
      "its own children)",
  },
  {
    id: "tty-signal-exit",
    behaviour: "a terminal process killed by a signal",
    codex: "`exitCode` 1",
    ours: "`exitCode` 128+N and `signal` naming it, as for pipes",
    reason: "the shell's convention, the same for pipes and terminals; the model sees that the " +
      "process was killed",
  },
  {
    id: "concurrent-requests",
    behaviour: "requests on one connection",
    codex: "handled one at a time (`--concurrent-requests 1`): a long-polling `process/read` " +
      "holds up every later call",
    ours: "handled concurrently, up to 64 at once by default (`--concurrent-requests N`)",
    reason: "a client waiting for output can still read files, write stdin or terminate",
  },
  {
    id: "ours-only-methods",
    behaviour: "`ping`, `process/closeStdin`, `process/resize`, `process/list`, `fs/watch`, " +
      "`fs/unwatch`",
    codex: "-32601",
    ours: "implemented",
    reason: "our additions (keepalive, end-of-file, terminals, rebuilding a client's view, " +
      "watches); codex clients never call them",
  },
  {
    id: "more-signals",
    behaviour: "`process/signal`",
    codex: "`interrupt` only",
    ours: "`interrupt`, `terminate`, `kill`, `hangup`, `quit`, `user1`, `user2`",
    reason: "a superset; `interrupt` behaves the same",
  },
  {
    id: "native-paths",
    behaviour: "paths and `cwd` as native absolute paths",
    codex: "-32602 (`file://` URIs only)",
    ours: "accepted, as are `file://` URIs",
    reason: "April-era clients send native paths",
  },
  {
    id: "our-fs-sandbox",
    behaviour: "`sandbox` on `fs/*` in our own shape, `{readOnly?, writableRoots?}`",
    codex: "-32602 (only a permission profile)",
    ours: "accepted: it narrows the `--fs-root` confinement; a permission profile is told apart " +
      "by its shape",
    reason: "April-era clients send it",
  },
  {
    id: "write-id-optional",
    behaviour: "`process/write` without `writeId`",
    codex: "-32602 (required)",
    ours: "accepted (the write is not deduplicated)",
    reason: "April-era clients send no `writeId`",
  },
  {
    id: "file-ranges",
    behaviour: "`fs/readFile` `offset`/`length`, `fs/writeFile` `append`",
    codex: "ignored (whole-file read, truncating write)",
    ours: "honoured",
    reason: "chunked transfer of files bigger than one message; codex clients never send them",
  },
  {
    id: "special-file-reads",
    behaviour: "`fs/readFile` of a FIFO or a device",
    codex: "-32600 (``path `P` is not a file``)",
    ours: "read as `cat` reads it, up to the message limit (a FIFO without a writer reads as " +
      "empty, a device that never ends fails at the limit)",
    reason: "a client can read what the server's user can read, such as a pipe another " +
      "process fills",
  },
  {
    id: "replace-handles",
    behaviour: "`fs/open` with `mode: replace`",
    codex: "truncates the target at `fs/open` and writes in place, so a dropped connection or a " +
      "full disk leaves a partial file; `fs/readBlock` on the handle drops it",
    ours: "writes a temporary file that `fs/close` renames over the target: readers see the old " +
      "file until then, and a failed block or a session that ends without `fs/close` leaves it " +
      "untouched (`fs/close` reports the failure); a wrong-direction read keeps the handle",
    reason: "no partial files; nothing the client wrote is dropped by a mistaken call",
  },
  {
    id: "atomic-writes",
    behaviour: "`fs/writeFile` (without `append`) and `fs/copy` onto a file",
    codex: "write the target in place",
    ours: "write a temporary file in the target's directory and rename it over the target (the " +
      "mode, and for root the owner, are kept; the inode is new)",
    reason: "a failure, such as a full disk, leaves the old file intact",
    shownBy: "tests/fs_disk_full_e2e_test.ts (a 2 MiB tmpfs)",
  },
  {
    id: "session-handles",
    behaviour: "`fs/open` handles and the `fs/watchMissing` watch",
    codex: "belong to the connection: gone after a resume; 128 handles per connection",
    ours: "belong to the session: they survive a resume; 128 handles per session, 4096 per " +
      "server",
    reason: "a client that reconnects keeps its open files and its watch, as it keeps its " +
      "processes",
  },
  {
    id: "present-list",
    behaviour: "`fs/watchMissing` `present`",
    codex: "one path",
    ours: "one path or a list",
    reason: "a watch can wait on several files at once (issue 13)",
  },
  {
    id: "no-capability-discovery",
    behaviour: "`capabilities/discoverV2` (skills and plugins on the executor)",
    codex: "lists the skills under `$CODEX_HOME/skills` and `$HOME/.agents/skills` (`plugins` " +
      "always empty); `capabilityDiscoveryV2` true",
    ours: "-32601; `capabilityDiscoveryV2` false, so a client does not ask",
    reason: "not built: it mirrors codex's own skill layout and front matter, and the 0.171 " +
      "client calls it only behind the off-by-default `executor_capability_discovery_v2` " +
      "feature and the flag",
  },
  {
    id: "violation-close",
    behaviour: "closing the connection on a protocol violation",
    codex: "abrupt (the client sees 1006)",
    ours: "close code 1008 with the reason",
    reason: "the client learns what it did wrong",
  },
  {
    id: "environment-info",
    behaviour: "`environmentInfo` (`initialize`, `environment/info`)",
    codex: "`executorVersion` 0.171.0; `prependPathDirs` holds codex's helper binaries (`rg`); " +
      "every capability flag true but `windowsMxc`",
    ours: "our version; no `prependPathDirs`; a capability flag is true only for what we implement",
    reason: "each flag makes the client call methods, so a flag for something we lack would " +
      "break it; we ship no helper binaries",
  },
  {
    id: "non-loopback-no-auth",
    behaviour: "`serve --listen` on a non-loopback address without auth",
    codex: "starts, without a warning",
    ours: "refuses to start unless `--insecure-no-auth` says so",
    reason: "anyone who can reach the port could run commands as the server's user",
  },
  {
    id: "redirect-env-headers",
    behaviour: "`http/request` headers with `valueEnvVar` on a redirect to another origin",
    codex: "sent to the new origin (only `authorization`, `cookie`, `proxy-authorization` and " +
      "`www-authenticate` are dropped)",
    ours: "dropped, with those four",
    reason: "the executor's secret was meant for the origin the client named, not for whoever " +
      "that origin redirects to",
    shownBy: "tests/host_http_e2e_test.ts (two loopback origins)",
  },
  {
    id: "config-size",
    behaviour: "`environmentConfig/read` of a config file over 1 MiB",
    codex: "read whole, whatever its size (a 20 MiB `config.toml` was read)",
    ours: "-32603 saying the file is over the 1 MiB limit",
    reason: "a client-chosen project directory must not make the server read an unbounded file " +
      "into memory; codex's own config files are a few KiB",
    shownBy: "tests/host_config_limits_test.ts",
  },
  {
    id: "error-texts",
    behaviour: "error messages",
    codex: 'serde\'s texts ("missing field `x`", "invalid type: …"); a spawn error is the ' +
      "bare OS text",
    ours: 'texts that name the method and field ("invalid params for process/start: argv: …"); ' +
      'a spawn error is the OS text and what it concerns ("No such file or directory (os error ' +
      '2): prog"); the same codes and `data.kind`',
    reason:
      "clients act on codes and kinds, not texts (the 0.171 client does); ours say what was " +
      "wrong where",
    shownBy: "tests/_differential.ts: messages are compared only where a step claims codex's " +
      "wording",
  },
  {
    id: "pty-start-errors",
    behaviour: "a terminal (`tty: true`) start that cannot run",
    codex: "a missing cwd or a file as cwd starts the process in `$HOME`; a program not on PATH " +
      'is `spawnFailed` ("Unable to spawn …")',
    ours: "the errors of a piped start: `spawnNotFound` for a missing cwd or program, " +
      "`spawnFailed` for a file as cwd",
    reason: "one program and cwd rule for pipes and terminals; a command never runs anywhere but " +
      "where it was asked to",
    shownBy: "tests/compat_spawn_errors_test.ts",
  },
  {
    id: "input-leniency",
    behaviour: "`pipeStdin: null`; a `metadata.threadId` that is not a UUID; an empty `processId`",
    codex: "rejected; rejected; accepted",
    ours: "accepted (the default); accepted (metadata is only logged); -32602",
    reason: "null means the default for every optional field of ours; an empty id cannot be told " +
      "apart in logs and `process/list`",
    shownBy: "tests/compat_frames_test.ts",
  },
  {
    id: "exit-after-output",
    behaviour: "`process/exited` against the output before it",
    codex: "may come before output the process wrote before exiting (clients order by seq)",
    ours: "comes after every byte the process wrote before it exited",
    reason: "a client that does not reorder still sees the output first",
    shownBy: "tests/process_e2e_test.ts: pushes events in seq order",
  },
  {
    id: "our-access-options",
    behaviour: "`--token-file`/`EXEC_SERVER_TOKEN`, a `bearer.<token>` subprotocol, " +
      "`--allow-origin`, `--tls-cert`/`--tls-key`",
    codex: "none: `--ws-auth` only, any `Origin` is 403, no TLS",
    ours: "available next to codex's `--ws-auth` modes, which behave as codex's",
    reason: "browser pages cannot set headers; TLS where no tunnel or relay protects the link",
    shownBy: "tests/security_e2e_test.ts",
  },
  {
    id: "our-extra-fields",
    behaviour: "fields only ours sends",
    codex: "absent",
    ours: "`signal`, `timedOut` and `gap` in `process/read` and `process/exited`; `size` and " +
      "`eof` in `fs/readFile`; `capabilities.binaryOutput` in `initialize` when asked",
    reason: "our additions; codex clients ignore unknown fields",
    shownBy: "OUR_EXTRA_FIELDS below: the differential runner drops exactly these",
  },
];

/**
 * The fields ours adds on purpose (row `our-extra-fields`), by the kind of
 * differential entry (a method, or `events` for a process's summarised
 * notifications): dot paths, dropped from our replies before comparing when
 * codex's reply lacks them.
 */
export const OUR_EXTRA_FIELDS: Readonly<Record<string, readonly string[]>> = {
  "process/read": ["result.signal", "result.timedOut", "result.gap"],
  "events": ["exited.signal", "exited.timedOut"],
  "fs/readFile": ["result.size", "result.eof"],
  "initialize": ["result.capabilities"],
};

/** The README's table, as markdown (before `deno fmt` pads it). */
export function differencesMarkdown(): string {
  const rows = DELIBERATE_DIFFERENCES.map((d) =>
    `| ${d.behaviour} | ${d.codex} | ${d.ours} | ${d.reason} |`
  );
  return ["| behaviour | codex 0.171 | ours | why |", "| --- | --- | --- | --- |", ...rows]
    .join("\n");
}

if (import.meta.main) console.log(differencesMarkdown());
