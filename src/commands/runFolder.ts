/**
 * Run folders for the experiment commands: <runs-dir>/<runId>/ holds run.json (the command line that
 * made the run, with absolute paths, the backend and adapter it got, its status, and the SHA-256 of
 * each result file), config.json, the teachers' records and unfinished states, one state or result
 * per (seed, method) student, and at the end the results. `--resume <runId>` re-reads run.json
 * (checksummed), checks that its arguments still resolve to config.json, and continues.
 *
 * A new run folder appears whole: it is built as a temporary folder (lock, config.json, run.json)
 * and renamed into place, so a run killed at any moment leaves either no folder or one that resumes.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { z } from "zod";
import { ConfigError } from "../config";
import { FileError, writeRecord, timeStamp } from "../io";
import { readChecked } from "../train/state";
import { CheckpointError } from "../train/checkpoints";
import { ProgressEvent, studentFiles } from "../experiments/engine";
import { teacherRecordFile } from "../experiments/teachers";
import { Claim, LOCK_FILE, lockHolder, ownLock, prepareFolder, removeDeadTmpFolders, rmQuietly, writeOwnLock } from "../experiments/folders";

export const RUNS_DIR = "data/runs";
export const RUN_FORMAT = "curriculum-distill/run@2" as const;
/** Default for --save-every: a state is saved every 10 evaluations, which bounds lost work to
 * seconds while keeping disk writes rare. */
export const DEFAULT_SAVE_EVERY = 10;

const ADAPTER = z.object({ vendor: z.string(), architecture: z.string(), description: z.string(), software: z.boolean() }).nullable();
const RUN = z.object({
  format: z.literal(RUN_FORMAT),
  command: z.string(),
  runId: z.string(),
  /** The command line that made the run (absolute --out and --cache), without session options. */
  args: z.array(z.string()),
  backend: z.string(),
  adapter: ADAPTER,
  /** The full backend identity (backendIdentity()): a resume under another one is refused. Absent in runs made before it was recorded. */
  identity: z.object({ key: z.string(), description: z.string(), native: z.string().nullable() }).optional(),
  status: z.enum(["running", "interrupted", "failed", "done"]),
  /** Wall seconds spent by earlier sessions of the run. */
  elapsedSeconds: z.number().nonnegative(),
  created: z.string(),
  /** SHA-256 of result files written so far (config.json at the start, the rest at the end). */
  files: z.record(z.string()),
  /** The teacher records and student results this run has finished (relative paths): never lost silently. */
  finished: z.array(z.string()).optional(),
});
export type RunFile = z.infer<typeof RUN>;

/** A run id is one path segment of plain characters. */
export function checkRunId(id: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(id))
    throw new ConfigError("--run-id", id, "expected letters, digits, '.', '_' or '-' (at most 128), starting with a letter or digit");
  return id;
}

/** A fresh id from the run's name and the time; `-2`, `-3`, ... when taken. */
export function defaultRunId(runsDir: string, name: string, now = new Date()): string {
  const base = checkRunId(`${name.replace(/[^A-Za-z0-9._-]/g, "_")}-${timeStamp(now)}`);
  let id = base;
  for (let i = 2; fs.existsSync(path.join(runsDir, id)); i++) id = `${base}-${i}`;
  return id;
}

/** Throws unless a new run may use `dir`: absent, empty, or --force (and not in use). Changes nothing. */
export function checkRunDir(dir: string, force: boolean): void {
  if (!fs.existsSync(dir)) return;
  if (!fs.statSync(dir).isDirectory()) throw new ConfigError("--run-id", dir, "exists and is not a folder");
  const holder = lockHolder(dir);
  if (holder) throw new ConfigError("--run-id", dir, `run folder is in use by process ${holder.pid} on ${holder.host} (one writer per folder)`);
  if (!force && fs.readdirSync(dir).filter((f) => f !== LOCK_FILE).length > 0)
    throw new ConfigError("--run-id", dir, "run folder exists (use --resume to continue it, or --force to start over)");
}

/**
 * Create the run folder whole (lock, config.json, run.json) and claim it. Two runs racing for one id:
 * one rename wins, the other is refused with one line.
 */
