/**
 * Sparse parity: x uniform on {-1,+1}^n, label from the parity of the k coordinates in the support.
 *
 * Label convention (the predecessor's): class 0 when prod_{i in S} x_i = +1, class 1 when it is -1.
 * Data are drawn in JS from a seeded stream (32 bits per generator call), so the stream is the same
 * on every backend.
 */
import { Rng } from "../rng";

export interface ParityTask {
  /** Number of input bits. */
  readonly n: number;
  /** Support size. */
  readonly k: number;
  /** Support indices (sorted). */
  readonly support: readonly number[];
}

/** The task: support is the first k coordinates, or a seeded random subset when `rng` is given. */
export function parityTask(n: number, k: number, rng?: Rng): ParityTask {
  if (!Number.isInteger(n) || n < 1) throw new Error(`parityTask: n must be a positive integer, got ${n}`);
  if (!Number.isInteger(k) || k < 1 || k > n) throw new Error(`parityTask: k must be in [1, n=${n}], got ${k}`);
  const support = rng ? rng.subset(n, k) : Array.from({ length: k }, (_, i) => i);
  return { n, k, support };
}

export interface ParityBatch {
  /** [batch * n] row-major, entries +-1. */
  x: Float32Array;
  /** [batch] class ids (0 or 1). */
  y: Int32Array;
  batch: number;
}

/** Class of one row: 0 when the product over the support is +1, 1 when it is -1. */
export function parityLabel(x: ArrayLike<number>, offset: number, support: readonly number[]): number {
  let neg = 0;
  for (const i of support) if (x[offset + i] < 0) neg ^= 1;
  return neg;
}

/** Draw `batch` fresh samples. Writes into `into` when given (no allocation in the hot loop). */
export function sampleParity(task: ParityTask, rng: Rng, batch: number, into?: ParityBatch): ParityBatch {
  const { n, support } = task;
  const out = into ?? { x: new Float32Array(batch * n), y: new Int32Array(batch), batch };
  if (out.x.length !== batch * n) throw new Error(`sampleParity: buffer holds ${out.x.length / n} rows, asked ${batch}`);
  const x = out.x;
  let bits = 0;
  let left = 0;
  for (let j = 0; j < batch * n; j++) {
    if (left === 0) {
      bits = rng.uint32();
      left = 32;
    }
    x[j] = bits & 1 ? -1 : 1;
    bits >>>= 1;
    left--;
  }
  for (let r = 0; r < batch; r++) out.y[r] = parityLabel(x, r * n, support);
  return out;
}

/** Bits as tokens for transformers: +1 -> 0, -1 -> 1. */
export function bitsToTokens(x: Float32Array): Int32Array {
  const t = new Int32Array(x.length);
  for (let i = 0; i < x.length; i++) t[i] = x[i] < 0 ? 1 : 0;
  return t;
}
