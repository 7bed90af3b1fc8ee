/**
 * `distill()`: distil a teacher into a student with any registered method, on your own data. The
 * same method builders (src/distill/methods.ts) and the same loop (src/train/loop.ts) as the
 * experiments; the teacher is never trained.
 *
 *   const teacher = fromLayersModel(myTeacher);            // or the project's createMlp / createTransformer
 *   const student = fromLayersModel(myStudent);
 *   const r = await distill({ teacher, student, data: myDataset, method: "cx", budget: { samples: 200_000 },
 *                             validation: { xs, ys }, until: (e) => e.accuracy >= 0.95, onEvent: (e) => console.log(e) });
 *   await myStudent.save("file://./student");             // the student is still a tf.LayersModel
 */
import * as tf from "@tensorflow/tfjs";
import { TapPair, defaultTapPairs } from "./distill/curriculumExtraction";
import { accuracy, oneHotTargets, softCrossEntropy } from "./distill/losses";
import { METHOD_FIELDS, MethodContext, MethodName, buildMethod } from "./distill/methods";
import { Checkpoint } from "./distill/outputs";
import { Batch, Task } from "./distill/phases";
import { TappedModel } from "./models/types";
import { rootRng } from "./rng";
import { EvalEvent, LoopEvent, newCursor, runPhases } from "./train/loop";
import { OptimizerSpec } from "./train/optimizers";

/** One training batch: inputs, and labels as class ids [batch] or one-hot [batch, classes]. */
export type DataBatch = { xs: tf.Tensor; ys: tf.Tensor };

/**
 * Training data: a tf.data.Dataset (iterated again at its end; its batches are freed after use, as
 * `fitDataset` does), a re-iterable such as an array (started again at its end), or an iterator (must
 * not run out before the budget). Batches from iterables and iterators stay yours: they are not freed.
 */
export type DistillData =
  | tf.data.Dataset<DataBatch>
  | AsyncIterable<DataBatch>
  | Iterable<DataBatch>
  | AsyncIterator<DataBatch>
  | Iterator<DataBatch>;

export interface DistillOptions {
  teacher: TappedModel;
  student: TappedModel;
  data: DistillData;
  /** A registered method: "cx", "oneshot", "progressive" (give `checkpoints` and `shell`), "scratch", "twoshot". */
  method: MethodName;
  /** When to stop: after this many training samples or steps (every phase counts). */
  budget: { samples: number } | { steps: number };
  /** Output classes (default: the teacher's logit width). */
  classes?: number;
  /** curriculum extraction: which teacher tap each student tap matches, in order (default: depth pairing of "block<l>" taps, else the last taps). */
  pairs?: readonly TapPair[];
  /** curriculum extraction: steps of each tap phase (100), or "auto" (each ends when its projected MSE stops improving). */
  tapSteps?: number | readonly number[] | "auto";
  /** curriculum extraction: "none" (raw teacher taps, default) or "layernorm" (normalised, for pre-LN transformers). */
  normalize?: "none" | "layernorm";
  /** Output (and labels) phases' optimiser (Adam, 1e-3). */
  optimizer?: OptimizerSpec;
  /** Tap phases' optimiser (default: `optimizer`). */
  tapOptimizer?: OptimizerSpec;
  /** Distillation temperature (1). */
  tau?: number;
  /** progressive / twoshot: the teacher's checkpoints (weights as from `snapshot()`) with the samples at which the student should switch to each, final last. */
  checkpoints?: readonly Checkpoint[];
  /** progressive / twoshot: a fresh model of the teacher's architecture, into which checkpoints are loaded (distill disposes it). */
  shell?: () => TappedModel;
  /** Seed of the method's random draws (the projections). Default 0. */
  seed?: number;
  /** Held-out set for the evaluations: accuracy and cross-entropy of the student's logits. */
  validation?: DataBatch;
  /** Or your own evaluation of the student. */
  evaluate?: (student: TappedModel) => Promise<{ accuracy: number; loss: number }>;
  /** Evaluate every this many steps (100; needs `validation` or `evaluate`). */
  evalEvery?: number;
  /** Stop before the budget once this returns true for an evaluation (e.g. `(e) => e.accuracy >= 0.95`). */
  until?: (e: EvalEvent) => boolean;
  /** Every loop event: evaluations, phase starts, ticks (about once a second, for progress displays). */
  onEvent?: (e: LoopEvent) => void;
}

