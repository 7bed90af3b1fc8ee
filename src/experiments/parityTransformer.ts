/**
 * Sparse parity with transformers (the paper's second claim). Bits are tokens (+1 -> 0, -1 -> 1);
 * a pre-LN bidirectional encoder reads the last position. Defaults follow the PyTorch reference in
 * PAPER.md: n = 20, k = 3, teacher d_model 64 / 8 heads, student d_model 16 / 2 heads, 2 blocks
 * each, Adam 1e-3, batch 64, 300 tap steps per block.
 */
import { ConfigError, ConfigOf, int, num, oneOf, withDefault } from "../config";
import { defaultTapPairs } from "../distill/curriculumExtraction";
import { createTransformer } from "../models/transformer";
import { Experiment } from "./experiment";
import { METHOD_FIELDS } from "../distill/methods";
import { COMMON_FIELDS, NORMALIZE, PARITY_BUDGET_FIELDS, PARITY_TASK_FIELDS, RUN_TO_CAP, TAP_FIELDS, TRANSFORMER_SIZE_FIELDS, TransformerSizes } from "./fields";
import { parityExperiment } from "./parityExperiment";
import { resolveExperiment } from "./experiment";
import { Summary } from "./results";

export const PARITY_TRANSFORMER_FIELDS = {
  preset: COMMON_FIELDS.preset,
  n: withDefault(PARITY_TASK_FIELDS.n, 20),
  k: withDefault(PARITY_TASK_FIELDS.k, 3),
  support: PARITY_TASK_FIELDS.support,
  batch: withDefault(PARITY_TASK_FIELDS.batch, 64, "student batch size (the reference: 64)"),
  teacherBatch: withDefault(PARITY_TASK_FIELDS.teacherBatch, 64, "teacher batch size (the reference: 64)"),
  seeds: COMMON_FIELDS.seeds,
  ...METHOD_FIELDS,
  twoShotSteps: withDefault(METHOD_FIELDS.twoShotSteps, 300),
  ckptEvery: withDefault(PARITY_BUDGET_FIELDS.ckptEvery, 64),
  evalEvery: withDefault(PARITY_BUDGET_FIELDS.evalEvery, 64, "student evaluation interval in steps"),
  targetAccuracy: PARITY_BUDGET_FIELDS.targetAccuracy,
  maxSamples: withDefault(PARITY_BUDGET_FIELDS.maxSamples, 1e6),
  teacherTarget: PARITY_BUDGET_FIELDS.teacherTarget,
  teacherExtraCkpts: PARITY_BUDGET_FIELDS.teacherExtraCkpts,
  teacherMaxSamples: withDefault(PARITY_BUDGET_FIELDS.teacherMaxSamples, 1.2e6),
  heldout: withDefault(PARITY_BUDGET_FIELDS.heldout, 2048, "held-out set size, fixed per seed"),
  ...RUN_TO_CAP,
  methods: COMMON_FIELDS.methods,
  ...TRANSFORMER_SIZE_FIELDS,
  mlpRatio: int(4, "MLP width = mlpRatio * d_model (4)", { min: 1, max: 16 }),
  lr: num(1e-3, "student Adam learning rate (the reference: 1e-3)", { min: 0, exclusiveMin: true }),
  teacherLr: num(1e-3, "teacher Adam learning rate (the reference: 1e-3)", { min: 0, exclusiveMin: true }),
  tapSteps: withDefault(TAP_FIELDS.tapSteps, 300, "curriculum extraction: Adam steps per tapped block (300), counted in the student's budget"),
  tapLr: withDefault(TAP_FIELDS.tapLr, 1e-3, "curriculum extraction: Adam learning rate of the tap phases (1e-3; a fresh optimiser per phase)"),
  ...NORMALIZE,
  tapBlocks: oneOf(["all", "first"] as const, "all", 'which student blocks are matched: "all" (block 1..L in order) or "first" (block 1 only)'),
  projScale: num(0, "std of the projection's entries; 0 = 1/sqrt(teacher d_model)", { min: 0 }),
  teacherRetries: int(
    2,
    "re-initialise a teacher that stays below its target within its budget this many times (its escape from chance is seed-dependent); the attempt used is recorded",
    { min: 0, max: 10 },
  ),
};
export type ParityTransformerConfig = ConfigOf<typeof PARITY_TRANSFORMER_FIELDS>;

