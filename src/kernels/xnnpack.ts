/**
 * Fast matMul kernels for the TensorFlow.js wasm backend (tfjs-backend-wasm 4.22).
 *
 * Why
 * ---
 * The stock wasm `BatchMatMul` and `_FusedMatMul` kernels hand every product to one C++ routine
 * (batch_mat_mul_impl.cc) that uses XNNPACK's fully-connected operator only when neither input is
 * transposed AND both batch sizes are 1. Every other case runs a blocked scalar triple loop
 * (about 1-3 GFLOP/s against 30-45 GFLOP/s for XNNPACK on one core). Autodiff of `y = x W` needs
 * `dW = xᵀ dy` and `dx = dy Wᵀ`, i.e. transposed products, so every training step of an MLP ran
 * its backward pass on the slow loop; attention's batched 3-D products ([B*heads, T, dh]) always
 * did.
 *
 * What this file does
 * -------------------
 * It is the "xnnpack" layer of the wasm backend's kernel chain (src/kernels/registry.ts): its
 * BatchMatMul and _FusedMatMul sit over the stock kernels. They
 *   1. materialise transposed inputs with the wasm Transpose kernel (a fresh contiguous buffer),
 *   2. fold a batched `a` against an unbatched `b` ([B, M, K] x [K, N]) into one [B*M, K] product,
 *   3. run genuinely batched products ([B, M, K] x [B, K, N]) as B XNNPACK calls on zero-copy
 *      slices: each slice is registered with the wasm runtime as an alias tensor id pointing into
 *      the parent buffer (`register_tensor(id, size, offset)`, disposed with `dispose_data(id)`,
 *      which does not free memory), so no data is copied. Tiny per-entry products, where the
 *      per-call cost of creating an XNNPACK operator dominates, stay on the original loop (see
 *      BATCH_LOOP_MIN_FLOPS),
 *   4. then call the same C++ entry points (`BatchMatMul`, `_FusedMatMul`) with
 *      transposeA = transposeB = false and batch 1, which is XNNPACK's fast path.
 * Anything else (non-float32 inputs, odd broadcasts, rank != 1 bias) goes to the original kernel.
 *
 * Correctness bugs of the stock kernels that these kernels avoid
 * --------------------------------------------------------------
 * - XNNPACK operator cache keyed by the weight's tensor id, not its shape: the C++ side caches one
 *   operator (with the weights packed inside) per (b id, bias id, activation). A reshaped view of
 *   a tensor shares the id, so after `matMul(x, W)` a `matMul(y, W.reshape(...))` silently reuses
 *   the operator built for W's old shape: wrong values (garbage/NaN). We remember, per dataId, the
 *   [K, N] shape first handed to XNNPACK and copy `b` to a fresh buffer whenever a different shape
 *   arrives with the same id. Fresh buffers (transposes, copies, slice aliases) are disposed right
 *   after the call, and disposal deletes their cached operators (a disposal callback in C++).
 * - `_FusedMatMul` with a bias on the slow path (any transpose, or batch > 1) gives wrong values:
 *   it adds `bias[N-1]` instead of `bias[j]` to every row after the first (index =
 *   min(i*N + j, N-1)), and adds the bias (and clamps) once per 48-wide block of K, so K > 48
 *   counts it twice. Measured: a=0, bias=[1,2,3], transposeA -> [[1,2,3],[3,3,3]]. The new
 *   kernel never takes that path when a bias is present.
 * - Bias cache growth: when XNNPACK builds an operator it appends the key to a per-bias-id list
 *   that is cleared only when the bias is disposed. Calling with a fresh `b` each time and a
 *   long-lived bias would grow that list without bound, so whenever `b` is fresh the bias is
 *   copied to a fresh buffer too (N floats).
 *
 * Measured (src/bench/kernels.ts; 2-core Debian VM shared with other jobs, Node 20, one wasm
 * thread; stock and fast kernels interleaved on the same tensors, best of 5 blocks):
 *
 *   MLP SGD step 50 -> H -> 2, batch 32 (autodiff)   stock wasm   fast wasm   cpu       speedup
 *     H = 20   (student)                             0.51 ms      0.42 ms     1.46 ms   1.2x
 *     H = 1000                                       1.54 ms      0.62 ms     17.5 ms   2.5x
 *     H = 4096                                       33.0 ms      4.24 ms     100 ms    7.8x
 *   batched matMul, GFLOP/s
 *     [512,21,8] x [512,8,21]                        1.1          3.9         0.8       3.5x
 *     [512,21,8] x [512,21,8]ᵀ                       1.1          3.2         0.6       2.9x
 *     [256,64,32] x [256,32,64]                      1.8          12.2        0.7       6.7x
 *     [256,64,32] x [256,64,32]ᵀ                     1.8          8.1         0.7       4.4x
 *   single 2-D products (µs/call): dW1 = xᵀ dz 50x32x20 25.7 -> 6.7; 128x32x128 (tA) 477 -> 39.
 *   In a quieter run the H = 4096 step went 17.0 -> 2.4 ms (7x) and [256,64,32]x[256,32,64]
 *   3.3 -> 21.9 GFLOP/s. The tiny student is dominated by per-kernel dispatch (~1.5-3 µs per op on
 *   wasm; see the bench's dispatch figures), not by matMul.
 */