export interface DistillResult {
  /** One point per evaluation. */
  curve: EvalEvent[];
  steps: number;
  samples: number;
  seconds: number;
  teacherFlops: number;
  studentFlops: number;
}

type PullBatch = () => Promise<DataBatch>;

type AnyIterator = { next(): Promise<IteratorResult<DataBatch>> | IteratorResult<DataBatch> };

function isIterable(d: DistillData): d is AsyncIterable<DataBatch> | Iterable<DataBatch> {
  return Symbol.asyncIterator in d || Symbol.iterator in d;
}

/** A function that returns the next batch of `data`, restarting datasets and re-iterables at their end. */
function batchSource(data: DistillData): PullBatch {
  const start = async (): Promise<AnyIterator> => {
    if (data instanceof tf.data.Dataset) return data.iterator();
    if (Symbol.asyncIterator in data) return (data as AsyncIterable<DataBatch>)[Symbol.asyncIterator]();
    if (Symbol.iterator in data) return (data as Iterable<DataBatch>)[Symbol.iterator]();
    return data;
  };
  // An iterator is its own iterable: it cannot be started again.
  const restartable = data instanceof tf.data.Dataset || (isIterable(data) && !("next" in data));
  let it: AnyIterator | null = null;
  let batches = 0;
  return async () => {
    it ??= await start();
    let r = await it.next();
    if (r.done && restartable && batches > 0) {
      it = await start();
      r = await it.next();
    }
    if (r.done) throw new Error(`distill: the data ran out after ${batches} batches, before the budget (pass a tf.data.Dataset, an array, or a longer iterator)`);
    batches++;
    return r.value;
  };
}

function classIds(ys: tf.Tensor): tf.Tensor1D {
  return tf.tidy(() => (ys.rank === 1 ? tf.cast(ys, "int32") : tf.cast(tf.argMax(ys, -1), "int32")) as tf.Tensor1D);
}

/** A Task over user batches; `owned`: the batches are ours to free (a tf.data.Dataset's). */
function userTask(pull: PullBatch, owned: boolean, classes: number, evaluate: Task["evaluate"]): Task {
  return {
    classes,
    async nextBatch(): Promise<Batch> {
      const b = await pull();
      if (b === null || typeof b !== "object" || !(b.xs instanceof tf.Tensor) || !(b.ys instanceof tf.Tensor)) {
        throw new Error("distill: each batch must be { xs: tf.Tensor, ys: tf.Tensor }");
      }
      if (b.xs.shape[0] !== b.ys.shape[0]) throw new Error(`distill: a batch has ${b.xs.shape[0]} inputs and ${b.ys.shape[0]} labels`);
      // The loop frees its batches: a user's tensors are handed over as new references.
      const batch = { x: owned ? b.xs : b.xs.clone(), y: classIds(b.ys), size: b.xs.shape[0] };
      if (owned) b.ys.dispose();
      return batch;
    },
    evaluate,
  };
}

/** Accuracy and cross-entropy of a model's logits on a held-out set. */
export async function heldOut(model: TappedModel, set: DataBatch): Promise<{ accuracy: number; loss: number }> {
  const out = tf.tidy(() => {
    const logits = model.forward(set.xs).logits;
    const ids = classIds(set.ys);
    return tf.stack([accuracy(logits, ids), softCrossEntropy(logits, oneHotTargets(ids, logits.shape[logits.rank - 1]))]);
  });
  const [acc, loss] = await out.data();
  out.dispose();
  return { accuracy: acc, loss };
}

