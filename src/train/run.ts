/**
 * One resumable training run: a model, a method plan, a task and (optionally) a place to save.
 * It trains through the one driver (train/driver.ts: the caller's policy sees every evaluation,
 * stop requests and aborts end the run), saves its state every `saveEvery` evaluations and when a
 * stop is requested (then throws `Interrupted`), and, called again with the same spec, continues from
 * the saved state exactly as if it had never stopped. Teachers and students of every experiment,
 * in this thread or a worker, train through it.
 *
 * The state holds the model's weights, the current phase's optimiser moments and step, extra
 * trainable tensors (cx's learned hint regressor), the loop position, the task's stream position and
 * the policy's own JSON state (curve, target hit, ...): see experiments/runState.ts for the files.
 */
import * as tf from "@tensorflow/tfjs";
import { z } from "zod";
import { MethodPlan, Task, optimizerAt } from "../distill/phases";
import { NamedTensors, TappedModel, shortName } from "../models/types";
import { Shape } from "../io";
import { POSITION, count, loadState, prefixed, saveState, section, stateExists } from "./state";
import { CheckpointError, disposeWeights } from "./checkpoints";
import { LoopOptions, LoopPosition, LoopResume, newCursor } from "./loop";
import { DriveCallbacks, Policy, drive } from "./driver";
import { createOptimizer } from "./optimizers";

/** A task whose training stream can say where it is and continue from there. */
export interface ResumableTask extends Task {
  position(): unknown;
  restore(p: unknown): void;
}

export interface TrainRunSpec<S> {
  model: TappedModel;
  plan: MethodPlan;
  task: ResumableTask;
  loop: Pick<LoopOptions, "evalEvery" | "maxSamples" | "evalAtStart" | "evalAtBudget">;
  /**
   * Where the state lives (`<base>.json` + weights) and how often it is saved (evaluations); absent:
   * never saved. `atBudget`: also save when the budget runs out (a teacher that missed its target is
   * continued from there with a larger budget).
   */
  store?: { base: string; saveEvery: number; atBudget?: boolean };
  /** Polled after every step: true = save and throw Interrupted. */
  shouldStop?: () => boolean;
  /** Aborting it stops the run as `shouldStop` does. */
  signal?: AbortSignal;
  /** The stop rule and its initial state (plain JSON: train/driver.ts), and the state's shape for reading it back. */
  policy: Policy<S>;
  shape: Shape<S>;
  /** The loop's callbacks (progress displays): see DriveCallbacks. */
  callbacks?: DriveCallbacks;
  /** After a saved state is restored (reload what it refers to). */
  onRestore?(state: S): void;
}

export interface TrainRunResult<S> {
  state: S;
  position: LoopPosition;
}

/** Trainable variables of the plan that are not the model's (saved with it). */
function extrasOf(model: TappedModel, plan: MethodPlan): tf.Variable[] {
  const own = new Set(model.variables);
  return [...new Set(plan.phases.flatMap((p) => p.trainable))].filter((v) => !own.has(v));
}

export async function trainRun<S>(spec: TrainRunSpec<S>): Promise<TrainRunResult<S>> {
  const { model, plan, task, store } = spec;
  const extras = extrasOf(model, plan);
  const cursor = newCursor();
  let state = spec.policy.state;
  let resume: LoopResume | undefined;
  let loaded: NamedTensors | null = null;
  const save = async () => {
    if (!store) return;
    const w: NamedTensors = { ...prefixed(model.snapshot(), "model"), ...prefixed(cursor.optimizer?.state() ?? {}, "opt") };
    for (const v of extras) w[`extra/${shortName(v)}`] = v;
    const data = { position: cursor.position, optimizerStep: cursor.optimizer?.step ?? 0, stream: task.position(), policy: state };
    try {
      await saveState(store.base, w, data);
    } finally {
      disposeWeights(section(w, "model"));
    }
  };
  try {
    if (store && stateExists(store.base)) {
      const expect: Record<string, number[]> = {};
      for (const v of model.variables) expect[`model/${shortName(v)}`] = v.shape.slice();
      for (const v of extras) expect[`extra/${shortName(v)}`] = v.shape.slice();
      const shape = z.object({ position: POSITION, optimizerStep: count, stream: z.unknown(), policy: z.unknown() });
      const st = loadState(store.base, expect, shape);
      loaded = st.weights;
      const s = st.data;
      const file = `${store.base}.json`;
      const policy = spec.shape.safeParse(s.policy);
      if (!policy.success) throw new CheckpointError(file, `malformed state (policy.${policy.error.issues[0].path.join(".")}: ${policy.error.issues[0].message})`);
      try {
        if (s.position.phaseIndex >= plan.phases.length) throw new Error(`phase ${s.position.phaseIndex} of a ${plan.phases.length}-phase method`);
        model.load(section(loaded, "model"));
        for (const v of extras) v.assign(loaded[`extra/${shortName(v)}`]);
        task.restore(s.stream);
        // Checked now so that a bad moment is reported here, against the state file.
        const phase = plan.phases[s.position.phaseIndex];
        const probe = createOptimizer(optimizerAt(phase.optimizer, s.position.step - s.position.stepInPhase));
        try {
          probe.restore(phase.trainable, s.optimizerStep, section(loaded, "opt"));
        } finally {
          probe.dispose();
        }
      } catch (e) {
        throw new CheckpointError(file, `does not fit this run (${(e as Error).message})`);
      }
      state = policy.data;
      spec.onRestore?.(state);
      resume = { ...s.position, optimizerStep: s.optimizerStep, optimizerState: section(loaded, "opt") };
    }
    const policy = { ...spec.policy, state };
    const r = await drive(model, plan, task, {
      loop: spec.loop,
      policy,
      callbacks: spec.callbacks,
      resume,
      cursor,
      save: store ? { every: store.saveEvery, atBudget: store.atBudget, write: save } : undefined,
      shouldStop: spec.shouldStop,
      signal: spec.signal,
    });
    return { state: r.state, position: r.position };
  } finally {
    if (loaded) disposeWeights(loaded);
  }
}
