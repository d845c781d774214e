// Copyright 2026 the exec-server authors. MIT license.
/**
 * Placeholders: the empty directories and files a sandbox needs on the host
 * as mount points, to mask paths its process could otherwise create (a
 * missing `.git` in a writable root). They are shared by every sandbox of
 * this server and counted, removed when the last sandbox using one ends, and
 * journaled, so that a server that was killed has its leftovers removed by
 * the next one.
 *
 * @module
 */
import { sysfs } from "../process/sysfs.ts";
import { messageOf } from "../util/errors.ts";
import type { Placeholder } from "./bwrap_args.ts";

interface Made {
  type: Placeholder["type"];
  users: number;
  dev: number | null;
  ino: number | null;
}

/** One journal line: a placeholder this server made. */
interface JournalEntry {
  path: string;
  type: Placeholder["type"];
  dev: number | null;
  ino: number | null;
}

/**
 * The default journal directory: `$XDG_STATE_HOME/exec-server/placeholders`,
 * else `$HOME/.local/state/exec-server/placeholders`, or null without either.
 */
export function defaultJournalDir(env: Readonly<Record<string, string>>): string | null {
  const base = env.XDG_STATE_HOME?.startsWith("/")
    ? env.XDG_STATE_HOME
    : env.HOME?.startsWith("/")
    ? `${env.HOME}/.local/state`
    : null;
  return base === null ? null : `${base}/exec-server/placeholders`;
}

/**
 * Placeholders on the host. One is created when the first sandbox needs it
 * and removed when the last one using it ends, if it is still the empty
 * entry this server made (same inode, still empty); removing it earlier
 * would unmask the path in the sandboxes still running. Synchronous, so that
 * no start can plan around a placeholder that another one is removing.
 */
export class PlaceholderRegistry implements Disposable {
  #made = new Map<string, Made>();
  readonly #journal: string | null;
  #swept = false;

  /** `journalDir`: where to journal what this server made (null: nowhere). */
  constructor(journalDir: string | null = null) {
    this.#journal = journalDir;
  }

  /** Paths this registry currently holds (for tests and diagnostics). */
  get paths(): string[] {
    return [...this.#made.keys()];
  }

  /** Whether `path` is a placeholder of ours (a plan must count itself in, not bind it). */
  holds(path: string): boolean {
    return this.#made.has(path);
  }

  /**
   * Makes sure every placeholder exists and counts one more user of each.
   * On failure, releases what it took and rethrows.
   */
  acquire(placeholders: readonly Placeholder[]): void {
    const taken: Placeholder[] = [];
    try {
      for (const p of placeholders) {
        this.#take(p);
        taken.push(p);
      }
    } catch (err) {
      this.release(taken);
      throw err;
    } finally {
      if (placeholders.length > 0) this.#write();
    }
  }

  #take(p: Placeholder): void {
    const known = this.#made.get(p.path);
    if (known) {
      known.users++;
      return;
    }
    try {
      if (p.type === "dir") Deno.mkdirSync(p.path, { mode: 0o555 });
      else Deno.openSync(p.path, { createNew: true, write: true, mode: 0o444 }).close();
      const info = Deno.lstatSync(p.path);
      this.#made.set(p.path, { type: p.type, users: 1, dev: info.dev, ino: info.ino });
    } catch (err) {
      throw new Error(`cannot create the mount point ${p.path}: ${messageOf(err)}`);
    }
  }

  /** Counts one user less of each; removes those nobody uses any more. */
  release(placeholders: readonly Placeholder[]): void {
    let removed = false;
    for (const p of placeholders) {
      const entry = this.#made.get(p.path);
      if (!entry || --entry.users > 0) continue;
      this.#made.delete(p.path);
      removeIfOurs(p.path, entry);
      removed = true;
    }
    if (removed) this.#write();
  }

  /** Removes every placeholder still held (server shutdown); idempotent. */
  [Symbol.dispose](): void {
    const all = [...this.#made];
    this.#made.clear();
    for (const [path, entry] of all) removeIfOurs(path, entry);
    this.#write();
  }

  #file(pid = Deno.pid): string | null {
    return this.#journal === null ? null : `${this.#journal}/${pid}.json`;
  }

  /** Rewrites this server's journal (or removes it when nothing is held). */
  #write(): void {
    const file = this.#file();
    if (file === null) return;
    try {
      if (this.#made.size === 0) {
        Deno.removeSync(file);
        return;
      }
      Deno.mkdirSync(this.#journal!, { recursive: true, mode: 0o700 });
      const entries: JournalEntry[] = [...this.#made].map(([path, m]) => ({
        path,
        type: m.type,
        dev: m.dev,
        ino: m.ino,
      }));
      Deno.writeTextFileSync(`${file}.new`, JSON.stringify(entries), { mode: 0o600 });
      Deno.renameSync(`${file}.new`, file);
    } catch {
      // No journal here: leftovers after a crash stay, as without one.
    }
  }

  /**
   * Once per registry: removes what servers that are gone left behind. Call
   * it before planning a sandbox, so no plan binds a leftover that goes.
   */
  sweep(): void {
    if (this.#swept || this.#journal === null) return;
    this.#swept = true;
    sweepJournals(this.#journal);
  }
}

/**
 * Removes the placeholders listed by journals of servers that no longer run
 * (still empty, same inode), then those journals.
 *
 * @returns How many placeholders were removed.
 */
export function sweepJournals(dir: string): number {
  let removed = 0;
  let names: string[];
  try {
    names = [...Deno.readDirSync(dir)].map((e) => e.name);
  } catch {
    return 0;
  }
  for (const name of names) {
    const m = /^(\d+)\.json$/.exec(name);
    if (!m || Number(m[1]) === Deno.pid || alive(Number(m[1]))) continue;
    const file = `${dir}/${name}`;
    try {
      const entries = JSON.parse(Deno.readTextFileSync(file)) as JournalEntry[];
      for (const e of entries) if (removeIfOurs(e.path, { ...e, users: 0 })) removed++;
      Deno.removeSync(file);
    } catch {
      // unreadable: leave it
    }
  }
  return removed;
}

/**
 * Whether the server `pid` still runs. Through sysfs(): Deno refuses /proc
 * without --allow-all, and a refusal read as "gone" let a second server
 * remove the masks of a running one's sandboxes. Unknown counts as running.
 */
function alive(pid: number): boolean {
  try {
    return sysfs().exists(`/proc/${pid}`);
  } catch {
    return true;
  }
}

function removeIfOurs(path: string, entry: Made): boolean {
  try {
    const info = Deno.lstatSync(path);
    if (info.dev !== entry.dev || info.ino !== entry.ino) return false;
    if (entry.type === "file" ? info.size !== 0 : !info.isDirectory) return false;
    Deno.removeSync(path); // a non-empty directory fails: it is real now
    return true;
  } catch {
    return false; // gone, replaced or filled: leave it
  }
}
