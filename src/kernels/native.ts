/**
 * The "native" layer of the wasm backend's kernel chain (src/kernels/registry.ts): kernels that run
 * in the native library (src/kernels/addon.ts, built from native/*.cc) directly on the wasm heap: no
 * copies, the wasm backend still owns every buffer.
 *
 * - `BatchMatMul` and `_FusedMatMul` are replaced by OpenBLAS sgemm (transposes and batch strides
 *   passed through, never materialised). What sgemm cannot express (a PReLU activation, a bias
 *   that is not a vector, broadcast batch shapes other than "same" or "one side unbatched") goes
 *   to `next`, the xnnpack layer (src/kernels/xnnpack.ts), which itself falls back to the stock one.
 * - Fused kernels under the project's own names (`Cd*`), used by src/ops/fused.ts: attention
 *   forward/backward, LayerNorm, GELU, soft cross-entropy, row gather/scatter-add, column sums and
 *   one Adam update of all variables at once.
 *
 * Each kernel allocates its outputs with the backend first and only then reads the heap view: an
 * allocation can grow the wasm memory, which replaces the view.
 */
import * as tf from "@tensorflow/tfjs";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { NativeAddon, nativeAddon } from "./addon";
import { KernelArgs, KernelLayer, LayerKernel, Next, layerActive } from "./registry";

type Info = tf.TensorInfo;

function isWasm(backend: object): backend is BackendWasm {
  return "dataIdMap" in backend && "wasm" in backend && "makeOutput" in backend;
}

/** The wasm memory as bytes; read after allocating outputs (an allocation may grow and replace it). */
function heap(be: BackendWasm): Uint8Array {
  const mod: object = be.wasm;
  if (!("HEAPU8" in mod) || !(mod.HEAPU8 instanceof Uint8Array)) throw new Error("native kernels: the wasm module exposes no HEAPU8");
  return mod.HEAPU8;
}

/** Byte offset of a tensor in the heap. */
function at(be: BackendWasm, t: Info | undefined): number {
  if (t === undefined) return -1;
  const d = be.dataIdMap.get(t.dataId);
  if (d === undefined) throw new Error("native kernels: a tensor has no wasm data (disposed?)");
  return d.memoryOffset;
}

const size = (shape: readonly number[]) => shape.reduce((p, d) => p * d, 1);
const num = (attrs: tf.NamedAttrMap | undefined, name: string): number => Number(attrs?.[name]);

/** Matches FusableActivation in tfjs-backend-wasm (cc/fusable_activations.h) and native/kernels.cc. */
const ACTIVATION_CODE: Record<string, number> = { linear: 0, relu: 1, relu6: 2, leakyrelu: 4, sigmoid: 5, elu: 6 };

interface MatMulPlan {
  batch: number;
  m: number;
  n: number;
  k: number;
  strideA: number;
  strideB: number;
  outShape: number[];
}

/** The sgemm layout of `a @ b`, or null for shapes that go to the previous kernel. */
function matMulPlan(a: Info, b: Info, tA: boolean, tB: boolean): MatMulPlan | null {
  if (a.dtype !== "float32" || b.dtype !== "float32" || a.shape.length < 2 || b.shape.length < 2) return null;
  const ra = a.shape.length;
  const rb = b.shape.length;
  const k = tA ? a.shape[ra - 2] : a.shape[ra - 1];
  if (k !== (tB ? b.shape[rb - 1] : b.shape[rb - 2])) return null; // the previous kernel throws the error
  const m = tA ? a.shape[ra - 1] : a.shape[ra - 2];
  const n = tB ? b.shape[rb - 2] : b.shape[rb - 1];
  const outerA = a.shape.slice(0, -2);
  const outerB = b.shape.slice(0, -2);
  const batchA = size(outerA);
  const batchB = size(outerB);
  if (batchA !== batchB && batchA !== 1 && batchB !== 1) return null;
  let outer: number[];
  try {
    outer = tf.broadcast_util.assertAndGetBroadcastShape(outerA, outerB);
  } catch {
    return null; // the previous kernel throws the error
  }
  if (size(outer) !== Math.max(batchA, batchB)) return null;
  return { batch: Math.max(batchA, batchB), m, n, k, strideA: batchA === 1 ? 0 : m * k, strideB: batchB === 1 ? 0 : k * n, outShape: [...outer, m, n] };
}

