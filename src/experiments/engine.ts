/**
 * The experiment engine: every seed's teacher, then every (seed, method)'s student, for any
 * registered experiment, here or on worker threads, in a run folder (resumable) or not. Each
 * student is one resumable training run (train/run.ts) of the plan its method builds.
 *
 * Where teachers are kept is decided here only (`teacherStore`): the cache folder given
 * (default data/cache/teachers); with no cache (null) the run folder's own, or memory for a
 * sequential library call, or a temporary folder for workers (which share teachers through files).
 *
 * Random streams per seed: "teacher/init", "teacher/data", "student/init", "student/data",
 * "student/projection/...", the held-out or validation set; every method of a seed starts from the
 * same student initialisation and sees the same batches (common random numbers).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { z } from "zod";
import { backendInfo } from "../backend";
import { buildMethod, MethodName } from "../distill/methods";
import { TappedModel } from "../models/types";
import { writeRecord } from "../io";
import { trainRun } from "../train/run";
import { EVAL_POINT, count, readChecked, removeState } from "../train/state";
import { CheckpointError, storedSize } from "../train/checkpoints";
import { Experiment, TeacherInfo, TrainedTeacher } from "./experiment";
import { CommonConfig } from "./fields";
import { StudentRun, SummaryBase, studentRunOf } from "./results";
import { EvalEvent } from "../train/loop";
import { studentPolicy } from "../train/driver";
import { TeacherStore, obtainTeacher } from "./teachers";

export type ProgressEvent =
  | { kind: "teacher"; seed: number; step: number; samples: number; accuracy: number; loss: number; seconds: number; maxSamples: number }
  | { kind: "teacherDone"; seed: number; info: TeacherInfo }
  | {
      kind: "student";
      seed: number;
      method: string;
      step: number;
      samples: number;
      accuracy: number;
      loss: number;
      /** The latest training loss (projected MSE in tap phases). */
      trainLoss: number;
      seconds: number;
      maxSamples: number;
      phase: string;
    }
  | { kind: "studentDone"; run: StudentRun }
  /** Between evaluations, about once a second: where a teacher ("teacher") or a student (its method) is. */
  | { kind: "tick"; job: string; seed: number; step: number; samples: number; seconds: number; maxSamples: number; phase: string; evaluating: boolean };

/** What a long run needs to save and stop: the run folder, how often, and whether to stop now. */
export interface RunContext {
  dir: string;
  /** Save each training run's state every this many evaluations (and on a stop request). */
  saveEvery: number;
  /** Polled after every step; true = save and throw Interrupted. */
  shouldStop?: () => boolean;
}

export interface RunOptions {
  /** Teacher cache folder (default data/cache/teachers); null: no shared cache (see teacherStore). */
  cacheDir?: string | null;
  onProgress?: (e: ProgressEvent) => void;
  /** Parallel worker threads (1 = here, sequentially). Results are identical either way. */
  workers?: number;
  /** A run folder: states saved there, finished work read back, stop requests honoured. */
  run?: RunContext;
  /** Sequential runs only: sees each trained model (students, then the teacher) before it is freed. */
  onModel?: (seed: number, who: string, model: TappedModel) => void;
  /**
   * Aborting it stops the run within a step (workers too): a run folder's states are saved once, then
   * nothing is written; the call rejects with `Interrupted` (resume with the same run folder).
   */
  signal?: AbortSignal;
  /**
   * Distil from a teacher that missed its target anyway (a control); its info and summary.json say
   * what it missed. Default false: such a teacher stops the run before any student (TeacherFailed).
   */
  allowFailedTeacher?: boolean;
  /** Polled after every step, as an abort (a worker's shared stop flag); in a run folder `run.shouldStop` is used. */
  shouldStop?: () => boolean;
}

export interface ExperimentResult<C, S extends SummaryBase = SummaryBase> {
  config: Readonly<C>;
  backend: string;
  teachers: Record<number, TeacherInfo>;
  runs: StudentRun[];
  summary: S;
  /** Further result files (name -> JSON). */
  files: Record<string, unknown>;
}

export const DEFAULT_CACHE = "data/cache/teachers";

