/**
 * distill()'s option checks, all before any training: each bad option is one `DistillOptionError`
 * naming the option and the value. Static checks (`checkOptions`) need nothing but the options;
 * the data checks (`checkFirstBatch`) look at the first batch (its shape against both models, its
 * labels' range, non-finite values); `checkTeacher` evaluates the teacher on the validation set.
 */
import * as tf from "@tensorflow/tfjs";
import { METHOD_NAMES, isMethodName, methodOf } from "./distill/methods";
import { TappedModel, shortName } from "./models/types";
import { OptimizerSpec } from "./train/optimizers";

/** A bad option of distill() or fromLayersModel(): `option` names it, `value` is what was given. */
export class DistillOptionError extends Error {
  constructor(
    readonly option: string,
    readonly value: unknown,
    readonly reason: string,
  ) {
    super(`distill: invalid ${option}: ${show(value)} (${reason})`);
    this.name = "DistillOptionError";
  }
}

/** A value for a message: JSON where it is plain data, else its kind. */
function show(v: unknown): string {
  if (v instanceof tf.Tensor) return `tensor of shape [${v.shape}]`;
  if (typeof v === "number") return String(v);
  if (typeof v === "function") return "a function";
  try {
    const s = JSON.stringify(v);
    return s === undefined ? String(v) : s.length > 80 ? `${s.slice(0, 77)}...` : s;
  } catch {
    return String(v);
  }
}

const positiveInt = (x: unknown): x is number => typeof x === "number" && Number.isInteger(x) && x > 0;
const nonNegativeInt = (x: unknown): x is number => typeof x === "number" && Number.isInteger(x) && x >= 0;

function isModel(m: unknown): m is TappedModel {
  return typeof m === "object" && m !== null && typeof (m as TappedModel).forward === "function" && Array.isArray((m as TappedModel).variables);
}

function checkOptimizer(option: string, o: unknown): void {
  if (o === undefined) return;
  const spec = o as OptimizerSpec;
  if (typeof o !== "object" || o === null || (spec.kind !== "adam" && spec.kind !== "sgd")) {
    throw new DistillOptionError(option, o, `kind must be "adam" or "sgd"`);
  }
  if (typeof spec.lr !== "number" || !Number.isFinite(spec.lr) || spec.lr <= 0) throw new DistillOptionError(`${option}.lr`, spec.lr, "a positive learning rate");
}

/** What the static checks need from DistillOptions (api.ts), loosely typed: a caller may pass anything. */
export interface CheckedOptions {
  teacher: unknown;
  student: unknown;
  data: unknown;
  method: unknown;
  budget: unknown;
  tapSteps?: unknown;
  evalEvery?: unknown;
  optimizer?: unknown;
  tapOptimizer?: unknown;
  tau?: unknown;
  classes?: unknown;
  seed?: unknown;
  checkpoints?: unknown;
  shell?: unknown;
  normalize?: unknown;
  verbose?: unknown;
  validation?: unknown;
}

/** Every option that needs no data: one DistillOptionError for the first bad one. */
export function checkOptions(o: CheckedOptions): void {
  if (!isModel(o.teacher)) throw new DistillOptionError("teacher", o.teacher, "a TappedModel (fromLayersModel(model), createMlp, createTransformer)");
  if (!isModel(o.student)) throw new DistillOptionError("student", o.student, "a TappedModel (fromLayersModel(model), createMlp, createTransformer)");
  if (o.teacher === o.student) throw new DistillOptionError("student", "the teacher", "teacher and student are the same model");
  const teacherVars = new Set(o.teacher.variables);
  const shared = o.student.variables.find((v) => teacherVars.has(v));
  if (shared) throw new DistillOptionError("student", shortName(shared), "shares this variable with the teacher (the same LayersModel wrapped twice?): training the student would train the teacher");
  if (o.data === undefined || o.data === null || typeof o.data !== "object") throw new DistillOptionError("data", o.data, "a tf.data.Dataset, an array, an iterable or an iterator of { xs, ys }");
  if (!isMethodName(o.method)) throw new DistillOptionError("method", o.method, `a registered method: ${METHOD_NAMES.join(", ")}`);
  const needs = methodOf(o.method).needs;
  if (needs.includes("checkpoints") && !(Array.isArray(o.checkpoints) && o.checkpoints.length > 0)) {
    throw new DistillOptionError("checkpoints", o.checkpoints, `method "${o.method}" needs the teacher's checkpoints and a shell`);
  }
  if (needs.includes("shell") && typeof o.shell !== "function") throw new DistillOptionError("shell", o.shell, `method "${o.method}" needs the teacher's checkpoints and a shell`);
  const b = o.budget as Record<string, unknown> | undefined;
  if (typeof b !== "object" || b === null) throw new DistillOptionError("budget", b, "{ samples: n } or { steps: n }, a positive integer");
  const keys = Object.keys(b);
  if (keys.length !== 1 || (keys[0] !== "samples" && keys[0] !== "steps")) throw new DistillOptionError("budget", b, "{ samples: n } or { steps: n }, one of them");
  if (!positiveInt(b[keys[0]])) throw new DistillOptionError(`budget.${keys[0]}`, b[keys[0]], "a positive integer");
  const t = o.tapSteps;
  if (t !== undefined && t !== "auto" && !nonNegativeInt(t) && !(Array.isArray(t) && t.length > 0 && t.every(nonNegativeInt))) {
    throw new DistillOptionError("tapSteps", t, 'a non-negative integer, a list of them (one per tap pair), or "auto"');
  }
  if (o.evalEvery !== undefined && !positiveInt(o.evalEvery)) throw new DistillOptionError("evalEvery", o.evalEvery, "a positive integer (steps between evaluations)");
  checkOptimizer("optimizer", o.optimizer);
  checkOptimizer("tapOptimizer", o.tapOptimizer);
  if (o.tau !== undefined && !(typeof o.tau === "number" && Number.isFinite(o.tau) && o.tau > 0)) throw new DistillOptionError("tau", o.tau, "a positive temperature");
  if (o.classes !== undefined && !(positiveInt(o.classes) && o.classes >= 2)) throw new DistillOptionError("classes", o.classes, "an integer >= 2");
  if (o.seed !== undefined && !(typeof o.seed === "number" && Number.isFinite(o.seed))) throw new DistillOptionError("seed", o.seed, "a number");
  if (o.normalize !== undefined && o.normalize !== "none" && o.normalize !== "layernorm") throw new DistillOptionError("normalize", o.normalize, '"none" or "layernorm"');
  if (o.verbose !== undefined && o.verbose !== 0 && o.verbose !== 1) throw new DistillOptionError("verbose", o.verbose, "0 or 1");
  const v = o.validation as { xs?: unknown; ys?: unknown } | undefined;
  if (v !== undefined && !(typeof v === "object" && v !== null && v.xs instanceof tf.Tensor && v.ys instanceof tf.Tensor && v.xs.shape[0] === v.ys.shape[0])) {
    throw new DistillOptionError("validation", v, "{ xs, ys } tensors with as many labels as inputs");
  }
}

