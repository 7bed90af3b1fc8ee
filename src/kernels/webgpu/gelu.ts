/**
 * CdGelu / CdGeluGrad in WGSL (tanh form, as src/ops/composite.ts and native/kernels.cc):
 *   y = x sigmoid(2u), u = c (x + 0.044715 x^3), c = sqrt(2/pi)
 *   dx = dy (s + x s (1 - s) 2c (1 + 3 * 0.044715 x^2)), s = sigmoid(2u)
 * One thread per element.
 */
import { Gpu, ShaderSpec, dispatch, groups, output, size } from "./dispatch";
import type { WgslKernel } from "./types";

const WG = 256;
const PRELUDE = `
const GELU_C: f32 = 0.7978845608028654;
const GELU_A: f32 = 0.044715;
fn sig(z: f32) -> f32 { return 1.0 / (1.0 + exp(-z)); }`;

function spec(n: number, grad: boolean): ShaderSpec {
  return {
    name: grad ? "CdGeluGrad" : "CdGelu",
    inputs: grad ? [["x", "f32"], ["dy", "f32"]] : [["x", "f32"]],
    outputs: [["y", "f32"]],
    params: [["n", "u32", n]],
    workgroup: WG,
    prelude: PRELUDE,
    body: `
  if (idx >= u.n) { return; }
  let xi = x[idx];
  let s = sig(2.0 * GELU_C * (xi + GELU_A * xi * xi * xi));
  ${grad ? "y[idx] = dy[idx] * (s + xi * s * (1.0 - s) * 2.0 * GELU_C * (1.0 + 3.0 * GELU_A * xi * xi));" : "y[idx] = xi * s;"}`,
  };
}

export const geluKernels: Record<string, WgslKernel> = {
  CdGelu: (gpu: Gpu, { x }) => {
    const y = output(gpu, x!.shape.slice());
    dispatch(gpu, spec(size(x!.shape), false), [x!], [y], groups(size(x!.shape), WG));
    return [y];
  },
  CdGeluGrad: (gpu: Gpu, { x, dy }) => {
    const dx = output(gpu, x!.shape.slice());
    dispatch(gpu, spec(size(x!.shape), true), [x!, dy!], [dx], groups(size(x!.shape), WG));
    return [dx];
  },
};