/** The one place that decides where teachers are kept (see the file's comment). */
export function teacherStore(opts: RunOptions, parallel: boolean): { store: TeacherStore; cleanup(): void } {
  const run = opts.run;
  const common = { signal: opts.signal, allowFailed: opts.allowFailedTeacher };
  if (opts.cacheDir !== null) return { store: { cacheDir: opts.cacheDir ?? DEFAULT_CACHE, run, ...common }, cleanup: () => {} };
  if (run) return { store: { cacheDir: path.join(run.dir, "teachers", "cache"), run, ...common }, cleanup: () => {} };
  if (!parallel) return { store: { cacheDir: null, ...common }, cleanup: () => {} };
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "cd-teachers-"));
  return { store: { cacheDir: tmp, ...common }, cleanup: () => fs.rmSync(tmp, { recursive: true, force: true }) };
}

/** The teacher of `seed`, with progress events. */
export function teacherOf<C extends CommonConfig, D, S extends SummaryBase>(
  exp: Experiment<C, D, S>,
  cfg: Readonly<C>,
  seed: number,
  data: D,
  store: TeacherStore,
  onProgress?: (e: ProgressEvent) => void,
): Promise<TrainedTeacher> {
  let maxSamples = 0;
  return obtainTeacher(
    seed,
    (attempt) => {
      const tp = exp.teacher(cfg, seed, data, attempt);
      maxSamples = tp.maxSamples;
      return tp;
    },
    exp.teacherRetries(cfg),
    store,
    (e) =>
      onProgress?.(
        e.kind === "eval"
          ? { kind: "teacher", seed, step: e.step, samples: e.samples, accuracy: e.accuracy, loss: e.loss, seconds: e.seconds, maxSamples }
          : { kind: "tick", job: "teacher", seed, step: e.step, samples: e.samples, seconds: e.seconds, maxSamples, phase: "labels", evaluating: e.evaluating },
      ),
  );
}

/**
 * The teacher of `seed` for a library caller (stored as `opts` says: see teacherStore). The caller
 * disposes it. A teacher that missed its target is returned with `info.failed` saying what it missed
 * (for inspection), unless `opts.allowFailedTeacher` is false: then it is a TeacherFailed, as in runExperiment.
 */
export function trainTeacher<C extends CommonConfig, D, S extends SummaryBase>(
  exp: Experiment<C, D, S>,
  cfg: Readonly<C>,
  seed: number,
  opts: RunOptions = {},
): Promise<TrainedTeacher> {
  return teacherOf(exp, cfg, seed, exp.prepare(cfg), teacherStore({ ...opts, allowFailedTeacher: opts.allowFailedTeacher ?? true }, false).store, opts.onProgress);
}

/** Files of one (seed, method) student in a run folder. */
export function studentFiles(dir: string, seed: number, method: string) {
  const base = path.join(dir, "students", `seed${seed}-${method}`);
  return { state: base, result: `${base}.result.json` };
}

// Older results have no phase timing (seconds, stepsPerSecond).
const PHASE_START = z.object({ name: z.string(), step: count, seconds: z.number().optional(), stepsPerSecond: z.number().nullable().optional() });
const STUDENT_RESULT = z.object({
  seed: count,
  method: z.string(),
  samplesToTarget: count.nullable(),
  samples: count,
  steps: count,
  seconds: z.number(),
  stepsPerSecond: z.number(),
  finalAccuracy: z
    .number()
    .nullable()
    .transform((x) => x ?? NaN),
  // Results written before storage was counted have none (null: not recorded).
  storedBytes: count.nullable().default(null),
  phases: z.array(PHASE_START).default([]),
  curve: z.array(EVAL_POINT),
});
const STUDENT_POLICY = z.object({ curve: z.array(EVAL_POINT), hit: count.nullable(), phases: z.array(PHASE_START).default([]) });

/**
 * Train one student by one method. In a run folder a finished student's result is read back
 * (verified), an interrupted one continues from its state, and the state is saved every
 * `saveEvery` evaluations.
 */
