/**
 * CdLayerNorm / CdLayerNormGrad / CdColumnSum in WGSL, the native kernels' contract:
 *   forward  x [n, d], gamma, beta (optional) -> y, rstd [n] (+ xhat when gamma is given);
 *            xhat = (x - mean) rstd, rstd = 1 / sqrt(var + eps) (biased variance), y = xhat gamma + beta
 *   backward dy, xhat, rstd, gamma (optional) -> dx (+ dgamma, dbeta);
 *            dx = rstd (gy - mean(gy) - xhat mean(gy xhat)), gy = dy gamma
 * One thread per row (d is the model width: 16-128 here), one per column for the column sums.
 */
import { Gpu, ShaderSpec, dispatch, groups, num, output } from "./dispatch";
import type { WgslKernel } from "./types";

const WG = 64;

function forwardSpec(n: number, d: number, eps: number, affine: boolean): ShaderSpec {
  return {
    name: "CdLayerNorm",
    inputs: affine ? [["x", "f32"], ["gamma", "f32"], ["beta", "f32"]] : [["x", "f32"]],
    outputs: affine ? [["y", "f32"], ["rstd", "f32"], ["xhat", "f32"]] : [["y", "f32"], ["rstd", "f32"]],
    params: [["n", "u32", n], ["d", "u32", d], ["eps", "f32", eps]],
    workgroup: WG,
    body: `
  if (idx >= u.n) { return; }
  let o = idx * u.d;
  var mean = 0.0;
  for (var j = 0u; j < u.d; j++) { mean += x[o + j]; }
  mean = mean / f32(u.d);
  var v = 0.0;
  for (var j = 0u; j < u.d; j++) { let c = x[o + j] - mean; v += c * c; }
  let rs = 1.0 / sqrt(v / f32(u.d) + u.eps);
  rstd[idx] = rs;
  for (var j = 0u; j < u.d; j++) {
    let h = (x[o + j] - mean) * rs;
    ${affine ? "xhat[o + j] = h;\n    y[o + j] = h * gamma[j] + beta[j];" : "y[o + j] = h;"}
  }`,
  };
}

function dxSpec(n: number, d: number, affine: boolean): ShaderSpec {
  const gy = affine ? "dy[o + j] * gamma[j]" : "dy[o + j]";
  return {
    name: "CdLayerNormGrad.dx",
    inputs: affine ? [["dy", "f32"], ["xhat", "f32"], ["rstd", "f32"], ["gamma", "f32"]] : [["dy", "f32"], ["xhat", "f32"], ["rstd", "f32"]],
    outputs: [["dx", "f32"]],
    params: [["n", "u32", n], ["d", "u32", d]],
    workgroup: WG,
    body: `
  if (idx >= u.n) { return; }
  let o = idx * u.d;
  var s1 = 0.0;
  var s2 = 0.0;
  for (var j = 0u; j < u.d; j++) { let g = ${gy}; s1 += g; s2 += g * xhat[o + j]; }
  s1 = s1 / f32(u.d);
  s2 = s2 / f32(u.d);
  let rs = rstd[idx];
  for (var j = 0u; j < u.d; j++) { dx[o + j] = rs * (${gy} - s1 - xhat[o + j] * s2); }`,
  };
}

/** dgamma = sum_rows dy xhat, dbeta = sum_rows dy: one thread per column. */
function paramGradSpec(n: number, d: number): ShaderSpec {
  return {
    name: "CdLayerNormGrad.dgamma",
    inputs: [["dy", "f32"], ["xhat", "f32"]],
    outputs: [["dg", "f32"], ["db", "f32"]],
    params: [["n", "u32", n], ["d", "u32", d]],
    workgroup: WG,
    body: `
  if (idx >= u.d) { return; }
  var g = 0.0;
  var b = 0.0;
  for (var i = 0u; i < u.n; i++) { let t = dy[i * u.d + idx]; g += t * xhat[i * u.d + idx]; b += t; }
  dg[idx] = g;
  db[idx] = b;`,
  };
}

export function columnSumSpec(n: number, d: number): ShaderSpec {
  return {
    name: "CdColumnSum",
    inputs: [["x", "f32"]],
    outputs: [["out", "f32"]],
    params: [["n", "u32", n], ["d", "u32", d]],
    workgroup: WG,
    body: `
  if (idx >= u.d) { return; }
  var s = 0.0;
  for (var i = 0u; i < u.n; i++) { s += x[i * u.d + idx]; }
  out[idx] = s;`,
  };
}

export const layerNormKernels: Record<string, WgslKernel> = {
  CdLayerNorm: (gpu: Gpu, { x, gamma, beta }, attrs) => {
    const [n, d] = x!.shape;
    const affine = gamma !== undefined && beta !== undefined;
    const outs = [output(gpu, [n, d]), output(gpu, [n]), ...(affine ? [output(gpu, [n, d])] : [])];
    dispatch(gpu, forwardSpec(n, d, num(attrs, "eps"), affine), affine ? [x!, gamma!, beta!] : [x!], outs, groups(n, WG));
    return outs;
  },
  CdLayerNormGrad: (gpu: Gpu, { dy, xhat, rstd, gamma }) => {
    const [n, d] = dy!.shape;
    const dx = output(gpu, [n, d]);
    dispatch(gpu, dxSpec(n, d, gamma !== undefined), gamma ? [dy!, xhat!, rstd!, gamma] : [dy!, xhat!, rstd!], [dx], groups(n, WG));
    if (!gamma) return [dx];
    const dg = output(gpu, [d]);
    const db = output(gpu, [d]);
    dispatch(gpu, paramGradSpec(n, d), [dy!, xhat!], [dg, db], groups(d, WG));
    return [dx, dg, db];
  },
  CdColumnSum: (gpu: Gpu, { x }) => {
    const [n, d] = x!.shape;
    const out = output(gpu, [d]);
    dispatch(gpu, columnSumSpec(n, d), [x!], [out], groups(d, WG));
    return [out];
  },
};
