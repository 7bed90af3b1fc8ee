/**
 * Masked-LM distillation (issue 5): per seed a teacher (cached), then a student per method, all by the
 * one training loop, on Brown or the PCFG language. Returns data; printing is the caller's.
 *
 * Masked positions only: the output loss and the metrics need logits at the ~15% masked positions, and
 * the vocabulary head dominates a step. The task registers, for each batch input `x`, its masked flat
 * positions and its pad mask (`MLM_CONTEXT`); `maskedView(model)` looks them up in `forward`, so the
 * method builders (outputs.ts, curriculumExtraction.ts) stay generic: their logits are [P, vocab] and
 * `batch.y` holds the P original ids. Tap phases still match the teacher at every position.
 *
 * Random streams per seed: "teacher/init", "teacher/data", "student/init", "student/data",
 * "student/projection/...", "valid" (the fixed validation set); every method of a seed starts from the
 * same student initialisation and sees the same batches.
 */
import * as tf from "@tensorflow/tfjs";
import { createHash } from "node:crypto";
import { currentBackend } from "../backend";
import { configToJson } from "../config";
import { TextCorpus, corpusStats, CorpusStats, loadBrown } from "../data/corpus";
import { MlmBatch, MlmSampler, packSequences, validationBatches } from "../data/maskedLm";
import { samplePcfgCorpus } from "../data/pcfg";
import { MASK_ID, NUM_SPECIAL, WordTokenizer } from "../data/tokenizer";
import { curriculumExtraction, defaultTapPairs } from "../distill/curriculumExtraction";
import { Checkpoint, OutputOptions, oneShot, progressive, scratch } from "../distill/outputs";
import { Batch, MethodPlan, Task } from "../distill/phases";
import { accuracy, oneHotTargets, softCrossEntropy } from "../distill/losses";
import { createTransformer, TransformerModel } from "../models/transformer";
import { TappedModel } from "../models/types";
import { Rng, rootRng } from "../rng";
import { runPhases } from "../train/loop";
import { OptimizerSpec } from "../train/optimizers";
import { LanguageModelConfig, MlmMethod } from "./languageModelConfig";
import { CurvePoint, StudentRun } from "./results";
import { TeacherInfo, TrainedTeacher, getTeacher } from "./teacher";

/** Per-input context: int32 [P] flat masked positions and float32 [batch, seq] pad mask (1 = token). */
export interface MlmContext {
  positions: tf.Tensor1D;
  padMask: tf.Tensor2D;
}
export const MLM_CONTEXT = new WeakMap<tf.Tensor, MlmContext>();

/** A view of a transformer whose forward uses the registered masked positions and pad mask of `x`. */
export function maskedView(model: TransformerModel): TransformerModel {
  return {
    ...model,
    forward: (x, opts = {}) => {
      const c = MLM_CONTEXT.get(x);
      return model.forward(x, c ? { ...opts, padMask: c.padMask, logitPositions: c.positions } : opts);
    },
    forwardTaps: (x, taps, opts = {}) => {
      const c = MLM_CONTEXT.get(x);
      return model.forwardTaps(x, taps, c ? { ...opts, padMask: c.padMask } : opts);
    },
  };
}

/** Tensors of one MLM batch in the `Batch` shape: x [B, T] ids, y [P] original ids at the masked positions. */
export function mlmBatchTensors(b: MlmBatch): { batch: Batch; context: MlmContext } {
  const pos: number[] = [];
  const ys: number[] = [];
  for (let i = 0; i < b.maskWeights.length; i++) {
    if (b.maskWeights[i] > 0) {
      pos.push(i);
      ys.push(b.targets[i]);
    }
  }
  const pad = new Float32Array(b.targets.length);
  for (let i = 0; i < pad.length; i++) pad[i] = b.targets[i] === 0 ? 0 : 1;
  const x = tf.tensor2d(b.inputIds, [b.batchSize, b.seqLen], "int32");
  const context = { positions: tf.tensor1d(pos, "int32"), padMask: tf.tensor2d(pad, [b.batchSize, b.seqLen]) };
  MLM_CONTEXT.set(x, context);
  return { batch: { x, y: tf.tensor1d(ys, "int32"), size: b.batchSize }, context };
}

function disposeContext(c: MlmContext): void {
  c.positions.dispose();
  c.padMask.dispose();
}

