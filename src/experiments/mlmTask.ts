/**
 * Masked-LM batches as a `Task` for the training loop, and the fixed validation set.
 *
 * Masked positions only: the output loss and the metrics need logits at the ~15% masked positions,
 * and the vocabulary head dominates a step. Each batch carries its forward options (`batch.forward`:
 * the masked flat positions and the pad mask), which every phase passes to the student's, the
 * teacher's and a checkpoint's `forward`; so the logits are [P, vocab] and `batch.y` holds the P
 * original ids. Tap phases match the teacher at every (non-pad) position.
 */
import * as tf from "@tensorflow/tfjs";
import { CorpusStats, TextCorpus, corpusStats, loadBrown } from "../data/corpus";
import { MlmBatch, MlmSampler, packSequences, validationBatches } from "../data/maskedLm";
import { samplePcfgCorpus } from "../data/pcfg";
import { MASK_ID, NUM_SPECIAL, WordTokenizer } from "../data/tokenizer";
import { accuracy, oneHotTargets, softCrossEntropy } from "../distill/losses";
import { Batch, disposeBatch } from "../distill/phases";
import { TappedModel } from "../models/types";
import { Rng, RngState, rootRng } from "../rng";
import type { LanguageModelConfig } from "./languageModel";
import { ResumableTask } from "../train/run";

/** Tensors of one MLM batch: x [B, T] ids, y [P] original ids at the masked positions, forward options. */
export function mlmBatchTensors(b: MlmBatch): Batch {
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
  return {
    x: tf.tensor2d(b.inputIds, [b.batchSize, b.seqLen], "int32"),
    y: tf.tensor1d(ys, "int32"),
    size: b.batchSize,
    forward: { logitPositions: tf.tensor1d(pos, "int32"), padMask: tf.tensor2d(pad, [b.batchSize, b.seqLen]) },
  };
}

