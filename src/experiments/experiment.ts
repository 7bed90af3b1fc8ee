/**
 * What an experiment is: a config (one declaration per field), presets, and how to build a seed's
 * teacher and a (seed, method)'s student. Everything else (teachers' cache and records, the
 * resumable training run, workers, run folders, results) is the engine's, shared by all of them.
 * The three experiments (parity, parity-transformer, mlm) are registered in registry.ts.
 */
import { ConfigError, FieldsOf, presetOf, resolveConfig } from "../config";
import { Checkpoint } from "../distill/outputs";
import { MethodContext, MethodName } from "../distill/methods";
import { NamedTensors, TappedModel } from "../models/types";
import { Rng } from "../rng";
import type { ResumableTask } from "../train/run";
import { LoopPosition } from "../train/loop";
import { TeacherRequirement, TeacherState } from "../train/driver";
import { OptimizerSpec } from "../train/optimizers";
import { CommonConfig } from "./fields";
import { Recorded, StudentRun, SummaryBase } from "./results";

export type ExperimentName = "parity" | "parity-transformer" | "mlm";

/** A seed's teacher: what determines its weights, and how to train it. */
export interface TeacherPlan {
  /** Everything that determines the trained weights besides the backend (the cache key). */
  key: Record<string, unknown>;
  /** A freshly initialised model (deterministic for the key). */
  create(): TappedModel;
  /** The teacher's own stream and held-out set; freed by `dispose`. */
  task: ResumableTask;
  optimizer: OptimizerSpec;
  /** Save a checkpoint (and evaluate) every this many steps. */
  ckptEvery: number;
  /** Held-out accuracy that counts as trained (Infinity: train the whole budget). */
  targetAccuracy: number;
  /** Checkpoints to keep training after the target is first reached. */
  extraCheckpoints: number;
  /** Training budget in samples. */
  maxSamples: number;
  /**
   * What the teacher must do to count as trained (default: reach `targetAccuracy`); one that does not
   * stops the run before any student trains (train/driver.ts TeacherFailed) unless allowed.
   */
  requirement?: TeacherRequirement;
  /** The config fields that change whether it learns, with their values (named when it fails). */
  knobs?: Readonly<Record<string, number>>;
  dispose(): void;
}

export interface TeacherInfo {
  samplesToTarget: number | null;
  samples: number;
  accuracy: number;
  /** Seconds this run spent on the teacher (training, or loading when cached). */
  seconds: number;
  stepsPerSecond: number;
  checkpoints: number;
  /** Loaded from the cache, trained by an earlier run. */
  cached: boolean;
  /** Which initialisation attempt this teacher is (0 = the first; see teacherRetries). */
  attempt?: number;
  /** Set when the teacher missed its requirement and was used anyway (allowFailedTeacher): what it missed. */
  failed?: string;
  curve: Array<{ samples: number; accuracy: number; loss: number }>;
}

/**
 * A teacher's info after its run (train/driver.ts teacherPolicy's state at `position`). When the
 * budget ended between checkpoints, the final weights are added to `checkpoints` as the last one.
 */
export function teacherInfoOf(model: TappedModel, position: LoopPosition, s: TeacherState, checkpoints: Checkpoint[], attempt: number): TeacherInfo {
  const { step, samples, seconds } = position;
  const last = s.curve[s.curve.length - 1];
  if (checkpoints.length === 0 || checkpoints[checkpoints.length - 1].step !== step) {
    checkpoints.push({ step, samples, weights: model.snapshot(), accuracy: last?.accuracy ?? 0 });
  }
  return {
    samplesToTarget: s.hit,
    samples,
    accuracy: last?.accuracy ?? 0,
    seconds,
    stepsPerSecond: step / Math.max(seconds, 1e-9),
    checkpoints: checkpoints.length,
    cached: false,
    attempt,
    curve: s.curve,
  };
}

export interface TrainedTeacher {
  model: TappedModel;
  /** Weights at initialisation (the untrained control). */
  init: NamedTensors;
  checkpoints: Checkpoint[];
  info: TeacherInfo;
  dispose(): void;
}

/** A (seed, method)'s student: its model, task and method context; `dispose` frees the task (not the model). */
export interface StudentSetup {
  model: TappedModel;
  task: ResumableTask;
  context: MethodContext;
  dispose(): void;
}

/** What an experiment says about a (seed, method)'s student; `studentSetup` builds the method context from it. */
export interface StudentParts {
  model: TappedModel;
  task: ResumableTask;
  teacher: TrainedTeacher;
  /** The seed's root stream: the student's ("student") and the shell's ("shell") derive from it. */
  seedRng: Rng;
  /** A model of the teacher's architecture (checkpoints are loaded into it). */
  shell(rng: Rng): TappedModel;
  batch: number;
  /** The teacher's checkpoints on the student's sample scale (default: as trained). */
  checkpoints?: readonly Checkpoint[];
  output: MethodContext["output"];
  curriculum: MethodContext["curriculum"];
  settings: MethodContext["settings"];
  dispose(): void;
}

