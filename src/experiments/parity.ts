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
import * as fs from "node:fs";
import { createHash } from "node:crypto";
import * as path from "node:path";
import { LoopPosition, LoopResume, newCursor, runPhases } from "../train/loop";
import { createOptimizer } from "../train/optimizers";
import { CheckpointError, disposeWeights } from "../train/checkpoints";
import { NamedTensors, shortName } from "../models/types";
import { writeJsonAtomic } from "../io";
import { Interrupted, RunContext, isCount, loadState, need, prefixed, readJsonChecked, removeState, saveState, section, stateExists } from "./runState";
import { configToJson } from "../config";
import { ParityConfig, ParityMethod } from "./parityConfig";
import { ParityInput, ParityStream, StreamPosition, parityStream } from "./parityTask";
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
import { TeacherInfo, TrainedTeacher, cacheKeyHash, getTeacher, tryLoad } from "./teacher";

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
  /** A run folder: states saved there, finished work read back, interrupt requests honoured. */
  run?: RunContext;
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
  teacherKey: (cfg) => ({ kind: "parity-mlp-teacher@2", width: cfg.teacherWidth, lr: cfg.teacherLr }),
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
  const run = opts.run;
  // In a run folder the teacher is always stored somewhere: the cache, or the run folder itself.
  const cacheDir = opts.cacheDir === undefined ? "data/cache/teachers" : (opts.cacheDir ?? (run ? path.join(run.dir, "teachers", "cache") : null));
  const record = run ? path.join(run.dir, "teachers", `seed${seed}.json`) : null;
  const recorded = record && fs.existsSync(record) ? readJsonChecked<TeacherRecord>(record, "teacher record") : null;
  if (recorded && (!isCount(recorded.attempt) || typeof recorded.dir !== "string" || typeof recorded.sha256 !== "string" || !recorded.info)) {
    throw new CheckpointError(record!, "teacher record is malformed");
  }
  for (let attempt = recorded?.attempt ?? 0; ; attempt++) {
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
    const spec = {
      key,
      create: () => family.createTeacher(cfg, initRng),
      task: stream,
      optimizer: family.teacherOptimizer(cfg),
      ckptEvery: cfg.ckptEvery,
      targetAccuracy: cfg.teacherTarget,
      extraCheckpoints: cfg.teacherExtraCkpts,
      maxSamples: cfg.teacherMaxSamples,
    };
    let teacher: TrainedTeacher;
    try {
      if (recorded) {
        // The run already has its teacher: load exactly that entry, or fail (never retrain silently).
        const meta = path.join(recorded.dir, "teacher.json");
        if (!fs.existsSync(meta)) throw new CheckpointError(meta, `missing: run teacher record ${record} names this cache entry`);
        const sha = createHash("sha256").update(fs.readFileSync(meta)).digest("hex");
        if (sha !== recorded.sha256) throw new CheckpointError(meta, `does not match the run's teacher record ${record} (checksum)`);
        if (path.basename(recorded.dir) !== cacheKeyHash(key)) throw new CheckpointError(record!, `names cache entry ${recorded.dir}, but this config's teacher is ${cacheKeyHash(key)}`);
        teacher = tryLoad(spec, recorded.dir)!;
        teacher.info = { ...recorded.info, curve: teacher.info.curve };
        return teacher;
      }
      teacher = await getTeacher(
        spec,
        cacheDir,
        (e) => opts.onProgress?.({ kind: "teacher", seed, samples: e.samples, accuracy: e.accuracy, seconds: e.seconds, maxSamples: cfg.teacherMaxSamples }),
        run ? { dir: path.join(run.dir, "teachers", `seed${seed}-attempt${attempt}`), saveEvery: run.saveEvery, shouldStop: run.shouldStop, stream: stream as never } : undefined,
      );
    } finally {
      stream.dispose();
    }
    teacher.info.attempt = attempt;
    if (teacher.info.samplesToTarget !== null || attempt >= retries) {
      if (record && teacher.dir) {
        const meta = path.join(teacher.dir, "teacher.json");
        const { curve: _c, ...info } = teacher.info;
        const rec: TeacherRecord = { attempt, dir: path.resolve(teacher.dir), sha256: createHash("sha256").update(fs.readFileSync(meta)).digest("hex"), info };
        writeJsonAtomic(record, rec);
      }
      return teacher;
    }
    teacher.dispose();
  }
}