import * as tf from "@tensorflow/tfjs";
import { KernelLayer, LayerKernel, Next, stockKernel } from "./registry";

// ---------------------------------------------------------------------------------------------
// Minimal typings of the wasm backend internals we use (not exported by the package's types).
// ---------------------------------------------------------------------------------------------
interface TensorInfo {
  dataId: object;
  shape: number[];
  dtype: tf.DataType;
}
interface WasmData {
  id: number;
  memoryOffset: number;
  shape: number[];
  dtype: tf.DataType;
  refCount: number;
}
interface WasmModule {
  cwrap(name: string, ret: null | string, args: string[]): (...args: unknown[]) => unknown;
  tfjs: {
    registerTensor(id: number, size: number, memoryOffset: number): void;
    disposeData(id: number): void;
  };
}
interface WasmBackend {
  wasm: WasmModule;
  dataIdMap: { get(dataId: object): WasmData | undefined };
  dataIdNextNumber: number;
  makeOutput(shape: number[], dtype: tf.DataType): TensorInfo;
  disposeData(dataId: object, force?: boolean): boolean;
}
type KernelArgs = { inputs: Record<string, TensorInfo | undefined>; backend: WasmBackend; attrs: Record<string, unknown> };

/** Matches FusableActivation in tfjs-backend-wasm (cc/fusable_activations.h). */
const ACTIVATION_CODE: Record<string, number> = { linear: 0, relu: 1, relu6: 2, prelu: 3, leakyrelu: 4, sigmoid: 5, elu: 6 };

/**
 * Batched products whose single entry has fewer multiply-adds (M*K*N) than this stay on the
 * original loop: below it the cost of building one XNNPACK operator per batch entry (~1-2 µs)
 * outweighs the faster inner product. Measured crossover here: ~1000 (512 entries of 8x8x8: stock
 * 1.1 GFLOP/s vs loop 0.5; 8x16x8: 0.8 vs 1.1; 21x8x21: 2.0 vs 4.9; 64x32x64: 3.2 vs 11-17).
 */
export const BATCH_LOOP_MIN_FLOPS = 1024;
let batchLoopMinFlops = BATCH_LOOP_MIN_FLOPS;

/** Override the batched-loop threshold (multiply-adds per batch entry); returns the previous value. */
export function setBatchLoopThreshold(minFlops: number): number {
  const prev = batchLoopMinFlops;
  batchLoopMinFlops = minFlops;
  return prev;
}

/**
 * Raw exports of the wasm module (the functions behind the stock kernels' cwraps). Shapes are
 * passed as pointers to int32 triples in a small scratch area we allocate once per module; raw
 * calls cost well under a microsecond, which matters for the per-batch-entry loop.
 */