export const PARITY_TRANSFORMER_PRESETS: Record<string, Partial<ParityTransformerConfig>> = {
  /** n = 12: the student learns alone in ~20k samples; a fast check and a negative control. */
  smoke: { preset: "smoke", n: 12, k: 3, maxSamples: 3e5, teacherMaxSamples: 6e5 },
  /** n = 20, k = 3: where the reference saw the large effect. Budgets sized for a 2-core machine:
   * students capped at 600k samples (the reference's one-shot reached 95% at 582k on one seed and
   * not by 1M on two), a held-out set of 1024, and up to 800k samples per teacher attempt with two
   * re-initialisations (seed 0's teacher stayed at chance for two attempts of 800k; seeds 1 and 2
   * escaped at 315k and 532k). */
  main: { preset: "main", n: 20, k: 3, maxSamples: 6e5, heldout: 1024, teacherMaxSamples: 8e5, teacherRetries: 2 },
};

/** Heads must divide d_model, for the teacher and the student. */
export function checkTransformerSizes(cfg: Readonly<TransformerSizes>): void {
  if (cfg.teacherDModel % cfg.teacherHeads) throw new ConfigError("teacherHeads", cfg.teacherHeads, `must divide teacherDModel (${cfg.teacherDModel})`);
  if (cfg.studentDModel % cfg.studentHeads) throw new ConfigError("studentHeads", cfg.studentHeads, `must divide studentDModel (${cfg.studentDModel})`);
}

/** Parameters of a pre-LN encoder (matrices only, the rest is smaller): blocks, embeddings. */
export function transformerParams(layers: number, d: number, mlpRatio: number, vocab: number, seq: number): number {
  return layers * (4 + 2 * mlpRatio) * d * d + (vocab + seq) * d;
}

function model(cfg: Readonly<ParityTransformerConfig>, who: "teacher" | "student") {
  const t = who === "teacher";
  return {
    vocabSize: 2,
    seqLen: cfg.n,
    dModel: t ? cfg.teacherDModel : cfg.studentDModel,
    nHeads: t ? cfg.teacherHeads : cfg.studentHeads,
    nLayers: t ? cfg.teacherLayers : cfg.studentLayers,
    mlpRatio: cfg.mlpRatio,
    head: "classify" as const,
    numClasses: 2,
  };
}

/** Transformers on bit tokens: Adam, one tap pair per student block (depths paired by rounding). */
export const PARITY_TRANSFORMER: Experiment<ParityTransformerConfig, null, Summary> = parityExperiment<ParityTransformerConfig>(
  "parity-transformer",
  "Sparse parity with transformers (bits as tokens)",
  PARITY_TRANSFORMER_FIELDS,
  PARITY_TRANSFORMER_PRESETS,
  {
    input: "tokens",
    teacherKey: (cfg) => ({ kind: "parity-transformer-teacher@2", model: model(cfg, "teacher"), lr: cfg.teacherLr }),
    createTeacher: (cfg, rng) => createTransformer(model(cfg, "teacher"), rng),
    createStudent: (cfg, rng) => createTransformer(model(cfg, "student"), rng),
    teacherOptimizer: (cfg) => ({ kind: "adam", lr: cfg.teacherLr }),
    studentOptimizer: (cfg) => ({ kind: "adam", lr: cfg.lr }),
    curriculum: (cfg, teacher, student) => {
      const pairs = defaultTapPairs(teacher, student);
      return {
        pairs: cfg.tapBlocks === "first" ? pairs.slice(0, 1) : pairs,
        tapSteps: cfg.tapSteps,
        tapOptimizer: { kind: "adam", lr: cfg.tapLr },
        normalize: cfg.normalize,
        projScale: cfg.projScale || undefined,
      };
    },
    params: (cfg) => ({ field: "teacherDModel", params: transformerParams(cfg.teacherLayers, cfg.teacherDModel, cfg.mlpRatio, 2, cfg.n) }),
  },
  {
    check: checkTransformerSizes,
    describe: (cfg) =>
      `n=${cfg.n} k=${cfg.k} teacher ${cfg.teacherLayers}x${cfg.teacherDModel}/${cfg.teacherHeads}h student ${cfg.studentLayers}x${cfg.studentDModel}/${cfg.studentHeads}h`,
  },
);

/** Kept name (notebooks): the transformer parity experiment, for runParity(cfg, opts, TRANSFORMER_PARITY). */
export const TRANSFORMER_PARITY = PARITY_TRANSFORMER;

export function resolveParityTransformerConfig(preset: string | undefined, overrides: Readonly<Record<string, unknown>> = {}): Readonly<ParityTransformerConfig> {
  return resolveExperiment(PARITY_TRANSFORMER, preset, overrides);
}
