/**
 * CdAttention / CdAttentionGrad in WGSL: the same contract as the native kernels
 * (src/kernels/native.ts): q, k, v, ctx are [B*T, H*dh] with head h in columns h*dh..; mask [B, T]
 * (1 = real key, 0 = [PAD]: a -1e9 bias) is optional; probs [B*H, T, T] is kept for the backward.
 *
 *   forward:  probs = softmax(scale q k^T + mask bias)      one thread per (b, h, query row)
 *             ctx   = probs v                              one thread per ctx element
 *   backward: dS    = P * (dP - rowsum(dP * P)), dP = dctx v^T          one thread per (b, h, row)
 *             dq = scale dS k, dk = scale dS^T q, dv = P^T dctx         one thread per element (3 outputs)
 *
 * The shaders also run on a packed layout, q | k | v side by side in one [B*T, 3*H*dh] buffer (and
 * dq | dk | dv likewise), which CdSelfAttention (selfAttention.ts) produces with one product.
 */
import * as tf from "@tensorflow/tfjs";
import { Gpu, ShaderSpec, dispatch, groups, num, output, release } from "./dispatch";
import type { WgslKernel } from "./types";

const WG = 64;

export interface AttentionDims {
  B: number;
  T: number;
  H: number;
  dh: number;
  d: number;
  scale: number;
}

export function attentionDims(attrs: tf.NamedAttrMap | undefined, d: number): AttentionDims {
  const [B, T, H] = [num(attrs, "batch"), num(attrs, "seq"), num(attrs, "heads")];
  return { B, T, H, dh: d / H, d, scale: num(attrs, "scale") };
}

/** "separate": q, k, v (dq, dk, dv) are three [B*T, d] buffers; "packed": one [B*T, 3d] buffer "qkv" ("dqkv"). */
export type Layout = "separate" | "packed";

const params = (x: AttentionDims) =>
  [["B", "u32", x.B], ["T", "u32", x.T], ["H", "u32", x.H], ["dh", "u32", x.dh], ["d", "u32", x.d], ["scale", "f32", x.scale]] as ShaderSpec["params"];

/** Bindings and accessors Q(row, col), K, V for the layout; col counts from 0 within d. */
function reads(layout: Layout, which: ReadonlyArray<"q" | "k" | "v">): { inputs: Array<[string, "f32"]>; prelude: string } {
  if (layout === "packed") {
    const off = { q: "", k: " + u.d", v: " + 2u * u.d" };
    return {
      inputs: [["qkv", "f32"]],
      prelude: which.map((w) => `fn ${w.toUpperCase()}(r: u32, c: u32) -> f32 { return qkv[r * 3u * u.d + c${off[w]}]; }`).join("\n"),
    };
  }
  return {
    inputs: which.map((w): [string, "f32"] => [w, "f32"]),
    prelude: which.map((w) => `fn ${w.toUpperCase()}(r: u32, c: u32) -> f32 { return ${w}[r * u.d + c]; }`).join("\n"),
  };
}

/** Row index r = (b*H + h)*T + i -> b, h, i; query row qr = b*T + i, head column offset hc. */
const ROW = `
  let rows = u.B * u.H * u.T;
  if (idx >= rows) { return; }
  let i = idx % u.T;
  let bh = idx / u.T;
  let h = bh % u.H;
  let b = bh / u.H;
  let qr = b * u.T + i;
  let hc = h * u.dh;`;

function probsSpec(x: AttentionDims, layout: Layout, masked: boolean): ShaderSpec {
  const r = reads(layout, ["q", "k"]);
  return {
    name: "CdAttention.probs",
    inputs: masked ? [...r.inputs, ["mask", "f32"]] : r.inputs,
    outputs: [["probs", "f32"]],
    params: params(x),
    workgroup: WG,
    prelude: r.prelude,
    body: `${ROW}
  let po = idx * u.T;
  var mx = -3.0e38;
  for (var j = 0u; j < u.T; j++) {
    let kr = b * u.T + j;
    var s = 0.0;
    for (var e = 0u; e < u.dh; e++) { s += Q(qr, hc + e) * K(kr, hc + e); }
    s = s * u.scale${masked ? " + (1.0 - mask[b * u.T + j]) * -1.0e9" : ""};
    probs[po + j] = s;
    mx = max(mx, s);
  }
  var sum = 0.0;
  for (var j = 0u; j < u.T; j++) { let p = exp(probs[po + j] - mx); probs[po + j] = p; sum += p; }
  let inv = 1.0 / sum;
  for (var j = 0u; j < u.T; j++) { probs[po + j] = probs[po + j] * inv; }`,
  };
}

function ctxSpec(x: AttentionDims, layout: Layout): ShaderSpec {
  const r = reads(layout, ["v"]);
  return {
    name: "CdAttention.ctx",
    inputs: [["probs", "f32"], ...r.inputs],
    outputs: [["ctx", "f32"]],
    params: params(x),
    workgroup: WG,
    prelude: r.prelude,
    body: `
  if (idx >= u.B * u.T * u.d) { return; }
  let c = idx % u.d;
  let row = idx / u.d;
  let i = row % u.T;
  let b = row / u.T;
  let h = c / u.dh;
  let po = ((b * u.H + h) * u.T + i) * u.T;
  var s = 0.0;
  for (var j = 0u; j < u.T; j++) { s += probs[po + j] * V(b * u.T + j, c); }
  ctx[idx] = s;`,
  };
}

