/**
 * The training loop, written once. It runs a method's phases in order on fresh batches, one short
 * synchronous step inside tf.tidy at a time, and yields events: an evaluation every `evalEvery`
 * steps (the only host synchronisation), a checkpoint marker every `checkpointEvery` steps (the
 * consumer snapshots the model while the generator is paused), and phase boundaries. The consumer
 * decides when to stop (break out of the for-await), so "stop at 95%" and "keep going for five
 * more checkpoints" are policies outside the loop.
 */
import * as tf from "@tensorflow/tfjs";
import { TappedModel } from "../models/types";
import { Batch, MethodPlan, Task } from "../distill/phases";
import { createOptimizer } from "./optimizers";

export interface LoopOptions {
  /** Evaluate on the held-out set every this many steps (global step count). */
  evalEvery: number;
  /** Stop after this many training samples (all phases count). */
  maxSamples: number;
  /** Yield a checkpoint event every this many steps; 0 = never. */
  checkpointEvery?: number;
  /** Evaluate once before the first step (samples = 0). Default false. */
  evalAtStart?: boolean;
}

export interface EvalEvent {
  type: "eval";
  step: number;
  samples: number;
  phase: string;
  /** Held-out accuracy and cross-entropy of the model's outputs. */
  accuracy: number;
  loss: number;
  /** The training loss of the latest step (projected MSE in tap phases). */
  trainLoss: number;
  seconds: number;
}

export interface CheckpointEvent {
  type: "checkpoint";
  step: number;
  samples: number;
}

export interface PhaseEvent {
  type: "phase";
  step: number;
  samples: number;
  phase: string;
  index: number;
}

export type LoopEvent = EvalEvent | CheckpointEvent | PhaseEvent;

function disposeBatch(b: Batch): void {
  b.x.dispose();
  b.y.dispose();
  b.weights?.dispose();
}

/** One optimisation step; returns the loss (kept on the device). */
export function trainStep(
  model: TappedModel,
  phase: MethodPlan["phases"][number],
  batch: Batch,
  apply: (grads: Record<string, tf.Tensor>) => void,
): tf.Scalar {
  return tf.tidy(() => {
    const target = phase.target(batch); // teacher side: outside the gradient closure
    const { value, grads } = tf.variableGrads(() => phase.loss(model, batch, target), phase.trainable as tf.Variable[]);
    apply(grads);
    return value;
  });
}

export async function* runPhases(
  model: TappedModel,
  methodPlan: MethodPlan,
  task: Task,
  opts: LoopOptions,
): AsyncGenerator<LoopEvent, void, void> {
  const t0 = Date.now();
  let step = 0;
  let samples = 0;
  let lastLoss: tf.Scalar | null = null;
  const evaluate = (phase: string): EvalEvent => {
    const { accuracy, loss } = task.evaluate(model);
    const trainLoss = lastLoss ? lastLoss.dataSync()[0] : NaN;
    return { type: "eval", step, samples, phase, accuracy, loss, trainLoss, seconds: (Date.now() - t0) / 1000 };
  };
  try {
    if (opts.evalAtStart) yield evaluate(methodPlan.phases[0]?.name ?? "");
    for (let pi = 0; pi < methodPlan.phases.length && samples < opts.maxSamples; pi++) {
      const phase = methodPlan.phases[pi];
      phase.begin?.();
      const optimizer = createOptimizer(phase.optimizer);
      yield { type: "phase", step, samples, phase: phase.name, index: pi };
      try {
        for (let s = 0; s < phase.steps && samples < opts.maxSamples; s++) {
          const batch = task.nextBatch();
          const loss = trainStep(model, phase, batch, (g) => optimizer.apply(phase.trainable, g));
          disposeBatch(batch);
          lastLoss?.dispose();
          lastLoss = loss;
          step++;
          samples += batch.size;
          if (step % opts.evalEvery === 0) {
            yield evaluate(phase.name);
            await new Promise((r) => setImmediate(r)); // let progress output and signals through
          }
          if (opts.checkpointEvery && step % opts.checkpointEvery === 0) {
            yield { type: "checkpoint", step, samples };
          }
        }
      } finally {
        optimizer.dispose();
      }
    }
  } finally {
    lastLoss?.dispose();
  }
}
