/**
 * The "conv" kernel layer (src/kernels/conv.ts): convolution gradients on wasm equal the cpu
 * backend's, on both kernel sets (native library, pure fallback), for strides 1 and 2, same/valid/
 * explicit padding, dilation, channel multipliers and odd sizes; and a batch-normalised
 * MobileNet-style block's gradients on wasm equal cpu's.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../src/backend";
import { activeLayers } from "../src/kernels";
import { nativeAddon, nativeUnavailableReason } from "../src/kernels/addon";
import { WASM_KERNELS, setWasmKernels } from "./nativeHelpers";

type Pad = "same" | "valid" | [[number, number], [number, number], [number, number], [number, number]];
type Out = { shape: number[]; data: Float32Array };

/** Deterministic values in [-1, 1). */
function values(n: number, seed: number): Float32Array {
  let s = (seed * 2654435761) >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2147483648 - 1;
  }
  return out;
}
const sizeOf = (shape: number[]): number => shape.reduce((p, d) => p * d, 1);
const make = (shape: number[], seed: number): tf.Tensor => tf.tensor(values(sizeOf(shape), seed), shape);

async function on(backend: "wasm" | "cpu", fn: () => tf.Tensor | tf.Tensor[]): Promise<Out[]> {
  await tf.setBackend(backend);
  const outs = tf.tidy(fn);
  const list = Array.isArray(outs) ? outs : [outs];
  const res = list.map((t) => ({ shape: t.shape, data: t.dataSync() as Float32Array }));
  tf.dispose(list);
  return res;
}

function assertClose(got: Out, want: Out, what: string, rel = 1e-4): void {
  assert.deepEqual(got.shape, want.shape, `${what}: shape`);
  let scale = 0;
  for (const v of want.data) scale = Math.max(scale, Math.abs(v));
  assert.ok(scale > 0, `${what}: reference is all zeros (test would be vacuous)`);
  for (let i = 0; i < want.data.length; i++) {
    const err = Math.abs(got.data[i] - want.data[i]);
    if (!(err <= rel * Math.max(scale, 1))) assert.fail(`${what}: element ${i} got ${got.data[i]} want ${want.data[i]} (scale ${scale})`);
  }
}

const run = (name: string, inputs: tf.NamedTensorMap, attrs: object): tf.Tensor => tf.engine().runKernel(name, inputs, attrs as tf.NamedAttrMap) as tf.Tensor;
const outShapeOf = (x: number[], f: number[], s: number, pad: Pad, dil: number | [number, number], depthwise: boolean): number[] =>
  tf.backend_util.computeConv2DInfo(x as never, f as never, s, dil, pad, undefined, depthwise).outShape;

/** A filter of size (K-1)*d+1 with the taps of `f` [KH, KW, C, D] spread by the dilation: a dilated conv is this one undilated. */
function spread(f: tf.Tensor4D, dh: number, dw: number): tf.Tensor4D {
  const [KH, KW, C, D] = f.shape;
  const src = f.dataSync();
  const EH = (KH - 1) * dh + 1;
  const EW = (KW - 1) * dw + 1;
  const out = new Float32Array(EH * EW * C * D);
  for (let kh = 0; kh < KH; kh++) for (let kw = 0; kw < KW; kw++) out.set(src.subarray((kh * KW + kw) * C * D, (kh * KW + kw + 1) * C * D), (kh * dh * EW + kw * dw) * C * D);
  return tf.tensor4d(out, [EH, EW, C, D]);
}
/** The taps of a spread filter's gradient that belong to the dilated filter. */
function unspread(g: tf.Tensor4D, KH: number, KW: number, dh: number, dw: number): tf.Tensor4D {
  const [, EW, C, D] = g.shape;
  const src = g.dataSync();
  const out = new Float32Array(KH * KW * C * D);
  for (let kh = 0; kh < KH; kh++) for (let kw = 0; kw < KW; kw++) out.set(src.subarray((kh * dh * EW + kw * dw) * C * D, (kh * dh * EW + kw * dw + 1) * C * D), (kh * KW + kw) * C * D);
  return tf.tensor4d(out, [KH, KW, C, D]);
}