interface Raw {
  // void BatchMatMul(a_id, a_shape*, a_rank, b_id, b_shape*, b_rank, tA, tB, out_id)
  batchMatMul: (...args: number[]) => void;
  // void _FusedMatMul(a_id, a_shape*, a_rank, b_id, b_shape*, b_rank, tA, tB, act, bias_id,
  //                   prelu_id, leakyrelu_alpha, out_id)
  fusedMatMul: (...args: number[]) => void;
  registerTensor: (id: number, size: number, offset: number) => void;
  disposeData: (id: number) => void;
  /** Byte offsets of two int32[3] shape slots. */
  aShape: number;
  bShape: number;
}
const rawByModule = new WeakMap<object, Raw>();
function raw(backend: WasmBackend): Raw {
  const mod = backend.wasm as unknown as Record<string, unknown>;
  let r = rawByModule.get(mod);
  if (r === undefined) {
    const scratch = (mod._malloc as (n: number) => number)(32) >>> 0;
    r = {
      batchMatMul: mod._BatchMatMul as Raw["batchMatMul"],
      fusedMatMul: mod.__FusedMatMul as Raw["fusedMatMul"],
      registerTensor: mod._register_tensor as Raw["registerTensor"],
      disposeData: mod._dispose_data as Raw["disposeData"],
      aShape: scratch,
      bShape: scratch + 16,
    };
    rawByModule.set(mod, r);
  }
  return r;
}
function rawAvailable(backend: WasmBackend): boolean {
  const mod = backend.wasm as unknown as Record<string, unknown>;
  return ["_BatchMatMul", "__FusedMatMul", "_register_tensor", "_dispose_data", "_malloc"].every((k) => typeof mod[k] === "function");
}
function setShapes(backend: WasmBackend, r: Raw, a: number[], b: number[]): void {
  const heap = (backend.wasm as unknown as { HEAP32: Int32Array }).HEAP32; // re-read: memory may have grown
  heap.set(a, r.aShape >> 2);
  heap.set(b, r.bShape >> 2);
}

/**
 * Per dataId: the wasm tensor id and the [K, N] shape it was first handed to XNNPACK as weights.
 * A WeakMap on the dataId object (shared by reshaped views) needs no cleanup.
 */
const weightShapes = new WeakMap<object, { id: number; k: number; n: number }>();

/** True when `b` (as a [K, N] weight) may be passed to XNNPACK without hitting a stale cached operator. */
function weightIdSafe(backend: WasmBackend, b: TensorInfo, k: number, n: number): boolean {
  const data = backend.dataIdMap.get(b.dataId);
  if (data === undefined) return false;
  const seen = weightShapes.get(b.dataId);
  if (seen === undefined || seen.id !== data.id) {
    weightShapes.set(b.dataId, { id: data.id, k, n });
    return true;
  }
  return seen.k === k && seen.n === n;
}

/** tfjs's own wasm kernel `name` (never overridden by a layer). */
function stockFunc(name: string): tf.KernelFunc {
  const k = stockKernel(name, "wasm");
  if (k === undefined) throw new Error(`xnnpack kernels: the wasm backend has no ${name} kernel`);
  return k.kernelFunc;
}

function transpose3d(backend: WasmBackend, x: TensorInfo, shape3d: number[]): TensorInfo {
  const view: TensorInfo = { dataId: x.dataId, shape: shape3d, dtype: x.dtype };
  return stockFunc("Transpose")({ inputs: { x: view } as never, backend: backend as never, attrs: { perm: [0, 2, 1] } as never }) as TensorInfo;
}

function copy(backend: WasmBackend, x: TensorInfo): TensorInfo {
  return stockFunc("Identity")({ inputs: { x } as never, backend: backend as never, attrs: {} }) as TensorInfo;
}

interface Fusion {
  activation: number;
  bias?: TensorInfo;
  prelu?: TensorInfo;
  alpha: number;
}

/**
 * out[batch, M, N] = a[batchA, M, K] x b[batchB, K, N] (+ bias, activation), with a and b already
 * laid out untransposed. `bFresh`: b is a buffer created by this kernel (no cache hazard).
 */
