/** `curriculum-distill parity`: the sparse-parity MLP experiment from the command line. */
import * as fs from "node:fs";
import * as path from "node:path";
import { BACKENDS as BACKEND_NAMES, initBackend } from "../backend";
import { ConfigError } from "../config";
import { parseArgs, fieldsHelp } from "../cliArgs";
import { PARITY_DEFAULTS, PARITY_PRESETS, PARITY_SCHEMA, resolveParityConfig } from "../experiments/parityConfig";
import { CommonParityConfig, MLP_PARITY, ParityFamily, ProgressEvent, runParity } from "../experiments/parity";
import { TRANSFORMER_PARITY } from "../experiments/families";
import {
  PARITY_TRANSFORMER_DEFAULTS,
  PARITY_TRANSFORMER_PRESETS,
  PARITY_TRANSFORMER_SCHEMA,
  resolveParityTransformerConfig,
} from "../experiments/parityTransformerConfig";
import { FieldSpec, configToJson } from "../config";
import { CheckpointError } from "../train/checkpoints";
import { Interrupted, readJsonChecked } from "../experiments/runState";
import { freeFolder, writeJsonAtomic } from "../io";
import { kebab } from "../cliArgs";
import {
  DEFAULT_SAVE_EVERY, RUNS_DIR, RUN_FORMAT, RunFile, checkRunDir, checkRunId, defaultRunId, installStopHandlers, prepareRunDir, readRunFile, resumeCommand, writeRunFile,
} from "./runFolder";
import { writeResults } from "../experiments/results";
import { defaultWorkers } from "../experiments/pool";
import { Progress, fmtDuration, fmtSamples } from "../progress";
import { summaryTable } from "../report/text";

/** One parity command: its family, schema, defaults, presets and resolver. */
interface ParityCommandSpec {
  command: string;
  title: string;
  family: ParityFamily<CommonParityConfig>;
  schema: Record<string, FieldSpec>;
  defaults: Record<string, unknown>;
  presets: Record<string, unknown>;
  resolve(preset: string | undefined, overrides: Record<string, unknown>): Readonly<CommonParityConfig>;
  describe(cfg: Readonly<CommonParityConfig>): string;
}

const SPECS: Record<string, ParityCommandSpec> = {
  parity: {
    command: "parity",
    title: "Sparse parity with 2-layer MLPs",
    family: MLP_PARITY as unknown as ParityFamily<CommonParityConfig>,
    schema: PARITY_SCHEMA as never,
    defaults: PARITY_DEFAULTS as never,
    presets: PARITY_PRESETS,
    resolve: resolveParityConfig,
    describe: (c) => {
      const m = c as unknown as typeof PARITY_DEFAULTS;
      return `teacher ${m.teacherWidth} student ${m.studentWidth}`;
    },
  },
  "parity-transformer": {
    command: "parity-transformer",
    title: "Sparse parity with transformers (bits as tokens)",
    family: TRANSFORMER_PARITY as unknown as ParityFamily<CommonParityConfig>,
    schema: PARITY_TRANSFORMER_SCHEMA as never,
    defaults: PARITY_TRANSFORMER_DEFAULTS as never,
    presets: PARITY_TRANSFORMER_PRESETS,
    resolve: resolveParityTransformerConfig,
    describe: (c) => {
      const t = c as unknown as typeof PARITY_TRANSFORMER_DEFAULTS;
      return `teacher ${t.teacherLayers}x${t.teacherDModel}/${t.teacherHeads}h student ${t.studentLayers}x${t.studentDModel}/${t.studentHeads}h`;
    },
  },
};