/** Every tap pair's teacher and student taps must agree on all axes but the last (the projection maps that one). */
function checkPairs(teacher: TappedModel, student: TappedModel, pairs: readonly TapPair[], x: tf.Tensor): void {
  for (const p of pairs) {
    const [t, s] = tf.tidy(() => [teacher.forwardTaps(x, [p.teacherTap])[p.teacherTap].shape, student.forwardTaps(x, [p.studentTap])[p.studentTap].shape]);
    if (t.length !== s.length || t.slice(0, -1).some((d, i) => d !== s[i])) {
      throw new Error(`distill: teacher tap "${p.teacherTap}" has shape [${t}] and student tap "${p.studentTap}" [${s}]: they must agree on every axis but the last`);
    }
  }
}

/** Distil `teacher` into `student` by `method` on `data`; see the top of this file. */
export async function distill(opts: DistillOptions): Promise<DistillResult> {
  const { teacher, student } = opts;
  if (teacher === student) throw new Error("distill: teacher and student are the same model");
  const pull = batchSource(opts.data);
  const first = await pull();
  if (!first || !(first.xs instanceof tf.Tensor)) throw new Error("distill: each batch must be { xs: tf.Tensor, ys: tf.Tensor }");
  const classes = opts.classes ?? tf.tidy(() => teacher.forward(first.xs).logits.shape.slice(-1)[0]!);
  const studentClasses = tf.tidy(() => student.forward(first.xs).logits.shape.slice(-1)[0]!);
  if (studentClasses !== classes) throw new Error(`distill: the student has ${studentClasses} outputs, the teacher ${classes}`);
  let pending: DataBatch | null = first;
  const evaluate = opts.evaluate ?? (opts.validation ? (m: TappedModel) => heldOut(m, opts.validation!) : async () => ({ accuracy: NaN, loss: NaN }));
  const task = userTask(
    async () => {
      const b = pending ?? (await pull());
      pending = null;
      return b;
    },
    opts.data instanceof tf.data.Dataset,
    classes,
    evaluate,
  );
  const batch = first.xs.shape[0];
  const optimizer = opts.optimizer ?? { kind: "adam", lr: 1e-3 };
  const settings = { tau: opts.tau ?? 1, twoShotAccuracy: METHOD_FIELDS.twoShotAccuracy.default, twoShotSteps: METHOD_FIELDS.twoShotSteps.default, cxSource: "final" as const };
  if ((opts.method === "progressive" || opts.method === "twoshot") && (!opts.checkpoints?.length || !opts.shell)) {
    throw new Error(`distill: method "${opts.method}" needs the teacher's checkpoints and a shell`);
  }
  const ctx: MethodContext = {
    student,
    teacher,
    checkpoints: opts.checkpoints ?? [],
    teacherInit: {},
    shell: () => opts.shell!(),
    task,
    rng: rootRng(opts.seed ?? 0).derive("distill"),
    batch,
    output: () => ({ optimizer, tau: settings.tau }),
    curriculum: { pairs: opts.pairs ?? defaultTapPairs(teacher, student), tapSteps: opts.tapSteps ?? 100, tapOptimizer: opts.tapOptimizer ?? optimizer, normalize: opts.normalize ?? "none" },
    settings,
  };
  if (opts.method === "cx") checkPairs(teacher, student, ctx.curriculum.pairs, first.xs);
  const plan = buildMethod(opts.method, ctx);
  const maxSamples = "samples" in opts.budget ? opts.budget.samples : opts.budget.steps * batch;
  const evalEvery = opts.validation || opts.evaluate ? (opts.evalEvery ?? 100) : Number.MAX_SAFE_INTEGER;
  const curve: EvalEvent[] = [];
  const cursor = newCursor();
  try {
    for await (const ev of runPhases(student, plan, task, { evalEvery, maxSamples, cursor, evalAtStart: evalEvery !== Number.MAX_SAFE_INTEGER })) {
      if (ev.type === "eval") curve.push(ev);
      opts.onEvent?.(ev);
      if (ev.type === "eval" && opts.until?.(ev)) break;
    }
  } finally {
    plan.dispose();
    if (pending && opts.data instanceof tf.data.Dataset) tf.dispose([first.xs, first.ys]); // never used (a budget of 0)
  }
  const p = cursor.position;
  return { curve, steps: p.step, samples: p.samples, seconds: p.seconds, teacherFlops: p.teacherFlops, studentFlops: p.studentFlops };
}
