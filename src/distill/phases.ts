/**
 * Methods as data. A method is a list of phases; one training loop (train/loop.ts) runs any list.
 *
 *   scratch               [labels]
 *   one-shot              [final teacher]
 *   progressive           [checkpoint 1, checkpoint 2, ..., final checkpoint]
 *   two-shot              [one intermediate checkpoint, final teacher]
 *   curriculum extraction [tap pair 1, ..., tap pair L, final teacher]
 */
import * as tf from "@tensorflow/tfjs";
import { StepFlops } from "../cost";
import { FlopShape, ForwardOptions, NamedTensors, TappedModel } from "../models/types";
import { OptimizerSpec } from "../train/optimizers";
import { StopRule } from "./autoLength";

/** A phase's optimiser: fixed, or made when the phase starts at global step `startStep`. */
export type PhaseOptimizer = OptimizerSpec | ((startStep: number) => OptimizerSpec);

/** The optimiser spec of a phase starting at `startStep`. */
export function optimizerAt(o: PhaseOptimizer, startStep: number): OptimizerSpec {
  return typeof o === "function" ? o(startStep) : o;
}

/**
 * How a batch must be run through a model, passed to every `forward` / `forwardTaps` of the student,
 * the teacher and checkpoints: a pad mask, and for language-model heads the flat positions at which
 * logits are needed (masked LM: only the masked ones). Models without these inputs ignore them.
 */
export interface BatchForward extends Pick<ForwardOptions, "padMask"> {
  /** int32 [P]: flat positions (b * seq + t) at which an "lm" head computes logits ([P, vocab]). */
  logitPositions?: tf.Tensor;
}

/** A training batch. Tensors are owned by the loop, which disposes them after the step. */
export interface Batch {
  /** Model input: [batch, n] floats for the MLP, [batch, seq] int32 tokens for transformers. */
  x: tf.Tensor;
  /** Class ids: [batch] for classifiers, [batch, seq] for masked LM. */
  y: tf.Tensor;
  /** Per-position weights for the output loss (masked positions for MLM); absent = all. */
  weights?: tf.Tensor;
  /** Samples in the batch (what "samples seen" counts). */
  size: number;
  /** Forward options every model gets for this batch (masked LM); absent = none. Owned like x. */
  forward?: BatchForward;
}

/** Free a batch's tensors (x, y, weights and forward options). */
export function disposeBatch(b: Batch): void {
  b.x.dispose();
  b.y.dispose();
  b.weights?.dispose();
  b.forward?.padMask?.dispose();
  b.forward?.logitPositions?.dispose();
}

/** What the loop needs from an experiment's task. */
export interface Task {
  /** Output classes (vocabulary for LM). */
  readonly classes: number;
  /** Next training batch from the task's own seeded stream (or a promise of it: user data may be a tf.data.Dataset). */
  nextBatch(): Batch | Promise<Batch>;
  /**
   * Optional: the next `count` batches, drawn now; the next `count` calls of nextBatch hand out these
   * same objects in order. A task that saves its position counts them as not yet drawn (a resume draws
   * them again). Lets the loop ask a frozen teacher for several batches' targets at once (src/train/ahead.ts).
   */
  peek?(count: number): readonly Batch[] | Promise<readonly Batch[]>;
  /**
   * Held-out metrics of a model; `accuracy` in [0, 1], `loss` the held-out cross-entropy. Async:
   * reading results back is asynchronous on WebGPU (Node has no synchronous GPU read).
   */
  evaluate(model: TappedModel): Promise<{ accuracy: number; loss: number }>;
}

