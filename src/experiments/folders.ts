/**
 * Output folders, checked and claimed before any work.
 *
 * - `checkFolderArg`: a path given by the user (--out, --cache, --runs-dir, sweep --out) is refused
 *   at once when it is empty, names a file, or lies on a special file system (/proc, /sys, /dev);
 *   nothing is created there, recursively or not.
 * - `prepareFolder`: creates the folder and proves it writable (a probe file written, synced and
 *   removed), so a read-only mount fails in a second, not after the experiment.
 * - `lockFolder`: one writer per folder. `.lock` holds pid, host and the process's start time; it is
 *   made with an exclusive link, so two claimants never both win. A lock whose process is gone
 *   (same host, pid dead or reused) is stale and taken over; a live one is refused with one line.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ConfigError } from "../config";
import { makeDirs, writeJsonAtomic } from "../io";

export const LOCK_FILE = ".lock";
/** In a result folder (--out): which run's results it holds (see claimOutFolder). */
export const OWNER_FILE = ".owner.json";

/** statfs magic numbers of kernel file systems no results belong on. */
const SPECIAL_FS = new Set([
  0x9fa0, 0x62656572, 0x1cd1, 0x64626720, 0x73636673, 0x27e0eb, 0x63677270, 0x74726163, 0xcafe4a11, 0x62656570, 0x6165676c, 0xde5e81e4, 0x65735543, 0x19800202, 0x42494e4d,
]);

function nearestExisting(p: string): string {
  let d = path.resolve(p);
  while (!fs.existsSync(d)) d = path.dirname(d);
  return d;
}

/** Static checks of a folder argument; returns it resolved. Creates nothing. */
export function checkFolderArg(flag: string, dir: string): string {
  if (typeof dir !== "string" || dir.trim() === "") throw new ConfigError(flag, dir, "expected a folder");
  const abs = path.resolve(dir);
  if (/^\/(proc|sys)(\/|$)/.test(abs) || (/^\/dev(\/|$)/.test(abs) && !/^\/dev\/shm(\/|$)/.test(abs))) {
    throw new ConfigError(flag, dir, "is on a special file system (/proc, /sys, /dev), not a place for results");
  }
  try {
    fs.statSync(abs);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== "ENOENT" && code !== "ENOTDIR") throw new ConfigError(flag, dir, `cannot be used (${code}${code === "ELOOP" ? ": a loop of symbolic links" : ""})`);
  }
  const base = nearestExisting(abs);
  let st: fs.Stats;
  try {
    st = fs.statSync(base);
  } catch (e) {
    throw new ConfigError(flag, dir, `cannot be checked (${(e as NodeJS.ErrnoException).code})`);
  }
  if (!st.isDirectory()) throw new ConfigError(flag, dir, base === abs ? "exists and is not a folder" : `${base} is not a folder`);
  try {
    if (SPECIAL_FS.has(fs.statfsSync(base).type)) throw new ConfigError(flag, dir, "is on a special file system, not a place for results");
  } catch (e) {
    if (e instanceof ConfigError) throw e;
  }
  return abs;
}