interface Case {
  x: number[];
  f: number[];
  s: number;
  pad: Pad;
  dil?: [number, number];
}
const PLAIN: Case[] = [
  { x: [2, 7, 9, 3], f: [3, 3, 3, 4], s: 1, pad: "same" },
  { x: [2, 7, 9, 3], f: [3, 3, 3, 4], s: 2, pad: "same" },
  { x: [2, 8, 8, 3], f: [3, 2, 3, 5], s: 2, pad: "valid" },
  { x: [3, 5, 6, 4], f: [1, 1, 4, 6], s: 1, pad: "valid" }, // pointwise: one product on x itself
  { x: [3, 6, 5, 4], f: [1, 1, 4, 6], s: 2, pad: "same" },
  { x: [1, 9, 7, 2], f: [5, 4, 2, 3], s: 1, pad: "same" },
  { x: [2, 9, 7, 2], f: [3, 3, 2, 3], s: 2, pad: [[0, 0], [1, 2], [2, 0], [0, 0]] },
];
const DEPTHWISE: Case[] = [
  { x: [2, 7, 9, 3], f: [3, 3, 3, 1], s: 1, pad: "same" },
  { x: [2, 7, 9, 3], f: [3, 3, 3, 2], s: 2, pad: "same" }, // channel multiplier 2
  { x: [2, 8, 7, 4], f: [3, 3, 4, 3], s: 2, pad: "valid" },
  { x: [1, 6, 5, 5], f: [1, 1, 5, 1], s: 1, pad: "valid" },
  { x: [2, 9, 9, 2], f: [3, 3, 2, 1], s: 1, pad: "same", dil: [2, 2] },
  { x: [1, 10, 11, 3], f: [2, 3, 3, 2], s: 1, pad: "valid", dil: [2, 3] },
];
const label = (c: Case) => `x ${c.x} f ${c.f} s ${c.s} ${typeof c.pad === "string" ? c.pad : "explicit"}${c.dil ? ` dil ${c.dil}` : ""}`;

