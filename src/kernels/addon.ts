/**
 * Loads the project's native kernel library (native/kernels.cc and conv.cc, built by `npm run build:native`,
 * which `npm ci` runs through the `install` script). It is optional: when it is missing, or
 * `CD_NATIVE=0`, every op takes its pure-TensorFlow.js path and nothing else changes.
 */
import * as fs from "node:fs";
import * as path from "node:path";

/** A convolution of native/conv.cc: (heap, 15 geometry numbers, 3 byte offsets). */
export type NativeConvFn = (heap: Uint8Array, ...geometryThenOffsets: number[]) => void;

/** The functions native/kernels.cc (and native/conv.cc) export. Offsets are byte offsets into `heap`; -1 = absent. */
export interface NativeAddon {
  gemm(
    heap: Uint8Array, batch: number, m: number, n: number, k: number, transposeA: number, transposeB: number,
    a: number, strideA: number, lda: number, b: number, strideB: number, ldb: number,
    c: number, strideC: number, ldc: number, alpha: number, beta: number, bias: number, activation: number, activationAlpha: number,
  ): void;
  attentionForward(heap: Uint8Array, batch: number, seq: number, heads: number, headDim: number, q: number, k: number, v: number, mask: number, probs: number, ctx: number, scale: number): void;
  attentionBackward(heap: Uint8Array, batch: number, seq: number, heads: number, headDim: number, dctx: number, q: number, k: number, v: number, probs: number, dq: number, dk: number, dv: number, scale: number): void;
  layerNormForward(heap: Uint8Array, n: number, d: number, x: number, gamma: number, beta: number, y: number, xhat: number, rstd: number, eps: number): void;
  layerNormBackward(heap: Uint8Array, n: number, d: number, dy: number, xhat: number, rstd: number, gamma: number, dx: number, dgamma: number, dbeta: number): void;
  geluForward(heap: Uint8Array, n: number, x: number, y: number): void;
  geluBackward(heap: Uint8Array, n: number, x: number, dy: number, dx: number): void;
  softCrossEntropyRows(heap: Uint8Array, rows: number, classes: number, logits: number, target: number, ce: number, probs: number): void;
  softCrossEntropyBackward(heap: Uint8Array, rows: number, classes: number, dce: number, probs: number, target: number, dlogits: number): void;
  gatherRows(heap: Uint8Array, n: number, d: number, table: number, tableRows: number, ids: number, out: number): void;
  scatterAddRows(heap: Uint8Array, n: number, d: number, ids: number, dy: number, out: number, outRows: number): void;
  columnSum(heap: Uint8Array, n: number, d: number, x: number, out: number): void;
  /** Rows of 9: param, grad, m, v, paramOut, mOut, vOut, size, decay. Returns the gradient norm (before clipping). */
  adam(heap: Uint8Array, table: Float64Array, lr: number, beta1: number, beta2: number, eps: number, c1: number, c2: number, weightDecay: number, clipNorm: number): number;
  /** Rows of 4: param, grad, paramOut, size. p' = p - lr * g. */
  sgd(heap: Uint8Array, table: Float64Array, lr: number): void;
  /** One SGD step of the two-layer MLP in place (native/mlp.cc); returns the loss before it. mode 0 output, 1 tap (relu), 2 tap (pre). */
  mlpStep(
    heap: Uint8Array, batch: number, n: number, hidden: number, classes: number, x: number, W1: number, b1: number, W2: number, b2: number, target: number, lr: number, mode: number, dim: number,
    pendingBatch: number, pendingX: number, pendingD: number, pendingUnits: number, held: number,
  ): number;
  /** Threads the MLP kernels use in the calling thread (OpenMP); 0 = unchanged. Returns the number in effect. The first argument is any Uint8Array. */
  mlpThreads(unused: Uint8Array, n: number): number;
  /** Apply a held-back first-layer update (mlpStep's lazy mode) to W1's first `units` rows in place. */
  mlpSettle(heap: Uint8Array, batch: number, n: number, units: number, W1: number, pendingX: number, pendingD: number): void;
  mlpForward(heap: Uint8Array, batch: number, n: number, hidden: number, classes: number, x: number, W1: number, b1: number, W2: number, b2: number, logits: number): void;
  mlpTapTarget(heap: Uint8Array, batch: number, n: number, hidden: number, m: number, x: number, W1: number, b1: number, Pt: number, out: number, post: number): void;
  /** The MLP row kernels in use (native/lanes.h: "base", "avx2" or "avx512"); throws when CD_MLP_ISA names one this CPU cannot run. The argument is any Uint8Array. */
  mlpIsa(unused: Uint8Array): string;
  /**
   * native/conv.cc, NHWC float32 convolutions. Arguments: heap, then the geometry N, H, W, C, OH, OW,
   * D (output channels, or the depthwise channel multiplier), KH, KW, strideH, strideW, dilationH,
   * dilationW, padTop, padLeft, then the offsets of the two inputs and the output.
   */
  conv2dBackpropFilter: NativeConvFn; // x, dy -> dW
  conv2dBackpropInput: NativeConvFn; // dy, filter -> dx
  depthwiseBackpropFilter: NativeConvFn; // x, dy -> dW
  depthwiseBackpropInput: NativeConvFn; // dy, filter -> dx
  /** OpenBLAS's build description and the MLP row kernels in use, e.g. "OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY SkylakeX MAX_THREADS=64 mlp-avx512". */
  config(): string;
  setThreads(n: number): void;
}

/** Where the built library lives, relative to this file in src/native/ or dist/native/. */
export const ADDON_PATH = path.join(__dirname, "..", "..", "native", "build", "Release", "cd_native.node");

let loaded: { addon: NativeAddon | null; reason: string } | null = null;

/** The addon, or null (with `nativeUnavailableReason()` saying why). Loaded once per thread. */
export function nativeAddon(): NativeAddon | null {
  if (loaded === null) loaded = load();
  return loaded.addon;
}

/** Why the addon is not in use ("" when it is). */
export function nativeUnavailableReason(): string {
  if (loaded === null) loaded = load();
  return loaded.reason;
}

function load(): { addon: NativeAddon | null; reason: string } {
  // OpenMP threads that wait sleep instead of spinning: on a busy machine (--workers, other jobs)
  // spinning threads took the cores their partners needed, and a 50,000-wide step ran 10x slower.
  // Read once, when the library loads.
  process.env.OMP_WAIT_POLICY ??= "PASSIVE";
  if (process.env.CD_NATIVE === "0") return { addon: null, reason: "disabled by CD_NATIVE=0" };
  if (!fs.existsSync(ADDON_PATH)) return { addon: null, reason: `not built (${path.relative(process.cwd(), ADDON_PATH)} is missing; build them with \`npx curriculum-distill build-native\`, or \`npm run build:native\` in its repository)` };
  try {
    return { addon: require(ADDON_PATH) as NativeAddon, reason: "" };
  } catch (e) {
    return { addon: null, reason: `failed to load: ${e instanceof Error ? e.message.split("\n")[0] : String(e)}` };
  }
}
