/**
 * `distill()`: distil a teacher into a student with any registered method, on your own data. The
 * same method builders (src/distill/methods.ts) and the same loop (src/train/loop.ts) as the
 * experiments; the teacher is never trained.
 *
 *   const teacher = fromLayersModel(myTeacher);            // or the project's createMlp / createTransformer
 *   const student = fromLayersModel(myStudent);
 *   const r = await distill({ teacher, student, data: myDataset, method: "cx", budget: { samples: 200_000 },
 *                             validation: { xs, ys }, until: (e) => e.accuracy >= 0.95,
 *                             onEvaluation: async (e) => console.log(e.step, e.accuracy), signal: controller.signal });
 *   await myStudent.save("file://./student");             // the student is still a tf.LayersModel
 */
import * as tf from "@tensorflow/tfjs";
import { TapPair, defaultTapPairs } from "./distill/curriculumExtraction";
import { accuracy, oneHotTargets, softCrossEntropy } from "./distill/losses";
import { METHOD_FIELDS, MethodContext, MethodName, buildMethod } from "./distill/methods";
import { Checkpoint } from "./distill/outputs";
import { Batch, MethodPlan, Task } from "./distill/phases";
import { DistillOptionError, atChance, checkBatch, checkOptions, classIds, majorityShare } from "./distillChecks";
import { TappedModel } from "./models/types";
import { rootRng } from "./rng";
import { DriveCallbacks, drive, untilPolicy } from "./train/driver";
import { EvalEvent, LoopEvent } from "./train/loop";
import { OptimizerSpec } from "./train/optimizers";

export { DistillOptionError } from "./distillChecks";
export { Interrupted, NonFiniteLoss } from "./train/driver";

/** One training batch: inputs, and labels as class ids [batch] or one-hot [batch, classes]. */
export type DataBatch = { xs: tf.Tensor; ys: tf.Tensor };

/**
 * Training data: a tf.data.Dataset (iterated again at its end), a re-iterable such as an array
 * (started again at its end), or an iterator or generator (must not run out before the budget).
 *
 * Ownership: distill frees every batch it pulls once the step is done (as `fitDataset` does), except
 * the batches of an array, which stay yours (they are used again at every pass). A non-array iterable
 * must therefore yield fresh tensors.
 */
export type DistillData =
  | tf.data.Dataset<DataBatch>
  | AsyncIterable<DataBatch>
  | Iterable<DataBatch>
  | AsyncIterator<DataBatch>
  | Iterator<DataBatch>;

/** Something distill wants you to know that does not stop it (a teacher at chance, when allowed). */
export interface DistillWarning {
  type: "warning";
  message: string;
}

