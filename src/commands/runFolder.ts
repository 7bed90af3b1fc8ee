/**
 * Run folders for the experiment commands: data/runs/<runId>/ holds run.json (the command line that
 * made the run, the backend it got, its status), config.json (the resolved config), the teachers'
 * records and unfinished states, one state or result per (seed, method) student, and at the end
 * the results (config.json, curves.csv, summary.json). `--resume <runId>` re-reads run.json, checks
 * that its arguments still resolve to config.json, and continues. Every file is written atomically.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { ConfigError } from "../config";
import { readJsonChecked } from "../experiments/runState";
import { CheckpointError } from "../train/checkpoints";
import { timeStamp, writeJsonAtomic } from "../io";

export const RUNS_DIR = "data/runs";
export const RUN_FORMAT = "curriculum-distill/run@1";
/** Default for --save-every: a student's state is saved every 10 evaluations (2500 steps at the
 * default evalEvery), which bounds lost work to seconds while keeping disk writes rare. */
export const DEFAULT_SAVE_EVERY = 10;

export interface RunFile {
  format: string;
  command: string;
  runId: string;
  /** The command line that made the run, without --run-id/--force/--resume/--runs-dir/--dry-run. */
  args: string[];
  /** The backend the run got (a resumed run uses the same one: results depend on it). */
  backend: string | null;
  status: "running" | "interrupted" | "done";
  /** Wall seconds spent by earlier sessions of the run. */
  elapsedSeconds: number;
  created: string;
}

/** A run id is one path segment of plain characters. */
export function checkRunId(id: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(id)) throw new ConfigError("--run-id", id, "expected letters, digits, '.', '_' or '-' (at most 128), starting with a letter or digit");
  return id;
}

/** A fresh id from the command, the preset and the time; `-2`, `-3`, ... when taken. */
export function defaultRunId(runsDir: string, command: string, preset: string, now = new Date()): string {
  const base = checkRunId(`${command}-${preset.replace(/[^A-Za-z0-9._-]/g, "_")}-${timeStamp(now)}`);
  let id = base;
  for (let i = 2; fs.existsSync(path.join(runsDir, id)); i++) id = `${base}-${i}`;
  return id;
}

/** Throws unless a new run may use `dir`: absent, empty, or --force. Changes nothing. */
export function checkRunDir(dir: string, force: boolean): void {
  if (!fs.existsSync(dir)) return;
  if (!fs.statSync(dir).isDirectory()) throw new ConfigError("--run-id", dir, "exists and is not a folder");
  if (!force && fs.readdirSync(dir).length > 0) throw new ConfigError("--run-id", dir, "run folder exists (use --resume to continue it, or --force to start over)");
}

/** A new run may use `dir` when it is absent or empty, or with --force (then it is cleared). */
export function prepareRunDir(dir: string, force: boolean): void {
  checkRunDir(dir, force);
  if (fs.existsSync(dir) && fs.readdirSync(dir).length > 0) fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
}

/** Read and check run.json of an existing run; a missing run is a ConfigError, a bad file a CheckpointError. */
export function readRunFile(runsDir: string, runId: string, command: string): RunFile {
  const dir = path.join(runsDir, runId);
  const file = path.join(dir, "run.json");
  if (!fs.existsSync(file)) throw new ConfigError("--resume", runId, `no run folder with a run.json at ${dir}`);
  const r = readJsonChecked<RunFile>(file, "run file");
  if (!r || r.format !== RUN_FORMAT || !Array.isArray(r.args) || !r.args.every((a) => typeof a === "string")) throw new CheckpointError(file, "run file is malformed");
  if (r.command !== command) throw new ConfigError("--resume", runId, `is a "${r.command}" run; resume it with curriculum-distill ${r.command} --resume ${runId}`);
  return r;
}

export function writeRunFile(dir: string, r: RunFile): void {
  writeJsonAtomic(path.join(dir, "run.json"), r);
}

const shellQuote = (s: string) => (/^[A-Za-z0-9._\/:=@%+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

/** The exact command that resumes a run. */
export function resumeCommand(command: string, runId: string, runsDir: string): string {
  const dirPart = path.resolve(runsDir) === path.resolve(RUNS_DIR) ? "" : ` --runs-dir ${shellQuote(runsDir)}`;
  return `curriculum-distill ${command} --resume ${shellQuote(runId)}${dirPart}`;
}

/**
 * Ctrl-C / SIGTERM: the first asks the run to finish its step, save and stop; a second quits at
 * once (the last periodic save stays valid). Returns the flag and a function that removes the handlers.
 */
export function installStopHandlers(onFirst: (signal: string) => void): { requested: () => boolean; remove: () => void } {
  let stop = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stop) process.exit(130);
    stop = true;
    onFirst(signal);
  };
  process.on("SIGINT", handler);
  process.on("SIGTERM", handler);
  return {
    requested: () => stop,
    remove: () => {
      process.off("SIGINT", handler);
      process.off("SIGTERM", handler);
    },
  };
}
