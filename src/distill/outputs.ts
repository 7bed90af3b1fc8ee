/**
 * Output-matching methods. One-shot distillation is progressive distillation with one checkpoint
 * (the predecessor's insight): all of them are lists of `outputPhase`s.
 */
import * as tf from "@tensorflow/tfjs";
import { NamedTensors, TappedModel } from "../models/types";
import { oneHotTargets, softCrossEntropy, teacherProbs } from "./losses";
import { labelsStepFlops, outputStepFlops } from "../cost";
import { Batch, MethodPlan, Phase, PhaseOptimizer, Task, countedFlops, plan, stackedRows } from "./phases";

/** A saved teacher state: weights after `samples` training samples. */
export interface Checkpoint {
  readonly step: number;
  readonly samples: number;
  readonly weights: NamedTensors;
  /** Held-out accuracy of the teacher at this checkpoint, when measured. */
  readonly accuracy?: number;
}

export interface OutputOptions {
  /** Fixed, or made when the phase starts (see Phase.optimizer). */
  optimizer: PhaseOptimizer;
  /** Distillation temperature; 1 = plain KD. */
  tau: number;
}

/** Student loss against a target distribution, through the same function used for evaluation. */
function studentSoftLoss(student: TappedModel, batch: Batch, target: tf.Tensor): tf.Scalar {
  return softCrossEntropy(student.forward(batch.x, { ...batch.forward, training: true }).logits, target, batch.weights);
}

/** The model's hand-derived gradients of `studentSoftLoss`, when it has them (all variables trained; plain batches only). */
function fastSoftGrads(student: TappedModel): Phase["grads"] {
  if (!student.outputGrads) return undefined;
  return (s, b, target) => (b.weights || b.forward ? tf.variableGrads(() => studentSoftLoss(s, b, target), s.variables as tf.Variable[]) : s.outputGrads!(b.x, target));
}

/** The model's fused SGD step on the output loss, when it has one (plain batches only). */
function fusedSoftStep(student: TappedModel): Phase["sgdStep"] {
  if (!student.sgdStep) return undefined;
  return (s, b, target, lr) => (b.weights || b.forward ? null : s.sgdStep!(b.x, target(), lr));
}

/** The same on the labels themselves: class ids go to the kernel as they are (no one-hot). */
function fusedLabelsStep(student: TappedModel): Phase["sgdStep"] {
  if (!student.sgdStep) return undefined;
  return (s, b, _target, lr) => (b.weights || b.forward || b.y.rank !== 1 ? null : s.sgdStep!(b.x, b.y, lr, { labels: true }));
}

/** Train on the true labels. */
export function labelsPhase(task: Task, student: TappedModel, steps: number, optimizer: PhaseOptimizer): Phase {
  return {
    name: "labels",
    kind: "output",
    steps,
    trainable: student.variables,
    optimizer,
    target: (b) => oneHotTargets(b.y, task.classes),
    loss: studentSoftLoss,
    grads: fastSoftGrads(student),
    sgdStep: fusedLabelsStep(student),
    stepFlops: countedFlops([student], (shape) => labelsStepFlops(student, shape)),
  };
}

/**
 * Train on the outputs of `source` (the final teacher, or a model into which `begin` loads a
 * checkpoint). The source's variables are never in `trainable`.
 */
export function outputPhase(
  name: string,
  student: TappedModel,
  source: TappedModel,
  steps: number,
  opts: OutputOptions,
  begin?: () => void,
): Phase {
  return {
    name,
    kind: "output",
    steps,
    trainable: student.variables,
    optimizer: opts.optimizer,
    begin,
    target: (b) => teacherProbs(source.forward(b.x, b.forward).logits, opts.tau),
    targetsAhead: source.rowsAhead ? (bs) => stackedRows(bs, (x, rows) => source.rowsAhead!.logits(x, rows), (l) => teacherProbs(l, opts.tau)) : undefined,
    loss: studentSoftLoss,
    grads: fastSoftGrads(student),
    sgdStep: fusedSoftStep(student),
    stepFlops: countedFlops([student, source], (shape) => outputStepFlops(student, source, shape)),
  };
}

export function scratch(task: Task, student: TappedModel, opts: OutputOptions): MethodPlan {
  return plan("scratch", [labelsPhase(task, student, Infinity, opts.optimizer)]);
}

export function oneShot(student: TappedModel, teacher: TappedModel, opts: OutputOptions): MethodPlan {
  return plan("oneshot", [outputPhase("teacher", student, teacher, Infinity, opts)]);
}

/**
 * Progressive distillation: at student sample count s (before a step) the target is the first
 * checkpoint whose sample count is >= s; after the last checkpoint, the last one. Checkpoints are
 * loaded into `shell`, a model of the teacher's architecture that is not the teacher itself.
 */
export function progressive(
  student: TappedModel,
  checkpoints: readonly Checkpoint[],
  shell: TappedModel,
  batchSize: number,
  opts: OutputOptions,
): MethodPlan {
  if (checkpoints.length === 0) throw new Error("progressive: no teacher checkpoints");
  const phases: Phase[] = [];
  let stepsSoFar = 0;
  checkpoints.forEach((c, i) => {
    const last = i === checkpoints.length - 1;
    // Steps t with t * batch <= c.samples that have not been assigned to an earlier checkpoint.
    const until = Math.floor(c.samples / batchSize) + 1;
    const steps = last ? Infinity : Math.max(0, until - stepsSoFar);
    if (steps === 0) return;
    stepsSoFar += steps;
    phases.push(outputPhase(`ckpt@${c.samples}`, student, shell, steps, opts, () => shell.load(c.weights)));
  });
  return plan("progressive", phases, [shell]);
}

/** Two-shot: one intermediate checkpoint for `steps` steps, then the final teacher. */
export function twoShot(
  student: TappedModel,
  teacher: TappedModel,
  checkpoint: Checkpoint,
  shell: TappedModel,
  steps: number,
  opts: OutputOptions,
): MethodPlan {
  return plan(
    "twoshot",
    [
      outputPhase(`ckpt@${checkpoint.samples}`, student, shell, steps, opts, () => shell.load(checkpoint.weights)),
      outputPhase("teacher", student, teacher, Infinity, opts),
    ],
    [shell],
  );
}