/** The fixed held-out set: masked-token top-1 accuracy and cross-entropy (nats) over all masked positions. */
export class MlmValidation {
  readonly batches: Array<{ batch: Batch; context: MlmContext }>;
  constructor(raw: readonly MlmBatch[]) {
    this.batches = raw.filter((b) => b.numMasked > 0).map(mlmBatchTensors);
  }
  async evaluate(model: TappedModel): Promise<{ accuracy: number; loss: number }> {
    let hits = 0;
    let ce = 0;
    let n = 0;
    for (const { batch } of this.batches) {
      const out = tf.tidy(() => {
        // The same loss and accuracy functions as training and the parity experiments (means, weighted by count).
        const logits = model.forward(batch.x).logits; // [P, vocab]
        return tf.stack([accuracy(logits, batch.y), softCrossEntropy(logits, oneHotTargets(batch.y, logits.shape[1]!))]);
      });
      const [acc, nll] = await out.data();
      out.dispose();
      const count = batch.y.shape[0];
      hits += acc * count;
      ce += nll * count;
      n += count;
    }
    return { accuracy: hits / Math.max(n, 1), loss: ce / Math.max(n, 1) };
  }
  dispose(): void {
    for (const { batch, context } of this.batches) {
      batch.x.dispose();
      batch.y.dispose();
      disposeContext(context);
    }
  }
}

/** A Task over online MLM batches. The context tensors of a batch live until the next batch. */
export class MaskedLmTask implements Task {
  private sampler: MlmSampler;
  private last: MlmContext | null = null;
  constructor(readonly classes: number, trainIds: readonly Int32Array[], seqLen: number, batchSize: number, rng: Rng, readonly validation: MlmValidation) {
    this.sampler = new MlmSampler(trainIds, { seqLen, batchSize, vocabSize: classes }, rng);
  }
  nextBatch(): Batch {
    let b = this.sampler.nextBatch();
    while (b.numMasked === 0) b = this.sampler.nextBatch();
    if (this.last) disposeContext(this.last);
    const { batch, context } = mlmBatchTensors(b);
    this.last = context;
    return batch;
  }
  evaluate(model: TappedModel) {
    return this.validation.evaluate(model);
  }
  /** Releases the last batch's context (not the shared validation set). */
  dispose(): void {
    if (this.last) disposeContext(this.last);
    this.last = null;
  }
}

/** The corpus of a config (the PCFG sample is fixed: it does not depend on the run's seeds). */
export function loadMlmCorpus(cfg: Pick<LanguageModelConfig, "corpus" | "pcfgDocuments" | "pcfgMaxDepth">): TextCorpus {
  if (cfg.corpus === "brown") return loadBrown();
  return samplePcfgCorpus(rootRng(0).derive("pcfg-corpus"), { documents: cfg.pcfgDocuments, maxDepth: cfg.pcfgMaxDepth });
}

/** Everything a run's seeds share: corpus, tokenizer, encoded documents, statistics. */
export interface MlmData {
  corpus: TextCorpus;
  tokenizer: WordTokenizer;
  trainIds: Int32Array[];
  validIds: Int32Array[];
  stats: CorpusStats;
}

export function prepareMlmData(cfg: Readonly<LanguageModelConfig>): MlmData {
  const corpus = loadMlmCorpus(cfg);
  const tokenizer = WordTokenizer.build(corpus.train, cfg.vocabSize);
  return { corpus, tokenizer, trainIds: tokenizer.encodeDocuments(corpus.train), validIds: tokenizer.encodeDocuments(corpus.valid), stats: corpusStats(corpus, tokenizer) };
}

function modelConfig(cfg: Readonly<LanguageModelConfig>, vocabSize: number, who: "teacher" | "student") {
  const t = who === "teacher";
  return {
    vocabSize, seqLen: cfg.seqLen, head: "lm" as const, tiedEmbeddings: true,
    dModel: t ? cfg.teacherDModel : cfg.studentDModel,
    nHeads: t ? cfg.teacherHeads : cfg.studentHeads,
    nLayers: t ? cfg.teacherLayers : cfg.studentLayers,
  };
}

