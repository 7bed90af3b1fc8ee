/**
 * The sparse-parity MLP experiment's config: every free choice of PAPER.md is a field with its
 * default and the reason for it. Presets set only task sizes and budgets; user flags override them.
 */
import { Schema, resolveConfig, ConfigError, presetOf } from "../config";

export const PARITY_METHODS = ["cx", "oneshot", "progressive", "scratch", "twoshot"] as const;
export type ParityMethod = (typeof PARITY_METHODS)[number];

export interface ParityConfig {
  /** Preset the values started from (informational). */
  preset: string;
  /** Input bits. */
  n: number;
  /** Support size. */
  k: number;
  /** "first": S = the first k coordinates (PAPER.md); "random": a seeded random subset. */
  support: "first" | "random";
  /** Teacher hidden width. */
  teacherWidth: number;
  /** Student hidden width. */
  studentWidth: number;
  /** Student batch size (PAPER.md: 32). */
  batch: number;
  /** Student SGD learning rate (0.1). */
  lr: number;
  /** Teacher batch size (32; the paper preset uses 1, as the predecessor did). */
  teacherBatch: number;
  /** Teacher SGD learning rate (0.1). */
  teacherLr: number;
  /** Seeds: one teacher and one student per method per seed. */
  seeds: number[];
  /** Methods to run, in this order. */
  methods: ParityMethod[];
  /** Distillation temperature (1; the predecessor also used 1e-20, i.e. the arg-max). */
  tau: number;
  /** Curriculum extraction: phase-1 steps (500). */
  p1Steps: number;
  /** Curriculum extraction: phase-1 SGD learning rate (0.05). */
  p1Lr: number;
  /** Projection dimension; 0 = the student's width (matches every student neuron). */
  projDim: number;
  /** Std of the projection's entries; 0 = 1/sqrt(teacherWidth), i.e. N(0, 1/M). */
  projScale: number;
  /** Which hidden activation is matched: "post" = relu(W1 x + b1) (default), "pre" = W1 x + b1. */
  tapActivation: "post" | "pre";
  /** "random": fixed seeded projection (the method); "learned": FitNets-style hint regressor. */
  projection: "random" | "learned";
  /** Whose hidden layer phase 1 matches: "final" teacher (the method) or "init" (the untrained
   * teacher: a control that should give no speed-up). */
  cxSource: "final" | "init";
  /** Teacher checkpoint (and teacher evaluation) interval in teacher steps (500). */
  ckptEvery: number;
  /** Student evaluation interval in steps (250). */
  evalEvery: number;
  /** Held-out accuracy that counts as learned (0.95). */
  targetAccuracy: number;
  /** Student sample cap; a run that has not reached the target by then counts as the cap. */
  maxSamples: number;
  /** Teacher's target held-out accuracy (0.99). */
  teacherTarget: number;
  /** Checkpoints the teacher keeps training after reaching its target (5). */
  teacherExtraCkpts: number;
  /** Teacher sample cap. */
  teacherMaxSamples: number;
  /** Held-out set size, fixed per seed (4096). */
  heldout: number;
  /** Two-shot: use the first checkpoint whose teacher accuracy is >= this (0.6: the teacher's
   * phase transition), then the final teacher. */
  twoShotAccuracy: number;
  /** Two-shot: steps on the intermediate checkpoint (2000). */
  twoShotSteps: number;
  /** Keep training after the target is reached, up to maxSamples (false: stop at the target). */
  runToCap: boolean;
}