function helpText(spec: ParityCommandSpec): string {
  return `usage: curriculum-distill ${spec.command} [--preset ${Object.keys(spec.presets).join("|")}] [options]

${spec.title}: a teacher per seed (cached under data/cache/teachers), then a student per method.
Every run has a folder data/runs/<run id>/ (states, then results); results are also written to --out.
Ctrl-C saves and prints the command that resumes the run (exit code 130).

run options:
  --preset NAME            ${Object.keys(spec.presets).join(" | ")} [main]; flags below override its values
  --out DIR                result folder [data/results/parity-<preset>-<time>]
  --json                   print summary.json to stdout (progress still goes to stderr)
  --backend NAME           tensorflow | webgpu | wasm | cpu [auto; env CD_BACKEND]
  --cache DIR              teacher cache [data/cache/teachers]; --no-cache to disable
  --no-cache               always retrain the teacher
  --report                 also write report.html (offline plotly curves and the table)
  --workers N              parallel worker threads for independent runs [number of cores];
                           results are identical to --workers 1
  --quiet                  no progress output
  --force                  write into an existing, non-empty --out folder or run folder
  --run-id ID              run folder name [<command>-<preset>-<time>]
  --runs-dir DIR           where run folders live [data/runs]
  --resume ID              continue an interrupted run (with its own settings; --workers,
                           --quiet, --json and --runs-dir may be given); same results as uninterrupted
  --save-every N           save each student's state every N evaluations [${DEFAULT_SAVE_EVERY}]
  --dry-run                validate and print the resolved config and run folder; run nothing

config (method names: cx, oneshot, progressive, scratch, twoshot):
${fieldsHelp(spec.schema, spec.defaults)}
`;
}

const VALUE_OPTIONS = ["preset", "out", "backend", "cache", "workers", "run-id", "resume", "runs-dir", "save-every"] as const;
const BOOL_OPTIONS = ["json", "report", "quiet", "no-cache", "force", "help", "dry-run"] as const;
/** Run options that are not part of a run's identity (not stored in run.json's args). */
const SESSION_OPTIONS = ["run-id", "resume", "runs-dir", "force", "dry-run"];
/** Options a resumed run may still change (the rest are the run's own). */
const RESUME_OPTIONS = ["resume", "runs-dir", "workers", "quiet", "json"];
const BACKENDS: readonly string[] = BACKEND_NAMES;

/** Check that `dir` may be written: absent, empty, or --force. */
export function checkOutDir(dir: string, force: boolean): void {
  if (fs.existsSync(dir)) {
    if (!fs.statSync(dir).isDirectory()) throw new ConfigError("--out", dir, "exists and is not a folder");
    if (fs.readdirSync(dir).length > 0 && !force) throw new ConfigError("--out", dir, "exists and is not empty (use --force to overwrite)");
  }
}

/** --workers: a positive integer; default the number of cores. */
export function parseWorkers(v: string | boolean | undefined): number {
  if (v === undefined) return defaultWorkers();
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 256) throw new ConfigError("--workers", v, "expected an integer from 1 to 256");
  return n;
}

export const parityCommand = (argv: readonly string[]) => runParityCommand(SPECS.parity, argv);
export const parityTransformerCommand = (argv: readonly string[]) => runParityCommand(SPECS["parity-transformer"], argv);

/** Everything a parity command will do, resolved and validated; nothing written yet. */
export interface ParityCommandPlan {
  command: string;
  cfg: Readonly<CommonParityConfig>;
  workers: number;
  out: string;
  runsDir: string;
  runId: string;
  runDir: string;
  /** true: continue an existing run folder. */
  resume: boolean;
  /** Teacher cache folder; null = keep teachers in the run folder only. */
  cacheDir: string | null;
  backend: string | undefined;
  saveEvery: number;
  report: boolean;
  json: boolean;
  quiet: boolean;
  force: boolean;
  dryRun: boolean;
  /** The arguments stored in run.json (the run's identity). */
  args: string[];
  /** For a resumed run: its run.json. */
  runFile: RunFile | null;
}

function positiveInt(flag: string, v: string | boolean | undefined, dflt: number, max: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > max) throw new ConfigError(flag, v, `expected an integer from 1 to ${max}`);
  return n;
}

/**
 * Parse and validate a parity command line without writing anything (the dry path the fuzz tests
 * drive). Reads run.json and config.json of the run when resuming. Throws ConfigError (bad input)
 * or CheckpointError (a run folder's file is bad).
 */
