/**
 * The transformer's building blocks, each in one of two implementations picked per call: fused
 * `Cd*` kernels when a kernel layer registers them for the backend in use (src/ops/fused.ts: the
 * native library on wasm, WGSL shaders on webgpu), plain TensorFlow.js ops otherwise
 * (src/ops/composite.ts, every backend). Both compute the same function and gradient
 * (test/ops.test.ts, test/kernels.webgpu.test.ts).
 */
import * as tf from "@tensorflow/tfjs";
import { fusedKernel } from "../kernels";
import * as composite from "./composite";
import * as fused from "./fused";

export { ONE_HOT_MAX_VOCAB } from "./composite";

/** table[ids]: [rows, d] x [n] int32 -> [n, d]; gradient a scatter-add into the table. */
export function embeddingLookup(table: tf.Tensor2D, ids: tf.Tensor1D): tf.Tensor2D {
  return (fusedKernel("CdGather") ? fused : composite).embeddingLookup(table, ids);
}

/** Sum over the rows: [n, d] -> [d]. */
export function columnSum(x: tf.Tensor): tf.Tensor1D {
  return (fusedKernel("CdColumnSum") ? fused : composite).columnSum(x);
}

/** x @ w + b (w [in, out], or [out, in] with transposeW); x [n, in] -> [n, out]. */
export function linear(x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D, transposeW = false): tf.Tensor2D {
  if (fusedKernel("CdLinear")) return fused.linear(x, w, b, transposeW);
  return composite.linear(x, w, b, transposeW, columnSum);
}

/** LayerNorm over the last axis of [n, d]; gamma/beta null = parameter-free (no gradient). */
export function layerNorm(x: tf.Tensor2D, gamma: tf.Tensor1D | null, beta: tf.Tensor1D | null, eps: number): tf.Tensor2D {
  return (fusedKernel("CdLayerNorm") ? fused : composite).layerNorm(x, gamma, beta, eps);
}

/** GELU, tanh form (GPT-2; PyTorch `GELU(approximate="tanh")`). */
export function geluTanh(x: tf.Tensor): tf.Tensor {
  return (fusedKernel("CdGelu") ? fused : composite).geluTanh(x);
}

/**
 * Multi-head scaled dot-product attention on projected q, k, v [batch*seq, dModel] -> [batch*seq, dModel].
 * padMask [batch, seq] (1 = real key) or null. A `dropProbs` (attention dropout) takes the composite path.
 */
export function attention(
  q: tf.Tensor2D, k: tf.Tensor2D, v: tf.Tensor2D, batch: number, seq: number, nHeads: number,
  padMask: tf.Tensor2D | null = null, dropProbs?: (p: tf.Tensor) => tf.Tensor,
): tf.Tensor2D {
  if (dropProbs === undefined && fusedKernel("CdAttention")) return fused.attention(q, k, v, batch, seq, nHeads, padMask);
  return composite.attention(q, k, v, batch, seq, nHeads, padMask, dropProbs);
}

/** Per-row soft cross-entropy of [rows, C] logits against [rows, C] target distributions -> [rows]. */
export function softCrossEntropyRows(logits: tf.Tensor2D, target: tf.Tensor2D): tf.Tensor1D {
  return (fusedKernel("CdSoftXent") ? fused : composite).softCrossEntropyRows(logits, target);
}