export const PARITY_SCHEMA: Schema<ParityConfig> = {
  preset: { kind: "string", doc: "preset name" },
  n: { kind: "int", min: 1, max: 100000, doc: "input bits" },
  k: { kind: "int", min: 1, doc: "support size" },
  support: { kind: "enum", values: ["first", "random"], doc: "support choice" },
  teacherWidth: { kind: "int", min: 1, max: 1_000_000, doc: "teacher width" },
  studentWidth: { kind: "int", min: 1, max: 1_000_000, doc: "student width" },
  batch: { kind: "int", min: 1, max: 1_000_000, doc: "student batch" },
  lr: { kind: "number", min: 0, exclusiveMin: true, doc: "student learning rate" },
  teacherBatch: { kind: "int", min: 1, max: 1_000_000, doc: "teacher batch" },
  teacherLr: { kind: "number", min: 0, exclusiveMin: true, doc: "teacher learning rate" },
  seeds: { kind: "intList", min: 0, doc: "seeds" },
  methods: { kind: "enumList", values: PARITY_METHODS, doc: "methods" },
  tau: { kind: "number", min: 0, exclusiveMin: true, doc: "temperature" },
  p1Steps: { kind: "int", min: 0, doc: "phase-1 steps" },
  p1Lr: { kind: "number", min: 0, exclusiveMin: true, doc: "phase-1 learning rate" },
  projDim: { kind: "int", min: 0, doc: "projection dimension (0 = student width)" },
  projScale: { kind: "number", min: 0, doc: "projection std (0 = 1/sqrt(M))" },
  tapActivation: { kind: "enum", values: ["post", "pre"], doc: "matched activation" },
  projection: { kind: "enum", values: ["random", "learned"], doc: "projection kind" },
  cxSource: { kind: "enum", values: ["final", "init"], doc: "phase-1 source" },
  ckptEvery: { kind: "int", min: 1, doc: "teacher checkpoint interval (steps)" },
  evalEvery: { kind: "int", min: 1, doc: "evaluation interval (steps)" },
  targetAccuracy: { kind: "number", min: 0, max: 1, exclusiveMin: true, doc: "target accuracy" },
  maxSamples: { kind: "number", min: 1, doc: "student sample cap" },
  teacherTarget: { kind: "number", min: 0, max: 1, exclusiveMin: true, doc: "teacher target accuracy" },
  teacherExtraCkpts: { kind: "int", min: 0, doc: "checkpoints after the teacher's target" },
  teacherMaxSamples: { kind: "number", min: 1, doc: "teacher sample cap" },
  heldout: { kind: "int", min: 1, max: 1_000_000, doc: "held-out size" },
  twoShotAccuracy: { kind: "number", min: 0, max: 1, doc: "two-shot checkpoint accuracy" },
  twoShotSteps: { kind: "int", min: 0, doc: "two-shot intermediate steps" },
  runToCap: { kind: "bool", doc: "train to the cap" },
};

export const PARITY_DEFAULTS: ParityConfig = {
  preset: "main",
  n: 50,
  k: 5,
  support: "first",
  teacherWidth: 1000,
  studentWidth: 20,
  batch: 32,
  lr: 0.1,
  teacherBatch: 32,
  teacherLr: 0.1,
  seeds: [0],
  methods: ["cx", "oneshot", "progressive", "scratch"],
  tau: 1,
  p1Steps: 500,
  p1Lr: 0.05,
  projDim: 0,
  projScale: 0,
  tapActivation: "post",
  projection: "random",
  cxSource: "final",
  ckptEvery: 500,
  evalEvery: 250,
  targetAccuracy: 0.95,
  maxSamples: 3e6,
  teacherTarget: 0.99,
  teacherExtraCkpts: 5,
  teacherMaxSamples: 2e7,
  heldout: 4096,
  twoShotAccuracy: 0.6,
  twoShotSteps: 2000,
  runToCap: false,
};

/** Presets set task size and budgets only. */
export const PARITY_PRESETS: Record<string, Partial<ParityConfig>> = {
  /** Tests and CI: seconds. */
  smoke: { preset: "smoke", n: 50, k: 4, teacherWidth: 1000, studentWidth: 20, maxSamples: 1.5e6, teacherMaxSamples: 4e6 },
  /** The headline figure: minutes on 2 cores. */
  main: { preset: "main", n: 50, k: 5, teacherWidth: 1000, studentWidth: 20, maxSamples: 3e6, teacherMaxSamples: 2e7 },
  /** The papers' scale. Days on a CPU: the teacher trains with batch 1 and SGD 0.005, as the
   * predecessor did (a 50000-wide teacher is unstable at batch 32, PAPER.md). Never run in CI. */
  paper: {
    preset: "paper",
    n: 100,
    k: 6,
    teacherWidth: 50000,
    studentWidth: 100,
    teacherBatch: 1,
    teacherLr: 0.005,
    ckptEvery: 100000,
    maxSamples: 5e7,
    teacherMaxSamples: 1e8,
  },
};

export function resolveParityConfig(preset: string | undefined, overrides: Partial<Record<string, unknown>> = {}): Readonly<ParityConfig> {
  const p = presetOf(PARITY_PRESETS, preset);
  const cfg = resolveConfig(PARITY_SCHEMA, PARITY_DEFAULTS, p, overrides);
  if (cfg.k > cfg.n) throw new ConfigError("k", cfg.k, `must be <= n (${cfg.n})`);
  if (cfg.projDim > cfg.studentWidth) throw new ConfigError("projDim", cfg.projDim, `must be <= studentWidth (${cfg.studentWidth})`);
  return cfg;
}