function matMul(addon: NativeAddon, be: BackendWasm, a: Info, b: Info, tA: boolean, tB: boolean, p: MatMulPlan, bias: Info | undefined, act: number, alpha: number): Info {
  const out = be.makeOutput(p.outShape, "float32");
  let { batch, m, strideA } = p;
  // [B, M, K] x [K, N]: one product of B*M rows.
  if (p.strideB === 0 && !tA && batch > 1) {
    m *= batch;
    batch = 1;
    strideA = 0;
  }
  addon.gemm(
    heap(be), batch, m, p.n, p.k, tA ? 1 : 0, tB ? 1 : 0,
    at(be, a), strideA, tA ? p.m : p.k,
    at(be, b), p.strideB, tB ? p.k : p.n,
    at(be, out), p.m * p.n, p.n, 1, 0, at(be, bias), act, alpha,
  );
  return out;
}

function batchMatMulKernel(args: KernelArgs, next: Next | undefined): Info {
  const { a, b } = args.inputs;
  const tA = !!args.attrs?.transposeA;
  const tB = !!args.attrs?.transposeB;
  const p = a && b && isWasm(args.backend) ? matMulPlan(a, b, tA, tB) : null;
  if (p === null || !isWasm(args.backend)) return next!(args) as Info;
  return matMul(addon(), args.backend, a!, b!, tA, tB, p, undefined, 0, 0);
}

function fusedMatMulKernel(args: KernelArgs, next: Next | undefined): Info {
  const { a, b, bias, preluActivationWeights } = args.inputs;
  const tA = !!args.attrs?.transposeA;
  const tB = !!args.attrs?.transposeB;
  const act = ACTIVATION_CODE[String(args.attrs?.activation ?? "linear")];
  const p = a && b && isWasm(args.backend) ? matMulPlan(a, b, tA, tB) : null;
  const biasOk = bias === undefined || (bias.dtype === "float32" && bias.shape.length === 1 && p !== null && bias.shape[0] === p.n);
  if (p === null || act === undefined || preluActivationWeights !== undefined || !biasOk || !isWasm(args.backend)) return next!(args) as Info;
  return matMul(addon(), args.backend, a!, b!, tA, tB, p, bias, act, Number(args.attrs?.leakyreluAlpha ?? 0) || 0);
}

function addon(): NativeAddon {
  const a = nativeAddon();
  if (a === null) throw new Error("native kernels: the addon is not loaded");
  return a;
}

/** The `Cd*` kernels: name -> function of (addon, backend, inputs, attrs) returning the outputs. */
type Fused = (addon: NativeAddon, be: BackendWasm, inputs: tf.NamedTensorInfoMap, attrs: tf.NamedAttrMap | undefined) => Info[];