export function studentSetup(p: StudentParts): StudentSetup {
  const { model, task, teacher, seedRng } = p;
  return {
    model,
    task,
    context: {
      student: model,
      teacher: teacher.model,
      checkpoints: p.checkpoints ?? teacher.checkpoints,
      teacherInit: teacher.init,
      shell: () => p.shell(seedRng.derive("shell")),
      task,
      rng: seedRng.derive("student"),
      batch: p.batch,
      output: p.output,
      curriculum: p.curriculum,
      settings: p.settings,
    },
    dispose: p.dispose,
  };
}

/** How students train: evaluation interval, budget, and when to stop early. */
export interface StudentLoop {
  evalEvery: number;
  maxSamples: number;
  evalAtStart: boolean;
  /**
   * Evaluate once more when the budget ends between evaluations, so that a curve ends with the student at
   * its budget (true for every experiment: without it a student capped below one interval recorded no point
   * at all, "not reached by 0, 0 steps/s").
   */
  evalAtBudget: boolean;
  /** Held-out accuracy at which samplesToTarget is recorded (null: none). */
  target: number | null;
  /** Keep training after the target (else stop there). */
  runToCap: boolean;
}

export interface Experiment<C extends CommonConfig, D = null, S extends SummaryBase = SummaryBase> {
  readonly name: ExperimentName;
  readonly title: string;
  readonly fields: FieldsOf<C>;
  /** Presets by name; the preset layer may depend on the overrides (mlm: per corpus). */
  presets(overrides: Readonly<Record<string, unknown>>): Readonly<Record<string, Partial<C>>>;
  /** Cross-field checks and a memory estimate; throws ConfigError. */
  check(cfg: Readonly<C>): void;
  /** One line for logs: the sizes. */
  describe(cfg: Readonly<C>): string;
  /** Prefix of default run ids and result folders ("parity-main", "mlm-brown-smoke"). */
  runName(cfg: Readonly<C>): string;
  /** Data every seed shares (corpus, tokenizer); made once per process and config. */
  prepare(cfg: Readonly<C>): D;
  /** Re-initialisations allowed for a teacher that misses its target. */
  teacherRetries(cfg: Readonly<C>): number;
  teacher(cfg: Readonly<C>, seed: number, data: D, attempt: number): TeacherPlan;
  student(cfg: Readonly<C>, seed: number, method: MethodName, data: D, teacher: TrainedTeacher): StudentSetup;
  studentLoop(cfg: Readonly<C>): StudentLoop;
  /** summary.json: config, then `recorded` (backend, adapter), then methods, teachers, ... */
  summarize(cfg: Readonly<C>, runs: readonly StudentRun[], teachers: Record<number, TeacherInfo>, data: D, recorded: Recorded): S;
  /** Further result files (name -> JSON), e.g. tokenizer.json. */
  resultFiles?(cfg: Readonly<C>, data: D): Record<string, unknown>;
}

/** Defaults, then the preset, then the overrides (later wins); checked and frozen. */
export function resolveExperiment<C extends CommonConfig, D, S extends SummaryBase>(
  exp: Experiment<C, D, S>,
  preset: string | undefined,
  overrides: Readonly<Record<string, unknown>> = {},
): Readonly<C> {
  const p = presetOf(exp.presets(overrides), preset);
  const cfg = resolveConfig<C>(exp.fields, p, overrides);
  exp.check(cfg);
  return cfg;
}

/** A complete config given as plain data (a worker's job, a saved config.json): checked again. */
export function configFrom<C extends CommonConfig, D, S extends SummaryBase>(exp: Experiment<C, D, S>, plain: Readonly<Record<string, unknown>>): Readonly<C> {
  const cfg = resolveConfig<C>(exp.fields, plain);
  exp.check(cfg);
  return cfg;
}

/** Refuse a model that cannot be allocated: a clear line instead of a RangeError deep inside tfjs. */
export function checkModelSize(field: string, value: number, params: number, what: string): void {
  // float32 weights; training keeps about four copies (weights, gradients, two Adam moments).
  const bytes = params * 4 * 4;
  const limit = 2 ** 31; // the wasm heap is capped at 4 GB, and one typed array at 2^31 bytes here
  if (!Number.isFinite(params) || bytes > limit) {
    throw new ConfigError(
      field,
      value,
      `the ${what} would have ${params.toExponential(2)} parameters (~${(bytes / 2 ** 30).toFixed(1)} GiB to train; at most ${limit / 2 ** 30} GiB)`,
    );
  }
}
