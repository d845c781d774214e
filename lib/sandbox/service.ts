// Copyright 2026 the exec-server authors. MIT license.
/**
 * The sandbox service the server asks, per `process/start` and per `fs/*`
 * call, what a profile takes: it compiles the profile (intersected with the
 * operator's default, if any), checks that bubblewrap works here, and turns
 * the start into a bwrap command line any spawner runs. It fails closed: a
 * profile that cannot be enforced is a {@linkcode SandboxError}, never an
 * unconfined start.
 *
 * @module
 */
import type { Child, ChildSink } from "../process/child.ts";
import { EXEC_WITH_ARG0, findProgram, PERL } from "../process/program.ts";
import { messageOf } from "../util/errors.ts";
import type { FileSystemSandboxContext, SandboxType } from "../protocol/sandbox.ts";
import { GlobScanError, type Placeholder, planBwrap } from "./bwrap_args.ts";
import { findBwrap, hostArch, HostFacts, RuntimeFiles } from "./host.ts";
import { defaultJournalDir, PlaceholderRegistry } from "./placeholders.ts";
import { SandboxedChild } from "./sandboxed_child.ts";
import { accessAt, type Enforcement, SandboxError, type SandboxPolicy } from "./policy.ts";
import { compileProfile, intersect } from "./compile.ts";
import { FsPolicy } from "./fs_policy.ts";

/** Options of {@linkcode SandboxService}. */
export interface SandboxServiceOptions {
  /** The bubblewrap executable. @default {`bwrap` in the server's PATH, else /usr/bin/bwrap} */
  bwrap?: string;
  /**
   * The operator's profile (`serve --sandbox`): applied to every start and fs
   * call that brings none, and intersected with every client profile, so no
   * client gets more than it grants. Its `tmpdir` is the server's `$TMPDIR`.
   * @default {undefined: none}
   */
  defaultProfile?: FileSystemSandboxContext;
  /** The server's environment (PATH for bwrap, TMPDIR for the default profile). @default {Deno.env} */
  serverEnv?: Readonly<Record<string, string>>;
  /**
   * Where placeholders are journaled, so that the next server removes what a
   * killed one left (null: not journaled).
   * @default {`$XDG_STATE_HOME/exec-server/placeholders`, else under `$HOME/.local/state`}
   */
  journalDir?: string | null;
}

/** What `process/start` asks to run. */
export interface StartRequest {
  /** The client's profile; null or absent: none. */
  sandbox: FileSystemSandboxContext | null | undefined;
  /** Program and arguments. */
  argv: string[];
  /** argv[0] override, or null. */
  arg0: string | null;
  /** Working directory (native, absolute). */
  cwd: string;
  /** The child's whole environment. */
  env: Record<string, string>;
  /** Runs on a terminal. */
  tty: boolean;
}

/** A start, prepared: what to spawn, and how to look after it. */
export interface PreparedStart {
  /** For the `process/start` result. */
  sandboxType: SandboxType;
  /** What the spawner runs (bwrap's command line when sandboxed). */
  argv: string[];
  /** argv[0] override for the spawner (null when sandboxed: applied inside). */
  arg0: string | null;
  /** Working directory for the spawner. */
  cwd: string;
  /** Environment for the spawner. */
  env: Record<string, string>;
  /** Wraps the sink: the sandbox's resources go when the child exits. */
  sink(sink: ChildSink): ChildSink;
  /** Wraps the started child: signals reach the sandboxed command. */
  adopt(child: Child): Child;
  /** Gives back what preparing took, when the spawn failed. */
  release(): Promise<void>;
}

/** How long a failed bubblewrap probe is trusted before it is tried again. */
const PROBE_RETRY_MS = 5000;

/**
 * Compiles profiles and prepares sandboxed starts. Nothing touches the host
 * until the first profile arrives.
 */
export class SandboxService implements AsyncDisposable {
  readonly #options: SandboxServiceOptions;
  readonly #facts = new HostFacts();
  readonly #files = new RuntimeFiles();
  readonly #placeholders: PlaceholderRegistry;
  #probe: { at: number; result: Promise<string> } | null = null;
  #fsPolicies = new Map<string, { policy: FsPolicy | null; until: number }>();

  /** Creates the service; see {@linkcode SandboxServiceOptions}. */
  constructor(options: SandboxServiceOptions = {}) {
    this.#options = options;
    const journal = options.journalDir !== undefined
      ? options.journalDir
      : defaultJournalDir(options.serverEnv ?? Deno.env.toObject());
    this.#placeholders = new PlaceholderRegistry(journal);
  }

  /** Whether an operator profile applies to everything. */
  get hasDefault(): boolean {
    return this.#options.defaultProfile !== undefined;
  }

  /** Whether the operator's profile restricts network (then `http/request` is refused too). */
  get networkRestricted(): boolean {
    const permissions = this.#options.defaultProfile?.permissions;
    return permissions !== undefined && permissions.type !== "disabled" &&
      permissions.network === "restricted";
  }

