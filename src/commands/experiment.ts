/**
 * `curriculum-distill parity | parity-transformer | mlm`: one command for every registered
 * experiment. The command line is planned and checked without writing (plan.ts); then the backend
 * starts, --out and the run folder are created, probed and claimed (one writer each), the engine
 * runs with progress on stderr and Ctrl-C handling, and the results go into the run folder and
 * --out with their checksums in run.json. A bad file or a full disk ends in one line naming the
 * file and the command that resumes the run; Ctrl-C saves and prints it (exit 130).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { backendIdentity, backendInfo, describeBackend, identityMismatch, initBackend } from "../backend";
import { ConfigError, configToJson, kebab } from "../config";
import { TeacherFailed } from "../train/driver";
import { TeacherInfo } from "../experiments/experiment";
import { teacherSummaries } from "../experiments/summary";
import { fileErrorOf, removeTmpFiles, sha256, writeFileAtomic } from "../io";
import { Interrupted } from "../train/state";
import { Claim, claimOutFolder, contentOf, lockFolder, prepareFolder, removeDeadTmpFolders } from "../experiments/folders";
import { runExperiment } from "../experiments/engine";
import { Experiment } from "../experiments/experiment";
import { CommonConfig } from "../experiments/fields";
import { Views } from "../experiments/registry";
import { WorkerCrashed } from "../experiments/pool";
import { SummaryBase, writeResults } from "../experiments/results";
import { Progress, fmtDuration, progressPrinter } from "../progress";
import { plotlyBundlePath } from "../report/html";
import { RUN_FORMAT, RunFile, checkFinished, checkRunDir, createRunFolder, finishedFile, installStopHandlers, resumeCommand, writeRunFile } from "./runFolder";
import { CommandPlan, configText, helpText, planCommand } from "./plan";

/** The exit code of a run stopped by a teacher that did not learn (2 is bad input, 130 an interrupt). */
export const TEACHER_FAILED_EXIT = 3;

/** summary.json of a run stopped by its teacher: the config, the failure, the teachers so far; in the run folder and --out. */
function writeTeacherFailure(plan: CommandPlan<object>, cfg: object, e: TeacherFailed, teachers: Record<number, TeacherInfo>): void {
  const { backend, adapter } = backendInfo();
  const summary = {
    config: configToJson(cfg),
    backend,
    adapter,
    status: "teacher failed",
    teacherFailure: { seed: e.seed, accuracy: e.accuracy, samples: e.samples, shortfall: e.shortfall, knobs: e.knobs, attempts: e.attempts, message: e.message },
    teachers: teacherSummaries(teachers),
    methods: {},
  };
  const text = JSON.stringify(summary, null, 2) + "\n";
  for (const d of [plan.runDir, plan.out]) {
    try {
      if (d) writeFileAtomic(path.join(d, "summary.json"), text);
    } catch {
      // the failure is reported either way
    }
  }
}

/** Claim --out and the run folder (new or resumed); on failure nothing claimed is kept. */
function claimFolders(plan: CommandPlan<object>, run: RunFile): Claim[] {
  const claims: Claim[] = [];
  const owner = { runId: plan.runId, created: run.created, runDir: path.resolve(plan.runDir) };
  try {
    if (plan.resume) {
      // The run folder first: a second resume of the same run is refused naming it.
      claims.push(lockFolder("--resume", plan.runDir, "the run folder"));
      removeTmpFiles(plan.runDir);
      claims.push(claimOutFolder("--out", plan.out, plan.force, true, owner));
    } else {
      claims.push(claimOutFolder("--out", plan.out, plan.force, false, owner));
      claims.push(createRunFolder(plan.runsDir, plan.runId, plan.force, configText(plan.cfg), run));
    }
    return claims;
  } catch (e) {
    for (const c of claims) c.release();
    if (!plan.resume && fs.existsSync(plan.out) && contentOf(plan.out).length === 0) fs.rmSync(plan.out, { recursive: true, force: true });
    throw e;
  }
}

