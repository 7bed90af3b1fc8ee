/**
 * The "conv" layer of the wasm backend's kernel chain (src/kernels/registry.ts): what a convnet
 * needs to train on wasm.
 *
 * tfjs-backend-wasm 4.22 registers no `Conv2DBackpropFilter`, `DepthwiseConv2dNativeBackpropFilter`
 * or `DepthwiseConv2dNativeBackpropInput`, so the gradient of any conv layer failed there. This
 * layer provides them, two ways:
 * - native (native/conv.cc, OpenBLAS sgemm per filter tap, vectorised depthwise loops) when the
 *   "native" layer is installed too: the native library is on;
 * - otherwise pure TypeScript on the wasm heap: the filter gradient gathers one tap's patch matrix
 *   at a time and hands the product to the BatchMatMul kernel of the installed chain (XNNPACK), the
 *   depthwise gradients are plain loops over the channel axis.
 * With the native library on it also takes over `Conv2D`, `FusedConv2D` (bias, relu, relu6) and
 * `Conv2DBackpropInput`, which tfjs-backend-wasm runs at 1-6 GFLOP/s (XNNPACK forward, a naive
 * loop backward); anything it does not handle (NCHW, PReLU, other activations) goes to `next`.
 *
 * All kernels are NHWC, float32; the geometry (padding, strides, dilations, rounding) comes from
 * tfjs's own `computeConv2DInfo`, so "same", "valid" and explicit paddings match the cpu backend.
 */
import * as tf from "@tensorflow/tfjs";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { NativeAddon, nativeAddon } from "./addon";
import { KernelArgs, KernelLayer, Next, activeLayers } from "./registry";

type Info = tf.TensorInfo;
type Conv2DInfo = ReturnType<typeof tf.backend_util.computeConv2DInfo>;
type Shape4 = [number, number, number, number];

function wasmBackend(backend: object, kernel: string): BackendWasm {
  if (!("dataIdMap" in backend && "wasm" in backend && "makeOutput" in backend)) throw new Error(`${kernel}: the conv layer runs on the wasm backend only`);
  return backend as BackendWasm;
}

/** The native library, when the "native" layer is installed and the build has the conv functions. */
function native(): NativeAddon | null {
  if (!activeLayers("wasm").includes("native")) return null;
  const a = nativeAddon();
  return a !== null && typeof a.conv2dBackpropFilter === "function" ? a : null;
}

function heap(be: BackendWasm): Uint8Array {
  const mod: object = be.wasm;
  if (!("HEAPU8" in mod) || !(mod.HEAPU8 instanceof Uint8Array)) throw new Error("conv kernels: the wasm module exposes no HEAPU8");
  return mod.HEAPU8;
}
function at(be: BackendWasm, t: Info): number {
  const d = be.dataIdMap.get(t.dataId);
  if (d === undefined) throw new Error("conv kernels: a tensor has no wasm data (disposed?)");
  return d.memoryOffset;
}
/** A float32 view of a tensor's wasm data; take it after every allocation (the heap may move). */
function f32(be: BackendWasm, t: Info): Float32Array {
  return be.typedArrayFromHeap(t) as Float32Array;
}

/** The geometry native/conv.cc takes: N, H, W, C, OH, OW, D, KH, KW, sh, sw, dh, dw, padTop, padLeft. */
interface Geometry {
  N: number;
  H: number;
  W: number;
  C: number;
  OH: number;
  OW: number;
  /** Output channels (plain) or the channel multiplier (depthwise). */
  D: number;
  KH: number;
  KW: number;
  sh: number;
  sw: number;
  dh: number;
  dw: number;
  pt: number;
  pl: number;
}

