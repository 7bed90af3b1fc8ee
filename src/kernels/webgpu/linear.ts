/**
 * CdLinear / CdLinearGrad: y = x @ w + b (w [in, out], or [out, in] with attr transposeW, as a
 * tied embedding) and its three gradients, each as ONE kernel call. The products are tfjs-webgpu's
 * own matmul programs, called as kernel functions inside ours (the engine sees one kernel, not the
 * ~10 that tf.fused.matMul's reshapes, custom gradient and transposed products record); the bias
 * gradient is a WGSL column sum.
 *   CdLinear      x [n, in], w, b [out] -> y [n, out]
 *   CdLinearGrad  dy [n, out], x, w -> dx [n, in], dw (w's shape), db [out]
 */
import * as tf from "@tensorflow/tfjs";
import { stockKernel } from "../registry";
import { Gpu, dispatch, groups, output } from "./dispatch";
import { columnSumSpec } from "./layerNorm";
import type { WgslKernel } from "./types";

function stock(name: string): tf.KernelFunc {
  const k = stockKernel(name, "webgpu");
  if (!k) throw new Error(`wgsl kernels: tfjs-backend-webgpu has no ${name} kernel`);
  return k.kernelFunc;
}

function matMul(gpu: Gpu, a: tf.TensorInfo, b: tf.TensorInfo, transposeA: boolean, transposeB: boolean): tf.TensorInfo {
  return stock("BatchMatMul")({ inputs: { a, b }, attrs: { transposeA, transposeB }, backend: gpu as never }) as tf.TensorInfo;
}

export const linearKernels: Record<string, WgslKernel> = {
  CdLinear: (gpu: Gpu, { x, w, b }, attrs) => {
    const attrsMm = { transposeA: false, transposeB: !!attrs?.transposeW, activation: "linear", leakyreluAlpha: 0 };
    return [stock("_FusedMatMul")({ inputs: { a: x!, b: w!, bias: b! }, attrs: attrsMm, backend: gpu as never }) as tf.TensorInfo];
  },
  CdLinearGrad: (gpu: Gpu, { dy, x, w }, attrs) => {
    const tW = !!attrs?.transposeW;
    const dx = matMul(gpu, dy!, w!, false, !tW); // [n, in]
    const dw = tW ? matMul(gpu, dy!, x!, true, false) : matMul(gpu, x!, dy!, true, false);
    const [n, d] = dy!.shape;
    const db = output(gpu, [d]);
    dispatch(gpu, columnSumSpec(n, d), [dy!], [db], groups(d, 64));
    return [dx, dw, db];
  },
};
