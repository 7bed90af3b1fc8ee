/**
 * The transformer's building blocks, each in one of two implementations picked per call: fused
 * native kernels when the backend is wasm and the native library is loaded (src/ops/native.ts),
 * plain TensorFlow.js ops otherwise (src/ops/composite.ts, every backend). Both compute the same
 * function and gradient (test/ops.test.ts).
 */
import * as tf from "@tensorflow/tfjs";
import { nativeActive } from "../kernels/native";
import * as composite from "./composite";
import * as native from "./native";

export { ONE_HOT_MAX_VOCAB } from "./composite";

/** table[ids]: [rows, d] x [n] int32 -> [n, d]; gradient a scatter-add into the table. */
export function embeddingLookup(table: tf.Tensor2D, ids: tf.Tensor1D): tf.Tensor2D {
  return (nativeActive() ? native : composite).embeddingLookup(table, ids);
}

/** Sum over the rows: [n, d] -> [d]. */
export function columnSum(x: tf.Tensor): tf.Tensor1D {
  return (nativeActive() ? native : composite).columnSum(x);
}

/** x @ w + b (w [in, out], or [out, in] with transposeW); x [n, in] -> [n, out]. */
export function linear(x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D, transposeW = false): tf.Tensor2D {
  return composite.linear(x, w, b, transposeW, columnSum);
}

/** LayerNorm over the last axis of [n, d]; gamma/beta null = parameter-free (no gradient). */
export function layerNorm(x: tf.Tensor2D, gamma: tf.Tensor1D | null, beta: tf.Tensor1D | null, eps: number): tf.Tensor2D {
  return (nativeActive() ? native : composite).layerNorm(x, gamma, beta, eps);
}

/** GELU, tanh form (GPT-2; PyTorch `GELU(approximate="tanh")`). */
export function geluTanh(x: tf.Tensor): tf.Tensor {
  return (nativeActive() ? native : composite).geluTanh(x);
}

/**
 * Multi-head scaled dot-product attention on projected q, k, v [batch*seq, dModel] -> [batch*seq, dModel].
 * padMask [batch, seq] (1 = real key) or null. A `dropProbs` (attention dropout) takes the composite path.
 */
export function attention(
  q: tf.Tensor2D, k: tf.Tensor2D, v: tf.Tensor2D, batch: number, seq: number, nHeads: number,
  padMask: tf.Tensor2D | null = null, dropProbs?: (p: tf.Tensor) => tf.Tensor,
): tf.Tensor2D {
  if (nativeActive() && dropProbs === undefined) return native.attention(q, k, v, batch, seq, nHeads, padMask);
  return composite.attention(q, k, v, batch, seq, nHeads, padMask, dropProbs);
}

/** Per-row soft cross-entropy of [rows, C] logits against [rows, C] target distributions -> [rows]. */
export function softCrossEntropyRows(logits: tf.Tensor2D, target: tf.Tensor2D): tf.Tensor1D {
  return (nativeActive() ? native : composite).softCrossEntropyRows(logits, target);
}