function geometry(c: Conv2DInfo, depthwise: boolean): Geometry {
  return {
    N: c.batchSize, H: c.inHeight, W: c.inWidth, C: c.inChannels, OH: c.outHeight, OW: c.outWidth,
    D: depthwise ? c.outChannels / c.inChannels : c.outChannels,
    KH: c.filterHeight, KW: c.filterWidth, sh: c.strideHeight, sw: c.strideWidth, dh: c.dilationHeight, dw: c.dilationWidth,
    pt: c.padInfo.top, pl: c.padInfo.left,
  };
}
const geoArgs = (g: Geometry): number[] => [g.N, g.H, g.W, g.C, g.OH, g.OW, g.D, g.KH, g.KW, g.sh, g.sw, g.dh, g.dw, g.pt, g.pl];

type Attrs = tf.NamedAttrMap | undefined;
const attr = <T>(attrs: Attrs, name: string): T => attrs?.[name] as T;

function convInfo(kernel: string, xShape: number[], filterShape: number[], attrs: Attrs, depthwise: boolean, dilations: number | [number, number] = 1): Conv2DInfo {
  const fmt = attr<string | undefined>(attrs, "dataFormat");
  if (fmt !== undefined && fmt !== "NHWC") throw new Error(`${kernel} on wasm: only NHWC is supported, got ${fmt}`);
  return tf.backend_util.computeConv2DInfo(
    xShape as Shape4, filterShape as Shape4, attr(attrs, "strides"), dilations,
    attr(attrs, "pad"), attr(attrs, "dimRoundingMode"), depthwise,
  );
}

/** Calls f(row, pixel) for each output position whose tap (kh, kw) reads a pixel inside the image. */
function forTap(g: Geometry, kh: number, kw: number, f: (row: number, pixel: number) => void): void {
  for (let n = 0; n < g.N; n++)
    for (let oh = 0; oh < g.OH; oh++) {
      const ih = oh * g.sh - g.pt + kh * g.dh;
      if (ih < 0 || ih >= g.H) continue;
      for (let ow = 0; ow < g.OW; ow++) {
        const iw = ow * g.sw - g.pl + kw * g.dw;
        if (iw < 0 || iw >= g.W) continue;
        f((n * g.OH + oh) * g.OW + ow, (n * g.H + ih) * g.W + iw);
      }
    }
}

const isIdentity = (g: Geometry) => g.KH === 1 && g.KW === 1 && g.sh === 1 && g.sw === 1 && g.pt === 0 && g.pl === 0 && g.OH === g.H && g.OW === g.W;

// ------------------------------------------------------------------------------- pure fallbacks

/** dW [KH, KW, C, D]: per tap, X_tᵀ dy through the chain's BatchMatMul (XNNPACK on wasm). */
function conv2dFilterGradFallback(be: BackendWasm, x: Info, dy: Info, g: Geometry, filterShape: number[]): Info {
  const P = g.N * g.OH * g.OW;
  const matMul = tf.getKernel("BatchMatMul", "wasm");
  if (matMul === undefined) throw new Error("Conv2DBackpropFilter on wasm: no BatchMatMul kernel");
  const dyRows: Info = { dataId: dy.dataId, shape: [1, P, g.D], dtype: "float32" };
  const product = (a: Info): Info =>
    matMul.kernelFunc({ inputs: { a, b: dyRows }, backend: be as never, attrs: { transposeA: true, transposeB: false } }) as Info;
  if (isIdentity(g) && P > 0) {
    const out = product({ dataId: x.dataId, shape: [1, P, g.C], dtype: "float32" });
    return { dataId: out.dataId, shape: filterShape, dtype: "float32" };
  }
  const dW = be.makeOutput(filterShape, "float32");
  const patch = be.makeOutput([1, P, g.C], "float32");
  try {
    for (let kh = 0; kh < g.KH; kh++)
      for (let kw = 0; kw < g.KW; kw++) {
        const xs = f32(be, x);
        const ps = f32(be, patch);
        ps.fill(0);
        forTap(g, kh, kw, (row, pixel) => ps.set(xs.subarray(pixel * g.C, (pixel + 1) * g.C), row * g.C));
        const t = P > 0 ? product(patch) : null;
        const block = f32(be, dW).subarray((kh * g.KW + kw) * g.C * g.D, (kh * g.KW + kw + 1) * g.C * g.D);
        if (t === null) block.fill(0);
        else {
          block.set(f32(be, t));
          be.disposeData(t.dataId);
        }
      }
  } finally {
    be.disposeData(patch.dataId);
  }
  return dW;
}