function product(
  backend: WasmBackend,
  a: TensorInfo,
  b: TensorInfo,
  bFresh: boolean,
  batchA: number,
  batchB: number,
  m: number,
  k: number,
  n: number,
  fusion: Fusion | null,
): TensorInfo {
  const r = raw(backend);
  const batch = Math.max(batchA, batchB);
  const out = backend.makeOutput([batch, m, n], "float32");
  const outData = backend.dataIdMap.get(out.dataId)!;
  const aData = backend.dataIdMap.get(a.dataId)!;
  const temps: TensorInfo[] = [];
  let bInfo = b;
  let bData = backend.dataIdMap.get(b.dataId)!;

  // One product: batchB == 1 (fold a's batch into its rows).
  if (batchB === 1) {
    if (!bFresh && !weightIdSafe(backend, b, k, n)) {
      bInfo = copy(backend, b);
      temps.push(bInfo);
      bFresh = true;
      bData = backend.dataIdMap.get(bInfo.dataId)!;
    }
    if (fusion === null) {
      setShapes(backend, r, [1, batchA * m, k], [1, k, n]);
      r.batchMatMul(aData.id, r.aShape, 3, bData.id, r.bShape, 3, 0, 0, outData.id);
    } else {
      let biasId = 0;
      if (fusion.bias !== undefined) {
        let bias = fusion.bias;
        if (bFresh) {
          bias = copy(backend, bias);
          temps.push(bias);
        }
        biasId = backend.dataIdMap.get(bias.dataId)!.id;
      }
      const preluId = fusion.prelu === undefined ? 0 : backend.dataIdMap.get(fusion.prelu.dataId)!.id;
      setShapes(backend, r, [1, batchA * m, k], [1, k, n]);
      r.fusedMatMul(aData.id, r.aShape, 3, bData.id, r.bShape, 3, 0, 0, fusion.activation, biasId, preluId, fusion.alpha, outData.id);
    }
    for (const t of temps) backend.disposeData(t.dataId);
    return out;
  }

  // Genuinely batched: one XNNPACK product per batch entry on zero-copy alias ids.
  let biasId = 0;
  if (fusion !== null && fusion.bias !== undefined) {
    const bias = copy(backend, fusion.bias);
    temps.push(bias);
    biasId = backend.dataIdMap.get(bias.dataId)!.id;
  }
  const preluId = fusion === null || fusion.prelu === undefined ? 0 : backend.dataIdMap.get(fusion.prelu.dataId)!.id;
  setShapes(backend, r, [1, m, k], [1, k, n]);
  const reg = r.registerTensor;
  const dispose = r.disposeData;
  const aStride = m * k * 4;
  const bStride = k * n * 4;
  const oStride = m * n * 4;
  for (let i = 0; i < batch; i++) {
    let aId = aData.id;
    if (batchA > 1) {
      aId = backend.dataIdNextNumber++;
      reg(aId, m * k, aData.memoryOffset + i * aStride);
    }
    const bId = backend.dataIdNextNumber++;
    reg(bId, k * n, bData.memoryOffset + i * bStride);
    const oId = backend.dataIdNextNumber++;
    reg(oId, m * n, outData.memoryOffset + i * oStride);
    if (fusion === null) {
      r.batchMatMul(aId, r.aShape, 3, bId, r.bShape, 3, 0, 0, oId);
    } else {
      r.fusedMatMul(aId, r.aShape, 3, bId, r.bShape, 3, 0, 0, fusion.activation, biasId, preluId, fusion.alpha, oId);
    }
    // dispose_data only forgets the id and runs disposal callbacks (deleting the XNNPACK operator
    // built on the b slice); the memory belongs to the parent buffers.
    dispose(oId);
    dispose(bId);
    if (aId !== aData.id) dispose(aId);
  }
  for (const t of temps) backend.disposeData(t.dataId);
  return out;
}

interface Plan {
  batchA: number;
  batchB: number;
  m: number;
  k: number;
  n: number;
  outShape: number[];
}