/** AdamW (0.9, 0.98), linear warmup then cosine to 0 over `steps`. */
export function adamW(lr: number, steps: number, cfg: Pick<LanguageModelConfig, "warmupFrac" | "weightDecay">): OptimizerSpec {
  const warmupSteps = Math.max(1, Math.round(cfg.warmupFrac * steps));
  return { kind: "adam", lr, beta1: 0.9, beta2: 0.98, weightDecay: cfg.weightDecay, schedule: { kind: "warmupCosine", warmupSteps, totalSteps: steps } };
}

export type MlmProgress =
  | { kind: "teacher"; seed: number; step: number; accuracy: number; loss: number; seconds: number }
  | { kind: "teacherDone"; seed: number; info: TeacherInfo }
  | { kind: "student"; seed: number; method: string; step: number; accuracy: number; loss: number; seconds: number; phase: string }
  | { kind: "studentDone"; run: StudentRun };

export interface MlmRunOptions {
  /** Teacher cache folder (default data/cache/teachers); null disables caching. */
  cacheDir?: string | null;
  onProgress?: (e: MlmProgress) => void;
  /** Fill-in-the-blank demo on the first seed: this many validation sentences (default 0). */
  demoSentences?: number;
}

export interface FillInTheBlank {
  /** The sentence with [MASK] at the blanks. */
  text: string;
  answers: string[];
  /** Per model ("teacher", method names): per blank, the top-3 words. */
  predictions: Record<string, string[][]>;
}

export interface LanguageModelResult {
  config: Readonly<LanguageModelConfig>;
  backend: string;
  stats: CorpusStats;
  tokenizer: WordTokenizer;
  teachers: Record<number, TeacherInfo>;
  runs: StudentRun[];
  demo: FillInTheBlank[];
  summary: Record<string, unknown>;
}

async function trainTeacher(cfg: Readonly<LanguageModelConfig>, data: MlmData, seed: number, valid: MlmValidation, opts: MlmRunOptions): Promise<TrainedTeacher> {
  const rng = rootRng(seed);
  const V = data.tokenizer.vocabSize;
  const task = new MaskedLmTask(V, data.trainIds, cfg.seqLen, cfg.batch, rng.derive("teacher", "data"), valid);
  const vocabHash = createHash("sha256").update(JSON.stringify(data.tokenizer.toJSON().vocab)).digest("hex").slice(0, 16);
  const key = {
    kind: "mlm-teacher@1", backend: currentBackend(), seed, corpus: cfg.corpus, vocabHash, model: modelConfig(cfg, V, "teacher"),
    batch: cfg.batch, steps: cfg.teacherSteps, lr: cfg.teacherLr, warmupFrac: cfg.warmupFrac, weightDecay: cfg.weightDecay,
    ckptEvery: cfg.teacherCkptEvery, validBatches: cfg.validBatches,
    pcfg: cfg.corpus === "pcfg" ? { documents: cfg.pcfgDocuments, maxDepth: cfg.pcfgMaxDepth } : null,
  };
  const t0 = Date.now();
  try {
    return await getTeacher(
      {
        key,
        create: () => maskedView(createTransformer(modelConfig(cfg, V, "teacher"), rng.derive("teacher", "init"))),
        task,
        optimizer: adamW(cfg.teacherLr, cfg.teacherSteps, cfg),
        ckptEvery: cfg.teacherCkptEvery,
        targetAccuracy: Infinity, // train the whole budget
        extraCheckpoints: 0,
        maxSamples: cfg.teacherSteps * cfg.batch,
      },
      opts.cacheDir === undefined ? "data/cache/teachers" : opts.cacheDir,
      (e) => opts.onProgress?.({ kind: "teacher", seed, step: Math.round(e.samples / cfg.batch), accuracy: e.accuracy, loss: e.loss, seconds: (Date.now() - t0) / 1000 }),
    );
  } finally {
    task.dispose();
  }
}

/**
 * The phases of `method`. Progressive: the teacher's checkpoints spread evenly over the student's budget
 * (the teacher trains longer than the student), the final teacher last.
 */
