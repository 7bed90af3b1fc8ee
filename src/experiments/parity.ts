/**
 * The sparse-parity MLP experiment: per seed, a teacher (cached), then a student per method, all
 * driven by the one training loop. Returns data (curves and summary); printing is the caller's.
 *
 * Random streams per seed: "support", "heldout", "teacher/init", "teacher/data", "student/init",
 * "student/data", "student/projection/...". Every method of a seed starts from the same student
 * initialisation and sees the same batches (common random numbers), which makes the methods'
 * comparison paired and makes progressive-with-only-the-final-checkpoint equal one-shot exactly.
 */
import { currentBackend } from "../backend";
import { parityTask } from "../data/sparseParity";
import { curriculumExtraction } from "../distill/curriculumExtraction";
import { OutputOptions, oneShot, progressive, scratch, twoShot } from "../distill/outputs";
import { MethodPlan } from "../distill/phases";
import { createMlp } from "../models/mlp";
import { TappedModel } from "../models/types";
import { Rng, rootRng } from "../rng";
import { runPhases } from "../train/loop";
import { configToJson } from "../config";
import { ParityConfig, ParityMethod } from "./parityConfig";
import { ParityInput, ParityStream, parityStream } from "./parityTask";
import { CurriculumOptions } from "../distill/curriculumExtraction";
import { OptimizerSpec } from "../train/optimizers";

/** Fields every sparse-parity experiment shares (MLP and transformer). */
export type CommonParityConfig = Pick<
  ParityConfig,
  | "preset" | "n" | "k" | "support" | "batch" | "teacherBatch" | "seeds" | "tau" | "cxSource" | "ckptEvery" | "evalEvery"
  | "targetAccuracy" | "maxSamples" | "teacherTarget" | "teacherExtraCkpts" | "teacherMaxSamples" | "heldout"
  | "twoShotAccuracy" | "twoShotSteps" | "runToCap"
> & { methods: ParityMethod[]; teacherRetries?: number };

/**
 * What differs between the MLP and transformer parity experiments: the models, the optimisers, the
 * input encoding and the curriculum's tap pairs. Everything else (teachers, methods, the loop,
 * results, workers) is shared.
 */
export interface ParityFamily<C extends CommonParityConfig> {
  readonly name: "parity" | "parity-transformer";
  readonly input: ParityInput;
  /** Settings that determine the teacher's weights (the cache key, beside seed and backend). */
  teacherKey(cfg: Readonly<C>): Record<string, unknown>;
  createTeacher(cfg: Readonly<C>, rng: Rng): TappedModel;
  createStudent(cfg: Readonly<C>, rng: Rng): TappedModel;
  teacherOptimizer(cfg: Readonly<C>): OptimizerSpec;
  studentOptimizer(cfg: Readonly<C>): OptimizerSpec;
  /** Curriculum extraction's options except `output` and `tapSource`. */
  curriculum(cfg: Readonly<C>, teacher: TappedModel, student: TappedModel): Omit<CurriculumOptions, "output" | "tapSource">;
}
import { CurvePoint, StudentRun, Summary, summarize } from "./results";
import { TeacherInfo, TrainedTeacher, getTeacher } from "./teacher";

export type ProgressEvent =
  | { kind: "teacher"; seed: number; samples: number; accuracy: number; seconds: number; maxSamples: number }
  | { kind: "teacherDone"; seed: number; info: TeacherInfo }
  | { kind: "student"; seed: number; method: string; samples: number; accuracy: number; seconds: number; maxSamples: number; phase: string }
  | { kind: "studentDone"; run: StudentRun };

export interface RunOptions {
  /** Teacher cache folder (default data/cache/teachers); null disables caching. */
  cacheDir?: string | null;
  onProgress?: (e: ProgressEvent) => void;
  /** Parallel worker threads (1 = run here, sequentially). Results are identical either way. */
  workers?: number;
}

export interface ParityResult<C extends CommonParityConfig = ParityConfig> {
  config: Readonly<C>;
  backend: string;
  teachers: Record<number, TeacherInfo>;
  runs: StudentRun[];
  summary: Summary;
}

