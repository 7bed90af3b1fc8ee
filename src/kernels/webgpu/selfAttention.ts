/**
 * CdSelfAttention / CdSelfAttentionGrad: a transformer block's q, k, v projections and its
 * attention as ONE kernel each way (the engine records one kernel and three saved tensors, instead
 * of three linears and an attention: four custom-gradient scopes, four kernels, seven saved copies).
 *
 *   forward   a [n, d], wq, bq, wk, bk, wv, bv (w [d, d], b [d]), mask [B, T] (optional);
 *             attrs batch, seq, heads, scale -> ctx [n, d], qkv [n, 3d] (q | k | v), probs [B*H, T, T]
 *   backward  dctx, a, qkv, probs, wq, wk, wv -> da, dwq, dbq, dwk, dbk, dwv, dbv
 *
 * q | k | v come from one product with the concatenated weights [d, 3d] (tfjs-webgpu's matmul), the
 * attention runs on that packed layout (attention.ts), and the backward splits the packed weight and
 * bias gradients with one WGSL dispatch each.
 */
import * as tf from "@tensorflow/tfjs";
import { stockKernel } from "../registry";
import { attentionBackward, attentionDims, attentionForward } from "./attention";
import { Gpu, ShaderSpec, dispatch, groups, output, release } from "./dispatch";
import { columnSumSpec } from "./layerNorm";
import type { WgslKernel } from "./types";

type Info = tf.TensorInfo;

function stock(gpu: Gpu, name: string, inputs: object, attrs: object): Info {
  const k = stockKernel(name, "webgpu");
  if (!k) throw new Error(`wgsl kernels: tfjs-backend-webgpu has no ${name} kernel`);
  return k.kernelFunc({ inputs: inputs as tf.NamedTensorInfoMap, attrs: attrs as tf.NamedAttrMap, backend: gpu as never }) as Info;
}

/** x [r, 3c] -> three [r, c] column blocks. */
function split3Spec(r: number, c: number): ShaderSpec {
  return {
    name: "CdSelfAttentionGrad.split",
    inputs: [["x", "f32"]],
    outputs: [["o0", "f32"], ["o1", "f32"], ["o2", "f32"]],
    params: [["r", "u32", r], ["c", "u32", c]],
    workgroup: 256,
    body: `
  if (idx >= u.r * u.c) { return; }
  let i = idx / u.c;
  let o = i * 3u * u.c + idx % u.c;
  o0[idx] = x[o];
  o1[idx] = x[o + u.c];
  o2[idx] = x[o + 2u * u.c];`,
  };
}

function split3(gpu: Gpu, x: Info, shape: number[]): Info[] {
  const [r, c3] = x.shape.length === 1 ? [1, x.shape[0]] : x.shape;
  const outs = [0, 1, 2].map(() => output(gpu, shape));
  dispatch(gpu, split3Spec(r, c3 / 3), [x], outs, groups((r * c3) / 3, 256));
  return outs;
}

/** [wq | wk | wv] [d, 3d] and [bq | bk | bv] [3d]. */
function packed(gpu: Gpu, ws: Info[], bs?: Info[]): Info[] {
  const w = stock(gpu, "Concat", ws, { axis: 1 });
  return bs ? [w, stock(gpu, "Concat", bs, { axis: 0 })] : [w];
}

export const selfAttentionKernels: Record<string, WgslKernel> = {
  CdSelfAttention: (gpu: Gpu, { a, wq, bq, wk, bk, wv, bv, mask }, attrs) => {
    const x = attentionDims(attrs, a!.shape[1]);
    const [w, b] = packed(gpu, [wq!, wk!, wv!], [bq!, bk!, bv!]);
    const qkv = stock(gpu, "_FusedMatMul", { a: a!, b: w, bias: b }, { transposeA: false, transposeB: false, activation: "linear", leakyreluAlpha: 0 }); // [n, 3d]
    release(gpu, w);
    release(gpu, b);
    const [ctx, probs] = attentionForward(gpu, x, "packed", [qkv], mask);
    return [ctx, qkv, probs];
  },
  CdSelfAttentionGrad: (gpu: Gpu, { dctx, a, qkv, probs, wq, wk, wv }, attrs) => {
    const x = attentionDims(attrs, a!.shape[1]);
    const d = x.d;
    const [dqkv] = attentionBackward(gpu, x, "packed", dctx!, [qkv!], probs!); // [n, 3d]
    const [w] = packed(gpu, [wq!, wk!, wv!]);
    const da = stock(gpu, "BatchMatMul", { a: dqkv, b: w }, { transposeA: false, transposeB: true }); // [n, d]
    release(gpu, w);
    const dw = stock(gpu, "BatchMatMul", { a: a!, b: dqkv }, { transposeA: true, transposeB: false }); // [d, 3d]
    const db = output(gpu, [3 * d]);
    dispatch(gpu, columnSumSpec(dqkv.shape[0], 3 * d), [dqkv], [db], groups(3 * d, 64));
    const [dwq, dwk, dwv] = split3(gpu, dw, [d, d]);
    const [dbq, dbk, dbv] = split3(gpu, db, [d]);
    for (const t of [dqkv, dw, db]) release(gpu, t);
    return [da, dwq, dbq, dwk, dbk, dwv, dbv];
  },
};