export function mlmPlan(method: MlmMethod, cfg: Readonly<LanguageModelConfig>, task: Task, student: TransformerModel, teacher: TrainedTeacher, rng: Rng): MethodPlan {
  const out: OutputOptions = { optimizer: adamW(cfg.lr, cfg.studentSteps, cfg), tau: cfg.tau };
  switch (method) {
    case "scratch":
      return scratch(task, student, out);
    case "oneshot":
      return oneShot(student, teacher.model, out);
    case "progressive": {
      const last = teacher.checkpoints[teacher.checkpoints.length - 1].samples;
      const budget = cfg.studentSteps * cfg.batch;
      const ckpts: Checkpoint[] = teacher.checkpoints.map((c) => ({ ...c, samples: Math.round((c.samples / last) * budget) }));
      const shell = maskedView(createTransformer(modelConfig(cfg, task.classes, "teacher"), rng.derive("shell")));
      return progressive(student, ckpts, shell, cfg.batch, out);
    }
    case "cx": {
      const pairs = defaultTapPairs(teacher.model, student);
      const outputSteps = cfg.studentSteps - pairs.length * cfg.tapSteps;
      return curriculumExtraction(student, teacher.model, rng.derive("student"), {
        pairs,
        tapSteps: cfg.tapSteps,
        tapOptimizer: { kind: "adam", lr: cfg.tapLr },
        normalize: cfg.normalize,
        output: { optimizer: adamW(cfg.lr, outputSteps, cfg), tau: cfg.tau },
      });
    }
  }
}

async function runStudent(cfg: Readonly<LanguageModelConfig>, data: MlmData, seed: number, method: MlmMethod, teacher: TrainedTeacher, valid: MlmValidation, opts: MlmRunOptions, keep?: (m: TransformerModel) => void): Promise<StudentRun> {
  const rng = rootRng(seed);
  const V = data.tokenizer.vocabSize;
  const student = maskedView(createTransformer(modelConfig(cfg, V, "student"), rng.derive("student", "init")));
  const task = new MaskedLmTask(V, data.trainIds, cfg.seqLen, cfg.batch, rng.derive("student", "data"), valid);
  const methodPlan = mlmPlan(method, cfg, task, student, teacher, rng);
  const curve: CurvePoint[] = [];
  let last: CurvePoint | null = null;
  try {
    for await (const ev of runPhases(student, methodPlan, task, { evalEvery: cfg.evalEvery, maxSamples: cfg.studentSteps * cfg.batch, evalAtStart: true })) {
      if (ev.type !== "eval") continue;
      const { type: _t, ...point } = ev;
      curve.push(point);
      last = point;
      opts.onProgress?.({ kind: "student", seed, method, step: ev.step, accuracy: ev.accuracy, loss: ev.loss, seconds: ev.seconds, phase: ev.phase });
    }
    keep?.(student);
  } finally {
    methodPlan.dispose();
    task.dispose();
    if (!keep) student.dispose();
  }
  const seconds = last?.seconds ?? 0;
  const steps = last?.step ?? 0;
  const run: StudentRun = { seed, method, samplesToTarget: null, samples: last?.samples ?? 0, steps, seconds, stepsPerSecond: steps / Math.max(seconds, 1e-9), finalAccuracy: last?.accuracy ?? NaN, curve };
  opts.onProgress?.({ kind: "studentDone", run });
  return run;
}

/** Validation sentences with `blanks` masked words each, and each model's top-3 guesses. */
export async function fillInTheBlank(models: Record<string, TappedModel>, tok: WordTokenizer, validIds: readonly Int32Array[], seqLen: number, sentences: number, rng: Rng, blanks = 2): Promise<FillInTheBlank[]> {
  const seqs = packSequences(validIds, seqLen).slice(0, sentences);
  const out: FillInTheBlank[] = [];
  for (const s of seqs) {
    const cand = [...s.keys()].filter((i) => s[i] >= NUM_SPECIAL);
    const at = rng.subset(cand.length, Math.min(blanks, cand.length)).map((i) => cand[i]).sort((a, b) => a - b);
    const input = Int32Array.from(s);
    at.forEach((i) => (input[i] = MASK_ID));
    const x = tf.tensor2d(input, [1, seqLen], "int32");
    const ctx = { positions: tf.tensor1d(at, "int32"), padMask: tf.tensor2d(Float32Array.from(s, (v) => (v === 0 ? 0 : 1)), [1, seqLen]) };
    MLM_CONTEXT.set(x, ctx);
    const predictions: Record<string, string[][]> = {};
    for (const [name, m] of Object.entries(models)) {
      const idx = tf.tidy(() => tf.topk(m.forward(x).logits, 3).indices);
      const top = (await idx.array()) as number[][];
      idx.dispose();
      predictions[name] = top.map((ids) => ids.map((id) => tok.idToToken(id)));
    }
    x.dispose();
    disposeContext(ctx);
    out.push({ text: tok.decode(input, { skipPad: true }).slice(1).join(" "), answers: at.map((i) => tok.idToToken(s[i])), predictions });
  }
  return out;
}