/** The command for experiment `exp`: help, or plan, claim, run, write. */
export async function experimentCommand<C extends CommonConfig, D, S extends SummaryBase>(exp: Experiment<C, D, S>, views: Views<C, S>, argv: readonly string[]): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h")) {
    process.stdout.write(helpText(exp, views.report !== undefined));
    return 0;
  }
  const plan = planCommand(exp, argv);
  if (plan.report && !views.report) throw new ConfigError("--report", true, `no HTML report for ${exp.name} yet`);
  if (plan.report) plotlyBundlePath(); // an absent plotly (an optional package) is named before any work
  if (plan.dryRun) {
    process.stdout.write(
      JSON.stringify({ runId: plan.runId, runDir: plan.runDir, out: plan.out, resume: plan.resume, workers: plan.workers, config: configToJson(plan.cfg) }, null, 2) + "\n",
    );
    return 0;
  }
  if (!plan.resume) checkRunDir(plan.runDir, plan.force); // a taken run id is the first thing to report
  const backend = await initBackend(plan.backend);
  const identity = backendIdentity();
  const mismatch = plan.runFile?.identity ? identityMismatch(plan.runFile.identity) : null;
  if (mismatch) throw new ConfigError("--resume", plan.runId, `the run ${mismatch}`);
  if (plan.cacheDir) {
    prepareFolder("--cache", plan.cacheDir);
    removeDeadTmpFolders(plan.cacheDir); // teachers half-published by killed runs
  }
  const { cfg, runDir } = plan;
  const { adapter } = backendInfo();
  const run: RunFile = plan.runFile ?? {
    format: RUN_FORMAT,
    command: exp.name,
    runId: plan.runId,
    args: plan.args,
    backend,
    adapter,
    identity,
    status: "running",
    elapsedSeconds: 0,
    created: new Date().toISOString(),
    files: { "config.json": sha256(configText(cfg)) },
  };
  // The stop handlers go in before the first file is written: a Ctrl-C between creating the run folder and
  // training must end in a saved stop (exit 130, a resumable run), never in node's default death by signal.
  const progress = new Progress({ stream: process.stderr, plainEverySeconds: plan.progressEvery, quiet: plan.quiet });
  const stop = installStopHandlers((signal) => progress.line(`${signal}: finishing the current step and saving (again to quit at once)`));
  let claims: ReturnType<typeof claimFolders> = [];
  try {
    claims = claimFolders(plan, run);
    checkFinished(runDir, run); // what the run finished must still be there (never redone silently)
  } catch (e) {
    stop.remove();
    for (const c of claims) c.release();
    throw e;
  }
  const finished = new Set(run.finished ?? []);
  if (plan.argsChanged) {
    // A resume that raised the teacher's budget (or allows a failed teacher): the run's config is now this one.
    const text = configText(cfg);
    writeFileAtomic(path.join(runDir, "config.json"), text);
    run.args = plan.args;
    run.files = { ...run.files, "config.json": sha256(text) };
    writeRunFile(runDir, { ...run, finished: [...finished].sort() });
  }
  progress.line(
    `${plan.resume ? "resuming" : "run"} ${plan.runId} (${runDir}); backend: ${describeBackend()}; workers ${plan.workers}; preset ${cfg.preset}: ${exp.describe(cfg)}; seeds ${cfg.seeds.join(",")}; methods ${cfg.methods.join(",")}`,
  );
  const t0 = Date.now();
  const elapsed = () => run.elapsedSeconds + (Date.now() - t0) / 1000;
  const resume = resumeCommand(exp.name, plan.runId, plan.runsDir);
  const record = (status: RunFile["status"], files = run.files) => writeRunFile(runDir, { ...run, status, elapsedSeconds: elapsed(), files, finished: [...finished].sort() });
  const setStatus = (status: RunFile["status"]) => {
    try {
      record(status);
    } catch {
      // the disk that failed the run may refuse this too; the last complete save still stands
    }
  };
  const printer = progressPrinter(exp.studentLoop(cfg).target, progress);
  const teachers: Record<number, TeacherInfo> = {};
  try {
    const result = await runExperiment(exp, cfg, {
      cacheDir: plan.cacheDir,
      onProgress: (e) => {
        if (e.kind === "teacherDone") teachers[e.seed] = e.info;
        printer(e);
        const f = finishedFile(runDir, e);
        if (f !== null && !finished.has(f)) {
          finished.add(f);
          record("running");
        }
      },
      workers: plan.workers,
      run: { dir: runDir, saveEvery: plan.saveEvery },
      signal: stop.signal, // Ctrl-C aborts it: the library's cancellation path
      allowFailedTeacher: plan.allowFailedTeacher,
    });
    progress.close(); // the live block ends before the results are printed
    const summary = { ...result.summary, wallSeconds: Math.round(elapsed() * 10) / 10 };
    let files: Record<string, string> = {};
    for (const d of [runDir, plan.out]) {
      files = writeResults(d, cfg, summary, result.runs, result.files);
      if (plan.report && views.report) writeFileAtomic(path.join(d, "report.html"), views.report(result));
    }
    record("done", files);
    const allowed = Object.entries(result.teachers).filter(([, t]) => t.failed !== undefined);
    for (const [seed, t] of allowed)
      progress.line(`warning: the teacher of seed ${seed} did not learn (${t.failed}); its students were distilled from it anyway (--allow-failed-teacher)`);
    if (plan.json) process.stdout.write(JSON.stringify(summary, null, 2) + "\n");
    else {
      process.stdout.write(views.text(result) + "\n");
      if (allowed.length)
        process.stdout.write(`teacher${allowed.length > 1 ? "s" : ""} of seed ${allowed.map(([s]) => s).join(", ")} did not learn: distilled anyway (--allow-failed-teacher)\n`);
      process.stdout.write(`results: ${plan.out}  (run ${runDir}; wall time ${fmtDuration((Date.now() - t0) / 1000)})\n`);
    }
    return 0;
  } catch (e) {
    if (e instanceof Interrupted) {
      setStatus("interrupted");
      progress.line(`interrupted: state saved in ${runDir}`);
      process.stderr.write(`resume with: ${resume}\n`);
      return 130;
    }
    setStatus("failed");
    if (e instanceof TeacherFailed) {
      writeTeacherFailure(plan, cfg, e, teachers);
      progress.close();
      const larger = Object.entries(e.knobs)
        .filter(([k]) => k === "teacherMaxSamples")
        .map(([k, v]) => ` --${kebab(k)} ${v * 2}`)
        .join("");
      process.stderr.write(`curriculum-distill: ${e.message}\n`);
      if (larger) process.stderr.write(`continue the teacher from its saved state with a larger cap: ${resume}${larger}\n`);
      process.stderr.write(`or distil from it anyway (a control): ${resume} --allow-failed-teacher\n`);
      return TEACHER_FAILED_EXIT;
    }
    const fileError = fileErrorOf(e);
    if (fileError || e instanceof WorkerCrashed) {
      process.stderr.write(`curriculum-distill: ${(fileError ?? (e as Error)).message}; finished work is kept: resume with: ${resume}\n`);
      return fileError ? 2 : 1;
    }
    throw e;
  } finally {
    progress.close();
    stop.remove();
    for (const c of claims) c.release();
  }
}