export interface DistillOptions extends DriveCallbacks {
  teacher: TappedModel;
  student: TappedModel;
  data: DistillData;
  /** A registered method (src/distill/methods.ts): "cx", "oneshot", "progressive" (give `checkpoints` and `shell`), "scratch", "twoshot". */
  method: MethodName;
  /** When to stop: after this many training samples or steps (every phase counts); a positive integer. */
  budget: { samples: number } | { steps: number };
  /** Output classes (default: the teacher's logit width). */
  classes?: number;
  /** curriculum extraction: which teacher tap each student tap matches, in order (default: depth pairing of "block<l>" taps, else the last taps). */
  pairs?: readonly TapPair[];
  /** curriculum extraction: steps of each tap phase (100), or "auto" (each ends when its projected MSE stops improving). Must leave output steps in the budget. */
  tapSteps?: number | readonly number[] | "auto";
  /** curriculum extraction: "none" (raw teacher taps, default) or "layernorm" (normalised, for pre-LN transformers). */
  normalize?: "none" | "layernorm";
  /** Output (and labels) phases' optimiser (Adam, 1e-3): kind "adam" or "sgd". */
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
  /** Held-out set for the evaluations: accuracy and cross-entropy of the student's logits. Stays yours. */
  validation?: DataBatch;
  /** Or your own evaluation of the student. */
  evaluate?: (student: TappedModel) => Promise<{ accuracy: number; loss: number }>;
  /** Evaluate every this many steps (100; needs `validation` or `evaluate`). */
  evalEvery?: number;
  /** Stop before the budget once this returns true for an evaluation (e.g. `(e) => e.accuracy >= 0.95`). */
  until?: (e: EvalEvent) => boolean;
  /** Every loop event: evaluations, phase starts, ticks (about once a second, for progress displays). */
  onEvent?: (e: LoopEvent) => void;
  /** Warnings (a teacher at chance on the validation set, when `allowWeakTeacher`). Default: printed when verbose. */
  onWarning?: (w: DistillWarning) => void;
  /** Aborting it stops the run after the current step: distill rejects with `Interrupted`. */
  signal?: AbortSignal;
  /**
   * 1: a line per phase and per evaluation on stderr (Node); 0: nothing. Default 1 in Node when no
   * `onEvent` or callback is given (a caller with its own display gets none), else 0.
   */
  verbose?: 0 | 1;
  /**
   * A teacher no better than chance on `validation` (the majority class's share plus two standard
   * errors) is an error (DistillOptionError on "teacher") unless this is true; then it is a warning.
   */
  allowWeakTeacher?: boolean;
}

export interface DistillResult {
  /** One point per evaluation. */
  curve: EvalEvent[];
  steps: number;
  samples: number;
  seconds: number;
  /** FLOPs spent (src/cost.ts); null when the models do not count theirs (e.g. fromLayersModel models). */
  teacherFlops: number | null;
  studentFlops: number | null;
}

/** The next batch; `close` ends the iteration (a generator's finally blocks run). */
type PullBatch = (() => Promise<DataBatch>) & { close(): Promise<void> };

type AnyIterator = { next(): Promise<IteratorResult<DataBatch>> | IteratorResult<DataBatch> };

function isIterable(d: DistillData): d is AsyncIterable<DataBatch> | Iterable<DataBatch> {
  return Symbol.asyncIterator in d || Symbol.iterator in d;
}

/** A function that returns the next batch of `data`, restarting datasets and re-iterables at their end. */
function batchSource(data: DistillData, owned: boolean): PullBatch {
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
  const close = async () => {
    const r = it as { return?: () => unknown } | null;
    it = null;
    if (r && typeof r.return === "function" && !(data instanceof tf.data.Dataset)) await r.return();
  };
  const next = async () => {
    it ??= await start();
    let r = await it.next();
    if (r.done && restartable && batches > 0) {
      it = await start();
      r = await it.next();
    }
    if (r.done) throw new DistillOptionError("data", `${batches} batches`, `the data ran out after ${batches} batches, before the budget (pass a tf.data.Dataset, an array, or a longer iterator)`);
    batches++;
    const b = r.value;
    if (b === null || typeof b !== "object" || !(b.xs instanceof tf.Tensor) || !(b.ys instanceof tf.Tensor)) {
      if (owned && b && typeof b === "object") tf.dispose(Object.values(b).filter((t): t is tf.Tensor => t instanceof tf.Tensor));
      throw new DistillOptionError("data", b, "each batch must be { xs: tf.Tensor, ys: tf.Tensor }");
    }
    if (b.xs.shape[0] !== b.ys.shape[0]) {
      if (owned) tf.dispose([b.xs, b.ys]);
      throw new DistillOptionError("data", b, `a batch has ${b.xs.shape[0]} inputs and ${b.ys.shape[0]} labels`);
    }
    return b;
  };
  return Object.assign(next, { close });
}