/** Shapes as the stock kernel sees them; null when the case should go to the original kernel. */
function plan(a: TensorInfo, b: TensorInfo, transposeA: boolean, transposeB: boolean): Plan | null {
  if (a.dtype !== "float32" || b.dtype !== "float32") return null;
  const ra = a.shape.length;
  const rb = b.shape.length;
  if (ra < 2 || rb < 2) return null;
  const innerA = transposeA ? a.shape[ra - 2] : a.shape[ra - 1];
  const innerB = transposeB ? b.shape[rb - 1] : b.shape[rb - 2];
  if (innerA !== innerB) return null; // let the original kernel throw its error
  const m = transposeA ? a.shape[ra - 1] : a.shape[ra - 2];
  const n = transposeB ? b.shape[rb - 2] : b.shape[rb - 1];
  const outerA = a.shape.slice(0, -2);
  const outerB = b.shape.slice(0, -2);
  const batchA = outerA.reduce((p, d) => p * d, 1);
  const batchB = outerB.reduce((p, d) => p * d, 1);
  // Only "same batch" or "one side unbatched" is handled here.
  if (batchA !== batchB && batchA !== 1 && batchB !== 1) return null;
  let outer: number[];
  try {
    outer = tf.broadcast_util.assertAndGetBroadcastShape(outerA, outerB);
  } catch {
    return null;
  }
  if (outer.reduce((p, d) => p * d, 1) !== Math.max(batchA, batchB)) return null;
  if (m * innerA * n === 0) return null;
  return { batchA, batchB, m, k: innerA, n, outShape: [...outer, m, n] };
}

/** Whether the batched per-entry XNNPACK loop is worth it for this shape (vs the original loop). */
function useBatchLoop(p: Plan): boolean {
  return p.m * p.k * p.n >= batchLoopMinFlops;
}

function runFast(backend: WasmBackend, a: TensorInfo, b: TensorInfo, tA: boolean, tB: boolean, p: Plan, fusion: Fusion | null): TensorInfo {
  const temps: TensorInfo[] = [];
  let a3 = a;
  if (tA) {
    a3 = transpose3d(backend, a, [p.batchA, p.k, p.m]);
    temps.push(a3);
  }
  let b3 = b;
  if (tB) {
    b3 = transpose3d(backend, b, [p.batchB, p.n, p.k]);
    temps.push(b3);
  }
  try {
    const out = product(backend, a3, b3, tB, p.batchA, p.batchB, p.m, p.k, p.n, fusion);
    out.shape = p.outShape;
    return out;
  } finally {
    for (const t of temps) backend.disposeData(t.dataId);
  }
}

function fastBatchMatMul(args: KernelArgs, next: Next | undefined): TensorInfo {
  const { inputs, backend, attrs } = args;
  const a = inputs.a!;
  const b = inputs.b!;
  const tA = !!attrs.transposeA;
  const tB = !!attrs.transposeB;
  const p = plan(a, b, tA, tB);
  if (p === null || (p.batchB > 1 && !useBatchLoop(p))) return next!(args as never) as TensorInfo;
  return runFast(backend, a, b, tA, tB, p, null);
}

function fastFusedMatMul(args: KernelArgs, next: Next | undefined): TensorInfo {
  const { inputs, backend, attrs } = args;
  const a = inputs.a!;
  const b = inputs.b!;
  const bias = inputs.bias ?? undefined;
  const prelu = inputs.preluActivationWeights ?? undefined;
  const tA = !!attrs.transposeA;
  const tB = !!attrs.transposeB;
  const activation = ACTIVATION_CODE[String(attrs.activation ?? "linear")];
  const p = plan(a, b, tA, tB);
  const unsupported = p === null || activation === undefined || (bias !== undefined && (bias.shape.length !== 1 || bias.dtype !== "float32"));
  // The original loop mishandles a bias; only use it for bias-free tiny batched products.
  if (unsupported || (p!.batchB > 1 && !useBatchLoop(p!) && bias === undefined)) return next!(args as never) as TensorInfo;
  const fusion: Fusion = { activation, bias, prelu, alpha: Number(attrs.leakyreluAlpha ?? 0) || 0 };
  return runFast(backend, a, b, tA, tB, p!, fusion);
}

/**
 * The "xnnpack" layer of the wasm backend: BatchMatMul and _FusedMatMul over the stock kernels.
 * Available when the wasm backend is registered and its module exposes the raw entry points.
 */
export const xnnpackLayer: KernelLayer = {
  name: "xnnpack",
  backend: "wasm",
  available() {
    const backend = tf.findBackend("wasm") as unknown as WasmBackend | null;
    return backend !== null && backend.wasm != null && rawAvailable(backend);
  },
  kernels: {
    BatchMatMul: fastBatchMatMul as unknown as LayerKernel,
    _FusedMatMul: fastFusedMatMul as unknown as LayerKernel,
  },
};