/** dW [KH, KW, C, M] of a depthwise convolution (sums in double, as the cpu backend's). */
function depthwiseFilterGradFallback(be: BackendWasm, x: Info, dy: Info, g: Geometry, filterShape: number[]): Info {
  const out = be.makeOutput(filterShape, "float32");
  const [xs, ds, dW] = [f32(be, x), f32(be, dy), f32(be, out)];
  const { C, D: M } = g;
  const CM = C * M;
  const acc = new Float64Array(CM);
  for (let kh = 0; kh < g.KH; kh++)
    for (let kw = 0; kw < g.KW; kw++) {
      acc.fill(0);
      forTap(g, kh, kw, (row, pixel) => {
        const xo = pixel * C;
        const dof = row * CM;
        for (let c = 0; c < C; c++) {
          const xv = xs[xo + c];
          for (let m = 0; m < M; m++) acc[c * M + m] += xv * ds[dof + c * M + m];
        }
      });
      dW.set(acc, (kh * g.KW + kw) * CM);
    }
  return out;
}

/** dx [N, H, W, C] of a depthwise convolution. */
function depthwiseInputGradFallback(be: BackendWasm, dy: Info, filter: Info, g: Geometry, inShape: number[]): Info {
  const out = be.makeOutput(inShape, "float32");
  const [ds, ws, dx] = [f32(be, dy), f32(be, filter), f32(be, out)];
  dx.fill(0);
  const { C, D: M } = g;
  const CM = C * M;
  for (let kh = 0; kh < g.KH; kh++)
    for (let kw = 0; kw < g.KW; kw++) {
      const wo = (kh * g.KW + kw) * CM;
      forTap(g, kh, kw, (row, pixel) => {
        const xo = pixel * C;
        const dof = row * CM;
        for (let c = 0; c < C; c++) {
          let s = 0;
          for (let m = 0; m < M; m++) s += ds[dof + c * M + m] * ws[wo + c * M + m];
          dx[xo + c] += s;
        }
      });
    }
  return out;
}

// ------------------------------------------------------------------------------------ kernels

type NativeConv = "conv2dForward" | "conv2dBackpropFilter" | "conv2dBackpropInput" | "depthwiseBackpropFilter" | "depthwiseBackpropInput";

/** Allocate the output, then call the native function on (a, b, out). */
function callNative(addon: NativeAddon, fn: NativeConv, be: BackendWasm, g: Geometry, a: Info, b: Info, outShape: number[]): Info {
  const out = be.makeOutput(outShape, "float32");
  addon[fn](heap(be), ...geoArgs(g), at(be, a), at(be, b), at(be, out));
  return out;
}

function conv2DBackpropFilter(args: KernelArgs): Info {
  const be = wasmBackend(args.backend, "Conv2DBackpropFilter");
  const { x, dy } = args.inputs;
  const filterShape = attr<number[]>(args.attrs, "filterShape");
  const g = geometry(convInfo("Conv2DBackpropFilter", x!.shape, filterShape, args.attrs, false), false);
  const addon = native();
  if (addon) return callNative(addon, "conv2dBackpropFilter", be, g, x!, dy!, filterShape);
  return conv2dFilterGradFallback(be, x!, dy!, g, filterShape);
}

function depthwiseBackpropFilter(args: KernelArgs): Info {
  const be = wasmBackend(args.backend, "DepthwiseConv2dNativeBackpropFilter");
  const { x, dy } = args.inputs;
  const filterShape = attr<number[]>(args.attrs, "filterShape");
  const g = geometry(convInfo("DepthwiseConv2dNativeBackpropFilter", x!.shape, filterShape, args.attrs, true, attr(args.attrs, "dilations")), true);
  const addon = native();
  if (addon) return callNative(addon, "depthwiseBackpropFilter", be, g, x!, dy!, filterShape);
  return depthwiseFilterGradFallback(be, x!, dy!, g, filterShape);
}

