/**
 * What an experiment command will do: `planCommand` parses and checks a command line without
 * writing anything (the dry path the fuzz tests drive); `helpText` is its --help. The command
 * itself is in experiment.ts.
 */
import * as path from "node:path";
import { BACKENDS } from "../backend";
import { ConfigError, configToJson, fieldsHelp, kebab } from "../config";
import { parseArgs } from "../cliArgs";
import { freeFolder } from "../io";
import * as fs from "node:fs";
import { sha256 } from "../io";
import { CheckpointError } from "../train/checkpoints";
import { checkFolderArg } from "../experiments/folders";
import { DEFAULT_CACHE } from "../experiments/engine";
import { Experiment, resolveExperiment } from "../experiments/experiment";
import { CommonConfig } from "../experiments/fields";
import { SummaryBase } from "../experiments/results";
import { defaultWorkers } from "../experiments/pool";
import { DEFAULT_SAVE_EVERY, RUNS_DIR, RunFile, checkRunId, defaultRunId, readRunFile } from "./runFolder";

const VALUE_OPTIONS = ["preset", "out", "backend", "cache", "workers", "run-id", "resume", "runs-dir", "save-every", "progress-every"] as const;
const BOOL_OPTIONS = ["json", "report", "quiet", "no-cache", "force", "help", "dry-run", "allow-failed-teacher"] as const;
/** Run options that are not part of a run's identity (not stored in run.json's args). */
const SESSION_OPTIONS = ["run-id", "resume", "runs-dir", "force", "dry-run", "progress-every"];
/** Options a resumed run may still change (the rest are the run's own). */
const RESUME_OPTIONS = ["resume", "runs-dir", "workers", "quiet", "json", "progress-every", "allow-failed-teacher"];
/**
 * Config fields a resumed run may change: a teacher's budget, so that a teacher that stopped the run
 * below its target continues from its saved state (the run's config.json and run.json are updated).
 */
const RESUME_FIELDS = ["teacherMaxSamples", "teacherRetries"];

export function helpText<C extends CommonConfig, D, S extends SummaryBase>(e: Experiment<C, D, S>, hasReport: boolean): string {
  const presets = Object.keys(e.presets({})).join(" | ");
  return `usage: curriculum-distill ${e.name} [--preset ${presets}] [options]

${e.title}: a teacher per seed (cached under ${DEFAULT_CACHE}), then a student per method.
Every run has a folder ${RUNS_DIR}/<run id>/ (states, then results); results are also written to --out.
Ctrl-C saves and prints the command that resumes the run (exit code 130).

run options:
  --preset NAME            ${presets} [main]; flags below override its values
  --out DIR                result folder [data/results/<run id>]
  --json                   print summary.json to stdout (progress still goes to stderr)
  --backend NAME           ${BACKENDS.join(" | ")} [auto; env CD_BACKEND]
  --cache DIR              teacher cache [${DEFAULT_CACHE}]
  --no-cache               no shared cache: teachers are kept in the run folder
${hasReport ? "  --report                 also write report.html (offline plotly curves and the table)\n" : ""}
  --workers N              parallel worker threads for independent runs [number of cores];
                           results are identical to --workers 1
  --quiet                  no progress output
  --progress-every S       when stderr is not a terminal: a progress line per job at most every S
                           seconds, and at every phase change [30] (a terminal gets a live block)
  --force                  write into an existing, non-empty --out folder or run folder
  --run-id ID              run folder name [<experiment>-<preset>-<time>]
  --runs-dir DIR           where run folders live [${RUNS_DIR}]
  --resume ID              continue an interrupted run (with its own settings; --workers,
                           --quiet, --json, --progress-every and --runs-dir may be given); same results
  --save-every N           save each training run's state every N evaluations [${DEFAULT_SAVE_EVERY}]
  --allow-failed-teacher   distil from a teacher that missed its target (a control; the results say
                           so) instead of stopping with exit code 3. A resumed run may also raise
                           --teacher-max-samples / --teacher-retries: the teacher continues from its state
  --dry-run                validate and print the resolved config and run folder; run nothing

config:
${fieldsHelp(e.fields)}
`;
}

