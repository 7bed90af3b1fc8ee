/**
 * The training policy, written once. Every front end trains through `drive`: the experiments'
 * teachers and students (via the resumable run, train/run.ts), `distill()` (src/api.ts) and the live
 * page (demo/src/session.ts). `drive` consumes the loop's events (train/loop.ts) and owns what they
 * shared before, each in its own way:
 *
 *   stopping      a rule (`Policy`) sees every evaluation and says when the run ends: a student at
 *                 its target unless it runs to the cap (`studentPolicy`), a teacher some checkpoints
 *                 after its target (`teacherPolicy`), a user's `until` (`untilPolicy`); the loop ends
 *                 by itself at the budget.
 *   evaluations   every `evalEvery` steps (the loop's cadence), optionally one before the first step;
 *                 a non-finite loss there stops the run naming the step and the phase (`finite`).
 *   phases        `onPhaseBegin` / `onPhaseEnd` around each phase of the method's plan.
 *   stop / abort  a stop request (`shouldStop`) or an AbortSignal ends the run after the current step:
 *                 the state is saved once (when the run saves) and `Interrupted` is thrown; nothing
 *                 is written after that.
 *   saving        every `save.every` evaluations (resumable runs).
 *   callbacks     awaited, in the shape of tfjs's `model.fit` callbacks, plus the raw event stream.
 *
 * Teacher checks (a teacher that missed its target stops the run) are `teacherFailure` below.
 * Browser-safe: no file code (saving is the caller's `save.write`).
 */
import { TappedModel } from "../models/types";
import { MethodPlan, Task } from "../distill/phases";
import { EvalEvent, LoopCursor, LoopEvent, LoopOptions, LoopPosition, LoopResume, PhaseEvent, StepEvent, TickEvent, newCursor, runPhases } from "./loop";

/** Thrown when a stop was requested (Ctrl-C, an AbortSignal, the page's Stop): a run that saves has saved. */
export class Interrupted extends Error {
  constructor(readonly reason?: unknown) {
    super("interrupted");
    this.name = "Interrupted";
  }
}

/** A training or held-out loss that is not a finite number: the run stops (NaN in the data, divergence). */
export class NonFiniteLoss extends Error {
  constructor(
    readonly step: number,
    readonly phase: string,
    readonly which: "training" | "held-out",
    readonly value: number,
  ) {
    super(`the ${which} loss is ${value} at step ${step} (phase "${phase}"): the run stopped (NaN or infinite values in the data, or a diverging learning rate)`);
    this.name = "NonFiniteLoss";
  }
}

/** When a run ends and what it records: a plain-JSON state (saved with a resumable run) and a rule per evaluation. */
export interface Policy<S> {
  readonly state: S;
  /** Sees every evaluation; true ends the run. Awaited (a teacher's rule writes its checkpoints). */
  onEval(ev: EvalEvent, state: S): boolean | Promise<boolean>;
  /** A phase starts (not called again for a phase resumed in its middle). */
  onPhase?(ev: PhaseEvent, state: S): void;
}

/** A phase ended: at this step and sample count (by its length, its stop rule, the budget or the policy). */
export interface PhaseEndEvent {
  type: "phaseEnd";
  phase: string;
  index: number;
  step: number;
  samples: number;
}

/** Callbacks in the shape of tfjs's `model.fit` (each awaited), plus every loop event. */
export interface DriveCallbacks {
  onTrainBegin?(): void | Promise<void>;
  /** The run ended (budget, rule or `until`); not called when it throws. */
  onTrainEnd?(position: LoopPosition): void | Promise<void>;
  onPhaseBegin?(ev: PhaseEvent): void | Promise<void>;
  onPhaseEnd?(ev: PhaseEndEvent): void | Promise<void>;
  /** Every held-out evaluation (tfjs: onEpochEnd's logs). */
  onEvaluation?(ev: EvalEvent): void | Promise<void>;
  /** After every training step (no host read: the loss stays on the device). */
  onBatchEnd?(ev: StepEvent): void | Promise<void>;
  /** About once a second between evaluations (progress displays). */
  onTick?(ev: TickEvent): void | Promise<void>;
  /** Every loop event, as the loop yields it. */
  onEvent?(ev: LoopEvent): void | Promise<void>;
}

