/**
 * Sparse parity with transformers (issue: the paper's second claim). Bits are tokens (+1 -> 0,
 * -1 -> 1); a pre-LN bidirectional encoder reads the last position. Defaults follow the PyTorch
 * reference in the transformer issue: n = 20, k = 3, teacher d_model 64 / 8 heads, student
 * d_model 16 / 2 heads, 2 blocks each, Adam 1e-3, batch 64, 300 tap steps per block.
 */
import { ConfigError, Schema, presetOf, resolveConfig } from "../config";
import { PARITY_DEFAULTS, PARITY_METHODS, PARITY_SCHEMA, ParityConfig } from "./parityConfig";
import { CommonParityConfig } from "./parity";
import { TRANSFORMER_SIZES_SCHEMA, TransformerSizes, checkTransformerSizes } from "./transformerSizes";

/** Model sizes (TransformerSizes): teacher 2 blocks x 64 / 8 heads, student 2 x 16 / 2 heads by default. */
export interface ParityTransformerConfig extends CommonParityConfig, TransformerSizes {
  /** MLP width = mlpRatio * d_model (4). */
  mlpRatio: number;
  /** Student Adam learning rate (1e-3). */
  lr: number;
  /** Teacher Adam learning rate (1e-3). */
  teacherLr: number;
  /** Curriculum extraction: Adam steps per tapped block (300; a fresh optimiser per phase). */
  tapSteps: number;
  /** Curriculum extraction: Adam learning rate of the tap phases (1e-3). */
  tapLr: number;
  /** Teacher's residual stream as target: "none" = raw (worked for parity in the reference),
   * "layernorm" = parameter-free LayerNorm before the projection. */
  normalize: "none" | "layernorm";
  /** Which student blocks are matched: "all" (block 1..L in order) or "first" (block 1 only). */
  tapBlocks: "all" | "first";
  /** Std of the projection entries; 0 = 1/sqrt(teacher d_model). */
  projScale: number;
  /** Re-initialise the teacher (next init stream) this many times if it stays below its target
   * within its budget: the teacher's escape from chance is seed-dependent. Recorded per seed. */
  teacherRetries: number;
}

const pick = <K extends keyof ParityConfig>(...keys: K[]) => Object.fromEntries(keys.map((k) => [k, PARITY_SCHEMA[k]])) as Pick<typeof PARITY_SCHEMA, K>;

export const PARITY_TRANSFORMER_SCHEMA: Schema<ParityTransformerConfig> = {
  ...pick("preset", "n", "k", "support", "batch", "teacherBatch", "seeds", "tau", "cxSource", "ckptEvery", "evalEvery",
    "targetAccuracy", "maxSamples", "teacherTarget", "teacherExtraCkpts", "teacherMaxSamples", "heldout", "twoShotAccuracy", "twoShotSteps", "runToCap"),
  methods: { kind: "enumList", values: PARITY_METHODS, doc: "methods" },
  ...TRANSFORMER_SIZES_SCHEMA,
  mlpRatio: { kind: "int", min: 1, max: 16, doc: "MLP ratio" },
  lr: { kind: "number", min: 0, exclusiveMin: true, doc: "student Adam learning rate" },
  teacherLr: { kind: "number", min: 0, exclusiveMin: true, doc: "teacher Adam learning rate" },
  tapSteps: { kind: "int", min: 0, doc: "tap-phase steps per block" },
  tapLr: { kind: "number", min: 0, exclusiveMin: true, doc: "tap-phase Adam learning rate" },
  normalize: { kind: "enum", values: ["none", "layernorm"], doc: "target normalisation" },
  tapBlocks: { kind: "enum", values: ["all", "first"], doc: "blocks matched" },
  projScale: { kind: "number", min: 0, doc: "projection std (0 = 1/sqrt(d_teacher))" },
  teacherRetries: { kind: "int", min: 0, max: 10, doc: "teacher re-initialisations" },
};

export const PARITY_TRANSFORMER_DEFAULTS: ParityTransformerConfig = {
  preset: "main",
  n: 20,
  k: 3,
  support: "first",
  batch: 64,
  teacherBatch: 64,
  seeds: [0],
  methods: ["cx", "oneshot", "progressive", "scratch"],
  tau: 1,
  cxSource: "final",
  ckptEvery: 64,
  evalEvery: 64,
  targetAccuracy: 0.95,
  maxSamples: 1e6,
  teacherTarget: 0.99,
  teacherExtraCkpts: 5,
  teacherMaxSamples: 1.2e6,
  heldout: 2048,
  twoShotAccuracy: PARITY_DEFAULTS.twoShotAccuracy,
  twoShotSteps: 300,
  runToCap: false,
  teacherDModel: 64,
  teacherHeads: 8,
  teacherLayers: 2,
  studentDModel: 16,
  studentHeads: 2,
  studentLayers: 2,
  mlpRatio: 4,
  lr: 1e-3,
  teacherLr: 1e-3,
  tapSteps: 300,
  tapLr: 1e-3,
  normalize: "none",
  tapBlocks: "all",
  projScale: 0,
  teacherRetries: 2,
};

export const PARITY_TRANSFORMER_PRESETS: Record<string, Partial<ParityTransformerConfig>> = {
  /** n = 12: the student learns alone in ~20k samples; a fast check and a negative control. */
  smoke: { preset: "smoke", n: 12, k: 3, maxSamples: 3e5, teacherMaxSamples: 6e5 },
  /** n = 20, k = 3: where the reference saw the large effect. Budgets sized for a 2-core machine
   * (a wasm teacher step is ~3x PyTorch's here): students capped at 600k samples (the reference's
   * one-shot reached 95% at 582k on one seed and not by 1M on two), a held-out set of 1024 so that
   * evaluating every 4096 samples costs little, and up to 800k samples per teacher attempt with two
   * re-initialisations (measured: seed 0's teacher stayed at chance for two attempts of 800k; seeds
   * 1 and 2 escaped at 315k and 532k). */
  main: { preset: "main", n: 20, k: 3, maxSamples: 6e5, heldout: 1024, teacherMaxSamples: 8e5, teacherRetries: 2 },
};

export function resolveParityTransformerConfig(preset: string | undefined, overrides: Partial<Record<string, unknown>> = {}): Readonly<ParityTransformerConfig> {
  const p = presetOf(PARITY_TRANSFORMER_PRESETS, preset);
  const cfg = resolveConfig(PARITY_TRANSFORMER_SCHEMA, PARITY_TRANSFORMER_DEFAULTS, p, overrides);
  if (cfg.k > cfg.n) throw new ConfigError("k", cfg.k, `must be <= n (${cfg.n})`);
  checkTransformerSizes(cfg);
  return cfg;
}