for (const kernels of WASM_KERNELS) {
  test(`conv layer (${kernels}): plain conv kernels equal cpu`, async () => {
    await initBackend("wasm");
    setWasmKernels(kernels);
    assert.ok(activeLayers("wasm").includes("conv"));
    for (const c of PLAIN) {
      const yShape = outShapeOf(c.x, c.f, c.s, c.pad, 1, false);
      const attrs = { strides: c.s, pad: c.pad, dataFormat: "NHWC", dimRoundingMode: undefined };
      const fn = () => {
        const [x, f, dy] = [make(c.x, 1), make(c.f, 2), make(yShape, 3)];
        return [
          run("Conv2DBackpropFilter", { x, dy }, { ...attrs, filterShape: c.f }),
          run("Conv2DBackpropInput", { dy, filter: f }, { ...attrs, inputShape: c.x }),
          run("Conv2D", { x, filter: f }, { ...attrs, dilations: 1 }),
          tf.fused.conv2d({ x: x as tf.Tensor4D, filter: f as tf.Tensor4D, strides: c.s, pad: c.pad, bias: make([c.f[3]], 4), activation: "relu6" }),
        ];
      };
      const [w, ref] = [await on("wasm", fn), await on("cpu", fn)];
      ["dW", "dx", "y", "fused y"].forEach((what, i) => assertClose(w[i], ref[i], `${kernels} ${label(c)} ${what}`));
    }
  });

  test(`conv layer (${kernels}): depthwise gradient kernels equal cpu (dilation through a spread filter)`, async () => {
    await initBackend("wasm");
    setWasmKernels(kernels);
    for (const c of DEPTHWISE) {
      const [dh, dw] = c.dil ?? [1, 1];
      const yShape = outShapeOf(c.x, c.f, c.s, c.pad, [dh, dw], true);
      const attrs = { strides: c.s, pad: c.pad, dimRoundingMode: undefined };
      const wasm = await on("wasm", () => {
        const [x, f, dy] = [make(c.x, 5), make(c.f, 6), make(yShape, 7)];
        return [
          run("DepthwiseConv2dNativeBackpropFilter", { x, dy }, { ...attrs, dilations: [dh, dw], filterShape: c.f }),
          run("DepthwiseConv2dNativeBackpropInput", { dy, filter: f }, { ...attrs, dilations: [dh, dw], inputShape: c.x }),
        ];
      });
      // tfjs's cpu kernels ignore dilations: the reference runs the spread filter undilated.
      const cpu = await on("cpu", () => {
        const [x, f, dy] = [make(c.x, 5), spread(make(c.f, 6) as tf.Tensor4D, dh, dw), make(yShape, 7)];
        const dW = run("DepthwiseConv2dNativeBackpropFilter", { x, dy }, { ...attrs, dilations: 1, filterShape: f.shape }) as tf.Tensor4D;
        return [unspread(dW, c.f[0], c.f[1], dh, dw), run("DepthwiseConv2dNativeBackpropInput", { dy, filter: f }, { ...attrs, dilations: 1, inputShape: c.x })];
      });
      assertClose(wasm[0], cpu[0], `${kernels} ${label(c)} dW`);
      assertClose(wasm[1], cpu[1], `${kernels} ${label(c)} dx`);
    }
  });

  test(`conv layer (${kernels}): autodiff of conv2d and depthwiseConv2d equals cpu`, async () => {
    await initBackend("wasm");
    setWasmKernels(kernels);
    const fn = () => {
      const [x, f, d, p] = [make([2, 9, 8, 4], 11), make([3, 3, 4, 6], 12), make([3, 3, 6, 2], 13), make([1, 1, 12, 5], 14)];
      const loss = (x: tf.Tensor, f: tf.Tensor, d: tf.Tensor, p: tf.Tensor) => {
        const a = tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, 2, "same");
        const b = tf.depthwiseConv2d(tf.relu6(a), d as tf.Tensor4D, 1, "same");
        const c = tf.conv2d(b, p as tf.Tensor4D, 1, "valid");
        return tf.sum(tf.mul(c, c));
      };
      return tf.grads(loss)([x, f, d, p]);
    };
    const [w, ref] = [await on("wasm", fn), await on("cpu", fn)];
    ["dx", "dF", "dDepthwise", "dPointwise"].forEach((what, i) => assertClose(w[i], ref[i], `${kernels} ${what}`));
  });

  test(`conv layer (${kernels}): a batch-normalised MobileNet block's gradients on wasm equal cpu's`, async () => {
    await initBackend("wasm");
    setWasmKernels(kernels);
    tf.setBackend("wasm");
    const model = mobileNetBlock();
    const x = make([4, 12, 12, 3], 21);
    const y = tf.oneHot(tf.tensor1d([0, 3, 1, 2], "int32"), 5);
    const step = () => {
      const { value, grads } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar);
      const names = Object.keys(grads).sort();
      return [value, ...names.map((n) => grads[n])];
    };
    const w = await on("wasm", step);
    const ref = await on("cpu", step);
    assert.equal(w.length, model.trainableWeights.length + 1);
    assertClose(w[0], ref[0], `${kernels} loss`);
    for (let i = 1; i < w.length; i++) assertClose(w[i], ref[i], `${kernels} grad ${i}`, 2e-4);
    await tf.setBackend("wasm");
    model.dispose();
    tf.dispose([x, y]);
  });
}

