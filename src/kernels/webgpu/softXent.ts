/**
 * CdSoftXent / CdSoftXentGrad in WGSL, the native kernels' contract:
 *   forward  logits, target [rows, C] -> ce [rows] = -sum_c target log_softmax(logits), probs = softmax(logits)
 *   backward dce [rows], probs, target -> dlogits = dce (probs sum_c target - target)
 * One workgroup of 64 threads per row (C is up to the vocabulary, 8,000 for the masked LM), with
 * shared-memory reductions for the max, the sums and sum(target).
 */
import { Gpu, ShaderSpec, dispatch, output } from "./dispatch";
import type { WgslKernel } from "./types";

const WG = 64;
/** Reduce `red` (shared, WG wide) with op; every thread reads the result from red[0] afterwards. */
const reduce = (op: string) => `
  workgroupBarrier();
  for (var s = ${WG / 2}u; s > 0u; s = s >> 1u) {
    if (lid.x < s) { red[lid.x] = ${op}; }
    workgroupBarrier();
  }`;

const PRELUDE = `var<workgroup> red: array<f32, ${WG}>;
var<workgroup> red2: array<f32, ${WG}>;`;

function forwardSpec(rows: number, c: number): ShaderSpec {
  return {
    name: "CdSoftXent",
    inputs: [["logits", "f32"], ["tgt", "f32"]],
    outputs: [["ce", "f32"], ["probs", "f32"]],
    params: [["rows", "u32", rows], ["c", "u32", c]],
    workgroup: WG,
    prelude: PRELUDE,
    body: `
  let r = wid.x + wid.y * nwg.x;
  let live = r < u.rows;
  let o = r * u.c;
  var mx = -3.0e38;
  if (live) { for (var j = lid.x; j < u.c; j += ${WG}u) { mx = max(mx, logits[o + j]); } }
  red[lid.x] = mx;
  ${reduce("max(red[lid.x], red[lid.x + s])")}
  mx = red[0];
  workgroupBarrier();
  var sum = 0.0;
  var tz = 0.0;
  var ts = 0.0;
  if (live) {
    for (var j = lid.x; j < u.c; j += ${WG}u) {
      let z = logits[o + j] - mx;
      let p = exp(z);
      probs[o + j] = p;
      sum += p;
      tz += tgt[o + j] * z;
      ts += tgt[o + j];
    }
  }
  red[lid.x] = sum;
  red2[lid.x] = tz;
  workgroupBarrier();
  for (var s = ${WG / 2}u; s > 0u; s = s >> 1u) {
    if (lid.x < s) { red[lid.x] = red[lid.x] + red[lid.x + s]; red2[lid.x] = red2[lid.x] + red2[lid.x + s]; }
    workgroupBarrier();
  }
  let total = red[0];
  let tzAll = red2[0];
  workgroupBarrier();
  red[lid.x] = ts;
  ${reduce("red[lid.x] + red[lid.x + s]")}
  let tsAll = red[0];
  if (!live) { return; }
  let inv = 1.0 / total;
  for (var j = lid.x; j < u.c; j += ${WG}u) { probs[o + j] = probs[o + j] * inv; }
  if (lid.x == 0u) { ce[r] = tsAll * log(total) - tzAll; }`,
  };
}

function backwardSpec(rows: number, c: number): ShaderSpec {
  return {
    name: "CdSoftXentGrad",
    inputs: [["dce", "f32"], ["probs", "f32"], ["tgt", "f32"]],
    outputs: [["dz", "f32"]],
    params: [["rows", "u32", rows], ["c", "u32", c]],
    workgroup: WG,
    prelude: PRELUDE,
    body: `
  let r = wid.x + wid.y * nwg.x;
  let live = r < u.rows;
  let o = r * u.c;
  var ts = 0.0;
  if (live) { for (var j = lid.x; j < u.c; j += ${WG}u) { ts += tgt[o + j]; } }
  red[lid.x] = ts;
  ${reduce("red[lid.x] + red[lid.x + s]")}
  let tsAll = red[0];
  if (!live) { return; }
  let g = dce[r];
  for (var j = lid.x; j < u.c; j += ${WG}u) { dz[o + j] = g * (probs[o + j] * tsAll - tgt[o + j]); }`,
  };
}

export const softXentKernels: Record<string, WgslKernel> = {
  CdSoftXent: (gpu: Gpu, { logits, target }) => {
    const [rows, c] = logits!.shape;
    const ce = output(gpu, [rows]);
    const probs = output(gpu, [rows, c]);
    dispatch(gpu, forwardSpec(rows, c), [logits!, target!], [ce, probs], rows);
    return [ce, probs];
  },
  CdSoftXentGrad: (gpu: Gpu, { dce, probs, target }) => {
    const [rows, c] = probs!.shape;
    const dz = output(gpu, [rows, c]);
    dispatch(gpu, backwardSpec(rows, c), [dce!, probs!, target!], [dz], rows);
    return [dz];
  },
};