export function planParityCommand(command: "parity" | "parity-transformer", argv: readonly string[]): ParityCommandPlan {
  const spec = SPECS[command];
  const first = parseArgs(argv, spec.schema, VALUE_OPTIONS, BOOL_OPTIONS);
  const runsDir = (first.options["runs-dir"] as string | undefined) ?? RUNS_DIR;
  if (runsDir === "") throw new ConfigError("--runs-dir", runsDir, "expected a folder");
  const resumeId = first.options.resume as string | undefined;
  let runFile: RunFile | null = null;
  let args: string[];
  let session: Record<string, string | boolean> = first.options;
  if (resumeId !== undefined) {
    checkRunId(resumeId);
    const other = [...Object.keys(first.overrides).map(kebab), ...Object.keys(first.options).filter((o) => !RESUME_OPTIONS.includes(o))];
    if (other.length) throw new ConfigError("--resume", resumeId, `a resumed run keeps its own settings; --${other[0]} cannot be given (only ${RESUME_OPTIONS.filter((o) => o !== "resume").map((o) => `--${o}`).join(", ")})`);
    runFile = readRunFile(runsDir, resumeId, command);
    args = runFile.args;
  } else {
    args = [];
    for (let i = 0; i < argv.length; i++) {
      const name = argv[i].slice(2).split("=")[0];
      const takesValue = !argv[i].includes("=") && !(BOOL_OPTIONS as readonly string[]).includes(name);
      if (!SESSION_OPTIONS.includes(name)) args.push(argv[i], ...(takesValue ? [argv[i + 1]] : []));
      if (takesValue) i++;
    }
  }
  const { overrides, options } = resumeId !== undefined ? parseArgs(args, spec.schema, VALUE_OPTIONS, BOOL_OPTIONS) : first;
  if (resumeId !== undefined) session = { ...options, ...first.options };
  const preset = options.preset as string | undefined;
  const cfg = spec.resolve(preset, overrides);
  const backend = (runFile?.backend ?? (options.backend as string | undefined)) || undefined;
  if (backend !== undefined && !BACKENDS.includes(backend)) throw new ConfigError("--backend", backend, `expected one of ${BACKENDS.join(", ")}`);
  if (options.cache !== undefined && options["no-cache"]) throw new ConfigError("--cache", options.cache, "conflicts with --no-cache");
  const runId = resumeId ?? (session["run-id"] !== undefined ? checkRunId(session["run-id"] as string) : defaultRunId(runsDir, spec.command, cfg.preset));
  const runDir = path.join(runsDir, runId);
  if (runFile) {
    const file = path.join(runDir, "config.json");
    const saved = readJsonChecked<unknown>(file, "run config");
    if (JSON.stringify(saved) !== JSON.stringify(configToJson(cfg))) throw new CheckpointError(file, "does not match the config that run.json's arguments resolve to (edited, or a different version)");
  }
  // The default result folder is named by the run id (suffixed when taken, see freeFolder).
  const out = (options.out as string | undefined) ?? (runFile ? "" : freeFolder(path.join("data", "results", runId)));
  return {
    command: spec.command,
    cfg,
    workers: parseWorkers(session.workers),
    out,
    runsDir,
    runId,
    runDir,
    resume: runFile !== null,
    cacheDir: options["no-cache"] ? null : ((options.cache as string | undefined) ?? "data/cache/teachers"),
    backend,
    saveEvery: positiveInt("--save-every", options["save-every"], DEFAULT_SAVE_EVERY, 1_000_000),
    report: Boolean(options.report),
    json: Boolean(session.json),
    quiet: Boolean(session.quiet),
    force: Boolean(session.force),
    dryRun: Boolean(session["dry-run"]),
    args: runFile ? args : out && options.out === undefined ? [...args, "--out", out] : args,
    runFile,
  };
}