  /** The placeholders currently on the host (for tests). */
  get placeholders(): string[] {
    return this.#placeholders.paths;
  }

  #serverEnv(): Readonly<Record<string, string>> {
    return this.#options.serverEnv ?? Deno.env.toObject();
  }

  /**
   * What a profile takes, intersected with the operator's. `cwd` is the
   * process's (or, for fs calls, the profile's own or `/`).
   */
  enforcement(
    context: FileSystemSandboxContext | null | undefined,
    cwd: string,
    env: Readonly<Record<string, string>>,
  ): Enforcement {
    const server = this.#options.defaultProfile;
    const cap = server === undefined
      ? null
      : this.#compile(server, { cwd, env: this.#serverEnv() });
    const own = context === null || context === undefined
      ? null
      : this.#compile(context, { cwd, env });
    const policies = [cap, own].filter((e): e is { kind: "bwrap"; policy: SandboxPolicy } =>
      e?.kind === "bwrap"
    );
    if (policies.length === 0) {
      return { kind: "none", why: own?.kind === "none" ? own.why : "no sandbox was asked for" };
    }
    if (policies.length === 1) return policies[0]!;
    return {
      kind: "bwrap",
      policy: intersect(policies[0]!.policy, policies[1]!.policy, this.#facts),
    };
  }

  #compile(
    context: FileSystemSandboxContext,
    input: { cwd: string; env: Readonly<Record<string, string>> },
  ): Enforcement {
    try {
      return compileProfile(context, input, this.#facts);
    } catch (err) {
      if (err instanceof SandboxError) throw err;
      throw new SandboxError(
        "sandboxPreparation",
        `cannot compile the sandbox profile: ${messageOf(err)}`,
      );
    }
  }

  /**
   * The fs check for a call carrying `context` (or, without one, the
   * operator's profile), or null when nothing restricts it.
   */
  fsPolicy(context: FileSystemSandboxContext | null | undefined): FsPolicy | null {
    if ((context === null || context === undefined) && !this.hasDefault) return null;
    // apply_patch sends the same profile with every call: compile it once a second.
    const key = JSON.stringify(context ?? null);
    const now = Date.now();
    const known = this.#fsPolicies.get(key);
    if (known && known.until > now) return known.policy;
    const env = this.#serverEnv();
    const enforcement = this.enforcement(context, "/", env);
    const policy = enforcement.kind === "none" ? null : new FsPolicy(enforcement.policy);
    if (this.#fsPolicies.size >= 64) this.#fsPolicies.clear();
    this.#fsPolicies.set(key, { policy, until: now + 1000 });
    return policy;
  }

  /**
   * Prepares a start. Without a profile (and no operator default) the
   * request passes through unchanged.
   *
   * @throws {SandboxError} When the profile cannot be enforced here.
   */
  async prepareStart(request: StartRequest): Promise<PreparedStart> {
    const enforcement = this.enforcement(request.sandbox, request.cwd, request.env);
    if (enforcement.kind === "none") return passThrough(request);
    const policy = enforcement.policy;
    const bwrap = await this.#bubblewrap();
    const arch = hostArch()!;
    const cwd = this.#facts.resolve(request.cwd);
    const cwdAccess = accessAt(policy, cwd);
    if (cwdAccess === "none" || cwdAccess === "deny") {
      throw new SandboxError(
        "sandboxPreparation",
        `the working directory ${request.cwd} is ${
          cwdAccess === "deny" ? "denied" : "not visible"
        } under the sandbox profile`,
      );
    }
    // A missing program fails the start, as it does unsandboxed.
    const program = findProgram(request.argv[0]!, request.cwd, request.env);
    this.#requireVisible(policy, program, `the program ${request.argv[0]}`);
    let argv = request.argv;
    if (request.arg0 !== null && request.arg0 !== request.argv[0]) {
      this.#requireVisible(policy, PERL, "perl (to set arg0)");
      argv = [PERL, "-e", EXEC_WITH_ARG0, "--", program, request.arg0, ...request.argv.slice(1)];
    }
    const mode = policy.network === "restricted" ? "restricted" : "enabled";
    let plan;
    try {
      const emptyFile = await this.#files.emptyFile();
      const seccompFile = await this.#files.filter(arch, mode);
      // A placeholder another sandbox holds is planned as missing, so this
      // start counts itself in rather than binding what may be removed.
      const facts = this.#facts;
      const registry = this.#placeholders;
      registry.sweep();
      plan = planBwrap(policy, { argv, cwd, env: request.env, tty: request.tty }, {
        bwrap,
        emptyFile,
        seccompFile,
        root: Deno.uid() === 0,
      }, {
        kind: (path) => registry.holds(path) ? "missing" : facts.kind(path),
        list: (dir) => facts.list(dir),
      });
    } catch (err) {
      if (err instanceof GlobScanError) throw new SandboxError("sandboxPreparation", err.message);
      throw err;
    }
    try {
      this.#placeholders.acquire(plan.placeholders);
    } catch (err) {
      throw new SandboxError("sandboxPreparation", messageOf(err));
    }
    return sandboxed(request, plan.argv, plan.placeholders, this.#placeholders);
  }

  #requireVisible(policy: SandboxPolicy, path: string, what: string): void {
    const access = accessAt(policy, this.#facts.resolve(path));
    if (access === "read" || access === "write") return;
    throw new SandboxError(
      "sandboxPreparation",
      `${what} (${path}) is ${
        access === "deny" ? "denied" : "not visible"
      } under the sandbox profile`,
    );
  }

  /** The bwrap path, once it has been seen to build a sandbox here. */
  #bubblewrap(): Promise<string> {
    const now = Date.now();
    const probe = this.#probe;
    if (probe) {
      const failedLongAgo = probe.result.then(() => false, () => now - probe.at > PROBE_RETRY_MS);
      return failedLongAgo.then((retry) => retry ? this.#newProbe(now) : probe.result);
    }
    return this.#newProbe(now);
  }

  #newProbe(now: number): Promise<string> {
    const result = this.#runProbe();
    result.catch(() => {});
    this.#probe = { at: now, result };
    return result;
  }

  async #runProbe(): Promise<string> {
    const arch = hostArch();
    if (arch === null) {
      throw new SandboxError(
        "sandboxUnavailable",
        `sandbox profiles are enforced with bubblewrap on Linux (x86_64, aarch64) only; this is ${Deno.build.os} on ${Deno.build.arch}`,
      );
    }
    const bwrap = findBwrap(this.#options.bwrap, this.#serverEnv().PATH);
    if (bwrap === null) {
      const where = this.#options.bwrap ?? "the server's PATH or /usr/bin/bwrap";
      throw new SandboxError(
        "sandboxUnavailable",
        `bubblewrap (bwrap) was not found at ${where}: install the bubblewrap package ` +
          "(apt-get install bubblewrap) to run sandboxed processes; refusing to run unsandboxed",
      );
    }
    // The shape every start has (planned the same way), for root read with
    // the network restricted: what fails here would fail each start.
    const probe = planBwrap(
      {
        rules: [{
          path: "/",
          access: "read",
          origin: "probe",
          protected: false,
          protectNames: false,
        }],
        globs: [],
        network: "restricted",
      },
      { argv: ["/bin/sh", "-c", "exit 0"], cwd: "/", env: {}, tty: false },
      {
        bwrap,
        emptyFile: await this.#files.emptyFile(),
        seccompFile: await this.#files.filter(arch, "restricted"),
        root: Deno.uid() === 0,
      },
      { kind: () => "dir", list: () => [] },
    );
    const [shell, ...args] = probe.argv;
    let output: Deno.CommandOutput;
    try {
      output = await new Deno.Command(shell!, {
        args,
        stdin: "null",
        stdout: "null",
        stderr: "piped",
        clearEnv: true,
        env: { PATH: "/usr/bin:/bin" },
      }).output();
    } catch (err) {
      throw new SandboxError(
        "sandboxUnavailable",
        `cannot run bubblewrap (${bwrap}): ${messageOf(err)}`,
      );
    }
    if (!output.success) {
      const detail = new TextDecoder().decode(output.stderr).trim().slice(0, 500) ||
        `exit code ${output.code}`;
      throw new SandboxError(
        "sandboxUnavailable",
        `bubblewrap (${bwrap}) cannot create a sandbox on this host: ${detail} ` +
          "(it needs user namespaces: check kernel.unprivileged_userns_clone, " +
          "user.max_user_namespaces or an AppArmor userns restriction)",
      );
    }
    return bwrap;
  }

  /** Removes the placeholders and private files; idempotent. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.#placeholders[Symbol.dispose]();
    await this.#files[Symbol.asyncDispose]();
  }
}

function passThrough(request: StartRequest): PreparedStart {
  return {
    sandboxType: "none",
    argv: request.argv,
    arg0: request.arg0,
    cwd: request.cwd,
    env: request.env,
    sink: (sink) => sink,
    adopt: (child) => child,
    release: () => Promise.resolve(),
  };
}

function sandboxed(
  request: StartRequest,
  argv: string[],
  placeholders: Placeholder[],
  registry: PlaceholderRegistry,
): PreparedStart {
  let released = false;
  const release = () => {
    if (!released) registry.release(placeholders);
    released = true;
    return Promise.resolve();
  };
  return {
    sandboxType: "linuxSeccomp",
    argv,
    arg0: null,
    cwd: request.cwd,
    env: request.env,
    sink: (sink) => ({
      output: (stream, data) => sink.output(stream, data),
      end: (stream) => sink.end(stream),
      exit: (status) => {
        void release();
        sink.exit(status);
      },
    }),
    adopt: (child) => new SandboxedChild(child, request.tty),
    release,
  };
}
