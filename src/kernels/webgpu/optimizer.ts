/**
 * CdAdam / CdSgd in WGSL, the native kernels' contract (src/kernels/native.ts):
 *   CdAdam  inputs p<i>, g<i>, m<i>, v<i>; attrs count, lr, beta1, beta2, eps, c1, c2, weightDecay,
 *           clipNorm, decay ("0"/"1" per variable) -> p'<i>, m'<i>, v'<i> ..., norm []
 *   CdSgd   inputs p<i>, g<i>; attrs count, lr -> p'<i>
 *
 * One kernel call updates every variable, in a few dispatches that respect the device's storage
 * buffers per shader stage (8 on SwiftShader, 16 on NVIDIA):
 *   1. sum of squares of each gradient (one workgroup per gradient, limit-1 gradients per dispatch)
 *   2. one thread: the global norm and the clipping scale min(1, clipNorm / (norm + 1e-6))
 *   3. the update, floor((limit-1)/7) variables per dispatch (7 buffers each, plus the scale)
 */
import * as tf from "@tensorflow/tfjs";
import { Gpu, Param, ShaderSpec, dispatch, groups, num, output, release, size, storageLimit } from "./dispatch";
import type { WgslKernel } from "./types";

type Info = tf.TensorInfo;
const WG = 256;

function chunks<T>(xs: readonly T[], k: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += k) out.push(xs.slice(i, i + k));
  return out;
}

/** Sum of squares of k gradients into sq[base + i]: workgroup i reduces gradient i. */
function sumSquaresSpec(sizes: number[], base: number): ShaderSpec {
  const k = sizes.length;
  const loops = sizes.map((_, i) => `if (wid.x == ${i}u) { for (var j = lid.x; j < u.n${i}; j += ${WG}u) { let t = g${i}[j]; s += t * t; } }`).join(" else ");
  return {
    name: "CdAdam.sumSquares",
    inputs: sizes.map((_, i): [string, "f32"] => [`g${i}`, "f32"]),
    outputs: [["sq", "f32"]],
    params: [["base", "u32", base], ...sizes.map((n, i): Param => [`n${i}`, "u32", n])],
    workgroup: WG,
    prelude: `var<workgroup> red: array<f32, ${WG}>;`,
    body: `
  var s = 0.0;
  ${loops}
  red[lid.x] = s;
  workgroupBarrier();
  for (var h = ${WG / 2}u; h > 0u; h = h >> 1u) {
    if (lid.x < h) { red[lid.x] = red[lid.x] + red[lid.x + h]; }
    workgroupBarrier();
  }
  if (lid.x == 0u && wid.x < ${k}u) { sq[u.base + wid.x] = red[0]; }`,
  };
}

function normSpec(count: number, clip: number): ShaderSpec {
  return {
    name: "CdAdam.norm",
    inputs: [["sq", "f32"]],
    outputs: [["norm", "f32"], ["scale", "f32"]],
    params: [["count", "u32", count], ["clip", "f32", clip]],
    workgroup: 1,
    body: `
  var s = 0.0;
  for (var i = 0u; i < u.count; i++) { s += sq[i]; }
  let n = sqrt(s);
  norm[0] = n;
  scale[0] = select(1.0, u.clip / (n + 1e-6), u.clip > 0.0 && n > u.clip);`,
  };
}

interface AdamHyper {
  lr: number;
  b1: number;
  b2: number;
  eps: number;
  ic1: number;
  ic2: number;
}

function adamSpec(sizes: number[], decays: number[], h: AdamHyper): ShaderSpec {
  const vars = sizes.map((_, i) => `
  if (idx < u.n${i}) {
    let g = g${i}[idx] * gs;
    let m = u.b1 * m${i}[idx] + (1.0 - u.b1) * g;
    let v = u.b2 * v${i}[idx] + (1.0 - u.b2) * g * g;
    mo${i}[idx] = m;
    vo${i}[idx] = v;
    let p = p${i}[idx];
    po${i}[idx] = p - u.lr * ((m * u.ic1) / (sqrt(v * u.ic2) + u.eps) + u.wd${i} * p);
  }`);
  return {
    name: "CdAdam.update",
    inputs: [["scale", "f32"], ...sizes.flatMap((_, i): Array<[string, "f32"]> => [[`p${i}`, "f32"], [`g${i}`, "f32"], [`m${i}`, "f32"], [`v${i}`, "f32"]])],
    outputs: sizes.flatMap((_, i): Array<[string, "f32"]> => [[`po${i}`, "f32"], [`mo${i}`, "f32"], [`vo${i}`, "f32"]]),
    params: [
      ["lr", "f32", h.lr], ["b1", "f32", h.b1], ["b2", "f32", h.b2], ["eps", "f32", h.eps], ["ic1", "f32", h.ic1], ["ic2", "f32", h.ic2],
      ...sizes.flatMap((n, i): Param[] => [[`n${i}`, "u32", n], [`wd${i}`, "f32", decays[i]]]),
    ],
    workgroup: WG,
    body: `
  let gs = scale[0];${vars.join("")}`,
  };
}

