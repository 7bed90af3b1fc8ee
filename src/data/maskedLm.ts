/**
 * Masked-language-model batches from token-id documents (BERT-style). Knows token ids, not models.
 *
 * Sequences: [CLS] followed by seqLen - 1 consecutive tokens of one document (sequences never cross a
 * document boundary); a short tail is padded with [PAD].
 *  - `packSequences`: each document cut into consecutive, non-overlapping chunks (the validation set).
 *  - `MlmSampler`: the online training sampler; each sequence is a window of seqLen - 1 tokens starting
 *    at a uniformly random position among all valid window starts of all training documents (a
 *    document shorter than a window contributes one start, padded).
 *
 * Masking: every position whose id is not special ([PAD] [UNK] [MASK] [CLS]) is chosen independently with
 * probability `maskProb` (0.15); a chosen position becomes [MASK] with probability `maskTokenProb` (0.8),
 * a uniformly random non-special id in [4, vocabSize) with probability `randomTokenProb` (0.1), and is
 * left unchanged otherwise (0.1). [UNK] positions are never chosen (predicting [UNK] would reward the
 * most frequent "word"). All draws come from the `Rng` passed in.
 *
 * A batch holds plain typed arrays, row-major [batch, seqLen]:
 *  - `inputIds`   the corrupted input;
 *  - `labels`     the original id at chosen positions, -100 elsewhere (PyTorch convention);
 *  - `targets`    the original id at every position (safe for one-hot / sparse cross-entropy);
 *  - `maskWeights` 1 at chosen positions, 0 elsewhere (weight the per-position loss by it and divide by
 *    `numMasked`).
 */
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../rng";
import { CLS_ID, MASK_ID, NUM_SPECIAL } from "./tokenizer";

export const IGNORE_INDEX = -100;

export interface MlmConfig {
  /** Sequence length including [CLS]. */
  seqLen: number;
  batchSize: number;
  /** Vocabulary size (specials included): random replacements are drawn from [4, vocabSize). */
  vocabSize: number;
  /** Probability that a non-special position is chosen. Default 0.15. */
  maskProb?: number;
  /** Of the chosen: probability of [MASK]. Default 0.8. */
  maskTokenProb?: number;
  /** Of the chosen: probability of a random non-special token. Default 0.1 (the rest stay unchanged). */
  randomTokenProb?: number;
}

export interface MlmBatch {
  batchSize: number;
  seqLen: number;
  inputIds: Int32Array;
  labels: Int32Array;
  targets: Int32Array;
  maskWeights: Float32Array;
  /** Number of chosen positions (sum of maskWeights). */
  numMasked: number;
}

type Resolved = Required<MlmConfig>;

function resolve(cfg: MlmConfig): Resolved {
  const r: Resolved = {
    seqLen: cfg.seqLen,
    batchSize: cfg.batchSize,
    vocabSize: cfg.vocabSize,
    maskProb: cfg.maskProb ?? 0.15,
    maskTokenProb: cfg.maskTokenProb ?? 0.8,
    randomTokenProb: cfg.randomTokenProb ?? 0.1,
  };
  if (!Number.isInteger(r.seqLen) || r.seqLen < 2) throw new Error(`maskedLm: seqLen must be an integer >= 2, got ${r.seqLen}`);
  if (!Number.isInteger(r.batchSize) || r.batchSize < 1) throw new Error(`maskedLm: batchSize must be a positive integer, got ${r.batchSize}`);
  if (!Number.isInteger(r.vocabSize) || r.vocabSize <= NUM_SPECIAL) {
    throw new Error(`maskedLm: vocabSize must be an integer > ${NUM_SPECIAL}, got ${r.vocabSize}`);
  }
  for (const k of ["maskProb", "maskTokenProb", "randomTokenProb"] as const) {
    if (!(r[k] >= 0 && r[k] <= 1)) throw new Error(`maskedLm: ${k} must be in [0, 1], got ${r[k]}`);
  }
  if (r.maskTokenProb + r.randomTokenProb > 1 + 1e-12) {
    throw new Error(`maskedLm: maskTokenProb + randomTokenProb must be <= 1, got ${r.maskTokenProb + r.randomTokenProb}`);
  }
  return r;
}

/** Cut each document into [CLS] + (seqLen - 1)-token sequences, consecutive and non-overlapping; pad the tail. */
export function packSequences(docs: readonly ArrayLike<number>[], seqLen: number): Int32Array[] {
  if (!Number.isInteger(seqLen) || seqLen < 2) throw new Error(`packSequences: seqLen must be an integer >= 2, got ${seqLen}`);
  const body = seqLen - 1;
  const out: Int32Array[] = [];
  for (const d of docs) {
    for (let start = 0; start < d.length; start += body) {
      const s = new Int32Array(seqLen); // zero-filled = [PAD]
      s[0] = CLS_ID;
      const end = Math.min(d.length, start + body);
      for (let i = start; i < end; i++) s[1 + i - start] = d[i];
      out.push(s);
    }
  }
  return out;
}

/**
 * Apply BERT masking to `rows` (each of length seqLen) and return a batch. Draws from `rng` only.
 */
