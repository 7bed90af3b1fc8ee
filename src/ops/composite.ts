/**
 * The transformer's building blocks written with plain TensorFlow.js ops: they run on every
 * backend (cpu, wasm, webgpu, tensorflow). src/ops/fused.ts has fused versions of the same
 * functions (native kernels on wasm, WGSL on webgpu); src/ops/index.ts picks one per call, and the tests
 * hold the two equal.
 *
 * Hand-written gradients (tf.customGrad) where autodiff would be slow or missing: the embedding
 * (wasm has no UnsortedSegmentSum for gather's stock gradient), LayerNorm and GELU (fewer kernels).
 */
import * as tf from "@tensorflow/tfjs";

type GradFn = (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor | tf.Tensor[];
/** tf.customGrad with typed positional inputs: `f([a, b], save)`. */
export function custom(f: (inputs: tf.Tensor[], save: tf.GradSaveFunc) => { value: tf.Tensor; gradFunc: GradFn }) {
  return tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const save = args[args.length - 1] as tf.GradSaveFunc;
    return f(args.slice(0, -1) as tf.Tensor[], save);
  });
}

/** Vocabularies up to this size embed by a one-hot product (wasm's Gather is slow: ~50 ns per element). */
export const ONE_HOT_MAX_VOCAB = 64;

/**
 * table[ids]: [n] int32 -> [n, d]. Gather (or a one-hot product for small tables) forward; the gradient
 * is a scatter-add (wasm has no UnsortedSegmentSum, which gather's stock gradient needs).
 */
export function embeddingLookup(table: tf.Tensor2D, ids: tf.Tensor1D): tf.Tensor2D {
  const rows = table.shape[0];
  const f = custom(([t], save) => {
    if (rows <= ONE_HOT_MAX_VOCAB) {
      // int32 then cast: wasm's OneHot ignores a float32 dtype and writes int bits (reads as ~0).
      const oh = tf.cast(tf.oneHot(ids, rows), "float32"); // [n, rows]
      save([oh]);
      return { value: tf.matMul(oh, t as tf.Tensor2D), gradFunc: (dy, saved) => tf.matMul(saved[0] as tf.Tensor2D, dy as tf.Tensor2D, true, false) };
    }
    save([ids]); // not an input (ids get no gradient), but kept for the backward pass
    return { value: tf.gather(t, ids), gradFunc: (dy, [i]) => tf.scatterND(i.reshape([-1, 1]), dy, t.shape) };
  });
  return f(table) as tf.Tensor2D;
}

/** Sum over the rows of a 2-D [n, d] tensor -> [d], as ones[1, n] @ dy (3-6x faster than Sum over axis 0 on wasm). */
export function columnSum(dy: tf.Tensor): tf.Tensor1D {
  const [n, d] = dy.shape as [number, number];
  return tf.matMul(tf.ones([1, n]), dy as tf.Tensor2D).reshape([d]) as tf.Tensor1D;
}

/**
 * x @ w + b for x [n, in], w [in, out] (or [out, in] with `transposeW`, e.g. a tied embedding), b [out];
 * one fused product forward, the bias gradient by `sum`.
 */
export function linear(x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D, transposeW = false, sum: (dy: tf.Tensor) => tf.Tensor1D = columnSum): tf.Tensor2D {
  const f = custom(([xi, wi, bi], save) => {
    save([xi, wi]);
    return {
      value: tf.fused.matMul({ a: xi as tf.Tensor2D, b: wi as tf.Tensor2D, transposeB: transposeW, bias: bi }),
      gradFunc: (dy, saved) => {
        const [xs, ws] = saved as [tf.Tensor2D, tf.Tensor2D];
        const g = dy as tf.Tensor2D;
        const dx = tf.matMul(g, ws, false, !transposeW);
        const dw = transposeW ? tf.matMul(g, xs, true, false) : tf.matMul(xs, g, true, false);
        return [dx, dw, sum(g)];
      },
    };
  });
  return f(x, w, b) as tf.Tensor2D;
}

/**
 * LayerNorm over the last axis of a 2-D [n, d] input, with a closed-form gradient. `gamma` and
 * `beta` null: parameter-free (no gradient; used for normalised distillation targets).
 */
