/**
 * CdAttention / CdAttentionGrad in WGSL: the same contract as the native kernels
 * (src/kernels/native.ts): q, k, v, ctx are [B*T, H*dh] with head h in columns h*dh..; mask [B, T]
 * (1 = real key, 0 = [PAD]: a -1e9 bias) is optional; probs [B*H, T, T] is kept for the backward.
 *
 *   forward:  probs = softmax(scale q k^T + mask bias)      one thread per (b, h, query row)
 *             ctx   = probs v                              one thread per ctx element
 *   backward: dS    = P * (dP - rowsum(dP * P)), dP = dctx v^T          one thread per (b, h, row)
 *             dq = scale dS k, dk = scale dS^T q, dv = P^T dctx         one thread per element (3 outputs)
 */
import { Gpu, ShaderSpec, dispatch, groups, num, output, release } from "./dispatch";
import type { WgslKernel } from "./types";

const WG = 64;

function dims(attrs: Parameters<WgslKernel>[2], d: number) {
  const [B, T, H] = [num(attrs, "batch"), num(attrs, "seq"), num(attrs, "heads")];
  return { B, T, H, dh: d / H, d, scale: num(attrs, "scale") };
}

const params = (x: ReturnType<typeof dims>) =>
  [["B", "u32", x.B], ["T", "u32", x.T], ["H", "u32", x.H], ["dh", "u32", x.dh], ["d", "u32", x.d], ["scale", "f32", x.scale]] as ShaderSpec["params"];

/** Row index r = (b*H + h)*T + i -> b, h, i. */
const ROW = `
  let rows = u.B * u.H * u.T;
  if (idx >= rows) { return; }
  let i = idx % u.T;
  let bh = idx / u.T;
  let h = bh % u.H;
  let b = bh / u.H;
  let qo = (b * u.T + i) * u.d + h * u.dh;`;

function probsSpec(x: ReturnType<typeof dims>, masked: boolean): ShaderSpec {
  return {
    name: "CdAttention.probs",
    inputs: masked ? [["q", "f32"], ["k", "f32"], ["mask", "f32"]] : [["q", "f32"], ["k", "f32"]],
    outputs: [["probs", "f32"]],
    params: params(x),
    workgroup: WG,
    body: `${ROW}
  let po = idx * u.T;
  var mx = -3.0e38;
  for (var j = 0u; j < u.T; j++) {
    let ko = (b * u.T + j) * u.d + h * u.dh;
    var s = 0.0;
    for (var e = 0u; e < u.dh; e++) { s += q[qo + e] * k[ko + e]; }
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

function ctxSpec(x: ReturnType<typeof dims>): ShaderSpec {
  return {
    name: "CdAttention.ctx",
    inputs: [["probs", "f32"], ["v", "f32"]],
    outputs: [["ctx", "f32"]],
    params: params(x),
    workgroup: WG,
    body: `
  if (idx >= u.B * u.T * u.d) { return; }
  let c = idx % u.d;
  let row = idx / u.d;
  let i = row % u.T;
  let b = row / u.T;
  let h = c / u.dh;
  let po = ((b * u.H + h) * u.T + i) * u.T;
  var s = 0.0;
  for (var j = 0u; j < u.T; j++) { s += probs[po + j] * v[(b * u.T + j) * u.d + c]; }
  ctx[idx] = s;`,
  };
}

function dsSpec(x: ReturnType<typeof dims>): ShaderSpec {
  return {
    name: "CdAttentionGrad.dS",
    inputs: [["dctx", "f32"], ["v", "f32"], ["probs", "f32"]],
    outputs: [["ds", "f32"]],
    params: params(x),
    workgroup: WG,
    body: `${ROW}
  let po = idx * u.T;
  var dot = 0.0;
  for (var j = 0u; j < u.T; j++) {
    let vo = (b * u.T + j) * u.d + h * u.dh;
    var s = 0.0;
    for (var e = 0u; e < u.dh; e++) { s += dctx[qo + e] * v[vo + e]; }
    ds[po + j] = s;
    dot += s * probs[po + j];
  }
  for (var j = 0u; j < u.T; j++) { ds[po + j] = probs[po + j] * (ds[po + j] - dot); }`,
  };
}

function gradSpec(x: ReturnType<typeof dims>): ShaderSpec {
  return {
    name: "CdAttentionGrad.dqkv",
    inputs: [["dctx", "f32"], ["q", "f32"], ["k", "f32"], ["probs", "f32"], ["ds", "f32"]],
    outputs: [["dq", "f32"], ["dk", "f32"], ["dv", "f32"]],
    params: params(x),
    workgroup: WG,
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
    let o = (b * u.T + j) * u.d + c;
    sq += ds[base + t * u.T + j] * k[o];   // dq[t] = sum_j dS[t, j] k[j]
    sk += ds[base + j * u.T + t] * q[o];   // dk[t] = sum_j dS[j, t] q[j]
    sv += probs[base + j * u.T + t] * dctx[o]; // dv[t] = sum_j P[j, t] dctx[j]
  }
  dq[idx] = u.scale * sq;
  dk[idx] = u.scale * sk;
  dv[idx] = sv;`,
  };
}

export const attentionKernels: Record<string, WgslKernel> = {
  CdAttention: (gpu: Gpu, { q, k, v, mask }, attrs) => {
    const x = dims(attrs, q!.shape[1]);
    const probs = output(gpu, [x.B * x.H, x.T, x.T]);
    const ctx = output(gpu, [x.B * x.T, x.d]);
    dispatch(gpu, probsSpec(x, mask !== undefined), mask ? [q!, k!, mask] : [q!, k!], [probs], groups(x.B * x.H * x.T, WG));
    dispatch(gpu, ctxSpec(x), [probs, v!], [ctx], groups(x.B * x.T * x.d, WG));
    return [ctx, probs];
  },
  CdAttentionGrad: (gpu: Gpu, { dctx, q, k, v, probs }, attrs) => {
    const x = dims(attrs, q!.shape[1]);
    const ds = output(gpu, [x.B * x.H, x.T, x.T]);
    dispatch(gpu, dsSpec(x), [dctx!, v!, probs!], [ds], groups(x.B * x.H * x.T, WG));
    const outs = [0, 1, 2].map(() => output(gpu, [x.B * x.T, x.d]));
    dispatch(gpu, gradSpec(x), [dctx!, q!, k!, probs!, ds], outs, groups(x.B * x.T * x.d, WG));
    release(gpu, ds);
    return outs;
  },
};