/** Create `dir` (after checkFolderArg) and prove it writable. */
export function prepareFolder(flag: string, dir: string): void {
  checkFolderArg(flag, dir);
  const probe = path.join(dir, `.probe-${process.pid}-${Date.now()}`);
  try {
    makeDirs(dir);
    const fd = fs.openSync(probe, "wx");
    fs.writeSync(fd, "probe");
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fs.rmSync(probe);
  } catch (e) {
    rmQuietly(probe);
    throw new ConfigError(flag, dir, `is not writable (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}

interface LockInfo {
  pid: number;
  host: string;
  /** Process start time (clock ticks since boot, /proc/<pid>/stat field 22): tells a reused pid. */
  start: string | null;
  since: string;
  /** Held for a moment only (a sweep shard checking sweep.json, a merge): a brief claimant waits for it. */
  brief?: boolean;
}

function startTime(pid: number): string | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19] ?? null;
  } catch {
    return null;
  }
}

const ME: LockInfo = { pid: process.pid, host: os.hostname(), start: startTime(process.pid), since: new Date().toISOString() };

/** How long a brief claimant waits for another brief holder before it is refused. */
const BRIEF_WAIT_MS = 30_000;

function alive(l: LockInfo): boolean {
  if (l.host !== ME.host) return true; // another machine: cannot tell, so it counts as live
  try {
    process.kill(l.pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ESRCH") return false;
  }
  const s = startTime(l.pid);
  return !(l.start && s && s !== l.start);
}

function readLock(file: string): LockInfo | null {
  try {
    const l = JSON.parse(fs.readFileSync(file, "utf8")) as LockInfo;
    return typeof l.pid === "number" && typeof l.host === "string" ? l : null;
  } catch {
    return null; // unreadable: written by nothing of ours (ours are linked in whole), treated as stale
  }
}

/** Whether `dir` holds a lock of a live process (another run is using it). */
export function lockHolder(dir: string): LockInfo | null {
  const l = readLock(path.join(dir, LOCK_FILE));
  return l && alive(l) ? l : null;
}

export interface Claim {
  readonly dir: string;
  release(): void;
}

const held = new Set<string>();
process.on("exit", () => {
  for (const f of held) rmQuietly(f);
});

/** Remove a file or folder, ignoring every error: a lock left behind (a read-only remount, say) is stale and taken over later. */
export function rmQuietly(file: string): void {
  try {
    fs.rmSync(file, { recursive: true, force: true });
  } catch {
    // best effort
  }
}

/**
 * Claim `dir` (which must exist) for this process. A live holder is refused with one line naming
 * it; a stale lock is taken over (renamed away first, so that only one of two racing claimants can).
 */
export function lockFolder(flag: string, dir: string, what: string, opts: { brief?: boolean } = {}): Claim {
  const file = path.join(dir, LOCK_FILE);
  const tmp = path.join(dir, `.lock.${process.pid}.${Date.now()}`);
  // A brief claimant (the shards of a Slurm array start within milliseconds of each other) waits for
  // another brief holder instead of being refused; a run's lock is refused at once as before.
  const waitUntil = Date.now() + BRIEF_WAIT_MS;
  try {
    fs.writeFileSync(tmp, JSON.stringify(opts.brief ? { ...ME, brief: true } : ME));
  } catch (e) {
    throw new ConfigError(flag, dir, `cannot be locked (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        fs.linkSync(tmp, file);
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EEXIST" || attempt > 3) throw new ConfigError(flag, dir, `cannot be locked (${(e as NodeJS.ErrnoException).code})`);
      }
      const l = readLock(file);
      if (l && alive(l)) {
        if (opts.brief && l.brief && Date.now() < waitUntil) {
          attempt = -1; // not a failed link: the holder is about to let go
          Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20); // a synchronous 20 ms sleep
          continue;
        }
        throw new ConfigError(flag, dir, `${what} is in use by process ${l.pid} on ${l.host} since ${l.since} (one writer per folder)`);
      }
      try {
        fs.renameSync(file, `${file}.stale.${process.pid}`);
        fs.rmSync(`${file}.stale.${process.pid}`, { force: true });
      } catch {
        // another claimant moved it first; try again
      }
    }
  } finally {
    rmQuietly(tmp);
  }
  return ownLock(dir);
}

/** Write this process's lock into a new folder of its own (built before it is renamed into place). */
export function writeOwnLock(dir: string): void {
  fs.writeFileSync(path.join(dir, LOCK_FILE), JSON.stringify(ME), { flag: "wx" });
}

/** The claim of a folder whose lock this process holds. */
export function ownLock(dir: string): Claim {
  const file = path.join(dir, LOCK_FILE);
  held.add(file);
  return {
    dir,
    release() {
      const l = readLock(file);
      if (l && l.pid === ME.pid && l.start === ME.start) rmQuietly(file);
      held.delete(file);
    },
  };
}