function sgdSpec(sizes: number[], lr: number): ShaderSpec {
  return {
    name: "CdSgd",
    inputs: sizes.flatMap((_, i): Array<[string, "f32"]> => [[`p${i}`, "f32"], [`g${i}`, "f32"]]),
    outputs: sizes.map((_, i): [string, "f32"] => [`po${i}`, "f32"]),
    params: [["lr", "f32", lr], ...sizes.map((n, i): Param => [`n${i}`, "u32", n])],
    workgroup: WG,
    body: sizes.map((_, i) => `  if (idx < u.n${i}) { po${i}[idx] = p${i}[idx] - u.lr * g${i}[idx]; }`).join("\n"),
  };
}

export const optimizerKernels: Record<string, WgslKernel> = {
  CdAdam: (gpu: Gpu, inputs, attrs) => {
    const count = num(attrs, "count");
    const decay = String(attrs?.decay ?? "");
    const limit = storageLimit(gpu);
    const ids = Array.from({ length: count }, (_, i) => i);
    const at = (k: string, i: number) => inputs[`${k}${i}`]!;
    const n = (i: number) => size(at("p", i).shape);
    // 1-2: the global gradient norm and the clipping scale.
    const sq = output(gpu, [Math.max(1, count)]);
    for (const c of chunks(ids, limit - 1)) {
      dispatch(gpu, sumSquaresSpec(c.map(n), c[0]), c.map((i) => at("g", i)), [sq], c.length);
    }
    const norm = output(gpu, []);
    const scale = output(gpu, [1]);
    dispatch(gpu, normSpec(count, num(attrs, "clipNorm")), [sq], [norm, scale], 1);
    // 3: the update.
    const wd = num(attrs, "weightDecay");
    const h: AdamHyper = { lr: num(attrs, "lr"), b1: num(attrs, "beta1"), b2: num(attrs, "beta2"), eps: num(attrs, "eps"), ic1: 1 / num(attrs, "c1"), ic2: 1 / num(attrs, "c2") };
    const outs: Info[] = [];
    for (const i of ids) {
      const shape = at("p", i).shape.slice();
      outs.push(output(gpu, shape), output(gpu, shape), output(gpu, shape));
    }
    for (const c of chunks(ids, Math.max(1, Math.floor((limit - 1) / 7)))) {
      const ins = [scale, ...c.flatMap((i) => [at("p", i), at("g", i), at("m", i), at("v", i)])];
      const os = c.flatMap((i) => outs.slice(3 * i, 3 * i + 3));
      const sizes = c.map(n);
      dispatch(gpu, adamSpec(sizes, c.map((i) => (decay[i] === "1" ? wd : 0)), h), ins, os, groups(Math.max(...sizes), WG));
    }
    release(gpu, sq);
    release(gpu, scale);
    return [...outs, norm];
  },
  CdSgd: (gpu: Gpu, inputs, attrs) => {
    const count = num(attrs, "count");
    const ids = Array.from({ length: count }, (_, i) => i);
    const outs = ids.map((i) => output(gpu, inputs[`p${i}`]!.shape.slice()));
    for (const c of chunks(ids, Math.max(1, Math.floor(storageLimit(gpu) / 3)))) {
      const sizes = c.map((i) => size(inputs[`p${i}`]!.shape));
      dispatch(gpu, sgdSpec(sizes, num(attrs, "lr")), c.flatMap((i) => [inputs[`p${i}`]!, inputs[`g${i}`]!]), c.map((i) => outs[i]), groups(Math.max(...sizes), WG));
    }
    return outs;
  },
};