test("conv layer: no tensors leak from the gradient kernels", async () => {
  await initBackend("wasm");
  for (const kernels of WASM_KERNELS) {
    setWasmKernels(kernels);
    const [x, dy, dyd, fd] = [make([2, 7, 9, 3], 1), make([2, 4, 5, 4], 3), make([2, 4, 5, 3], 4), make([3, 3, 3, 1], 5)];
    const be = tf.backend() as unknown as { numDataIds(): number };
    const [tensors, ids] = [tf.memory().numTensors, be.numDataIds()];
    for (const pad of ["same", "valid"] as const) {
      const s = pad === "same" ? 2 : 1;
      const [dyP, dydP] = pad === "same" ? [dy, dyd] : [make([2, 5, 7, 4], 6), make([2, 5, 7, 3], 7)];
      tf.dispose(run("Conv2DBackpropFilter", { x, dy: dyP }, { strides: s, pad, dataFormat: "NHWC", filterShape: [3, 3, 3, 4] }));
      tf.dispose(run("DepthwiseConv2dNativeBackpropFilter", { x, dy: dydP }, { strides: s, pad, dilations: 1, filterShape: [3, 3, 3, 1] }));
      tf.dispose(run("DepthwiseConv2dNativeBackpropInput", { dy: dydP, filter: fd }, { strides: s, pad, dilations: 1, inputShape: [2, 7, 9, 3] }));
      if (pad === "valid") tf.dispose([dyP, dydP]);
    }
    tf.dispose(run("Conv2DBackpropFilter", { x, dy: make([2, 7, 9, 4], 8) }, { strides: 1, pad: "valid", dataFormat: "NHWC", filterShape: [1, 1, 3, 4] }));
    assert.equal(tf.memory().numTensors, tensors + 1, `${kernels}: tensors`); // the one made inline
    assert.equal(be.numDataIds(), ids + 1, `${kernels}: wasm buffers`);
    tf.dispose([x, dy, dyd, fd]);
  }
});

test("conv layer: the native kernel set runs native/conv.cc, the fallback never does", async (t) => {
  await initBackend("wasm");
  const addon = nativeAddon();
  if (addon === null || !WASM_KERNELS.includes("native")) return t.skip(`native library not built: ${nativeUnavailableReason()}`);
  const names = ["conv2dForward", "conv2dBackpropFilter", "conv2dBackpropInput", "depthwiseBackpropFilter", "depthwiseBackpropInput"] as const;
  const calls: Record<string, number> = {};
  const saved = names.map((n) => addon[n]);
  names.forEach((n, i) => {
    addon[n] = (...args) => {
      calls[n] = (calls[n] ?? 0) + 1;
      saved[i](...args);
    };
  });
  try {
    const grads = () => {
      const [x, f, d] = [make([2, 8, 8, 3], 1), make([3, 3, 3, 4], 2), make([3, 3, 4, 1], 3)];
      return tf.grads((x: tf.Tensor, f: tf.Tensor, d: tf.Tensor) => tf.sum(tf.depthwiseConv2d(tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, 1, "same"), d as tf.Tensor4D, 2, "same")))([x, f, d]);
    };
    setWasmKernels("xnnpack");
    tf.dispose(tf.tidy(grads));
    assert.deepEqual(calls, {});
    setWasmKernels("native");
    tf.dispose(tf.tidy(grads));
    for (const n of names) assert.ok((calls[n] ?? 0) >= 1, `${n} was not called: ${JSON.stringify(calls)}`);
  } finally {
    names.forEach((n, i) => (addon[n] = saved[i]));
  }
});