/** Everything a seed's student runs share. */
export interface SeedContext<C extends CommonParityConfig = ParityConfig> {
  family: ParityFamily<C>;
  cfg: Readonly<C>;
  seed: number;
  rng: Rng;
  teacher: TrainedTeacher;
  newStream(): ParityStream;
}

function teacherShape(cfg: Readonly<ParityConfig>) {
  return { inputDim: cfg.n, width: cfg.teacherWidth, outputDim: 2 };
}

/** The 2-layer MLP family (PAPER.md): plain SGD, one tap pair (the hidden layer). */
export const MLP_PARITY: ParityFamily<ParityConfig> = {
  name: "parity",
  input: "bits",
  teacherKey: (cfg) => ({ kind: "parity-mlp-teacher@1", width: cfg.teacherWidth, lr: cfg.teacherLr }),
  createTeacher: (cfg, rng) => createMlp(teacherShape(cfg), rng),
  createStudent: (cfg, rng) => createMlp({ inputDim: cfg.n, width: cfg.studentWidth, outputDim: 2 }, rng),
  teacherOptimizer: (cfg) => ({ kind: "sgd", lr: cfg.teacherLr }),
  studentOptimizer: (cfg) => ({ kind: "sgd", lr: cfg.lr }),
  curriculum: (cfg) => {
    const tap = cfg.tapActivation === "post" ? "hidden" : "hiddenPre";
    return {
      pairs: [{ teacherTap: tap, studentTap: tap, dim: cfg.projDim || undefined }],
      tapSteps: cfg.p1Steps,
      tapOptimizer: { kind: "sgd", lr: cfg.p1Lr },
      projScale: cfg.projScale || undefined,
      projection: cfg.projection,
    };
  },
};

function taskOf(cfg: Readonly<CommonParityConfig>, rng: Rng) {
  return parityTask(cfg.n, cfg.k, cfg.support === "random" ? rng.derive("support") : undefined);
}

/**
 * Train (or load from the cache) the teacher of `seed`. When it does not reach its target within
 * the budget and `teacherRetries` allows, it is re-initialised from the next init stream
 * ("teacher/init/1", ...); the attempt used is recorded in the teacher's info.
 */
export async function trainParityTeacher<C extends CommonParityConfig>(
  cfg: Readonly<C>,
  seed: number,
  opts: RunOptions = {},
  family: ParityFamily<C> = MLP_PARITY as unknown as ParityFamily<C>,
): Promise<TrainedTeacher> {
  const rng = rootRng(seed);
  const task = taskOf(cfg, rng);
  const retries = cfg.teacherRetries ?? 0;
  for (let attempt = 0; ; attempt++) {
    const stream = parityStream(task, rng.derive("teacher", "data", ...(attempt ? [attempt] : [])), rng.derive("heldout"), cfg.teacherBatch, cfg.heldout, family.input);
    const key = {
      ...family.teacherKey(cfg),
      backend: currentBackend(),
      seed,
      attempt,
      n: cfg.n,
      k: cfg.k,
      support: cfg.support,
      batch: cfg.teacherBatch,
      ckptEvery: cfg.ckptEvery,
      target: cfg.teacherTarget,
      extra: cfg.teacherExtraCkpts,
      maxSamples: cfg.teacherMaxSamples,
      heldout: cfg.heldout,
    };
    const initRng = attempt ? rng.derive("teacher", "init", attempt) : rng.derive("teacher", "init");
    let teacher: TrainedTeacher;
    try {
      teacher = await getTeacher(
        {
          key,
          create: () => family.createTeacher(cfg, initRng),
          task: stream,
          optimizer: family.teacherOptimizer(cfg),
          ckptEvery: cfg.ckptEvery,
          targetAccuracy: cfg.teacherTarget,
          extraCheckpoints: cfg.teacherExtraCkpts,
          maxSamples: cfg.teacherMaxSamples,
        },
        opts.cacheDir === undefined ? "data/cache/teachers" : opts.cacheDir,
        (e) => opts.onProgress?.({ kind: "teacher", seed, samples: e.samples, accuracy: e.accuracy, seconds: e.seconds, maxSamples: cfg.teacherMaxSamples }),
      );
    } finally {
      stream.dispose();
    }
    teacher.info.attempt = attempt;
    if (teacher.info.samplesToTarget !== null || attempt >= retries) return teacher;
    teacher.dispose();
  }
}

