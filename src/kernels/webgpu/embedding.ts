/**
 * CdGather / CdScatterAdd in WGSL, the native kernels' contract:
 *   gather      table [rows, d], ids [n] int32 -> out [n, d] = table[ids]     (ids outside [0, rows): zeros)
 *   scatter-add ids [n], dy [n, d]; attrs rows -> out [rows, d], out[ids[i]] += dy[i]
 * The scatter-add zeroes its output, then adds with a compare-and-swap loop on the float's bits
 * (WGSL has integer atomics only): one thread per element of dy, so repeated ids (the same token
 * many times in a batch) are summed without a sort. Summation order varies between runs, as it
 * does for any atomic float sum on a GPU (differences of a few ulps).
 */
import { Gpu, ShaderSpec, dispatch, groups, num, output } from "./dispatch";
import type { WgslKernel } from "./types";

const WG = 256;

function gatherSpec(n: number, d: number, rows: number): ShaderSpec {
  return {
    name: "CdGather",
    inputs: [["table", "f32"], ["ids", "i32"]],
    outputs: [["out", "f32"]],
    params: [["n", "u32", n], ["d", "u32", d], ["rows", "u32", rows]],
    workgroup: WG,
    body: `
  if (idx >= u.n * u.d) { return; }
  let i = idx / u.d;
  let id = ids[i];
  if (id < 0 || u32(id) >= u.rows) { out[idx] = 0.0; return; }
  out[idx] = table[u32(id) * u.d + idx % u.d];`,
  };
}

function zeroSpec(count: number): ShaderSpec {
  return {
    name: "CdScatterAdd.zero",
    inputs: [],
    outputs: [["out", "f32"]],
    params: [["count", "u32", count]],
    workgroup: WG,
    body: `
  if (idx >= u.count) { return; }
  out[idx] = 0.0;`,
  };
}

function scatterSpec(n: number, d: number, rows: number): ShaderSpec {
  return {
    name: "CdScatterAdd",
    inputs: [["ids", "i32"], ["dy", "f32"]],
    outputs: [["out", "atomic<u32>"]],
    params: [["n", "u32", n], ["d", "u32", d], ["rows", "u32", rows]],
    workgroup: WG,
    body: `
  if (idx >= u.n * u.d) { return; }
  let id = ids[idx / u.d];
  if (id < 0 || u32(id) >= u.rows) { return; }
  let at = u32(id) * u.d + idx % u.d;
  let v = dy[idx];
  var old = atomicLoad(&out[at]);
  loop {
    let r = atomicCompareExchangeWeak(&out[at], old, bitcast<u32>(bitcast<f32>(old) + v));
    if (r.exchanged) { break; }
    old = r.old_value;
  }`,
  };
}

export const embeddingKernels: Record<string, WgslKernel> = {
  CdGather: (gpu: Gpu, { table, ids }) => {
    const [rows, d] = table!.shape;
    const n = ids!.shape[0];
    const out = output(gpu, [n, d]);
    dispatch(gpu, gatherSpec(n, d, rows), [table!, ids!], [out], groups(n * d, WG));
    return [out];
  },
  CdScatterAdd: (gpu: Gpu, { ids, dy }, attrs) => {
    const [n, d] = dy!.shape;
    const rows = num(attrs, "rows");
    const out = output(gpu, [rows, d]);
    dispatch(gpu, zeroSpec(rows * d), [], [out], groups(rows * d, WG));
    dispatch(gpu, scatterSpec(n, d, rows), [ids!, dy!], [out], groups(n * d, WG));
    return [out];
  },
};