/** config.json's text: the resolved config (what was actually run). */
export const configText = (cfg: object) => JSON.stringify(configToJson(cfg), null, 2) + "\n";

/** Everything a command will do, resolved and validated; nothing written yet. */
export interface CommandPlan<C> {
  cfg: Readonly<C>;
  workers: number;
  /** The result folder (absolute), or "" when resuming a run that had none. */
  out: string;
  runsDir: string;
  runId: string;
  runDir: string;
  /** Continue an existing run folder. */
  resume: boolean;
  /** Teacher cache folder (absolute); null = keep teachers in the run folder only. */
  cacheDir: string | null;
  backend: string | undefined;
  saveEvery: number;
  report: boolean;
  json: boolean;
  quiet: boolean;
  /** Not a terminal: seconds between a job's progress lines. */
  progressEvery: number;
  force: boolean;
  dryRun: boolean;
  /** The arguments stored in run.json (the run's identity; absolute paths). */
  args: string[];
  /** For a resumed run: its run.json. */
  runFile: RunFile | null;
  /** A resumed run given new teacher budget fields or --allow-failed-teacher: config.json and run.json are rewritten with `args`. */
  argsChanged: boolean;
  /** Distil from a teacher that missed its target. */
  allowFailedTeacher: boolean;
}

function positiveInt(flag: string, v: string | boolean | undefined, dflt: number, max: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (typeof v !== "string" || v.trim() === "" || !Number.isInteger(n) || n < 1 || n > max) throw new ConfigError(flag, v, `expected an integer from 1 to ${max}`);
  return n;
}

/** A backend named by --backend (or, when absent, env CD_BACKEND) must exist: checked before anything is written, dry runs included. */
export function checkBackendName(backend: string | undefined): void {
  if (backend !== undefined && !(BACKENDS as readonly string[]).includes(backend)) throw new ConfigError("--backend", backend, `expected one of ${BACKENDS.join(", ")}`);
  const env = process.env.CD_BACKEND;
  if (backend === undefined && env !== undefined && !(BACKENDS as readonly string[]).includes(env))
    throw new ConfigError("CD_BACKEND", env, `expected one of ${BACKENDS.join(", ")}`);
}

/** --workers: an integer from 1 to 256; default the number of cores. */
export function parseWorkers(v: string | boolean | undefined): number {
  return positiveInt("--workers", v, defaultWorkers(), 256);
}

/** `args` without `flag` and its value (or `flag=value`). */
function withoutFlag(args: readonly string[], flag: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === flag) i++;
    else if (!args[i].startsWith(`${flag}=`)) out.push(args[i]);
  }
  return out;
}

/** The identity arguments of a new run: session options dropped, --out and --cache made absolute. */
function identityArgs(argv: readonly string[], out: string, cache: string | null): string[] {
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].slice(2).split(/=(.*)/s);
    const takesValue = inline === undefined && !(BOOL_OPTIONS as readonly string[]).includes(flag);
    const value = takesValue ? argv[++i] : inline;
    if (SESSION_OPTIONS.includes(flag) || flag === "out" || flag === "cache") continue;
    args.push(`--${flag}`, ...(value !== undefined ? [value] : []));
  }
  return [...args, "--out", out, ...(cache !== null ? ["--cache", cache] : [])];
}

/**
 * Parse and validate a command line without writing anything. Reads run.json and config.json of
 * the run when resuming. Throws ConfigError (bad input) or CheckpointError (a run folder's file is bad).
 */