/** The phases of `method` for this seed's student. */
export function parityPlan<C extends CommonParityConfig>(method: ParityMethod, ctx: SeedContext<C>, student: TappedModel, stream: ParityStream): MethodPlan {
  const { cfg, teacher, rng, family } = ctx;
  const out: OutputOptions = { optimizer: family.studentOptimizer(cfg), tau: cfg.tau };
  const shell = (): TappedModel => family.createTeacher(cfg, rng.derive("shell"));
  switch (method) {
    case "scratch":
      return scratch(stream, student, out);
    case "oneshot":
      return oneShot(student, teacher.model, out);
    case "progressive":
      return progressive(student, teacher.checkpoints, shell(), cfg.batch, out);
    case "twoshot": {
      const c = teacher.checkpoints.find((x) => (x.accuracy ?? 0) >= cfg.twoShotAccuracy) ?? teacher.checkpoints[teacher.checkpoints.length - 1];
      return twoShot(student, teacher.model, c, shell(), cfg.twoShotSteps, out);
    }
    case "cx": {
      let source: TappedModel | undefined;
      if (cfg.cxSource === "init") {
        source = shell();
        source.load(teacher.init);
      }
      const p = curriculumExtraction(student, teacher.model, rng.derive("student"), {
        ...family.curriculum(cfg, teacher.model, student),
        tapSource: source,
        output: out,
      });
      return source ? { ...p, dispose: () => (p.dispose(), source!.dispose()) } : p;
    }
  }
}

/** Train one student by one method; stops at the target (unless runToCap) or the sample cap. */
export async function runParityStudent<C extends CommonParityConfig>(ctx: SeedContext<C>, method: ParityMethod, onProgress?: (e: ProgressEvent) => void): Promise<StudentRun> {
  const { cfg, seed, rng } = ctx;
  const student = ctx.family.createStudent(cfg, rng.derive("student", "init"));
  const stream = ctx.newStream();
  const methodPlan = parityPlan(method, ctx, student, stream);
  const curve: CurvePoint[] = [];
  let hit: number | null = null;
  let samples = 0;
  let steps = 0;
  let seconds = 0;
  let finalAccuracy = NaN;
  try {
    for await (const ev of runPhases(student, methodPlan, stream, { evalEvery: cfg.evalEvery, maxSamples: cfg.maxSamples })) {
      if (ev.type !== "eval") continue;
      const { type: _t, ...point } = ev;
      curve.push(point);
      samples = ev.samples;
      steps = ev.step;
      seconds = ev.seconds;
      finalAccuracy = ev.accuracy;
      onProgress?.({ kind: "student", seed, method, samples, accuracy: ev.accuracy, seconds, maxSamples: cfg.maxSamples, phase: ev.phase });
      if (hit === null && ev.accuracy >= cfg.targetAccuracy) {
        hit = ev.samples;
        if (!cfg.runToCap) break;
      }
    }
  } finally {
    methodPlan.dispose();
    student.dispose();
    stream.dispose();
  }
  const run: StudentRun = { seed, method, samplesToTarget: hit, samples, steps, seconds, stepsPerSecond: steps / Math.max(seconds, 1e-9), finalAccuracy, curve };
  onProgress?.({ kind: "studentDone", run });
  return run;
}

export function seedContext<C extends CommonParityConfig>(
  cfg: Readonly<C>,
  seed: number,
  teacher: TrainedTeacher,
  family: ParityFamily<C> = MLP_PARITY as unknown as ParityFamily<C>,
): SeedContext<C> {
  const rng = rootRng(seed);
  const task = taskOf(cfg, rng);
  return {
    family,
    cfg,
    seed,
    rng,
    teacher,
    newStream: () => parityStream(task, rng.derive("student", "data"), rng.derive("heldout"), cfg.batch, cfg.heldout, family.input),
  };
}