export function maskBatch(rows: readonly ArrayLike<number>[], config: MlmConfig, rng: Rng): MlmBatch {
  const cfg = resolve({ ...config, batchSize: Math.max(1, rows.length) });
  const { seqLen, vocabSize, maskProb, maskTokenProb, randomTokenProb } = cfg;
  const n = rows.length * seqLen;
  const inputIds = new Int32Array(n);
  const labels = new Int32Array(n).fill(IGNORE_INDEX);
  const targets = new Int32Array(n);
  const maskWeights = new Float32Array(n);
  let numMasked = 0;
  rows.forEach((row, b) => {
    if (row.length !== seqLen) throw new Error(`maskBatch: row ${b} has length ${row.length}, expected ${seqLen}`);
    for (let t = 0; t < seqLen; t++) {
      const k = b * seqLen + t;
      const id = row[t];
      if (!Number.isInteger(id) || id < 0 || id >= vocabSize) throw new Error(`maskBatch: id ${id} out of range [0, ${vocabSize})`);
      inputIds[k] = id;
      targets[k] = id;
      if (id < NUM_SPECIAL) continue;
      if (rng.next() >= maskProb) continue;
      labels[k] = id;
      maskWeights[k] = 1;
      numMasked++;
      const u = rng.next();
      if (u < maskTokenProb) inputIds[k] = MASK_ID;
      else if (u < maskTokenProb + randomTokenProb) inputIds[k] = NUM_SPECIAL + rng.int(vocabSize - NUM_SPECIAL);
      // else unchanged
    }
  });
  return { batchSize: rows.length, seqLen, inputIds, labels, targets, maskWeights, numMasked };
}

/** Online sampler of training batches: random windows of the training documents, freshly masked each step. */
export class MlmSampler {
  private readonly cfg: Resolved;
  private readonly docs: readonly ArrayLike<number>[];
  /** cumStarts[i] = number of window starts in documents 0..i-1. */
  private readonly cumStarts: Float64Array;
  private readonly totalStarts: number;

  constructor(
    trainDocs: readonly ArrayLike<number>[],
    config: MlmConfig,
    private readonly rng: Rng,
  ) {
    this.cfg = resolve(config);
    this.docs = trainDocs.filter((d) => d.length > 0);
    if (this.docs.length === 0) throw new Error("MlmSampler: no non-empty training documents");
    const body = this.cfg.seqLen - 1;
    this.cumStarts = new Float64Array(this.docs.length + 1);
    this.docs.forEach((d, i) => (this.cumStarts[i + 1] = this.cumStarts[i] + Math.max(1, d.length - body + 1)));
    this.totalStarts = this.cumStarts[this.docs.length];
  }

  get config(): Readonly<Resolved> {
    return this.cfg;
  }

  /** One unmasked sequence: [CLS] + a random window, padded. */
  sampleSequence(): Int32Array {
    const { seqLen } = this.cfg;
    const pos = this.rng.int(this.totalStarts);
    // binary search: largest i with cumStarts[i] <= pos
    let lo = 0;
    let hi = this.docs.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.cumStarts[mid] <= pos) lo = mid;
      else hi = mid - 1;
    }
    const d = this.docs[lo];
    const start = pos - this.cumStarts[lo];
    const s = new Int32Array(seqLen);
    s[0] = CLS_ID;
    const end = Math.min(d.length, start + seqLen - 1);
    for (let i = start; i < end; i++) s[1 + i - start] = d[i];
    return s;
  }

  /** The next training batch. */
  nextBatch(): MlmBatch {
    const rows = Array.from({ length: this.cfg.batchSize }, () => this.sampleSequence());
    return maskBatch(rows, this.cfg, this.rng);
  }
}

export interface ValidationOptions {
  /** Keep at most this many batches: a seeded subset of the packed sequences (in document order). Default: all. */
  maxBatches?: number;
  /** Drop a last, smaller batch. Default false. */
  dropLast?: boolean;
}

/**
 * A fixed validation set: the validation documents packed into sequences, masked once with `rng`
 * (same rng seed, same batches). The last batch may be smaller unless `dropLast`.
 */
export function validationBatches(
  validDocs: readonly ArrayLike<number>[],
  config: MlmConfig,
  rng: Rng,
  opts: ValidationOptions = {},
): MlmBatch[] {
  const cfg = resolve(config);
  let seqs = packSequences(validDocs, cfg.seqLen);
  if (opts.maxBatches !== undefined) {
    const keep = Math.min(seqs.length, opts.maxBatches * cfg.batchSize);
    seqs = rng
      .derive("subset")
      .subset(seqs.length, keep)
      .map((i) => seqs[i]);
  }
  const maskRng = rng.derive("mask");
  const out: MlmBatch[] = [];
  for (let i = 0; i < seqs.length; i += cfg.batchSize) {
    const rows = seqs.slice(i, i + cfg.batchSize);
    if (opts.dropLast && rows.length < cfg.batchSize) break;
    out.push(maskBatch(rows, cfg, maskRng));
  }
  return out;
}

export interface MlmTensors {
  /** int32 [batch, seqLen] */
  inputIds: tf.Tensor2D;
  /** int32 [batch, seqLen], original ids everywhere */
  targets: tf.Tensor2D;
  /** float32 [batch, seqLen], 1 at chosen positions */
  maskWeights: tf.Tensor2D;
}

/** Tensors for a batch (caller disposes). */
export function toTensors(batch: MlmBatch): MlmTensors {
  const shape: [number, number] = [batch.batchSize, batch.seqLen];
  return {
    inputIds: tf.tensor2d(batch.inputIds, shape, "int32"),
    targets: tf.tensor2d(batch.targets, shape, "int32"),
    maskWeights: tf.tensor2d(batch.maskWeights, shape, "float32"),
  };
}