/** The fixed held-out set: masked-token top-1 accuracy and cross-entropy (nats) over all masked positions. */
export class MlmValidation {
  readonly batches: Batch[];
  constructor(raw: readonly MlmBatch[]) {
    this.batches = raw.filter((b) => b.numMasked > 0).map(mlmBatchTensors);
  }
  async evaluate(model: TappedModel): Promise<{ accuracy: number; loss: number }> {
    let hits = 0;
    let ce = 0;
    let n = 0;
    for (const batch of this.batches) {
      const out = tf.tidy(() => {
        // The same loss and accuracy functions as training (means, weighted by count).
        const logits = model.forward(batch.x, batch.forward).logits; // [P, vocab]
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
  /** The accuracy of always predicting `token` at the masked positions (the unigram baseline's). */
  constantAccuracy(token: number): number {
    let hits = 0;
    let n = 0;
    for (const b of this.batches) {
      const y = b.y.dataSync();
      for (let i = 0; i < y.length; i++) hits += y[i] === token ? 1 : 0;
      n += y.length;
    }
    return hits / Math.max(n, 1);
  }
  dispose(): void {
    for (const b of this.batches) disposeBatch(b);
  }
}

/** The most frequent non-special token of the training split: the unigram baseline's constant guess. */
export function mostFrequentToken(trainIds: readonly Int32Array[], vocabSize: number): number {
  const counts = new Float64Array(vocabSize);
  for (const doc of trainIds) for (let i = 0; i < doc.length; i++) counts[doc[i]]++;
  let best = NUM_SPECIAL;
  for (let t = NUM_SPECIAL; t < vocabSize; t++) if (counts[t] > counts[best]) best = t;
  return best;
}

/** A resumable Task over online MLM batches (the stream's position is its Rng's). */
export class MaskedLmTask implements ResumableTask {
  private sampler: MlmSampler;
  constructor(
    readonly classes: number,
    trainIds: readonly Int32Array[],
    seqLen: number,
    batchSize: number,
    private readonly rng: Rng,
    readonly validation: MlmValidation,
  ) {
    this.sampler = new MlmSampler(trainIds, { seqLen, batchSize, vocabSize: classes }, rng);
  }
  nextBatch(): Batch {
    let b = this.sampler.nextBatch();
    while (b.numMasked === 0) b = this.sampler.nextBatch();
    return mlmBatchTensors(b);
  }
  evaluate(model: TappedModel) {
    return this.validation.evaluate(model);
  }
  position(): RngState {
    return this.rng.state();
  }
  restore(p: unknown): void {
    this.rng.restore(p as RngState);
  }
  /** Nothing of its own to free (batches belong to the loop; the validation set to its creator). */
  dispose(): void {}
}

/** Everything a run's seeds share: corpus, tokenizer, encoded documents, statistics. */
export interface MlmData {
  corpus: TextCorpus;
  tokenizer: WordTokenizer;
  trainIds: Int32Array[];
  validIds: Int32Array[];
  stats: CorpusStats;
}

/** The corpus of a config (the PCFG sample is fixed: it does not depend on the run's seeds). */
export function loadMlmCorpus(cfg: Pick<LanguageModelConfig, "corpus" | "pcfgDocuments" | "pcfgMaxDepth">): TextCorpus {
  if (cfg.corpus === "brown") return loadBrown();
  return samplePcfgCorpus(rootRng(0).derive("pcfg-corpus"), { documents: cfg.pcfgDocuments, maxDepth: cfg.pcfgMaxDepth });
}

const prepared = new Map<string, MlmData>();
export function prepareMlmData(cfg: Readonly<Pick<LanguageModelConfig, "corpus" | "vocabSize" | "pcfgDocuments" | "pcfgMaxDepth">>): MlmData {
  const key = JSON.stringify([cfg.corpus, cfg.vocabSize, cfg.pcfgDocuments, cfg.pcfgMaxDepth]);
  let d = prepared.get(key);
  if (!d) {
    const corpus = loadMlmCorpus(cfg);
    const tokenizer = WordTokenizer.build(corpus.train, cfg.vocabSize);
    d = { corpus, tokenizer, trainIds: tokenizer.encodeDocuments(corpus.train), validIds: tokenizer.encodeDocuments(corpus.valid), stats: corpusStats(corpus, tokenizer) };
    prepared.clear(); // one corpus at a time
    prepared.set(key, d);
  }
  return d;
}

/** The validation set of a seed (fixed per seed). The caller disposes it. */
export function validation(cfg: Readonly<Pick<LanguageModelConfig, "validBatches" | "seqLen" | "batch">>, data: MlmData, seed: number): MlmValidation {
  const opts = cfg.validBatches > 0 ? { maxBatches: cfg.validBatches } : {};
  return new MlmValidation(
    validationBatches(data.validIds, { seqLen: cfg.seqLen, batchSize: cfg.batch, vocabSize: data.tokenizer.vocabSize }, rootRng(seed).derive("valid"), opts),
  );
}

export interface FillInTheBlank {
  /** The sentence with [MASK] at the blanks. */
  text: string;
  answers: string[];
  /** Per model ("teacher", method names): per blank, the top-3 words. */
  predictions: Record<string, string[][]>;
}

/** Validation sentences with `blanks` masked words each, and each model's top-3 guesses. */
export async function fillInTheBlank(
  models: Record<string, TappedModel>,
  tok: WordTokenizer,
  validIds: readonly Int32Array[],
  seqLen: number,
  sentences: number,
  rng: Rng,
  blanks = 2,
): Promise<FillInTheBlank[]> {
  const seqs = packSequences(validIds, seqLen).slice(0, sentences);
  const out: FillInTheBlank[] = [];
  for (const s of seqs) {
    const cand = [...s.keys()].filter((i) => s[i] >= NUM_SPECIAL);
    const at = rng
      .subset(cand.length, Math.min(blanks, cand.length))
      .map((i) => cand[i])
      .sort((a, b) => a - b);
    const input = Int32Array.from(s);
    at.forEach((i) => (input[i] = MASK_ID));
    const batch: Batch = {
      x: tf.tensor2d(input, [1, seqLen], "int32"),
      y: tf.tensor1d(
        at.map((i) => s[i]),
        "int32",
      ),
      size: 1,
      forward: {
        logitPositions: tf.tensor1d(at, "int32"),
        padMask: tf.tensor2d(
          Float32Array.from(s, (v) => (v === 0 ? 0 : 1)),
          [1, seqLen],
        ),
      },
    };
    const predictions: Record<string, string[][]> = {};
    for (const [name, m] of Object.entries(models)) {
      const idx = tf.tidy(() => tf.topk(m.forward(batch.x, batch.forward).logits, 3).indices);
      const top = (await idx.array()) as number[][];
      idx.dispose();
      predictions[name] = top.map((ids) => ids.map((id) => tok.idToToken(id)));
    }
    disposeBatch(batch);
    out.push({ text: tok.decode(input, { skipPad: true }).slice(1).join(" "), answers: at.map((i) => tok.idToToken(s[i])), predictions });
  }
  return out;
}