export function layerNorm(x: tf.Tensor2D, gamma: tf.Tensor1D | null, beta: tf.Tensor1D | null, eps: number): tf.Tensor2D {
  if (gamma === null || beta === null) {
    return tf.tidy(() => {
      const { mean, variance } = tf.moments(x, -1, true);
      return tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps))) as tf.Tensor2D;
    });
  }
  const f = custom(([xi, g, b], save) => {
    const xc = tf.sub(xi, tf.mean(xi, -1, true));
    const rstd = tf.rsqrt(tf.add(tf.mean(tf.square(xc), -1, true), eps)); // [n, 1]
    const xhat = tf.mul(xc, rstd);
    save([xhat, rstd, g]);
    return {
      value: tf.add(tf.mul(xhat, g), b),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xh, rs, gm] = saved;
        const gy = tf.mul(dy, gm);
        // dx = rstd * (gy - mean(gy) - xhat * mean(gy * xhat))
        const dx = tf.mul(rs, tf.sub(tf.sub(gy, tf.mean(gy, -1, true)), tf.mul(xh, tf.mean(tf.mul(gy, xh), -1, true))));
        return [dx, columnSum(tf.mul(dy, xh)), columnSum(dy)];
      },
    };
  });
  return f(x, gamma, beta) as tf.Tensor2D;
}

const GELU_C = Math.sqrt(2 / Math.PI);

/**
 * GELU, tanh approximation: 0.5 x (1 + tanh(u)) = x sigmoid(2u), u = c (x + 0.044715 x^3), c = sqrt(2/pi).
 * Written with sigmoid (wasm's tanh is ~7x slower) and a closed-form gradient:
 * d/dx = s + 2 x s (1 - s) c (1 + 3 * 0.044715 x^2), s = sigmoid(2u).
 */
export function geluTanh(x: tf.Tensor): tf.Tensor {
  const f = custom(([xi], save) => {
    const x2 = tf.square(xi);
    const s = tf.sigmoid(tf.mul(xi, tf.add(tf.mul(x2, 2 * 0.044715 * GELU_C), 2 * GELU_C)));
    save([xi, s]);
    return {
      value: tf.mul(xi, s),
      gradFunc: (dy, saved) => {
        const [xs, ss] = saved;
        const du = tf.add(tf.mul(tf.square(xs), 2 * 3 * 0.044715 * GELU_C), 2 * GELU_C); // d(2u)/dx
        const d = tf.add(ss, tf.mul(tf.mul(xs, tf.mul(ss, tf.sub(1, ss))), du));
        return tf.mul(dy, d);
      },
    };
  });
  return f(x);
}

/**
 * Scaled dot-product attention over already-projected q, k, v, each [batch*seq, dModel] (heads are
 * contiguous slices of dModel). `padMask` is [batch, seq] floats (1 = real key, 0 = [PAD]) or null;
 * [PAD] keys get a -1e9 bias. Heads are folded into the batch: two products of [batch*heads, seq, dHead].
 * Returns [batch*seq, dModel].
 */
export function attention(
  q: tf.Tensor2D, k: tf.Tensor2D, v: tf.Tensor2D,
  batch: number, seq: number, nHeads: number,
  padMask: tf.Tensor2D | null = null,
  dropProbs: (p: tf.Tensor) => tf.Tensor = (p) => p,
): tf.Tensor2D {
  const d = q.shape[1];
  const dh = d / nHeads;
  const bh = batch * nHeads;
  const split = (t: tf.Tensor) => (nHeads === 1 ? t.reshape([bh, seq, dh]) : tf.transpose(t.reshape([batch, seq, nHeads, dh]), [0, 2, 1, 3]).reshape([bh, seq, dh]));
  const qh = split(tf.mul(q, 1 / Math.sqrt(dh))) as tf.Tensor3D; // [B*H, T, dh]
  const kh = split(k) as tf.Tensor3D; // [B*H, T, dh]
  const vh = split(v) as tf.Tensor3D; // [B*H, T, dh]
  let scores: tf.Tensor = tf.matMul(qh, kh, false, true); // [B*H, T, T]
  if (padMask) {
    const bias = tf.mul(tf.sub(1, padMask), -1e9).reshape([batch, 1, 1, seq]); // 0 for real keys
    scores = tf.add(scores.reshape([batch, nHeads, seq, seq]), bias).reshape([bh, seq, seq]);
  }
  const probs = dropProbs(tf.softmax(scores)) as tf.Tensor3D;
  const ctx = tf.matMul(probs, vh); // [B*H, T, dh]
  const merged = nHeads === 1 ? ctx : tf.transpose(ctx.reshape([batch, nHeads, seq, dh]), [0, 2, 1, 3]);
  return merged.reshape([batch * seq, d]) as tf.Tensor2D;
}

/** Soft cross-entropy per row: -sum_c target[r, c] * log_softmax(logits[r])[c], for [rows, C] -> [rows]. */
export function softCrossEntropyRows(logits: tf.Tensor2D, target: tf.Tensor2D): tf.Tensor1D {
  return tf.neg(tf.sum(tf.mul(target, tf.logSoftmax(logits)), -1)) as tf.Tensor1D;
}