test("batch normalisation's gradient (src/kernels/batchNormGrad.ts, no Tile) equals autodiff of its formula, on wasm and cpu", async () => {
  await initBackend("wasm");
  const fn = () => {
    const [x, mean, variance, scale, offset] = [make([3, 5, 4, 6], 31), make([6], 32), tf.add(make([6], 33), 1.5), make([6], 34), make([6], 35)];
    const dy = make([3, 5, 4, 6], 36);
    const bn = (x: tf.Tensor, m: tf.Tensor, v: tf.Tensor, s: tf.Tensor, o: tf.Tensor) => tf.sum(tf.mul(dy, tf.batchNorm(x, m, v, o, s, 1e-3)));
    const formula = (x: tf.Tensor, m: tf.Tensor, v: tf.Tensor, s: tf.Tensor, o: tf.Tensor) => tf.sum(tf.mul(dy, tf.add(tf.mul(tf.mul(tf.sub(x, m), tf.rsqrt(tf.add(v, 1e-3))), s), o)));
    const moments = (x: tf.Tensor) => {
      const { mean, variance } = tf.moments(x, [0, 1, 2]);
      return tf.sum(tf.mul(dy, tf.batchNorm(x, mean, variance, offset, scale, 1e-3)));
    };
    const momentsFormula = (x: tf.Tensor) => {
      const { mean, variance } = tf.moments(x, [0, 1, 2]);
      return formula(x, mean, variance, scale, offset);
    };
    return [...tf.grads(bn)([x, mean, variance, scale, offset]), ...tf.grads(formula)([x, mean, variance, scale, offset]), tf.grad(moments)(x), tf.grad(momentsFormula)(x)];
  };
  for (const backend of ["wasm", "cpu"] as const) {
    const r = await on(backend, fn);
    for (let i = 0; i < 5; i++) assertClose(r[i], r[5 + i], `${backend} input ${i}`);
    assertClose(r[10], r[11], `${backend} through moments`);
  }
  await tf.setBackend("wasm");
});

/**
 * Stem conv (stride 2) -> BN -> ReLU6, then an inverted-residual block: pointwise expand -> BN ->
 * ReLU6 -> depthwise 3x3 -> BN -> ReLU6 -> pointwise project -> BN, added to its input; then a
 * strided depthwise separable conv, global average pooling and a dense head.
 */
function mobileNetBlock(): tf.LayersModel {
  const init = (seed: number) => tf.initializers.glorotUniform({ seed });
  const input = tf.input({ shape: [12, 12, 3] });
  const bn = () => tf.layers.batchNormalization({ betaInitializer: "randomNormal", gammaInitializer: tf.initializers.randomUniform({ minval: 0.5, maxval: 1.5, seed: 3 }) });
  const relu6 = () => tf.layers.reLU({ maxValue: 6 });
  let h = tf.layers.conv2d({ filters: 8, kernelSize: 3, strides: 2, padding: "same", useBias: false, kernelInitializer: init(1) }).apply(input) as tf.SymbolicTensor;
  h = relu6().apply(bn().apply(h)) as tf.SymbolicTensor;
  const skip = h;
  let b = tf.layers.conv2d({ filters: 16, kernelSize: 1, useBias: false, kernelInitializer: init(2) }).apply(h) as tf.SymbolicTensor;
  b = relu6().apply(bn().apply(b)) as tf.SymbolicTensor;
  b = tf.layers.depthwiseConv2d({ kernelSize: 3, padding: "same", useBias: false, depthwiseInitializer: init(4) }).apply(b) as tf.SymbolicTensor;
  b = relu6().apply(bn().apply(b)) as tf.SymbolicTensor;
  b = tf.layers.conv2d({ filters: 8, kernelSize: 1, useBias: false, kernelInitializer: init(5) }).apply(b) as tf.SymbolicTensor;
  b = bn().apply(b) as tf.SymbolicTensor;
  h = tf.layers.add().apply([skip, b]) as tf.SymbolicTensor;
  h = tf.layers.separableConv2d({ filters: 12, kernelSize: 3, strides: 2, padding: "same", depthwiseInitializer: init(6), pointwiseInitializer: init(7) }).apply(h) as tf.SymbolicTensor;
  h = relu6().apply(bn().apply(h)) as tf.SymbolicTensor;
  h = tf.layers.globalAveragePooling2d({}).apply(h) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: 5, kernelInitializer: init(8) }).apply(h) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: out });
}
