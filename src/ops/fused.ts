/**
 * The transformer's building blocks as single fused kernels, each with its hand-derived backward
 * kernel. Backend-neutral: they only call kernels by name (`Cd*`), which a kernel layer registers
 * for the backend in use — the native library on wasm (src/kernels/native.ts), WGSL shaders on
 * webgpu (src/kernels/webgpu/). Same signatures and the same maths as src/ops/composite.ts;
 * test/ops.test.ts and test/kernels.webgpu.test.ts hold them equal, values and gradients.
 *
 * Inputs that never need a gradient (token ids, pad masks, distillation targets) are not inputs of
 * tf.customGrad, so no zero gradient is materialised for them; what the backward pass reads of them
 * is kept with `save` (a tensor made inside the caller's tidy is gone by then otherwise). Variables
 * outlive the step, so the backward pass reads them directly instead of saving a copy.
 */
import * as tf from "@tensorflow/tfjs";
import { custom } from "./composite";

function run(name: string, inputs: tf.NamedTensorMap, attrs: tf.NamedAttrMap = {}): tf.Tensor[] {
  const out = tf.engine().runKernel(name, inputs, attrs);
  return Array.isArray(out) ? out : [out];
}

/** `t` itself when it is a variable (it outlives the backward pass), else null: save a copy. */
function variable(t: tf.Tensor): tf.Tensor | null {
  return t instanceof tf.Variable ? t : null;
}

/** x @ w + b (w [in, out], or [out, in] with transposeW): CdLinear forward, CdLinearGrad backward. */
export function linear(x: tf.Tensor2D, w: tf.Tensor2D, b: tf.Tensor1D, transposeW = false): tf.Tensor2D {
  const attrs = { transposeW };
  const wv = variable(w);
  const f = custom(([xi, wi, bi], save) => {
    save(wv ? [xi] : [xi, wi]);
    return {
      value: run("CdLinear", { x: xi, w: wi, b: bi }, attrs)[0],
      gradFunc: (dy, saved) => run("CdLinearGrad", { dy, x: saved[0], w: wv ?? saved[1] }, attrs),
    };
  });
  return f(x, w, b) as tf.Tensor2D;
}

export function embeddingLookup(table: tf.Tensor2D, ids: tf.Tensor1D): tf.Tensor2D {
  const rows = table.shape[0];
  const f = custom(([t], save) => {
    save([ids]);
    return { value: run("CdGather", { table: t, ids })[0], gradFunc: (dy, [i]) => run("CdScatterAdd", { ids: i, dy }, { rows })[0] };
  });
  return f(table) as tf.Tensor2D;
}

export function columnSum(x: tf.Tensor): tf.Tensor1D {
  const f = custom(([xi]) => ({ value: run("CdColumnSum", { x: xi })[0], gradFunc: (dy) => tf.broadcastTo(dy, xi.shape) }));
  return f(x) as tf.Tensor1D;
}

export function layerNorm(x: tf.Tensor2D, gamma: tf.Tensor1D | null, beta: tf.Tensor1D | null, eps: number): tf.Tensor2D {
  if (gamma === null || beta === null) {
    return tf.tidy(() => run("CdLayerNorm", { x }, { eps })[0] as tf.Tensor2D);
  }
  const gv = variable(gamma);
  const f = custom(([xi, g, b], save) => {
    const [y, rstd, xhat] = run("CdLayerNorm", { x: xi, gamma: g, beta: b }, { eps });
    save(gv ? [xhat, rstd] : [xhat, rstd, g]);
    return {
      value: y,
      gradFunc: (dy, [xh, rs, gm]) => run("CdLayerNormGrad", { dy, xhat: xh, rstd: rs, gamma: gv ?? gm }),
    };
  });
  return f(x, gamma, beta) as tf.Tensor2D;
}

export function geluTanh(x: tf.Tensor): tf.Tensor {
  const f = custom(([xi], save) => {
    save([xi]);
    return { value: run("CdGelu", { x: xi })[0], gradFunc: (dy, [xs]) => run("CdGeluGrad", { x: xs, dy })[0] };
  });
  return f(x);
}

export function attention(q: tf.Tensor2D, k: tf.Tensor2D, v: tf.Tensor2D, batch: number, seq: number, nHeads: number, padMask: tf.Tensor2D | null): tf.Tensor2D {
  const attrs = { batch, seq, heads: nHeads, scale: 1 / Math.sqrt(q.shape[1] / nHeads) };
  const f = custom(([qi, ki, vi], save) => {
    const [ctx, probs] = run("CdAttention", padMask ? { q: qi, k: ki, v: vi, mask: padMask } : { q: qi, k: ki, v: vi }, attrs);
    save([qi, ki, vi, probs]);
    return { value: ctx, gradFunc: (dy, [qs, ks, vs, ps]) => run("CdAttentionGrad", { dctx: dy, q: qs, k: ks, v: vs, probs: ps }, attrs) };
  });
  return f(q, k, v) as tf.Tensor2D;
}

export function softCrossEntropyRows(logits: tf.Tensor2D, target: tf.Tensor2D): tf.Tensor1D {
  const f = custom(([z], save) => {
    const [ce, probs] = run("CdSoftXent", { logits: z, target });
    save([probs, target]);
    return { value: ce, gradFunc: (dce, [p, t]) => run("CdSoftXentGrad", { dce, probs: p, target: t })[0] };
  });
  return f(logits) as tf.Tensor1D;
}

export interface AdamHyper {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  /** Bias corrections 1 - beta^t. */
  c1: number;
  c2: number;
  weightDecay: number;
  /** Scale all gradients by min(1, clipNorm / global norm) first; 0 = off. */
  clipNorm: number;
}

/**
 * One Adam(W) update of every variable in one kernel: new parameters and moments are written to
 * fresh buffers and assigned. `decay[i]`: whether variable i gets weight decay. Returns the global
 * gradient norm (before clipping) as a scalar tensor.
 */
export function adamUpdate(
  vars: readonly tf.Variable[], grads: readonly tf.Tensor[], m: readonly tf.Variable[], v: readonly tf.Variable[],
  decay: readonly boolean[], h: AdamHyper,
): tf.Scalar {
  const inputs: tf.NamedTensorMap = {};
  vars.forEach((p, i) => {
    inputs[`p${i}`] = p;
    inputs[`g${i}`] = grads[i];
    inputs[`m${i}`] = m[i];
    inputs[`v${i}`] = v[i];
  });
  const attrs = { count: vars.length, decay: decay.map((d) => (d ? "1" : "0")).join(""), ...h };
  const out = run("CdAdam", inputs, attrs);
  vars.forEach((p, i) => {
    p.assign(out[3 * i]);
    m[i].assign(out[3 * i + 1]);
    v[i].assign(out[3 * i + 2]);
    for (let j = 0; j < 3; j++) out[3 * i + j].dispose();
  });
  return out[out.length - 1] as tf.Scalar;
}

/** One SGD update of every variable in one kernel (p <- p - lr g), written to fresh buffers and assigned. */
export function sgdUpdate(vars: readonly tf.Variable[], grads: readonly tf.Tensor[], lr: number): void {
  const inputs: tf.NamedTensorMap = {};
  vars.forEach((p, i) => {
    inputs[`p${i}`] = p;
    inputs[`g${i}`] = grads[i];
  });
  const out = run("CdSgd", inputs, { count: vars.length, lr });
  vars.forEach((p, i) => {
    p.assign(out[i]);
    out[i].dispose();
  });
}