export interface DriveOptions<S> {
  loop: Pick<LoopOptions, "evalEvery" | "maxSamples" | "evalAtStart" | "evalAtBudget" | "tickSeconds" | "clock">;
  policy: Policy<S>;
  callbacks?: DriveCallbacks;
  /** Start at a saved position (a resumed run). */
  resume?: LoopResume;
  /** Filled in as the loop runs (what `save.write` reads). */
  cursor?: LoopCursor;
  /**
   * Save every `every` evaluations and when a stop is requested (absent: never); `atBudget`: also when
   * the budget runs out (a teacher that missed its target continues from there with a larger budget).
   */
  save?: { every: number; atBudget?: boolean; write(): Promise<void> };
  /** Polled after every step; true = stop (save, then throw Interrupted). */
  shouldStop?: () => boolean;
  /** Aborting it stops the run as `shouldStop` does. */
  signal?: AbortSignal;
  /** Stop with NonFiniteLoss when an evaluation's training or held-out loss is not finite. */
  finite?: boolean;
}

export interface DriveResult<S> {
  state: S;
  position: LoopPosition;
}

/** Run `plan` on `model` and `task` under `o.policy`; see the top of this file. */
export async function drive<S>(model: TappedModel, plan: MethodPlan, task: Task, o: DriveOptions<S>): Promise<DriveResult<S>> {
  const { policy, callbacks: cb = {}, signal } = o;
  const state = policy.state;
  const cursor = o.cursor ?? newCursor();
  if (signal?.aborted) throw new Interrupted(signal.reason);
  const stop = o.shouldStop || signal ? () => (signal?.aborted ?? false) || (o.shouldStop?.() ?? false) : undefined;
  let current: PhaseEvent | null = null;
  const endPhase = async () => {
    if (current === null) return;
    const p = cursor.position;
    const ev: PhaseEndEvent = { type: "phaseEnd", phase: current.phase, index: current.index, step: p.step, samples: p.samples };
    current = null;
    await cb.onPhaseEnd?.(ev);
  };
  let evals = 0;
  await cb.onTrainBegin?.();
  const steps = cb.onBatchEnd ? (e: StepEvent) => cb.onBatchEnd!(e) : undefined;
  for await (const ev of runPhases(model, plan, task, { ...o.loop, cursor, resume: o.resume, shouldStop: stop, onStep: steps })) {
    await cb.onEvent?.(ev);
    if (ev.type === "interrupt") {
      if (o.save) await o.save.write();
      throw new Interrupted(signal?.aborted ? signal.reason : undefined);
    }
    if (ev.type === "tick") await cb.onTick?.(ev);
    if (ev.type === "budget" && o.save?.atBudget) await o.save.write();
    if (ev.type === "phase") {
      await endPhase();
      current = ev;
      policy.onPhase?.(ev, state);
      await cb.onPhaseBegin?.(ev);
    }
    if (ev.type !== "eval") continue;
    if (o.finite) {
      // No training loss before the first step; no held-out figures without a held-out set (accuracy NaN).
      if (ev.step > 0 && !Number.isFinite(ev.trainLoss)) throw new NonFiniteLoss(ev.step, ev.phase, "training", ev.trainLoss);
      if (Number.isFinite(ev.accuracy) && !Number.isFinite(ev.loss)) throw new NonFiniteLoss(ev.step, ev.phase, "held-out", ev.loss);
    }
    await cb.onEvaluation?.(ev);
    if (await policy.onEval(ev, state)) break;
    if (o.save && ++evals % o.save.every === 0) await o.save.write();
  }
  await endPhase();
  await cb.onTrainEnd?.(cursor.position);
  return { state, position: cursor.position };
}

/** One evaluation as recorded in a curve: the loop's eval event without its tag. */
export type CurvePoint = Omit<EvalEvent, "type">;

export interface PhaseStart {
  name: string;
  step: number;
  /** Seconds of training when the phase started (absent in older results). */
  seconds?: number;
  /** Training steps per second over the phase (null: no step or no time measured); set in the run record. */
  stepsPerSecond?: number | null;
}

/** How a student run ends: at `target` held-out accuracy (unless `runToCap`), else at the budget. */
export interface StudentRule {
  /** Held-out accuracy at which samplesToTarget is recorded (null: none). */
  target: number | null;
  /** Keep training after the target (else stop there). */
  runToCap: boolean;
}

export interface StudentState {
  curve: CurvePoint[];
  /** Samples when the target was first reached; null if never. */
  hit: number | null;
  phases: PhaseStart[];
}

/** A student's rule: record every evaluation and phase start, stop at the target unless running to the cap. */
export function studentPolicy(rule: StudentRule, onPoint?: (ev: EvalEvent) => void): Policy<StudentState> {
  return {
    state: { curve: [], hit: null, phases: [] },
    onPhase: (ev, s) => void s.phases.push({ name: ev.phase, step: ev.step, seconds: ev.seconds }),
    onEval(ev, s) {
      const { type: _t, ...point } = ev;
      s.curve.push(point);
      onPoint?.(ev);
      if (rule.target !== null && s.hit === null && ev.accuracy >= rule.target) {
        s.hit = ev.samples;
        return !rule.runToCap;
      }
      return false;
    },
  };
}