/** Entries of a folder other than a stale lock and temporary files (what makes it "not empty"). */
export function contentOf(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir).filter((f) => f !== LOCK_FILE && f !== OWNER_FILE && !/\.tmp$/.test(f) && !f.startsWith(".probe-"));
}

/** The run a result folder belongs to: its id and creation time (a copied run folder is the same run). */
export interface Owner {
  runId: string;
  created: string;
  runDir: string;
}

function readOwner(dir: string): Owner | null {
  try {
    const o = JSON.parse(fs.readFileSync(path.join(dir, OWNER_FILE), "utf8")) as Owner;
    return typeof o.runId === "string" && typeof o.created === "string" ? o : null;
  } catch {
    return null;
  }
}

/** Record that `dir` holds `owner`'s results (written when a run claims it, and with its results). */
export function writeOwner(dir: string, owner: Owner): void {
  writeJsonAtomic(path.join(dir, OWNER_FILE), owner);
}

/**
 * Claim a result folder (--out): created and proven writable, locked, and empty unless `force`.
 * A folder holding only a stale lock counts as empty. A folder holding a sweep (sweep.json) is
 * never a run's --out. The claim records `owner` in the folder; a resume (`resume`) is refused when
 * the folder holds results of another run (it took the folder meanwhile): a resume never replaces
 * another run's results.
 */
export function claimOutFolder(flag: string, dir: string, force: boolean, resume: boolean, owner: Owner): Claim {
  const abs = checkFolderArg(flag, dir);
  if (fs.existsSync(path.join(abs, "sweep.json"))) throw new ConfigError(flag, dir, "is a sweep folder (it holds sweep.json); a run's results go to another --out");
  if (fs.existsSync(abs) && contentOf(abs).length > 0 && !force && !resume) {
    const holder = lockHolder(abs);
    if (holder) throw new ConfigError(flag, dir, `is in use by process ${holder.pid} on ${holder.host} (one writer per folder)`);
    const o = readOwner(abs);
    throw new ConfigError(flag, dir, `exists and is not empty (use --force to overwrite)${o ? `; it holds the results of run ${o.runId}` : ""}`);
  }
  prepareFolder(flag, abs);
  const claim = lockFolder(flag, abs, "the folder");
  try {
    if (resume) {
      const o = readOwner(abs);
      const mine = o !== null && o.runId === owner.runId && o.created === owner.created;
      if (!mine && contentOf(abs).length > 0)
        throw new ConfigError(
          flag,
          dir,
          o
            ? `now holds the results of run ${o.runId} (${o.runDir}); resuming ${owner.runId} would replace them: move them away, then resume again`
            : `holds files that run ${owner.runId} did not write (no ${OWNER_FILE} naming it); resuming would replace them: move them away, then resume again`,
        );
    }
    writeOwner(abs, owner);
    return claim;
  } catch (e) {
    claim.release();
    throw e;
  }
}

/**
 * Remove the temporary folders (`.<name>.<pid>.tmp`) that a killed or failed process left in `dir`:
 * those whose `.lock` names a dead process of this host, or (no lock yet) whose pid is dead here.
 * A live writer's folder is never touched. Returns how many were removed.
 */
export function removeDeadTmpFolders(dir: string): number {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  let n = 0;
  for (const e of entries) {
    const m = /^\..+\.(\d+)\.tmp$/.exec(e.name);
    if (!m || !e.isDirectory()) continue;
    const p = path.join(dir, e.name);
    const l = readLock(path.join(p, LOCK_FILE));
    const dead = l ? !alive(l) : !alive({ pid: Number(m[1]), host: ME.host, start: null, since: "" });
    if (!dead || Number(m[1]) === process.pid) continue;
    try {
      fs.rmSync(p, { recursive: true, force: true });
      n++;
    } catch {
      // another process removed it first, or the disk refuses: left for the next start
    }
  }
  return n;
}