export async function runStudent<C extends CommonConfig, D, S extends SummaryBase>(
  exp: Experiment<C, D, S>,
  cfg: Readonly<C>,
  seed: number,
  method: MethodName,
  data: D,
  teacher: TrainedTeacher,
  opts: RunOptions = {},
): Promise<StudentRun> {
  const run = opts.run;
  const files = run ? studentFiles(run.dir, seed, method) : null;
  if (files && fs.existsSync(files.result)) {
    const done: StudentRun = readChecked(files.result, STUDENT_RESULT, "student result");
    if (done.seed !== seed || done.method !== method) throw new CheckpointError(files.result, `is not the result of seed ${seed}, method ${method}`);
    opts.onProgress?.({ kind: "studentDone", run: done });
    return done;
  }
  const loop = exp.studentLoop(cfg);
  const setup = exp.student(cfg, seed, method, data, teacher);
  const methodPlan = buildMethod(method, setup.context);
  let result: StudentRun;
  try {
    const progress = (ev: EvalEvent): void =>
      opts.onProgress?.({
        kind: "student",
        seed,
        method,
        step: ev.step,
        samples: ev.samples,
        accuracy: ev.accuracy,
        loss: ev.loss,
        trainLoss: ev.trainLoss,
        seconds: ev.seconds,
        maxSamples: loop.maxSamples,
        phase: ev.phase,
      });
    const r = await trainRun({
      model: setup.model,
      plan: methodPlan,
      task: setup.task,
      loop,
      store: files ? { base: files.state, saveEvery: run!.saveEvery } : undefined,
      shouldStop: run?.shouldStop ?? opts.shouldStop,
      signal: opts.signal,
      policy: studentPolicy(loop, progress),
      shape: STUDENT_POLICY,
      callbacks: {
        onTick: (t) =>
          opts.onProgress?.({
            kind: "tick",
            job: method,
            seed,
            step: t.step,
            samples: t.samples,
            seconds: t.seconds,
            maxSamples: loop.maxSamples,
            phase: t.phase,
            evaluating: t.evaluating,
          }),
      },
    });
    let storedBytes = 0;
    for (const w of methodPlan.stored ?? []) storedBytes += storedSize(w);
    result = studentRunOf(seed, method, r.state, storedBytes);
    opts.onModel?.(seed, method, setup.model);
  } finally {
    methodPlan.dispose();
    setup.dispose();
    setup.model.dispose();
  }
  if (files) {
    writeRecord(files.result, result);
    removeState(files.state);
  }
  opts.onProgress?.({ kind: "studentDone", run: result });
  return result;
}

/** summary.json: the experiment's summary with the backend and its adapter. */
export function summaryOf<C extends CommonConfig, D, S extends SummaryBase>(
  exp: Experiment<C, D, S>,
  cfg: Readonly<C>,
  runs: readonly StudentRun[],
  teachers: Record<number, TeacherInfo>,
  data: D,
): S {
  const { backend, adapter, native } = backendInfo();
  return exp.summarize(cfg, runs, teachers, data, { backend, adapter, native });
}

/** The whole experiment: every seed's teacher, then every method's student. */
export async function runExperiment<C extends CommonConfig, D, S extends SummaryBase>(
  exp: Experiment<C, D, S>,
  cfg: Readonly<C>,
  opts: RunOptions = {},
): Promise<ExperimentResult<C, S>> {
  if ((opts.workers ?? 1) > 1) {
    const { runParallel } = await import("./parallel");
    return runParallel(exp, cfg, opts);
  }
  const data = exp.prepare(cfg);
  const { store, cleanup } = teacherStore(opts, false);
  const runs: StudentRun[] = [];
  const teachers: Record<number, TeacherInfo> = {};
  // Every seed's teacher first: one that did not learn stops the run before any student trains.
  // Teachers kept in memory only (no cache) stay loaded; the others are loaded again per seed.
  const kept: Record<number, TrainedTeacher> = {};
  try {
    for (const seed of cfg.seeds) {
      const teacher = await teacherOf(exp, cfg, seed, data, store, opts.onProgress);
      teachers[seed] = teacher.info;
      opts.onProgress?.({ kind: "teacherDone", seed, info: teacher.info });
      if (store.cacheDir === null) kept[seed] = teacher;
      else teacher.dispose();
    }
    for (const seed of cfg.seeds) {
      const teacher = kept[seed] ?? (await teacherOf(exp, cfg, seed, data, store));
      delete kept[seed];
      try {
        for (const method of cfg.methods) runs.push(await runStudent(exp, cfg, seed, method, data, teacher, opts));
        opts.onModel?.(seed, "teacher", teacher.model);
      } finally {
        teacher.dispose();
      }
    }
  } finally {
    for (const t of Object.values(kept)) t.dispose();
    cleanup();
  }
  return { config: cfg, backend: backendInfo().backend, teachers, runs, summary: summaryOf(exp, cfg, runs, teachers, data), files: exp.resultFiles?.(cfg, data) ?? {} };
}