/** Mean accuracy per method at fixed student budgets (steps), over seeds: the table. */
export function budgetTable(runs: readonly StudentRun[], methods: readonly string[], budgets: readonly number[]): Array<Record<string, number | string>> {
  return methods.map((m) => {
    const row: Record<string, number | string> = { method: m };
    for (const b of budgets) {
      const accs = runs.filter((r) => r.method === m).map((r) => r.curve.find((c) => c.step === b)?.accuracy).filter((a): a is number => a !== undefined);
      row[`acc@${b}`] = accs.length ? accs.reduce((s, a) => s + a, 0) / accs.length : NaN;
    }
    return row;
  });
}

export function lmSummary(cfg: Readonly<LanguageModelConfig>, stats: CorpusStats, teachers: Record<number, TeacherInfo>, runs: readonly StudentRun[]): Record<string, unknown> {
  const methods: Record<string, unknown> = {};
  for (const m of cfg.methods) {
    const seeds: Record<string, unknown> = {};
    for (const r of runs.filter((x) => x.method === m)) {
      seeds[r.seed] = {
        seconds: Math.round(r.seconds * 10) / 10,
        msPerStep: Math.round((1000 * r.seconds) / Math.max(r.steps, 1)),
        evaluations: r.curve.map((c) => ({ step: c.step, phase: c.phase, accuracy: c.accuracy, loss: c.loss, perplexity: Math.exp(c.loss) })),
      };
    }
    methods[m] = seeds;
  }
  const budgets = [1, 2, 3, 4].map((q) => Math.round((q * cfg.studentSteps) / 4 / cfg.evalEvery) * cfg.evalEvery);
  const teacherSummary: Record<string, unknown> = {};
  for (const [seed, t] of Object.entries(teachers)) {
    teacherSummary[seed] = { ...t, msPerStep: Math.round(1000 / Math.max(t.stepsPerSecond, 1e-9)), perplexity: t.curve.length ? Math.exp(t.curve[t.curve.length - 1].loss) : NaN };
  }
  return { config: configToJson(cfg), backend: currentBackend(), corpus: stats, teachers: teacherSummary, methods, table: budgetTable(runs, cfg.methods, budgets) };
}

/** The whole experiment: per seed the teacher, then every method's student. */
export async function runLanguageModel(cfg: Readonly<LanguageModelConfig>, opts: MlmRunOptions = {}): Promise<LanguageModelResult> {
  const data = prepareMlmData(cfg);
  const runs: StudentRun[] = [];
  const teachers: Record<number, TeacherInfo> = {};
  let demo: FillInTheBlank[] = [];
  for (const seed of cfg.seeds) {
    const valid = new MlmValidation(validationBatches(data.validIds, { seqLen: cfg.seqLen, batchSize: cfg.batch, vocabSize: data.tokenizer.vocabSize }, rootRng(seed).derive("valid"), { maxBatches: cfg.validBatches }));
    const teacher = await trainTeacher(cfg, data, seed, valid, opts);
    teachers[seed] = teacher.info;
    opts.onProgress?.({ kind: "teacherDone", seed, info: teacher.info });
    const wantDemo = seed === cfg.seeds[0] && (opts.demoSentences ?? 0) > 0;
    const kept: Record<string, TappedModel> = { teacher: teacher.model };
    try {
      for (const method of cfg.methods) runs.push(await runStudent(cfg, data, seed, method, teacher, valid, opts, wantDemo ? (m) => (kept[method] = m) : undefined));
      if (wantDemo) demo = await fillInTheBlank(kept, data.tokenizer, data.validIds, cfg.seqLen, opts.demoSentences!, rootRng(seed).derive("demo"));
    } finally {
      for (const [k, m] of Object.entries(kept)) if (k !== "teacher") m.dispose();
      teacher.dispose();
      valid.dispose();
    }
  }
  return { config: cfg, backend: currentBackend(), stats: data.stats, tokenizer: data.tokenizer, teachers, runs, demo, summary: lmSummary(cfg, data.stats, teachers, runs) };
}
