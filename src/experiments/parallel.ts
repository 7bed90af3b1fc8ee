/**
 * The engine on worker threads: the teachers first (one job per seed, published to the teacher
 * store), then one job per (seed, method). Each job is what the sequential engine does for it
 * (`runJob`), in a worker that looked the experiment up by name; in a run folder each job saves and
 * resumes its own state. Ctrl-C reaches the main thread only: a shared flag tells every worker.
 */
import * as os from "node:os";
import { configToJson } from "../config";
import { backendInfo } from "../backend";
import { MethodName } from "../distill/methods";
import { Interrupted } from "../train/state";
import { TeacherFailed } from "../train/driver";
import { CheckpointError } from "../train/checkpoints";
import { Experiment, ExperimentName, TeacherInfo, configFrom } from "./experiment";
import { ExperimentResult, ProgressEvent, RunOptions, runStudent, summaryOf, teacherOf, teacherStore } from "./engine";
import { CommonConfig } from "./fields";
import { StudentRun, SummaryBase } from "./results";
import { runPool, spawnWorker } from "./pool";

/** One job: a seed's teacher, or a (seed, method)'s student. Plain data (sent to a worker). */
export interface Job {
  kind: "teacher" | "student";
  experiment: ExperimentName;
  config: Record<string, unknown>;
  seed: number;
  method?: MethodName;
  cacheDir: string;
  run?: { dir: string; saveEvery: number };
  allowFailedTeacher?: boolean;
}

/** A job's outcome: its value, or that it stopped on request (state saved), or a bad file. */
export interface JobResult {
  teacher?: TeacherInfo;
  student?: StudentRun;
  interrupted?: boolean;
  checkpointError?: { file: string; reason: string };
  teacherFailed?: { seed: number; accuracy: number; samples: number; shortfall: string; knobs: Record<string, number>; attempts: number };
}

export interface WorkerData {
  backend: string;
  /** Threads each worker's native kernels may use: its share of the cores. */
  kernelThreads: number;
  /** [0] = 1 when a stop was requested. */
  stop: Int32Array;
}

/** What a worker does with a job of experiment `exp` (the same calls as the sequential engine). */
export async function runJob<C extends CommonConfig, D, S extends SummaryBase>(
  exp: Experiment<C, D, S>,
  job: Job,
  shouldStop: () => boolean,
  emit: (e: ProgressEvent) => void,
): Promise<JobResult> {
  if (shouldStop()) return { interrupted: true };
  const cfg = configFrom(exp, job.config);
  const data = exp.prepare(cfg);
  const run = job.run ? { ...job.run, shouldStop } : undefined;
  try {
    const teacher = await teacherOf(exp, cfg, job.seed, data, { cacheDir: job.cacheDir, run, shouldStop, allowFailed: job.allowFailedTeacher }, emit);
    try {
      if (job.kind === "teacher" || !job.method) return { teacher: teacher.info };
      return { student: await runStudent(exp, cfg, job.seed, job.method, data, teacher, { run, shouldStop, onProgress: emit }) };
    } finally {
      teacher.dispose();
    }
  } catch (e) {
    if (e instanceof Interrupted) return { interrupted: true };
    if (e instanceof CheckpointError) return { checkpointError: { file: e.file, reason: e.reason } };
    if (e instanceof TeacherFailed)
      return { teacherFailed: { seed: e.seed, accuracy: e.accuracy, samples: e.samples, shortfall: e.shortfall, knobs: { ...e.knobs }, attempts: e.attempts } };
    throw e;
  }
}

function unwrap(results: JobResult[]): JobResult[] {
  const bad = results.find((r) => r.checkpointError);
  if (bad) throw new CheckpointError(bad.checkpointError!.file, bad.checkpointError!.reason);
  if (results.some((r) => r.interrupted)) throw new Interrupted();
  const f = results.find((r) => r.teacherFailed)?.teacherFailed;
  if (f) throw new TeacherFailed(f.seed, f.accuracy, f.samples, f.shortfall, f.knobs, f.attempts);
  return results;
}

export async function runParallel<C extends CommonConfig, D, S extends SummaryBase>(exp: Experiment<C, D, S>, cfg: Readonly<C>, opts: RunOptions): Promise<ExperimentResult<C, S>> {
  const data = exp.prepare(cfg);
  const { store, cleanup } = teacherStore(opts, true);
  const run = opts.run;
  const stop = new Int32Array(new SharedArrayBuffer(4));
  const requestStop = () => Atomics.store(stop, 0, 1);
  const poll = run?.shouldStop ? setInterval(() => run.shouldStop!() && requestStop(), 50) : null;
  // An abort reaches every worker through the shared flag at once: each stops after its current step.
  const signal = opts.signal;
  signal?.addEventListener("abort", requestStop);
  if (signal?.aborted) requestStop();
  const workerData: WorkerData = { backend: backendInfo().backend, stop, kernelThreads: Math.max(1, Math.floor(os.cpus().length / opts.workers!)) };
  const base = {
    experiment: exp.name,
    config: configToJson(cfg),
    cacheDir: store.cacheDir!,
    run: run ? { dir: run.dir, saveEvery: run.saveEvery } : undefined,
    allowFailedTeacher: opts.allowFailedTeacher,
  };
  const label = (j: Job) => `${exp.name} seed ${j.seed} ${j.method ?? "teacher"}`;
  const pool = (jobs: Job[]) => runPool<Job, JobResult, ProgressEvent>(jobs, opts.workers!, () => spawnWorker(workerData), opts.onProgress, label, requestStop).then(unwrap);
  try {
    const infos = await pool(cfg.seeds.map((seed) => ({ ...base, kind: "teacher" as const, seed })));
    const teachers: Record<number, TeacherInfo> = {};
    cfg.seeds.forEach((seed, i) => {
      teachers[seed] = infos[i].teacher!;
      opts.onProgress?.({ kind: "teacherDone", seed, info: teachers[seed] });
    });
    const jobs: Job[] = cfg.seeds.flatMap((seed) => cfg.methods.map((method) => ({ ...base, kind: "student" as const, seed, method })));
    const runs = (await pool(jobs)).map((r) => r.student!);
    return { config: cfg, backend: workerData.backend, teachers, runs, summary: summaryOf(exp, cfg, runs, teachers, data), files: exp.resultFiles?.(cfg, data) ?? {} };
  } finally {
    if (poll) clearInterval(poll);
    signal?.removeEventListener("abort", requestStop);
    cleanup();
  }
}
