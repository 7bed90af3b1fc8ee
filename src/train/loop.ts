/**
 * The training loop, written once. It runs a method's phases in order on fresh batches, one short
 * synchronous step inside tf.tidy at a time, and yields events: an evaluation every `evalEvery`
 * steps (the only host synchronisation), a checkpoint marker every `checkpointEvery` steps (the
 * consumer snapshots the model while the generator is paused), and phase boundaries. The consumer
 * decides when to stop (break out of the for-await), so "stop at 95%" and "keep going for five
 * more checkpoints" are policies outside the loop.
 *
 * Interrupt and resume: `shouldStop` is polled after every step; when it says yes the loop yields
 * an "interrupt" event (the consumer saves and stops). `cursor` always holds the loop's position
 * and current optimiser, so a consumer paused at any event can save exactly where the loop is;
 * `resume` starts the loop at such a saved position (phase, step within it, global step, samples,
 * optimiser moments and step count) and continues as if it had never stopped.
 */
import * as tf from "@tensorflow/tfjs";
import { StepFeed, TARGETS_AHEAD } from "./ahead";
import { TappedModel } from "../models/types";
import { PlateauState, StopRule } from "../distill/autoLength";
import { Batch, MethodPlan, Task, disposeBatch, optimizerAt } from "../distill/phases";
import { Optimizer, createOptimizer } from "./optimizers";

/** Where the loop is: after `step` steps, `stepInPhase` of them in phase `phaseIndex`. */
export interface LoopPosition {
  phaseIndex: number;
  stepInPhase: number;
  step: number;
  samples: number;
  /** Seconds of training so far (continues across a resume). */
  seconds: number;
  /**
   * FLOPs spent so far (src/cost.ts): the teacher's forward passes (tap phases only up to the
   * tapped layer) and the student's forward and backward passes. 0 when the models do not count.
   */
  teacherFlops: number;
  studentFlops: number;
  /** The current phase's stop rule state (tapSteps "auto"), absent otherwise. */
  rule?: PlateauState;
}

/** Filled in by the loop; read it while the generator is paused at an event. */
export interface LoopCursor {
  position: LoopPosition;
  /** The current phase's optimiser (null before the first phase starts). */
  optimizer: Optimizer | null;
}

export function newCursor(): LoopCursor {
  return { position: { phaseIndex: 0, stepInPhase: 0, step: 0, samples: 0, seconds: 0, teacherFlops: 0, studentFlops: 0 }, optimizer: null };
}

export interface LoopResume extends LoopPosition {
  /** The optimiser's step count and moments (see Optimizer.state); the tensors stay the caller's. */
  optimizerStep: number;
  optimizerState: Record<string, tf.Tensor>;
}

export interface LoopOptions {
  /** Evaluate on the held-out set every this many steps (global step count). */
  evalEvery: number;
  /** Stop after this many training samples (all phases count). */
  maxSamples: number;
  /** Yield a checkpoint event every this many steps; 0 = never. */
  checkpointEvery?: number;
  /** Evaluate once before the first step (samples = 0). Default false. */
  evalAtStart?: boolean;
  /** Evaluate once more when the budget runs out between evaluations (a teacher's final accuracy). Default false. */
  evalAtBudget?: boolean;
  /** Polled after every step; true = yield an "interrupt" event (the consumer saves and stops). */
  shouldStop?: () => boolean;
  /** Updated with the position and optimiser as the loop runs. */
  cursor?: LoopCursor;
  /** Start at a saved position instead of the beginning. */
  resume?: LoopResume;
  /**
   * Yield a "tick" (where the loop is, no host read) at most this often, in seconds, between
   * evaluations, and one before an evaluation when they are slow: progress displays are driven by
   * time, not by the evaluation interval. Default 1; 0 = no ticks.
   */
  tickSeconds?: number;
  /** Milliseconds now (tests pass a fake clock). Default Date.now. */
  clock?: () => number;
  /** Called (and awaited) after every step; no host read (the loss stays on the device). */
  onStep?: (e: StepEvent) => void | Promise<void>;
  /**
   * Batches whose targets a frozen teacher computes in one call where the task and the phase allow
   * it (src/train/ahead.ts); the same values either way. Default TARGETS_AHEAD; 1 = one batch at a time.
   */
  targetsAhead?: number;
}