export interface Phase {
  /** e.g. "labels", "teacher", "ckpt@16000", "tap:hidden". */
  readonly name: string;
  /** "output" phases train on outputs; "tap" phases match a hidden representation. */
  readonly kind: "output" | "tap";
  /** Steps in this phase; Infinity = until the sample budget ends. */
  readonly steps: number;
  /** The student variables this phase trains. */
  readonly trainable: readonly tf.Variable[];
  /**
   * A fresh optimiser is made per phase: this spec, or a function of the global step at which the
   * phase starts (a schedule sized to the steps left, when earlier phases end by themselves).
   */
  readonly optimizer: PhaseOptimizer;
  /** Ends the phase before `steps` (its cap) when the loss stops improving (tapSteps "auto"). A fresh rule per run of the phase. */
  autoStop?(): StopRule;
  /** Called once when the phase starts (e.g. load a checkpoint into the target model). */
  begin?(): void;
  /** The detached target for a batch, computed outside the gradient closure. */
  target(batch: Batch): tf.Tensor;
  /**
   * Optional: the targets of several batches (of equal shape) in one call, each bit for bit what
   * `target` gives that batch alone: a frozen teacher reads its weights once for all of them
   * (TappedModel.rowsAhead). Null where the model or the backend has no such path. The caller owns
   * the tensors.
   */
  targetsAhead?(batches: readonly Batch[]): tf.Tensor[] | null;
  /** The student's loss on the batch against the target. Runs inside the gradient closure. */
  loss(student: TappedModel, batch: Batch, target: tf.Tensor): tf.Scalar;
  /**
   * Optional: the same loss's value and gradients (by variable name, for exactly `trainable`)
   * derived by hand, when the model offers a fast path. The loop uses it instead of autodiff.
   */
  grads?(student: TappedModel, batch: Batch, target: tf.Tensor): { value: tf.Scalar; grads: Record<string, tf.Tensor> };
  /**
   * Optional: one plain-SGD step at rate `lr` as a fused kernel that updates the student itself
   * (the model's `sgdStep`); returns the loss, or null to take `grads` and the optimiser instead.
   * `target()` is this phase's target for the batch, computed on first call (a labels phase passes
   * the class ids to the kernel instead and never makes the one-hot).
   */
  sgdStep?(student: TappedModel, batch: Batch, target: () => tf.Tensor, lr: number): tf.Scalar | null;
  /**
   * What one step on `batch` costs (src/cost.ts), teacher and student apart; absent when a model
   * does not count its FLOPs. The loop adds it up.
   */
  stepFlops?(batch: Batch): StepFlops;
  /** Release what the phase holds (projections, checkpoint models). */
  dispose?(): void;
}

/**
 * Run `f` once on the inputs of several plain batches (no weights, no forward options) of one shape,
 * stacked, split its [rows, ...] result back into one tensor per batch and pass each through `each`;
 * null when the batches are not such or `f` gives null. Intermediate tensors are freed.
 */
export function stackedRows(batches: readonly Batch[], f: (x: tf.Tensor, batchRows: number) => tf.Tensor | null, each: (t: tf.Tensor) => tf.Tensor = (t) => t): tf.Tensor[] | null {
  if (batches.length === 0) return [];
  const shape = JSON.stringify(batches[0].x.shape);
  if (batches.some((b) => b.weights || b.forward || JSON.stringify(b.x.shape) !== shape)) return null;
  let ok = true;
  const out = tf.tidy(() => {
    const all = f(batches.length === 1 ? batches[0].x : tf.concat(batches.map((b) => b.x)), batches[0].x.shape[0]);
    if (all === null) {
      ok = false;
      return [];
    }
    return (batches.length === 1 ? [all] : tf.split(all, batches.length, 0)).map(each);
  });
  return ok ? out : null;
}

/** The input shape of a batch for FLOP counts (rows, tokens per row, rows of logits for an LM head). */
export function flopShape(b: Batch): FlopShape {
  return { batch: b.x.shape[0], seq: b.x.rank === 2 ? b.x.shape[1] : undefined, logitRows: b.forward?.logitPositions?.shape[0] };
}

/** A phase's `stepFlops` when every model involved counts its FLOPs, else undefined. */
export function countedFlops(models: readonly TappedModel[], f: (shape: FlopShape) => StepFlops): Phase["stepFlops"] {
  return models.every((m) => m.forwardFlops !== undefined) ? (b) => f(flopShape(b)) : undefined;
}

/** A method's phases plus what they own. */
export interface MethodPlan {
  readonly method: string;
  readonly phases: Phase[];
  /**
   * What the method needs stored besides the final teacher (progressive: the intermediate
   * checkpoints; two-shot: one). Curriculum extraction needs nothing: its projections are drawn
   * again from the student's seed.
   */
  readonly stored?: readonly NamedTensors[];
  dispose(): void;
}

export function plan(method: string, phases: Phase[], owned: Array<{ dispose(): void }> = []): MethodPlan {
  return {
    method,
    phases,
    dispose() {
      for (const p of phases) p.dispose?.();
      for (const o of owned) o.dispose();
    },
  };
}