export function createRunFolder(runsDir: string, runId: string, force: boolean, configText: string, run: RunFile): Claim {
  prepareFolder("--runs-dir", runsDir);
  const dir = path.join(runsDir, runId);
  checkRunDir(dir, force);
  removeDeadTmpFolders(runsDir); // run folders half-made by killed runs
  const tmp = path.join(runsDir, `.${runId}.${process.pid}.tmp`);
  try {
    fs.rmSync(tmp, { recursive: true, force: true });
    fs.mkdirSync(tmp);
    writeOwnLock(tmp);
    fs.writeFileSync(path.join(tmp, "config.json"), configText);
    writeRecord(path.join(tmp, "run.json"), run);
    if (force && fs.existsSync(dir)) {
      checkRunDir(dir, true);
      fs.rmSync(dir, { recursive: true, force: true });
    }
    fs.renameSync(tmp, dir);
  } catch (e) {
    rmQuietly(tmp);
    if (e instanceof ConfigError || e instanceof FileError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOTEMPTY" || code === "EEXIST") throw new ConfigError("--run-id", dir, "run folder exists (another run took this id first; use --resume to continue it)");
    throw new ConfigError("--runs-dir", path.dirname(dir), `cannot create the run folder (${code})`);
  }
  return ownLock(dir);
}

/** Read and check run.json of an existing run; a missing run is a ConfigError, a bad file a CheckpointError. */
export function readRunFile(runsDir: string, runId: string, command: string): RunFile {
  const dir = path.join(runsDir, runId);
  const file = path.join(dir, "run.json");
  if (!fs.existsSync(file)) throw new ConfigError("--resume", runId, `no run folder with a run.json at ${dir}`);
  const r = readChecked(file, RUN, "run file");
  if (r.command !== command) throw new ConfigError("--resume", runId, `is a "${r.command}" run; resume it with curriculum-distill ${r.command} --resume ${runId}`);
  const { checksum: _c, ...rest } = r;
  return rest;
}

/** run.json of run folder `dir`, verified (a CheckpointError naming it otherwise). */
export function readRunRecord(dir: string): RunFile {
  const { checksum: _c, ...rest } = readChecked(path.join(dir, "run.json"), RUN, "run file");
  return rest;
}

export function writeRunFile(dir: string, r: RunFile): void {
  writeRecord(path.join(dir, "run.json"), r);
}

/** The file a finished teacher or student of the engine's event leaves in run folder `dir` (relative), or null. */
export function finishedFile(dir: string, e: ProgressEvent): string | null {
  if (e.kind === "teacherDone") return path.relative(dir, teacherRecordFile(dir, e.seed));
  if (e.kind === "studentDone") return path.relative(dir, studentFiles(dir, e.run.seed, e.run.method).result);
  return null;
}

/**
 * A resumed run's finished files must all be there: a deleted teacher record or student result is
 * one line naming it, never a silent retrain (nor a teacher this run trained reported as cached).
 */
export function checkFinished(dir: string, run: RunFile): void {
  for (const f of run.finished ?? []) {
    const file = path.join(dir, f);
    if (!fs.existsSync(file))
      throw new CheckpointError(
        file,
        `missing, but run.json records it as finished by this run (deleted?); finished work is never redone silently: restore the file, or start a new run`,
      );
  }
}

const shellQuote = (s: string) => (/^[A-Za-z0-9._/:=@%+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

/** The exact command that resumes a run, from any folder (--runs-dir absolute). */
export function resumeCommand(command: string, runId: string, runsDir: string): string {
  return `curriculum-distill ${command} --resume ${shellQuote(runId)} --runs-dir ${shellQuote(path.resolve(runsDir))}`;
}

/** The signals that ask a run to save and stop (a terminal closed, a scheduler's kill, Ctrl-C, Ctrl-\\). */
export const STOP_SIGNALS: readonly NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT"];

/**
 * Ctrl-C / SIGTERM / SIGHUP / SIGQUIT: the first asks the run to finish its step, save and stop; a
 * second quits at once (the last periodic save stays valid). Returns the flag and a function that
 * removes the handlers.
 */
export function installStopHandlers(onFirst: (signal: string) => void): { requested: () => boolean; remove: () => void } {
  let stop = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stop) process.exit(130);
    stop = true;
    onFirst(signal);
  };
  for (const s of STOP_SIGNALS) process.on(s, handler);
  return {
    requested: () => stop,
    remove: () => {
      for (const s of STOP_SIGNALS) process.off(s, handler);
    },
  };
}