function depthwiseBackpropInput(args: KernelArgs): Info {
  const be = wasmBackend(args.backend, "DepthwiseConv2dNativeBackpropInput");
  const { dy, filter } = args.inputs;
  const inShape = attr<number[]>(args.attrs, "inputShape");
  const g = geometry(convInfo("DepthwiseConv2dNativeBackpropInput", inShape, filter!.shape, args.attrs, true, attr(args.attrs, "dilations")), true);
  const addon = native();
  if (addon) return callNative(addon, "depthwiseBackpropInput", be, g, dy!, filter!, inShape);
  return depthwiseInputGradFallback(be, dy!, filter!, g, inShape);
}

const NHWC = (attrs: Attrs) => (attr<string | undefined>(attrs, "dataFormat") ?? "NHWC") === "NHWC";
const float = (...ts: (Info | undefined)[]) => ts.every((t) => t === undefined || t.dtype === "float32");

/** Native only: dx of a plain convolution (tfjs's wasm kernel is a naive loop). */
function conv2DBackpropInput(args: KernelArgs, next: Next | undefined): Info {
  const addon = native();
  const { dy, filter } = args.inputs;
  if (addon === null || !NHWC(args.attrs) || !float(dy, filter)) return next!(args) as Info;
  const be = wasmBackend(args.backend, "Conv2DBackpropInput");
  const inShape = attr<number[]>(args.attrs, "inputShape");
  const g = geometry(convInfo("Conv2DBackpropInput", inShape, filter!.shape, args.attrs, false), false);
  return callNative(addon, "conv2dBackpropInput", be, g, dy!, filter!, inShape);
}

/** Fused activations applied after the native product (others go to `next`). */
const ACTIVATIONS: Record<string, ((v: number) => number) | null> = {
  linear: null,
  relu: (v) => Math.max(v, 0),
  relu6: (v) => Math.min(Math.max(v, 0), 6),
};

/** Native only: Conv2D and FusedConv2D (bias [D], linear/relu/relu6). */
function conv2D(args: KernelArgs, next: Next | undefined): Info {
  const addon = native();
  const { x, filter, bias, preluActivationWeights } = args.inputs;
  const act = String(args.attrs?.activation ?? "linear");
  const D = filter?.shape[3] ?? 0;
  const biasOk = bias === undefined || (bias.shape.length === 1 && bias.shape[0] === D) || (bias.shape.length === 0);
  if (addon === null || !NHWC(args.attrs) || !float(x, filter, bias) || preluActivationWeights !== undefined || !(act in ACTIVATIONS) || !biasOk) return next!(args) as Info;
  const be = wasmBackend(args.backend, "Conv2D");
  const c = convInfo("Conv2D", x!.shape, filter!.shape, args.attrs, false, attr(args.attrs, "dilations") ?? 1);
  const out = callNative(addon, "conv2dForward", be, geometry(c, false), x!, filter!, c.outShape);
  const f = ACTIVATIONS[act];
  if (bias !== undefined || f !== null) {
    const y = f32(be, out);
    const b = bias === undefined ? null : f32(be, bias);
    const scalarBias = b !== null && b.length === 1;
    for (let i = 0; i < y.length; i += D)
      for (let j = 0; j < D; j++) {
        const v = b === null ? y[i + j] : y[i + j] + b[scalarBias ? 0 : j];
        y[i + j] = f === null ? v : f(v);
      }
  }
  return out;
}

export const convLayer: KernelLayer = {
  name: "conv",
  backend: "wasm",
  available: () => true,
  kernels: {
    Conv2DBackpropFilter: (args) => conv2DBackpropFilter(args),
    DepthwiseConv2dNativeBackpropFilter: (args) => depthwiseBackpropFilter(args),
    DepthwiseConv2dNativeBackpropInput: (args) => depthwiseBackpropInput(args),
    Conv2DBackpropInput: conv2DBackpropInput,
    Conv2D: conv2D,
    FusedConv2D: conv2D,
  },
};