/** A Task over user batches; `owned`: distill frees each batch after its step (all but an array's). */
function userTask(pull: () => Promise<DataBatch>, owned: boolean, classes: number, evaluate: Task["evaluate"]): Task {
  return {
    classes,
    async nextBatch(): Promise<Batch> {
      const b = await pull();
      // The loop frees its batches: an array's tensors are handed over as new references.
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
    let t: number[];
    let s: number[];
    try {
      [t, s] = tf.tidy(() => [teacher.forwardTaps(x, [p.teacherTap])[p.teacherTap].shape, student.forwardTaps(x, [p.studentTap])[p.studentTap].shape]);
    } catch (e) {
      throw new DistillOptionError("pairs", p, (e as Error).message);
    }
    if (t.length !== s.length || t.slice(0, -1).some((d, i) => d !== s[i])) {
      throw new DistillOptionError("pairs", p, `teacher tap "${p.teacherTap}" has shape [${t}] and student tap "${p.studentTap}" [${s}]: they must agree on every axis but the last`);
    }
  }
}

/** Node's stderr when there is one (progress lines), else null. */
function stderrWriter(): ((line: string) => void) | null {
  const proc = (globalThis as { process?: { stderr?: { write(s: string): unknown } } }).process;
  return proc?.stderr ? (line) => void proc.stderr!.write(`${line}\n`) : null;
}

/** Progress lines (verbose 1): a phase's start and every evaluation, as fit prints its epochs. */
function printer(method: string, maxSamples: number, write: (line: string) => void): DriveCallbacks {
  return {
    onPhaseBegin: (e) => write(`distill ${method}: phase ${e.index + 1} "${e.phase}" from step ${e.step}`),
    onEvaluation: (e) =>
      write(
        `distill ${method}: step ${e.step}, ${e.samples}/${maxSamples} samples [${e.phase}] held-out accuracy ${e.accuracy.toFixed(4)}, loss ${e.loss.toFixed(4)}, train loss ${e.trainLoss.toFixed(4)} (${e.seconds.toFixed(1)} s)`,
      ),
  };
}

/** Each callback of `a` then of `b`, awaited in turn. */
function both(a: DriveCallbacks, b: DriveCallbacks): DriveCallbacks {
  const out: Record<string, (e: never) => Promise<void>> = {};
  for (const k of new Set([...Object.keys(a), ...Object.keys(b)]) as Set<keyof DriveCallbacks>) {
    const f = a[k] as ((e: unknown) => unknown) | undefined;
    const g = b[k] as ((e: unknown) => unknown) | undefined;
    out[k] = async (e: never) => {
      await f?.(e);
      await g?.(e);
    };
  }
  return out as DriveCallbacks;
}

const CALLBACKS = ["onTrainBegin", "onTrainEnd", "onPhaseBegin", "onPhaseEnd", "onEvaluation", "onBatchEnd", "onTick", "onEvent"] as const;

/**
 * Distil `teacher` into `student` by `method` on `data`; see the top of this file. Every option is
 * checked before training (a DistillOptionError naming it); the run goes through the one driver
 * (src/train/driver.ts) with its awaited callbacks; a non-finite loss stops it (NonFiniteLoss), an
 * abort too (Interrupted). No tensor of distill's outlives the call, on any path.
 */
export async function distill(opts: DistillOptions): Promise<DistillResult> {
  checkOptions(opts);
  const { teacher, student } = opts;
  const owned = !Array.isArray(opts.data);
  const pull = batchSource(opts.data, owned);
  let pending: DataBatch | null = await pull();
  const freePending = () => {
    if (pending && owned) tf.dispose([pending.xs, pending.ys]);
    pending = null;
  };
  let plan: MethodPlan | null = null;
  try {
    const first = pending;
    const classes = checkBatch("data", teacher, student, first.xs, first.ys, opts.classes);
    const batch = first.xs.shape[0];
    const maxSamples = "samples" in opts.budget ? opts.budget.samples : opts.budget.steps * batch;
    const budgetSteps = Math.ceil(maxSamples / batch);
    const tapSteps = opts.tapSteps ?? 100;
    const pairs = opts.pairs ?? defaultTapPairs(teacher, student);
    if (opts.method === "cx") {
      checkPairs(teacher, student, pairs, first.xs);
      if (tapSteps !== "auto") {
        const list = typeof tapSteps === "number" ? pairs.map(() => tapSteps) : tapSteps;
        const total = list.reduce((a, b) => a + b, 0);
        if (total >= budgetSteps) throw new DistillOptionError("tapSteps", tapSteps, `the tap phases (${total} steps) leave no output steps in the budget of ${budgetSteps} steps`);
      }
    }
    const warn = (message: string) => {
      if (opts.onWarning) opts.onWarning({ type: "warning", message });
      else stderrWriter()?.(`distill: warning: ${message}`);
    };
    if (opts.validation) {
      checkBatch("validation", teacher, student, opts.validation.xs, opts.validation.ys, classes);
      const t = await heldOut(teacher, opts.validation);
      const share = majorityShare(opts.validation.ys, classes);
      const c = atChance(t.accuracy, share, opts.validation.xs.shape[0]);
      if (c.weak) {
        const what = `the teacher's accuracy on the validation set is ${t.accuracy.toFixed(4)}, no better than chance (${c.chance.toFixed(4)}, the commonest class's share)`;
        if (!opts.allowWeakTeacher) throw new DistillOptionError("teacher", `accuracy ${t.accuracy.toFixed(4)}`, `${what}; pass allowWeakTeacher: true to distil from it anyway`);
        warn(`${what}; distilling from it anyway (allowWeakTeacher)`);
      }
    }
    const evaluate = opts.evaluate ?? (opts.validation ? (m: TappedModel) => heldOut(m, opts.validation!) : async () => ({ accuracy: NaN, loss: NaN }));
    const task = userTask(
      async () => {
        const b = pending ?? (await pull());
        pending = null;
        return b;
      },
      owned,
      classes,
      evaluate,
    );
    const optimizer = opts.optimizer ?? { kind: "adam", lr: 1e-3 };
    const settings = { tau: opts.tau ?? 1, twoShotAccuracy: METHOD_FIELDS.twoShotAccuracy.default, twoShotSteps: METHOD_FIELDS.twoShotSteps.default, cxSource: "final" as const };
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
      curriculum: { pairs, tapSteps, tapOptimizer: opts.tapOptimizer ?? optimizer, normalize: opts.normalize ?? "none" },
      settings,
    };
    plan = buildMethod(opts.method, ctx);
    const evaluating = opts.validation !== undefined || opts.evaluate !== undefined;
    const evalEvery = evaluating ? (opts.evalEvery ?? 100) : Number.MAX_SAFE_INTEGER;
    const own: DriveCallbacks = Object.fromEntries(CALLBACKS.filter((k) => opts[k] !== undefined).map((k) => [k, opts[k]]));
    const write = stderrWriter();
    const verbose = opts.verbose ?? (write && Object.keys(own).length === 0 ? 1 : 0);
    const callbacks = verbose === 1 && write ? both(printer(opts.method, maxSamples, write), own) : own;
    const r = await drive(student, plan, task, {
      // evalAtBudget: the last point of the curve is the student at the end, whatever the interval.
      loop: { evalEvery, maxSamples, evalAtStart: evaluating, evalAtBudget: evaluating },
      policy: untilPolicy(opts.until),
      callbacks,
      signal: opts.signal,
      finite: true,
    });
    const p = r.position;
    const counted = plan.phases.every((ph) => ph.stepFlops !== undefined);
    return { curve: r.state.curve, steps: p.step, samples: p.samples, seconds: p.seconds, teacherFlops: counted ? p.teacherFlops : null, studentFlops: counted ? p.studentFlops : null };
  } finally {
    plan?.dispose();
    freePending(); // never used (an error before the first step)
    await pull.close().catch(() => {});
  }
}