function dsSpec(x: AttentionDims, layout: Layout): ShaderSpec {
  const r = reads(layout, ["v"]);
  return {
    name: "CdAttentionGrad.dS",
    inputs: [["dctx", "f32"], ...r.inputs, ["probs", "f32"]],
    outputs: [["ds", "f32"]],
    params: params(x),
    workgroup: WG,
    prelude: r.prelude,
    body: `${ROW}
  let po = idx * u.T;
  var dot = 0.0;
  for (var j = 0u; j < u.T; j++) {
    let vr = b * u.T + j;
    var s = 0.0;
    for (var e = 0u; e < u.dh; e++) { s += dctx[qr * u.d + hc + e] * V(vr, hc + e); }
    ds[po + j] = s;
    dot += s * probs[po + j];
  }
  for (var j = 0u; j < u.T; j++) { ds[po + j] = probs[po + j] * (ds[po + j] - dot); }`,
  };
}

function gradSpec(x: AttentionDims, layout: Layout): ShaderSpec {
  const r = reads(layout, ["q", "k"]);
  const packed = layout === "packed";
  return {
    name: "CdAttentionGrad.dqkv",
    inputs: [["dctx", "f32"], ...r.inputs, ["probs", "f32"], ["ds", "f32"]],
    outputs: packed ? [["dqkv", "f32"]] : [["dq", "f32"], ["dk", "f32"], ["dv", "f32"]],
    params: params(x),
    workgroup: WG,
    prelude: r.prelude,
    body: `
  if (idx >= u.B * u.T * u.d) { return; }
  let c = idx % u.d;
  let row = idx / u.d;
  let t = row % u.T;
  let b = row / u.T;
  let h = c / u.dh;
  let base = (b * u.H + h) * u.T * u.T;
  var sq = 0.0;
  var sk = 0.0;
  var sv = 0.0;
  for (var j = 0u; j < u.T; j++) {
    let jr = b * u.T + j;
    sq += ds[base + t * u.T + j] * K(jr, c);          // dq[t] = sum_j dS[t, j] k[j]
    sk += ds[base + j * u.T + t] * Q(jr, c);          // dk[t] = sum_j dS[j, t] q[j]
    sv += probs[base + j * u.T + t] * dctx[jr * u.d + c]; // dv[t] = sum_j P[j, t] dctx[j]
  }
  ${packed ? "let o = row * 3u * u.d + c;\n  dqkv[o] = u.scale * sq;\n  dqkv[o + u.d] = u.scale * sk;\n  dqkv[o + 2u * u.d] = sv;" : "dq[idx] = u.scale * sq;\n  dk[idx] = u.scale * sk;\n  dv[idx] = sv;"}`,
  };
}

/** Forward: ctx [B*T, d] and probs [B*H, T, T] from q, k, v (separate) or qkv (packed). */
export function attentionForward(gpu: Gpu, x: AttentionDims, layout: Layout, qkv: tf.TensorInfo[], mask: tf.TensorInfo | undefined): [tf.TensorInfo, tf.TensorInfo] {
  const probs = output(gpu, [x.B * x.H, x.T, x.T]);
  const ctx = output(gpu, [x.B * x.T, x.d]);
  const [q, k, v] = layout === "packed" ? [qkv[0], qkv[0], qkv[0]] : qkv;
  const qk = layout === "packed" ? [q] : [q, k];
  dispatch(gpu, probsSpec(x, layout, mask !== undefined), mask ? [...qk, mask] : qk, [probs], groups(x.B * x.H * x.T, WG));
  dispatch(gpu, ctxSpec(x, layout), [probs, v], [ctx], groups(x.B * x.T * x.d, WG));
  return [ctx, probs];
}

/** Backward: dq, dk, dv (separate) or one dqkv [B*T, 3d] (packed). */
export function attentionBackward(gpu: Gpu, x: AttentionDims, layout: Layout, dctx: tf.TensorInfo, qkv: tf.TensorInfo[], probs: tf.TensorInfo): tf.TensorInfo[] {
  const [q, k, v] = layout === "packed" ? [qkv[0], qkv[0], qkv[0]] : qkv;
  const ds = output(gpu, [x.B * x.H, x.T, x.T]);
  dispatch(gpu, dsSpec(x, layout), [dctx, v, probs], [ds], groups(x.B * x.H * x.T, WG));
  const outs = layout === "packed" ? [output(gpu, [x.B * x.T, 3 * x.d])] : [0, 1, 2].map(() => output(gpu, [x.B * x.T, x.d]));
  dispatch(gpu, gradSpec(x, layout), [dctx, ...(layout === "packed" ? [q] : [q, k]), probs, ds], outs, groups(x.B * x.T * x.d, WG));
  release(gpu, ds);
  return outs;
}

export const attentionKernels: Record<string, WgslKernel> = {
  CdAttention: (gpu: Gpu, { q, k, v, mask }, attrs) => attentionForward(gpu, attentionDims(attrs, q!.shape[1]), "separate", [q!, k!, v!], mask),
  CdAttentionGrad: (gpu: Gpu, { dctx, q, k, v, probs }, attrs) => attentionBackward(gpu, attentionDims(attrs, q!.shape[1]), "separate", dctx!, [q!, k!, v!], probs!),
};