export function planCommand<C extends CommonConfig, D, S extends SummaryBase>(e: Experiment<C, D, S>, argv: readonly string[]): CommandPlan<C> {
  const name = e.name;
  const first = parseArgs(argv, e.fields, VALUE_OPTIONS, BOOL_OPTIONS);
  const runsDir = (first.options["runs-dir"] as string | undefined) ?? RUNS_DIR;
  checkFolderArg("--runs-dir", runsDir);
  const resumeId = first.options.resume as string | undefined;
  let runFile: RunFile | null = null;
  let parsed = first;
  let session = first.options;
  if (resumeId !== undefined) {
    checkRunId(resumeId);
    const other = [
      ...Object.keys(first.overrides)
        .filter((f) => !RESUME_FIELDS.includes(f))
        .map(kebab),
      ...Object.keys(first.options).filter((o) => !RESUME_OPTIONS.includes(o)),
    ];
    if (other.length)
      throw new ConfigError(
        "--resume",
        resumeId,
        `a resumed run keeps its own settings; --${other[0]} cannot be given (only ${RESUME_OPTIONS.filter((o) => o !== "resume")
          .map((o) => `--${o}`)
          .join(", ")})`,
      );
    runFile = readRunFile(runsDir, resumeId, name);
    parsed = parseArgs(runFile.args, e.fields, VALUE_OPTIONS, BOOL_OPTIONS);
    session = { ...parsed.options, ...first.options };
  }
  const { overrides, options } = parsed;
  // The run's own config (config.json is checked against it), then what a resume may change.
  const ownCfg = resolveExperiment(e, options.preset as string | undefined, overrides);
  let args = runFile?.args ?? [];
  if (runFile) {
    for (const f of Object.keys(first.overrides)) args = [...withoutFlag(args, `--${kebab(f)}`), `--${kebab(f)}`, String(first.overrides[f])];
    if (first.options["allow-failed-teacher"] && !args.includes("--allow-failed-teacher")) args = [...args, "--allow-failed-teacher"];
  }
  const argsChanged = runFile !== null && args.join("\u0000") !== runFile.args.join("\u0000");
  const cfg = argsChanged ? resolveExperiment(e, options.preset as string | undefined, { ...overrides, ...first.overrides }) : ownCfg;
  const backend = runFile?.backend ?? ((options.backend as string | undefined) || undefined);
  checkBackendName(backend);
  if (options.cache !== undefined && options["no-cache"]) throw new ConfigError("--cache", options.cache, "conflicts with --no-cache");
  const cacheDir = options["no-cache"] ? null : checkFolderArg("--cache", (options.cache as string | undefined) ?? DEFAULT_CACHE);
  const runId = resumeId ?? (session["run-id"] !== undefined ? checkRunId(session["run-id"] as string) : defaultRunId(runsDir, e.runName(cfg)));
  const runDir = path.join(runsDir, runId);
  if (runFile) {
    const file = path.join(runDir, "config.json");
    let text = "";
    try {
      text = fs.readFileSync(file, "utf8");
    } catch (e) {
      throw new CheckpointError(file, `cannot read the run's config (${(e as NodeJS.ErrnoException).code})`);
    }
    if (runFile.files["config.json"] !== sha256(text) || text !== configText(ownCfg))
      throw new CheckpointError(file, "does not match run.json (edited or corrupt, or a different version resolves the arguments differently)");
  }
  // The default result folder is named by the run id (suffixed when taken, see freeFolder).
  const out = checkFolderArg("--out", (options.out as string | undefined) ?? freeFolder(path.join("data", "results", runId)));
  return {
    cfg,
    workers: parseWorkers(session.workers),
    out,
    runsDir,
    runId,
    runDir,
    resume: runFile !== null,
    cacheDir,
    backend,
    saveEvery: positiveInt("--save-every", options["save-every"], DEFAULT_SAVE_EVERY, 1_000_000),
    report: Boolean(options.report),
    json: Boolean(session.json),
    quiet: Boolean(session.quiet),
    progressEvery: positiveInt("--progress-every", session["progress-every"], 30, 86_400),
    force: Boolean(session.force),
    dryRun: Boolean(session["dry-run"]),
    args: runFile ? args : identityArgs(argv, out, cacheDir),
    runFile,
    argsChanged,
    allowFailedTeacher: Boolean(options["allow-failed-teacher"] || session["allow-failed-teacher"]),
  };
}