/** A training step just ended (train/driver.ts's onBatchEnd). */
export interface StepEvent {
  step: number;
  samples: number;
  phase: string;
  /** The step's batch size. */
  size: number;
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
  /** FLOPs so far, as in LoopPosition. */
  teacherFlops: number;
  studentFlops: number;
}

export interface CheckpointEvent {
  type: "checkpoint";
  step: number;
  samples: number;
}

export interface PhaseEvent {
  type: "phase";
  /** Seconds of training when the phase starts. */
  seconds: number;
  step: number;
  samples: number;
  phase: string;
  index: number;
}

export interface InterruptEvent {
  type: "interrupt";
  step: number;
  samples: number;
}

/** Where the loop is (between evaluations), for progress displays; `evaluating`: an evaluation starts now. */
export interface TickEvent {
  type: "tick";
  step: number;
  samples: number;
  phase: string;
  seconds: number;
  evaluating: boolean;
}

/** The sample budget ran out (the last event; the optimiser is still alive, so a consumer can save here). */
export interface BudgetEvent {
  type: "budget";
  step: number;
  samples: number;
}

export type LoopEvent = EvalEvent | CheckpointEvent | PhaseEvent | InterruptEvent | TickEvent | BudgetEvent;

/** One optimisation step; returns the loss (kept on the device). `target`: the batch's target, computed ahead (the caller's). */
export function trainStep(model: TappedModel, phase: MethodPlan["phases"][number], batch: Batch, optimizer: Optimizer, target?: tf.Tensor): tf.Scalar {
  return tf.tidy(() => {
    let made: tf.Tensor | undefined = target;
    const targetOf = () => (made ??= phase.target(batch)); // teacher side: outside the gradient closure
    // Plain SGD on a model with a fused step: forward, loss, backward and update in one kernel.
    const fused = phase.sgdStep ? optimizer.fused((lr) => phase.sgdStep!(model, batch, targetOf, lr)) : null;
    if (fused !== null) return fused;
    const t = targetOf();
    // A hand-derived gradient when the phase has one (equal to autodiff, fewer kernels), else autodiff.
    const { value, grads } = phase.grads
      ? phase.grads(model, batch, t)
      : tf.variableGrads(() => phase.loss(model, batch, t), phase.trainable as tf.Variable[]);
    optimizer.apply(phase.trainable, grads);
    return value;
  });
}

/** Steps between waits for a GPU backend to catch up (see runPhases). */
const DEVICE_SYNC_EVERY = 8;

