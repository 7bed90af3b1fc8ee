/**
 * Running a planned experiment command: claim --out and the run folder (created whole, one writer
 * each), run the engine with progress on stderr and Ctrl-C handling, then write the results into
 * the run folder and --out, with their checksums in run.json. A failure while writing (a full disk)
 * or a bad file ends in one line naming the file and the command that resumes the run.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { backendInfo, describeBackend } from "../backend";
import { ConfigError } from "../config";
import { FileError, removeTmpFiles, sha256, writeFileAtomic } from "../io";
import { Interrupted } from "../train/state";
import { Claim, claimOutFolder, lockFolder } from "../experiments/folders";
import { ProgressEvent } from "../experiments/engine";
import { WorkerCrashed } from "../experiments/pool";
import { writeResults } from "../experiments/results";
import { Progress, fmtDuration, fmtSamples } from "../progress";
import { RUN_FORMAT, RunFile, createRunFolder, installStopHandlers, resumeCommand, writeRunFile } from "./runFolder";
import { CommandPlan, configText } from "./experiment";

function progressPrinter(plan: CommandPlan, progress: Progress): (e: ProgressEvent) => void {
  const target = plan.experiment.target(plan.cfg);
  return (e) => {
    if (e.kind === "teacher") {
      const rate = e.samples / Math.max(e.seconds, 1e-9);
      progress.update(`teacher seed ${e.seed}: step ${e.step}, ${fmtSamples(e.samples)} samples, acc ${e.accuracy.toFixed(3)}, loss ${e.loss.toFixed(3)}, ${fmtSamples(rate)}/s`);
    } else if (e.kind === "teacherDone") {
      const i = e.info;
      const hit = target === null ? "" : `; target at ${fmtSamples(i.samplesToTarget)}`;
      progress.line(
        `teacher seed ${e.seed}${i.attempt ? ` (init attempt ${i.attempt})` : ""}: ${i.cached ? "loaded from cache" : `trained in ${fmtDuration(i.seconds)}`}${hit}, final acc ${i.accuracy.toFixed(3)}, ${i.checkpoints} checkpoints`,
      );
    } else if (e.kind === "student") {
      const rate = e.samples / Math.max(e.seconds, 1e-9);
      const eta = (e.maxSamples - e.samples) / Math.max(rate, 1e-9);
      progress.update(
        `${e.method} seed ${e.seed} [${e.phase}]: step ${e.step}, ${fmtSamples(e.samples)} samples, acc ${e.accuracy.toFixed(3)}, ${fmtSamples(rate)}/s, ETA to cap ${fmtDuration(eta)}`,
      );
    } else {
      const r = e.run;
      const what =
        target === null
          ? `acc ${r.finalAccuracy.toFixed(4)} after ${r.steps} steps`
          : r.samplesToTarget === null
            ? `not reached by ${fmtSamples(r.samples)}`
            : `${fmtSamples(r.samplesToTarget)} samples to target`;
      progress.line(`${r.method} seed ${r.seed}: ${what} (${fmtDuration(r.seconds)}, ${r.stepsPerSecond.toFixed(0)} steps/s)`);
    }
  };
}

/** Claim --out and the run folder (new or resumed); on failure nothing claimed is kept. */
function claimFolders(plan: CommandPlan, run: RunFile): Claim[] {
  const claims: Claim[] = [];
  try {
    if (plan.resume) {
      // The run folder first: a second resume of the same run is refused naming it.
      claims.push(lockFolder("--resume", plan.runDir, "the run folder"));
      removeTmpFiles(plan.runDir);
      claims.push(claimOutFolder("--out", plan.out, plan.force, true));
    } else {
      claims.push(claimOutFolder("--out", plan.out, plan.force));
      claims.push(createRunFolder(plan.runsDir, plan.runId, plan.force, configText(plan.cfg), run));
    }
    return claims;
  } catch (e) {
    for (const c of claims) c.release();
    if (!plan.resume && fs.existsSync(plan.out) && fs.readdirSync(plan.out).length === 0) fs.rmdirSync(plan.out);
    throw e;
  }
}

export async function executePlan(plan: CommandPlan, backend: string): Promise<number> {
  const { cfg, runDir } = plan;
  const { adapter } = backendInfo();
  const run: RunFile = plan.runFile ?? {
    format: RUN_FORMAT,
    command: plan.experiment.name,
    runId: plan.runId,
    args: plan.args,
    backend,
    adapter,
    status: "running",
    elapsedSeconds: 0,
    created: new Date().toISOString(),
    files: { "config.json": sha256(configText(cfg)) },
  };
  const claims = claimFolders(plan, run);
  const progress = new Progress(process.stderr, 15, plan.quiet);
  progress.line(
    `${plan.resume ? "resuming" : "run"} ${plan.runId} (${runDir}); backend: ${describeBackend()}; workers ${plan.workers}; preset ${cfg.preset}: ${plan.experiment.describe(cfg)}; seeds ${cfg.seeds.join(",")}; methods ${cfg.methods.join(",")}`,
  );
  const t0 = Date.now();
  const elapsed = () => run.elapsedSeconds + (Date.now() - t0) / 1000;
  const stop = installStopHandlers((signal) => progress.line(`${signal}: finishing the current step and saving (again to quit at once)`));
  const resume = resumeCommand(plan.experiment.name, plan.runId, plan.runsDir);
  const setStatus = (status: RunFile["status"]) => {
    try {
      writeRunFile(runDir, { ...run, status, elapsedSeconds: elapsed() });
    } catch {
      // the disk that failed the run may refuse this too; the last complete save still stands
    }
  };
  try {
    const { result, text, report } = await plan.experiment.run(cfg, {
      cacheDir: plan.cacheDir,
      onProgress: progressPrinter(plan, progress),
      workers: plan.workers,
      run: { dir: runDir, saveEvery: plan.saveEvery, shouldStop: stop.requested },
    });
    const summary = { ...result.summary, wallSeconds: Math.round(elapsed() * 10) / 10 };
    let files: Record<string, string> = {};
    for (const d of [runDir, plan.out]) {
      files = writeResults(d, cfg, summary, result.runs, result.files);
      if (plan.report && report) writeFileAtomic(path.join(d, "report.html"), report());
    }
    writeRunFile(runDir, { ...run, status: "done", elapsedSeconds: elapsed(), files });
    if (plan.json) process.stdout.write(JSON.stringify(summary, null, 2) + "\n");
    else {
      process.stdout.write(text() + "\n");
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
    if (e instanceof FileError || e instanceof WorkerCrashed) {
      process.stderr.write(`curriculum-distill: ${e.message}; finished work is kept: resume with: ${resume}\n`);
      return e instanceof FileError ? 2 : 1;
    }
    if (e instanceof ConfigError) throw e;
    throw e;
  } finally {
    stop.remove();
    for (const c of claims) c.release();
  }
}