const FUSED: Record<string, Fused> = {
  // inputs q, k, v [B*T, H*dh], mask [B, T] (optional); attrs batch, seq, heads, scale -> ctx, probs [B*H, T, T]
  CdAttention: (addon, be, { q, k, v, mask }, attrs) => {
    const [B, T, H] = [num(attrs, "batch"), num(attrs, "seq"), num(attrs, "heads")];
    const d = q!.shape[1];
    const ctx = be.makeOutput([B * T, d], "float32");
    const probs = be.makeOutput([B * H, T, T], "float32");
    addon.attentionForward(heap(be), B, T, H, d / H, at(be, q), at(be, k), at(be, v), at(be, mask), at(be, probs), at(be, ctx), num(attrs, "scale"));
    return [ctx, probs];
  },
  // inputs dctx, q, k, v, probs -> dq, dk, dv
  CdAttentionGrad: (addon, be, { dctx, q, k, v, probs }, attrs) => {
    const [B, T, H] = [num(attrs, "batch"), num(attrs, "seq"), num(attrs, "heads")];
    const d = q!.shape[1];
    const outs = [0, 1, 2].map(() => be.makeOutput([B * T, d], "float32"));
    addon.attentionBackward(heap(be), B, T, H, d / H, at(be, dctx), at(be, q), at(be, k), at(be, v), at(be, probs), at(be, outs[0]), at(be, outs[1]), at(be, outs[2]), num(attrs, "scale"));
    return outs;
  },
  // inputs x [n, d], gamma, beta (optional); attrs eps -> y, rstd [n] (+ xhat when gamma is given)
  CdLayerNorm: (addon, be, { x, gamma, beta }, attrs) => {
    const [n, d] = x!.shape;
    const y = be.makeOutput([n, d], "float32");
    const xhat = gamma ? be.makeOutput([n, d], "float32") : undefined;
    const rstd = be.makeOutput([n], "float32");
    addon.layerNormForward(heap(be), n, d, at(be, x), at(be, gamma), at(be, beta), at(be, y), at(be, xhat), at(be, rstd), num(attrs, "eps"));
    return xhat ? [y, rstd, xhat] : [y, rstd];
  },
  // inputs dy, xhat, rstd, gamma (optional) -> dx (+ dgamma, dbeta when gamma is given)
  CdLayerNormGrad: (addon, be, { dy, xhat, rstd, gamma }) => {
    const [n, d] = dy!.shape;
    const dx = be.makeOutput([n, d], "float32");
    const dg = gamma ? be.makeOutput([d], "float32") : undefined;
    const db = gamma ? be.makeOutput([d], "float32") : undefined;
    addon.layerNormBackward(heap(be), n, d, at(be, dy), at(be, xhat), at(be, rstd), at(be, gamma), at(be, dx), at(be, dg), at(be, db));
    return dg && db ? [dx, dg, db] : [dx];
  },
  CdGelu: (addon, be, { x }) => {
    const y = be.makeOutput(x!.shape, "float32");
    addon.geluForward(heap(be), size(x!.shape), at(be, x), at(be, y));
    return [y];
  },
  CdGeluGrad: (addon, be, { x, dy }) => {
    const dx = be.makeOutput(x!.shape, "float32");
    addon.geluBackward(heap(be), size(x!.shape), at(be, x), at(be, dy), at(be, dx));
    return [dx];
  },
  // inputs logits, target [rows, C] -> ce [rows], probs [rows, C]
  CdSoftXent: (addon, be, { logits, target }) => {
    const [rows, c] = logits!.shape;
    const ce = be.makeOutput([rows], "float32");
    const probs = be.makeOutput([rows, c], "float32");
    addon.softCrossEntropyRows(heap(be), rows, c, at(be, logits), at(be, target), at(be, ce), at(be, probs));
    return [ce, probs];
  },
  CdSoftXentGrad: (addon, be, { dce, probs, target }) => {
    const [rows, c] = probs!.shape;
    const dz = be.makeOutput([rows, c], "float32");
    addon.softCrossEntropyBackward(heap(be), rows, c, at(be, dce), at(be, probs), at(be, target), at(be, dz));
    return [dz];
  },
  // inputs table [rows, d], ids [n] int32 -> [n, d]
  CdGather: (addon, be, { table, ids }) => {
    const [rows, d] = table!.shape;
    const n = ids!.shape[0];
    const out = be.makeOutput([n, d], "float32");
    addon.gatherRows(heap(be), n, d, at(be, table), rows, at(be, ids), at(be, out));
    return [out];
  },
  // inputs ids [n], dy [n, d]; attrs rows -> [rows, d]
  CdScatterAdd: (addon, be, { ids, dy }, attrs) => {
    const [n, d] = dy!.shape;
    const rows = num(attrs, "rows");
    const out = be.makeOutput([rows, d], "float32");
    addon.scatterAddRows(heap(be), n, d, at(be, ids), at(be, dy), at(be, out), rows);
    return [out];
  },
  CdColumnSum: (addon, be, { x }) => {
    const [n, d] = x!.shape;
    const out = be.makeOutput([d], "float32");
    addon.columnSum(heap(be), n, d, at(be, x), at(be, out));
    return [out];
  },
  // inputs p<i>, g<i>, m<i>, v<i> for i < count; attrs count, lr, beta1, beta2, eps, c1, c2,
  // weightDecay, clipNorm, decay (a string of 0/1 per variable) -> p'<i>, m'<i>, v'<i>..., norm []
  CdAdam: (addon, be, inputs, attrs) => {
    const count = num(attrs, "count");
    const decay = String(attrs?.decay ?? "");
    const outs: Info[] = [];
    for (let i = 0; i < count; i++) {
      const shape = inputs[`p${i}`]!.shape;
      outs.push(be.makeOutput(shape, "float32"), be.makeOutput(shape, "float32"), be.makeOutput(shape, "float32"));
    }
    const norm = be.makeOutput([], "float32");
    const table = new Float64Array(count * 9);
    for (let i = 0; i < count; i++) {
      const ins = ["p", "g", "m", "v"].map((k) => at(be, inputs[`${k}${i}`]));
      const n = size(inputs[`p${i}`]!.shape);
      table.set([...ins, at(be, outs[3 * i]), at(be, outs[3 * i + 1]), at(be, outs[3 * i + 2]), n, decay[i] === "1" ? 1 : 0], i * 9);
    }
    const g = addon.adam(heap(be), table, num(attrs, "lr"), num(attrs, "beta1"), num(attrs, "beta2"), num(attrs, "eps"), num(attrs, "c1"), num(attrs, "c2"), num(attrs, "weightDecay"), num(attrs, "clipNorm"));
    be.typedArrayFromHeap(norm).set([g]);
    return [...outs, norm];
  },
  // inputs x [B, n], W1 [H, n], b1 [H], W2 [H, C], b2 [C], target [B, C] (mode 0) or [B, dim],
  // pendX [Bp, n] and pendD [Bp, units'] (optional: a first-layer update held back by the previous
  // step, applied first); attrs mode (0 output, 1 tap on relu, 2 tap on the pre-activation, 3 output
  // on int32 class ids [B]), lr,
  // dim, lazy -> loss [] (+ held [B, units]: this step's row update, held back, when lazy).
  // Updates W1, b1 (and W2, b2 in mode 0) IN PLACE: src/ops/mlp.ts makes them sole owners first.
  CdMlpStep: (addon, be, { x, W1, b1, W2, b2, target, pendX, pendD }, attrs) => {
    const [B, n] = x!.shape;
    const mode = num(attrs, "mode");
    const units = mode === 0 || mode === 3 ? W1!.shape[0] : num(attrs, "dim");
    const loss = be.makeOutput([], "float32");
    const held = num(attrs, "lazy") ? be.makeOutput([B, units], "float32") : undefined;
    const v = addon.mlpStep(
      heap(be), B, n, W1!.shape[0], W2!.shape[1], at(be, x), at(be, W1), at(be, b1), at(be, W2), at(be, b2), at(be, target), num(attrs, "lr"), mode, num(attrs, "dim"),
      pendX ? pendX.shape[0] : 0, at(be, pendX), at(be, pendD), pendD ? pendD.shape[1] : 0, at(be, held),
    );
    be.typedArrayFromHeap(loss).set([v]);
    return held ? [loss, held] : [loss];
  },
  // inputs W1 [H, n], pendX [Bp, n], pendD [Bp, units]: applies the held-back update IN PLACE -> a 0 scalar
  CdMlpSettle: (addon, be, { W1, pendX, pendD }) => {
    const out = be.makeOutput([], "float32");
    addon.mlpSettle(heap(be), pendX!.shape[0], W1!.shape[1], pendD!.shape[1], at(be, W1), at(be, pendX), at(be, pendD));
    be.typedArrayFromHeap(out).set([0]);
    return [out];
  },
  // inputs x [B, n], W1 [H, n], b1, W2 [H, C], b2 -> logits [B, C]
  CdMlpForward: (addon, be, { x, W1, b1, W2, b2 }) => {
    const [B, n] = x!.shape;
    const C = W2!.shape[1];
    const out = be.makeOutput([B, C], "float32");
    addon.mlpForward(heap(be), B, n, W1!.shape[0], C, at(be, x), at(be, W1), at(be, b1), at(be, W2), at(be, b2), at(be, out));
    return [out];
  },
  // inputs x [B, n], W1 [H, n], b1, Pt [H, m]; attrs post -> [B, m]
  CdMlpTapTarget: (addon, be, { x, W1, b1, Pt }, attrs) => {
    const [B, n] = x!.shape;
    const [H, m] = Pt!.shape;
    const out = be.makeOutput([B, m], "float32");
    addon.mlpTapTarget(heap(be), B, n, H, m, at(be, x), at(be, W1), at(be, b1), at(be, Pt), at(be, out), num(attrs, "post"));
    return [out];
  },
  // inputs p<i>, g<i>; attrs count, lr -> p'<i>
  CdSgd: (addon, be, inputs, attrs) => {
    const count = num(attrs, "count");
    const outs = Array.from({ length: count }, (_, i) => be.makeOutput(inputs[`p${i}`]!.shape, "float32"));
    const table = new Float64Array(count * 4);
    for (let i = 0; i < count; i++) table.set([at(be, inputs[`p${i}`]), at(be, inputs[`g${i}`]), at(be, outs[i]), size(outs[i].shape)], i * 4);
    addon.sgd(heap(be), table, num(attrs, "lr"));
    return outs;
  },
};

/** The "native" layer of the wasm backend: OpenBLAS products over the xnnpack layer, and the `Cd*` kernels. */
export const nativeLayer: KernelLayer = {
  name: "native",
  backend: "wasm",
  available: () => nativeAddon() !== null,
  kernels: {
    BatchMatMul: batchMatMulKernel,
    _FusedMatMul: fusedMatMulKernel,
    ...Object.fromEntries(
      Object.entries(FUSED).map(([name, f]): [string, LayerKernel] => [
        name,
        (args) => {
          if (!isWasm(args.backend)) throw new Error(`${name}: not the wasm backend`);
          return f(addon(), args.backend, args.inputs, args.attrs);
        },
      ]),
    ),
  },
};

/** Whether ops should take the native path now: the layer is installed and wasm is the backend. */
export function nativeActive(): boolean {
  return layerActive("wasm", "native");
}