/** A run's note of the teacher it used for a seed (teachers/seed<N>.json in the run folder). */
interface TeacherRecord {
  attempt: number;
  /** The cache entry holding the teacher. */
  dir: string;
  /** SHA-256 of the entry's teacher.json when the run first used it. */
  sha256: string;
  info: Omit<TeacherInfo, "curve">;
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

/** What a student's saved state holds besides tensors (see runState.ts). */
interface StudentState {
  seed: number;
  method: string;
  position: LoopPosition;
  optimizerStep: number;
  stream: StreamPosition;
  curve: CurvePoint[];
  hit: number | null;
}

function checkStudentState(d: unknown, seed: number, method: string): StudentState {
  const s = d as StudentState;
  need(s && s.seed === seed && s.method === method, `seed/method (expected ${seed}/${method})`);
  const p = s.position;
  need(p && [p.phaseIndex, p.stepInPhase, p.step, p.samples].every(isCount) && typeof p.seconds === "number", "position");
  need(isCount(s.optimizerStep), "optimizerStep");
  need(s.stream && typeof s.stream.fresh === "boolean" && s.stream.rng, "stream");
  need(Array.isArray(s.curve), "curve");
  need(s.hit === null || isCount(s.hit), "hit");
  return s;
}

/** Files of one (seed, method) student in a run folder. */
export function studentFiles(dir: string, seed: number, method: string) {
  const base = path.join(dir, "students", `seed${seed}-${method}`);
  return { state: base, result: `${base}.result.json` };
}

/**
 * Train one student by one method; stops at the target (unless runToCap) or the sample cap. With
 * a run context, a finished student's result is read back instead of recomputed, an interrupted
 * one continues from its saved state, and the state is saved every `saveEvery` evaluations.
 */
export async function runParityStudent<C extends CommonParityConfig>(
  ctx: SeedContext<C>,
  method: ParityMethod,
  onProgress?: (e: ProgressEvent) => void,
  run?: RunContext,
): Promise<StudentRun> {
  const { cfg, seed, rng } = ctx;
  const files = run ? studentFiles(run.dir, seed, method) : null;
  if (files && fs.existsSync(files.result)) {
    const done = readJsonChecked<StudentRun>(files.result, "student result");
    if (!done || done.seed !== seed || done.method !== method || !Array.isArray(done.curve)) throw new CheckpointError(files.result, `is not the result of seed ${seed}, method ${method}`);
    onProgress?.({ kind: "studentDone", run: done });
    return done;
  }
  const student = ctx.family.createStudent(cfg, rng.derive("student", "init"));
  const stream = ctx.newStream();
  const methodPlan = parityPlan(method, ctx, student, stream);
  // Trainable variables that are not the student's (cx's learned hint regressor): saved too.
  const own = new Set(student.variables);
  const extras = [...new Set(methodPlan.phases.flatMap((p) => p.trainable))].filter((v) => !own.has(v));
  const cursor = newCursor();
  let curve: CurvePoint[] = [];
  let hit: number | null = null;
  let resume: LoopResume | undefined;
  let loaded: NamedTensors | null = null;
  const save = async () => {
    if (!files) return;
    const w: NamedTensors = { ...prefixed(student.snapshot(), "model"), ...prefixed(cursor.optimizer?.state() ?? {}, "opt") };
    for (const v of extras) w[`extra/${shortName(v)}`] = v;
    const data: StudentState = { seed, method, position: cursor.position, optimizerStep: cursor.optimizer?.step ?? 0, stream: stream.position(), curve, hit };
    try {
      await saveState(files.state, w, data);
    } finally {
      disposeWeights(section(w, "model"));
    }
  };
  let samples = 0;
  let steps = 0;
  let seconds = 0;
  let finalAccuracy = NaN;
  try {
    if (files && stateExists(files.state)) {
      const expect: Record<string, number[]> = {};
      for (const v of student.variables) expect[`model/${shortName(v)}`] = v.shape.slice();
      for (const v of extras) expect[`extra/${shortName(v)}`] = v.shape.slice();
      const st = loadState(files.state, expect, (d) => checkStudentState(d, seed, method));
      loaded = st.weights;
      const s = st.data;
      try {
        if (s.position.phaseIndex >= methodPlan.phases.length) throw new Error(`phase ${s.position.phaseIndex} of a ${methodPlan.phases.length}-phase method`);
        student.load(section(loaded, "model"));
        for (const v of extras) v.assign(loaded[`extra/${shortName(v)}`]);
        stream.restore(s.stream);
        // Checked now so that a bad moment is reported here, against the state file.
        const phase = methodPlan.phases[s.position.phaseIndex];
        const probe = createOptimizer(phase.optimizer);
        try {
          probe.restore(phase.trainable, s.optimizerStep, section(loaded, "opt"));
        } finally {
          probe.dispose();
        }
      } catch (e) {
        throw new CheckpointError(`${files.state}.json`, `does not fit this run (${(e as Error).message})`);
      }
      resume = { ...s.position, optimizerStep: s.optimizerStep, optimizerState: section(loaded, "opt") };
      curve = s.curve;
      hit = s.hit;
      const last = curve[curve.length - 1];
      if (last) ({ samples, step: steps, seconds, accuracy: finalAccuracy } = last);
    }
    const events = runPhases(student, methodPlan, stream, { evalEvery: cfg.evalEvery, maxSamples: cfg.maxSamples, cursor, resume, shouldStop: run?.shouldStop });
    for await (const ev of events) {
      if (ev.type === "interrupt") {
        await save();
        throw new Interrupted();
      }
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
      if (run && curve.length % run.saveEvery === 0) await save();
    }
  } finally {
    methodPlan.dispose();
    student.dispose();
    stream.dispose();
    if (loaded) disposeWeights(loaded);
  }
  const result: StudentRun = { seed, method, samplesToTarget: hit, samples, steps, seconds, stepsPerSecond: steps / Math.max(seconds, 1e-9), finalAccuracy, curve };
  if (files) {
    writeJsonAtomic(files.result, result);
    removeState(files.state);
  }
  onProgress?.({ kind: "studentDone", run: result });
  return result;
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
      for (const method of cfg.methods) runs.push(await runParityStudent(ctx, method, opts.onProgress, opts.run));
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
  const os = await import("node:os");
  const run = opts.run;
  const tmp = opts.cacheDir === null && !run ? fs.mkdtempSync(path.join(os.tmpdir(), "cd-teachers-")) : null;
  const cacheDir = tmp ?? opts.cacheDir ?? (run ? path.join(run.dir, "teachers", "cache") : "data/cache/teachers");
  // Compiled worker beside this file; when running from src/ under tsx, the built copy in dist/.
  const local = path.join(__dirname, "runWorker.js");
  const script = fs.existsSync(local) ? local : path.join(__dirname, "..", "..", "dist", "experiments", "runWorker.js");
  const plain = { ...cfg };
  // Ctrl-C reaches this thread only: a shared flag tells every worker to save and stop.
  const stopFlag = new Int32Array(new SharedArrayBuffer(4));
  const data: RunWorkerData = { backend: currentBackend(), stop: stopFlag };
  const poll = run?.shouldStop ? setInterval(() => run.shouldStop!() && Atomics.store(stopFlag, 0, 1), 50) : null;
  const runCtx = run ? { dir: run.dir, saveEvery: run.saveEvery } : undefined;
  const unwrap = <R>(results: Array<RunJobResult<R>>): R[] => {
    const failed = results.find((r) => r.checkpointError);
    if (failed) throw new CheckpointError(failed.checkpointError!.file, failed.checkpointError!.reason);
    if (results.some((r) => r.interrupted)) throw new Interrupted();
    return results.map((r) => r.value!);
  };
  try {
    const infos = unwrap(
      await runPool<RunJob, RunJobResult<TeacherInfo>, ProgressEvent>(
        script,
        cfg.seeds.map((seed) => ({ kind: "teacher", family: family.name, cfg: plain, seed, cacheDir, run: runCtx })),
        opts.workers!,
        data,
        opts.onProgress,
      ),
    );
    const teachers: Record<number, TeacherInfo> = {};
    cfg.seeds.forEach((seed, i) => {
      teachers[seed] = infos[i];
      opts.onProgress?.({ kind: "teacherDone", seed, info: infos[i] });
    });
    const jobs: RunJob[] = cfg.seeds.flatMap((seed) => cfg.methods.map((method) => ({ kind: "student" as const, family: family.name, cfg: plain, seed, method, cacheDir, run: runCtx })));
    const runs = unwrap(await runPool<RunJob, RunJobResult<StudentRun>, ProgressEvent>(script, jobs, opts.workers!, data, opts.onProgress));
    return { config: cfg, backend: currentBackend(), teachers, runs, summary: paritySummary(cfg, runs, teachers) };
  } finally {
    if (poll) clearInterval(poll);
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** A job of the parallel runner (runWorker.ts): one teacher, or one (seed, method) student. */
export type RunJob =
  | { kind: "teacher"; family: ParityFamily<CommonParityConfig>["name"]; cfg: CommonParityConfig; seed: number; cacheDir: string; run?: { dir: string; saveEvery: number } }
  | { kind: "student"; family: ParityFamily<CommonParityConfig>["name"]; cfg: CommonParityConfig; seed: number; method: ParityMethod; cacheDir: string; run?: { dir: string; saveEvery: number } };

/** A job's outcome: its value, or that it stopped on request (state saved), or a bad file. */
export interface RunJobResult<R> {
  value?: R;
  interrupted?: boolean;
  checkpointError?: { file: string; reason: string };
}

export interface RunWorkerData {
  backend: string;
  /** [0] = 1 when a stop was requested. */
  stop: Int32Array;
}