async function runParityCommand(spec: ParityCommandSpec, argv: readonly string[]): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h")) {
    process.stdout.write(helpText(spec));
    return 0;
  }
  try {
    return await executeParityCommand(spec, planParityCommand(spec.command as "parity", argv));
  } catch (e) {
    if (e instanceof CheckpointError || (e instanceof Error && /^backend: /.test(e.message))) {
      process.stderr.write(`curriculum-distill: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
}

async function executeParityCommand(spec: ParityCommandSpec, plan: ParityCommandPlan): Promise<number> {
  const { cfg, out, runDir } = plan;
  if (plan.dryRun) {
    process.stdout.write(JSON.stringify({ runId: plan.runId, runDir, out: out || null, resume: plan.resume, workers: plan.workers, config: configToJson(cfg) }, null, 2) + "\n");
    return 0;
  }
  if (!plan.resume) {
    checkRunDir(runDir, plan.force); // a taken run id is the first thing to report
    checkOutDir(out, plan.force);
    prepareRunDir(runDir, plan.force); // nothing is written before both checks pass
  }
  const backend = await initBackend(plan.backend);
  const run: RunFile = plan.runFile ?? { format: RUN_FORMAT, command: spec.command, runId: plan.runId, args: plan.args, backend, status: "running", elapsedSeconds: 0, created: new Date().toISOString() };
  if (!plan.resume) {
    writeJsonAtomic(path.join(runDir, "config.json"), configToJson(cfg));
    writeRunFile(runDir, run);
  }
  const quiet = plan.quiet;
  const progress = new Progress(process.stderr, 15, quiet);
  progress.line(`${plan.resume ? "resuming" : "run"} ${plan.runId} (${runDir}); backend: ${backend}; workers ${plan.workers}; preset ${cfg.preset}: n=${cfg.n} k=${cfg.k} ${spec.describe(cfg)}; seeds ${cfg.seeds.join(",")}; methods ${cfg.methods.join(",")}`);
  const t0 = Date.now();
  const onProgress = (e: ProgressEvent) => {
    if (e.kind === "teacher") {
      const rate = e.samples / Math.max(e.seconds, 1e-9);
      progress.update(`teacher seed ${e.seed}: ${fmtSamples(e.samples)} samples, acc ${e.accuracy.toFixed(3)}, ${fmtSamples(rate)}/s`);
    } else if (e.kind === "teacherDone") {
      const i = e.info;
      progress.line(
        `teacher seed ${e.seed}${i.attempt ? ` (init attempt ${i.attempt})` : ""}: ${i.cached ? "loaded from cache" : `trained in ${fmtDuration(i.seconds)}`}; target at ${fmtSamples(i.samplesToTarget)}, final acc ${i.accuracy.toFixed(3)}, ${i.checkpoints} checkpoints`,
      );
    } else if (e.kind === "student") {
      const rate = e.samples / Math.max(e.seconds, 1e-9);
      const eta = (e.maxSamples - e.samples) / Math.max(rate, 1e-9);
      progress.update(`${e.method} seed ${e.seed} [${e.phase}]: ${fmtSamples(e.samples)} samples, acc ${e.accuracy.toFixed(3)}, ${fmtSamples(rate)}/s, ETA to cap ${fmtDuration(eta)}`);
    } else {
      const r = e.run;
      progress.line(`${r.method} seed ${r.seed}: ${r.samplesToTarget === null ? `not reached by ${fmtSamples(r.samples)}` : `${fmtSamples(r.samplesToTarget)} samples to target`} (${fmtDuration(r.seconds)}, ${r.stepsPerSecond.toFixed(0)} steps/s)`);
    }
  };
  const stop = installStopHandlers((signal) => progress.line(`${signal}: finishing the current step and saving (again to quit at once)`));
  const elapsed = () => run.elapsedSeconds + (Date.now() - t0) / 1000;
  let result;
  try {
    result = await runParity(
      cfg,
      { cacheDir: plan.cacheDir, onProgress, workers: plan.workers, run: { dir: runDir, saveEvery: plan.saveEvery, shouldStop: stop.requested } },
      spec.family,
    );
  } catch (e) {
    if (!(e instanceof Interrupted)) throw e;
    writeRunFile(runDir, { ...run, status: "interrupted", elapsedSeconds: elapsed() });
    progress.line(`interrupted: state saved in ${runDir}`);
    process.stderr.write(`resume with: ${resumeCommand(spec.command, plan.runId, plan.runsDir)}\n`);
    return 130;
  } finally {
    stop.remove();
  }
  const seconds = (Date.now() - t0) / 1000;
  const summary = { ...result.summary, wallSeconds: Math.round(elapsed() * 10) / 10 };
  writeResults(runDir, cfg, summary, result.runs);
  if (out) writeResults(out, cfg, summary, result.runs);
  if (plan.report) {
    const { writeParityReport } = await import("../report/parityReport");
    for (const d of out ? [runDir, out] : [runDir]) writeParityReport(path.join(d, "report.html"), result, summary);
  }
  writeRunFile(runDir, { ...run, status: "done", elapsedSeconds: elapsed() });
  if (plan.json) {
    process.stdout.write(JSON.stringify(summary, null, 2) + "\n");
  } else {
    process.stdout.write(summaryTable(summary, cfg.targetAccuracy) + "\n");
    process.stdout.write(`results: ${out || runDir}  (run ${runDir}; wall time ${fmtDuration(seconds)})\n`);
  }
  return 0;
}