/** The whole experiment: every seed's teacher, then every method's student. */
export async function runParity<C extends CommonParityConfig = ParityConfig>(
  cfg: Readonly<C>,
  opts: RunOptions = {},
  family: ParityFamily<C> = MLP_PARITY as unknown as ParityFamily<C>,
): Promise<ParityResult<C>> {
  if ((opts.workers ?? 1) > 1) return runParityParallel(cfg, opts, family);
  const runs: StudentRun[] = [];
  const teachers: Record<number, TeacherInfo> = {};
  for (const seed of cfg.seeds) {
    const teacher = await trainParityTeacher(cfg, seed, opts, family);
    teachers[seed] = teacher.info;
    opts.onProgress?.({ kind: "teacherDone", seed, info: teacher.info });
    try {
      const ctx = seedContext(cfg, seed, teacher, family);
      for (const method of cfg.methods) runs.push(await runParityStudent(ctx, method, opts.onProgress));
    } finally {
      teacher.dispose();
    }
  }
  return { config: cfg, backend: currentBackend(), teachers, runs, summary: paritySummary(cfg, runs, teachers) };
}

export function paritySummary(cfg: Readonly<CommonParityConfig>, runs: readonly StudentRun[], teachers: Record<number, TeacherInfo>): Summary {
  const teacherSummary: Record<string, unknown> = {};
  for (const [seed, t] of Object.entries(teachers)) {
    const { curve: _c, ...rest } = t;
    teacherSummary[seed] = rest;
  }
  return {
    config: configToJson(cfg),
    backend: currentBackend(),
    methods: summarize(runs, cfg.methods, cfg.seeds, cfg.maxSamples),
    teachers: teacherSummary,
  };
}

/**
 * The same experiment on worker threads: the teachers first (one job per seed, written to the
 * cache), then one job per (seed, method). Without a cache folder a temporary one is used.
 */
async function runParityParallel<C extends CommonParityConfig>(cfg: Readonly<C>, opts: RunOptions, family: ParityFamily<C>): Promise<ParityResult<C>> {
  const { runPool } = await import("./pool");
  const fs = await import("node:fs");
  const os = await import("node:os");
  const path = await import("node:path");
  const tmp = opts.cacheDir === null ? fs.mkdtempSync(path.join(os.tmpdir(), "cd-teachers-")) : null;
  const cacheDir = tmp ?? opts.cacheDir ?? "data/cache/teachers";
  // Compiled worker beside this file; when running from src/ under tsx, the built copy in dist/.
  const local = path.join(__dirname, "worker.js");
  const script = fs.existsSync(local) ? local : path.join(__dirname, "..", "..", "dist", "experiments", "worker.js");
  const plain = { ...cfg };
  const data = { backend: currentBackend() };
  try {
    const infos = await runPool<unknown, TeacherInfo, ProgressEvent>(
      script,
      cfg.seeds.map((seed) => ({ kind: "teacher", family: family.name, cfg: plain, seed, cacheDir })),
      opts.workers!,
      data,
      opts.onProgress,
    );
    const teachers: Record<number, TeacherInfo> = {};
    cfg.seeds.forEach((seed, i) => {
      teachers[seed] = infos[i];
      opts.onProgress?.({ kind: "teacherDone", seed, info: infos[i] });
    });
    const jobs = cfg.seeds.flatMap((seed) => cfg.methods.map((method) => ({ kind: "student", family: family.name, cfg: plain, seed, method, cacheDir })));
    const runs = await runPool<unknown, StudentRun, ProgressEvent>(script, jobs, opts.workers!, data, opts.onProgress);
    return { config: cfg, backend: currentBackend(), teachers, runs, summary: paritySummary(cfg, runs, teachers) };
  } finally {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  }
}