/** How a teacher run ends: `extraCheckpoints` evaluations after reaching `target`, else at the budget. */
export interface TeacherRule {
  /** Held-out accuracy that counts as trained (Infinity: train the whole budget). */
  target: number;
  extraCheckpoints: number;
}

export interface TeacherCheckpointRecord {
  step: number;
  samples: number;
  accuracy?: number;
  /** The checkpoint file's SHA-256 (empty when kept in memory only). */
  sha256: string;
}

export interface TeacherState {
  curve: Array<{ samples: number; accuracy: number; loss: number }>;
  hit: number | null;
  /** Evaluations since the target was reached. */
  extra: number;
  checkpoints: TeacherCheckpointRecord[];
}

/**
 * A teacher's rule: every evaluation is a checkpoint (`keep` snapshots the weights and returns the
 * file's checksum, or "" in memory); the run ends `extraCheckpoints` checkpoints after the target.
 */
export function teacherPolicy(rule: TeacherRule, keep: (ev: EvalEvent) => string | Promise<string>, onPoint?: (ev: EvalEvent) => void): Policy<TeacherState> {
  return {
    state: { curve: [], hit: null, extra: 0, checkpoints: [] },
    async onEval(ev, s) {
      s.curve.push({ samples: ev.samples, accuracy: ev.accuracy, loss: ev.loss });
      const sha256 = await keep(ev);
      s.checkpoints.push({ step: ev.step, samples: ev.samples, accuracy: ev.accuracy, sha256 });
      onPoint?.(ev);
      if (s.hit === null && ev.accuracy >= rule.target) s.hit = ev.samples;
      else if (s.hit !== null) s.extra++;
      return s.hit !== null && s.extra >= rule.extraCheckpoints;
    },
  };
}

/** A user's rule (distill's `until`): record the curve, stop at the first evaluation it accepts. */
export function untilPolicy(until?: (ev: EvalEvent) => boolean): Policy<{ curve: EvalEvent[] }> {
  return {
    state: { curve: [] },
    onEval(ev, s) {
      s.curve.push(ev);
      return until?.(ev) ?? false;
    },
  };
}

/** What a teacher must do to count as trained. */
export interface TeacherRequirement {
  /** Reach this held-out accuracy within its budget (samplesToTarget set). */
  target?: number;
  /** Or end above this held-out accuracy (mlm: the unigram baseline; distill: chance). */
  beat?: { accuracy: number; what: string };
}

/** Why a teacher does not count as trained (a line of the message), or null when it does. */
export function teacherShortfall(info: { samplesToTarget: number | null; accuracy: number; samples: number }, req: TeacherRequirement): string | null {
  if (req.beat) {
    return info.accuracy > req.beat.accuracy ? null : `held-out accuracy ${info.accuracy.toFixed(4)} after ${info.samples} samples is no better than ${req.beat.what} (${req.beat.accuracy.toFixed(4)})`;
  }
  if (req.target !== undefined && Number.isFinite(req.target) && info.samplesToTarget === null) {
    return `held-out accuracy ${info.accuracy.toFixed(4)} after ${info.samples} samples, below its target ${req.target}`;
  }
  return null;
}

const kebab = (s: string) => s.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/**
 * A teacher that did not learn after its allowed initialisations: the run stops before any student
 * trains (the CLI's exit code 3). Its state is kept where the run saves, so a larger budget continues
 * it; `allowFailedTeacher` (--allow-failed-teacher) distils from it anyway.
 */
export class TeacherFailed extends Error {
  constructor(
    readonly seed: number,
    /** Its final held-out accuracy and samples seen. */
    readonly accuracy: number,
    readonly samples: number,
    /** What it missed (one clause). */
    readonly shortfall: string,
    /** The config fields that change it, with their values (e.g. teacherMaxSamples: 2000). */
    readonly knobs: Readonly<Record<string, number>>,
    /** Initialisations tried. */
    readonly attempts: number,
  ) {
    const knobText = Object.entries(knobs)
      .map(([k, v]) => `${k} ${v} (--${kebab(k)})`)
      .join(", ");
    super(
      `the teacher of seed ${seed} did not learn: ${shortfall}${attempts > 1 ? ` (the last of ${attempts} initialisations)` : ""}; no student was trained. ` +
        `Raise ${knobText || "its budget"}, or distil from it anyway with allowFailedTeacher (--allow-failed-teacher)`,
    );
    this.name = "TeacherFailed";
  }
}