/** Class ids of labels given as ids [batch] or one-hot [batch, classes]. */
export function classIds(ys: tf.Tensor): tf.Tensor1D {
  return tf.tidy(() => (ys.rank === 1 ? tf.cast(ys, "int32") : tf.cast(tf.argMax(ys, -1), "int32")) as tf.Tensor1D);
}

/**
 * A set of inputs and labels against the models (the first batch, the validation set): both models
 * take the inputs and give `classes` logits, the labels are ids in [0, classes) (or one-hot of that
 * width), and the inputs are finite. Returns the teacher's logit width.
 */
export function checkBatch(option: string, teacher: TappedModel, student: TappedModel, xs: tf.Tensor, ys: tf.Tensor, classes: number | undefined): number {
  const widthOf = (who: "teacher" | "student", m: TappedModel): number => {
    try {
      return tf.tidy(() => {
        const logits = m.forward(xs).logits;
        return logits.shape[logits.shape.length - 1]!;
      });
    } catch (e) {
      throw new DistillOptionError(option, xs, `the ${who} does not take inputs of shape [${xs.shape}]: ${(e as Error).message}`);
    }
  };
  const t = widthOf("teacher", teacher);
  const s = widthOf("student", student);
  const k = classes ?? t;
  if (t !== k) throw new DistillOptionError("classes", classes, `the teacher has ${t} outputs`);
  if (s !== k) throw new DistillOptionError("student", `${s} outputs`, `the student has ${s} outputs, the teacher ${t}`);
  if (ys.rank === 2 && ys.shape[1] !== k) throw new DistillOptionError(option, ys, `one-hot labels must have ${k} columns (the models' outputs)`);
  if (ys.rank !== 1 && ys.rank !== 2) throw new DistillOptionError(option, ys, "labels are class ids [batch] or one-hot [batch, classes]");
  const [lo, hi, bad] = tf.tidy(() => {
    const ids = classIds(ys);
    const finite = xs.dtype === "float32" ? tf.logicalNot(tf.all(tf.isFinite(xs))).cast("int32") : tf.scalar(0, "int32");
    return tf.stack([tf.min(ids), tf.max(ids), finite]).dataSync();
  });
  if (ys.rank === 1 && (lo < 0 || hi >= k || !Number.isInteger(lo) || !Number.isInteger(hi))) {
    throw new DistillOptionError(option, `labels from ${lo} to ${hi}`, `class ids must be integers in [0, ${k})`);
  }
  if (bad) throw new DistillOptionError(option, xs, "the inputs hold NaN or infinite values");
  return k;
}

/**
 * Whether `accuracy` on `n` validation samples is no better than chance: the majority class's share
 * plus two standard errors of it (a teacher that guesses the commonest class, or at random).
 */
export function atChance(accuracy: number, majorityShare: number, n: number): { weak: boolean; chance: number } {
  const se = Math.sqrt((majorityShare * (1 - majorityShare)) / Math.max(n, 1));
  return { weak: accuracy <= majorityShare + 2 * se, chance: majorityShare };
}

/** The commonest class's share of a label set. */
export function majorityShare(ys: tf.Tensor, classes: number): number {
  const counts = tf.tidy(() => tf.sum(tf.oneHot(classIds(ys), classes), 0).dataSync());
  let best = 0;
  let n = 0;
  for (const c of counts) {
    best = Math.max(best, c);
    n += c;
  }
  return best / Math.max(n, 1);
}