export async function* runPhases(
  model: TappedModel,
  methodPlan: MethodPlan,
  task: Task,
  opts: LoopOptions,
): AsyncGenerator<LoopEvent, void, void> {
  const r = opts.resume;
  const now = opts.clock ?? Date.now;
  const t0 = now() - (r?.seconds ?? 0) * 1000;
  const tickMs = (opts.tickSeconds ?? 1) * 1000;
  let lastTick = now();
  let lastEvalMs = 0;
  let step = r?.step ?? 0;
  let samples = r?.samples ?? 0;
  const flops = { teacher: r?.teacherFlops ?? 0, student: r?.studentFlops ?? 0 };
  const cursor = opts.cursor ?? newCursor();
  const feed = new StepFeed(task, opts.targetsAhead ?? TARGETS_AHEAD);
  const position = (phaseIndex: number, stepInPhase: number, rule?: StopRule): LoopPosition => ({
    phaseIndex, stepInPhase, step, samples, seconds: (now() - t0) / 1000, teacherFlops: flops.teacher, studentFlops: flops.student,
    ...(rule ? { rule: rule.state() } : {}),
  });
  const tick = (phase: string, evaluating: boolean): TickEvent => {
    lastTick = now();
    return { type: "tick", step, samples, phase, seconds: (lastTick - t0) / 1000, evaluating };
  };
  let lastLoss: tf.Scalar | null = null;
  let lastBreath = Date.now();
  // The consumer may read the model at any event: apply what a fused step held back first.
  const whole = <E extends LoopEvent>(e: E): E => {
    model.settle?.();
    return e;
  };
  const evaluate = async (phase: string): Promise<EvalEvent> => {
    const { accuracy, loss } = await task.evaluate(model);
    const trainLoss = lastLoss ? (await lastLoss.data())[0] : NaN;
    return { type: "eval", step, samples, phase, accuracy, loss, trainLoss, seconds: (now() - t0) / 1000, teacherFlops: flops.teacher, studentFlops: flops.student };
  };
  try {
    if (opts.evalAtStart && !r) yield whole(await evaluate(methodPlan.phases[0]?.name ?? ""));
    for (let pi = r?.phaseIndex ?? 0; pi < methodPlan.phases.length && samples < opts.maxSamples; pi++) {
      const phase = methodPlan.phases[pi];
      phase.begin?.();
      const s0 = r && pi === r.phaseIndex ? r.stepInPhase : 0;
      const optimizer = createOptimizer(optimizerAt(phase.optimizer, step - s0));
      const rule = phase.autoStop?.();
      if (rule && s0 > 0 && r?.rule) rule.restore(r.rule);
      if (s0 > 0) optimizer.restore(phase.trainable, r!.optimizerStep, r!.optimizerState);
      cursor.optimizer = optimizer;
      cursor.position = position(pi, s0);
      if (s0 === 0) yield whole({ type: "phase", step, samples, phase: phase.name, index: pi, seconds: (now() - t0) / 1000 });
      try {
        for (let s = s0; s < phase.steps && samples < opts.maxSamples; s++) {
          const { batch, target } = await feed.next(phase, phase.steps - s, opts.maxSamples - samples);
          const loss = trainStep(model, phase, batch, optimizer, target);
          target?.dispose();
          const cost = phase.stepFlops?.(batch);
          if (cost) {
            flops.teacher += cost.teacher;
            flops.student += cost.student;
          }
          disposeBatch(batch);
          lastLoss?.dispose();
          lastLoss = loss;
          step++;
          samples += batch.size;
          // A phase with a stop rule (tapSteps "auto") reads its loss now and then and may end here;
          // its position then points at the next phase, so a save made now resumes there.
          const ended = rule !== undefined && (s + 1) % rule.every === 0 && rule.observe((await loss.data())[0], s + 1);
          cursor.position = ended ? position(pi + 1, 0) : position(pi, s + 1, rule);
          if (opts.onStep) await opts.onStep({ step, samples, phase: phase.name, size: batch.size });
          // A GPU backend runs ahead of the device: wait for it now and then, so that the queue (and
          // the time Ctrl-C waits for it to drain) stays bounded between evaluations.
          if (step % DEVICE_SYNC_EVERY === 0 && tf.getBackend() === "webgpu") await loss.data();
          if (step % opts.evalEvery === 0) {
            // Say so before an evaluation when they take long (the last one took half a tick or more).
            if (tickMs > 0 && lastEvalMs >= tickMs / 2) yield whole(tick(phase.name, true));
            const e0 = now();
            const ev = await evaluate(phase.name);
            lastEvalMs = now() - e0;
            yield whole(ev);
            await new Promise((r) => setImmediate(r)); // let progress output and signals through
          }
          else if (tickMs > 0 && now() - lastTick >= tickMs) yield whole(tick(phase.name, false));
          if (opts.checkpointEvery && step % opts.checkpointEvery === 0) {
            yield whole({ type: "checkpoint", step, samples });
          }
          if (opts.shouldStop) {
            // Let signal handlers run (a macrotask) now and then between evaluations.
            if (Date.now() - lastBreath > 100) {
              await new Promise((r) => setImmediate(r));
              lastBreath = Date.now();
            }
            if (opts.shouldStop()) yield whole({ type: "interrupt", step, samples });
          }
          if (samples >= opts.maxSamples) {
            if (opts.evalAtBudget && step % opts.evalEvery !== 0) yield await evaluate(phase.name);
            yield { type: "budget", step, samples };
          }
          if (ended) break;
        }
      } finally {
        cursor.optimizer = null;
        optimizer.dispose();
      }
    }
  } finally {
    feed.dispose();
    model.settle?.();
    lastLoss?.dispose();
  }
}
