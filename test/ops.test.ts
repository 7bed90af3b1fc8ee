/**
 * The transformer's building blocks (src/ops) against the plain formulas, values and gradients:
 * the composite implementation on the cpu backend, and on wasm each kernel set (the native library's
 * fused kernels, and the pure-wasm composite path). Also the native products (BatchMatMul,
 * _FusedMatMul) in every layout, the fused Adam update against the formula, and the native
 * library's refusal of out-of-heap ranges.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../src/backend";
import { nativeAddon } from "../src/kernels/addon";
import { attention, columnSum, embeddingLookup, geluTanh, layerNorm, linear, softCrossEntropyRows } from "../src/ops";
import { adamUpdate, sgdUpdate } from "../src/ops/fused";
import { Rng } from "../src/rng";
import { WASM_KERNELS, setWasmKernels, withWasmKernels } from "./nativeHelpers";

const rng = new Rng("ops-test");
const normal = (shape: number[], std = 1) => tf.tensor(rng.normalArray(shape.reduce((a, b) => a * b, 1), std), shape);

/** A nonlinear scalar of an op's output, so that no gradient is trivially zero. */
const lossOf = (f: (...t: tf.Tensor[]) => tf.Tensor) => (...t: tf.Tensor[]) => {
  const y = f(...t);
  return tf.sum(tf.mul(y, tf.sin(y))) as tf.Scalar;
};

function maxRelDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let scale = 1e-6;
  for (let i = 0; i < b.length; i++) scale = Math.max(scale, Math.abs(b[i]));
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d / scale;
}

interface Case {
  name: string;
  ours: (...t: tf.Tensor[]) => tf.Tensor;
  ref: (...t: tf.Tensor[]) => tf.Tensor;
  inputs: () => tf.Tensor[];
  /** Inputs that get a gradient (default all). */
  wrt?: number[];
}

const attnRef = (batch: number, seq: number, heads: number, mask: tf.Tensor2D | null) => (q: tf.Tensor, k: tf.Tensor, v: tf.Tensor) => {
  const d = q.shape[1]!;
  const dh = d / heads;
  const split = (t: tf.Tensor) => tf.transpose(t.reshape([batch, seq, heads, dh]), [0, 2, 1, 3]); // [B, H, T, dh]
  let s = tf.div(tf.matMul(split(q), split(k), false, true), Math.sqrt(dh)); // [B, H, T, T]
  if (mask) s = tf.add(s, tf.mul(tf.sub(1, mask), -1e9).reshape([batch, 1, 1, seq]));
  const ctx = tf.matMul(tf.softmax(s), split(v)); // [B, H, T, dh]
  return tf.transpose(ctx, [0, 2, 1, 3]).reshape([batch * seq, d]);
};

function cases(): Case[] {
  const ids = tf.tensor1d([2, 0, 2, 3, 2, 1], "int32");
  const bigIds = tf.tensor1d([5, 99, 0, 5, 42, 5, 7], "int32");
  const mask = tf.tensor2d([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0], [1, 0, 0, 0, 0]]);
  const target = tf.softmax(normal([6, 11]));
  const list: Case[] = [
    { name: "embeddingLookup (one-hot size)", ours: (t) => embeddingLookup(t as tf.Tensor2D, ids), ref: (t) => tf.gather(t, ids), inputs: () => [normal([4, 5])] },
    { name: "embeddingLookup (gather size)", ours: (t) => embeddingLookup(t as tf.Tensor2D, bigIds), ref: (t) => tf.gather(t, bigIds), inputs: () => [normal([100, 5])] },
    { name: "columnSum", ours: (x) => columnSum(x), ref: (x) => tf.sum(x, 0), inputs: () => [normal([7, 5])] },
    {
      name: "linear",
      ours: (x, w, b) => linear(x as tf.Tensor2D, w as tf.Tensor2D, b as tf.Tensor1D),
      ref: (x, w, b) => tf.add(tf.matMul(x, w), b),
      inputs: () => [normal([6, 4]), normal([4, 3]), normal([3])],
    },
    {
      name: "linear (transposed weight, a tied embedding)",
      ours: (x, w, b) => linear(x as tf.Tensor2D, w as tf.Tensor2D, b as tf.Tensor1D, true),
      ref: (x, w, b) => tf.add(tf.matMul(x, w, false, true), b),
      inputs: () => [normal([6, 4]), normal([9, 4]), normal([9])],
    },
    {
      name: "layerNorm",
      ours: (x, g, b) => layerNorm(x as tf.Tensor2D, g as tf.Tensor1D, b as tf.Tensor1D, 1e-5),
      ref: (x, g, b) => {
        const mu = tf.mean(x, -1, true);
        const va = tf.mean(tf.square(tf.sub(x, mu)), -1, true);
        return tf.add(tf.mul(tf.div(tf.sub(x, mu), tf.sqrt(tf.add(va, 1e-5))), g), b);
      },
      inputs: () => [tf.add(normal([5, 8], 2), 3), normal([8]), normal([8])],
    },
    {
      name: "layerNorm (parameter-free target)",
      ours: (x) => layerNorm(x as tf.Tensor2D, null, null, 1e-5),
      ref: (x) => {
        const mu = tf.mean(x, -1, true);
        return tf.div(tf.sub(x, mu), tf.sqrt(tf.add(tf.mean(tf.square(tf.sub(x, mu)), -1, true), 1e-5)));
      },
      inputs: () => [normal([5, 8], 3)],
      wrt: [],
    },
    {
      name: "geluTanh",
      ours: (x) => geluTanh(x),
      ref: (x) => tf.mul(tf.mul(x, 0.5), tf.add(1, tf.tanh(tf.mul(Math.sqrt(2 / Math.PI), tf.add(x, tf.mul(0.044715, tf.pow(x, 3))))))),
      inputs: () => [normal([6, 7], 3)],
    },
    {
      name: "softCrossEntropyRows",
      ours: (z) => softCrossEntropyRows(z as tf.Tensor2D, target as tf.Tensor2D),
      ref: (z) => tf.neg(tf.sum(tf.mul(target, tf.logSoftmax(z)), -1)),
      inputs: () => [normal([6, 11], 4)],
    },
  ];
  for (const [batch, seq, heads, d, withMask] of [[3, 5, 1, 4, false], [3, 5, 2, 8, true], [2, 6, 4, 8, false]] as const) {
    const m = withMask ? mask : null;
    list.push({
      name: `attention B${batch} T${seq} H${heads} d${d}${withMask ? " masked" : ""}`,
      ours: (q, k, v) => attention(q as tf.Tensor2D, k as tf.Tensor2D, v as tf.Tensor2D, batch, seq, heads, m),
      ref: attnRef(batch, seq, heads, m),
      inputs: () => [normal([batch * seq, d]), normal([batch * seq, d]), normal([batch * seq, d])],
    });
  }
  return list;
}

/** Values and gradients of every case, computed by `impl` ("ours" or "ref") on the current backend. */
function evaluate(list: Case[], impl: "ours" | "ref", inputs: number[][][]): Array<{ value: number[]; grads: number[][] }> {
  return list.map((c, ci) =>
    tf.tidy(() => {
      const ins = c.inputs().map((t, i) => tf.tensor(inputs[ci][i], t.shape, t.dtype));
      const f = c[impl];
      const wrt = c.wrt ?? ins.map((_, i) => i);
      const grads = wrt.length ? tf.grads((...t: tf.Tensor[]) => lossOf(f)(...ins.map((x, i) => (wrt.includes(i) ? t[wrt.indexOf(i)] : x))))(wrt.map((i) => ins[i])) : [];
      return { value: Array.from(f(...ins).dataSync()), grads: grads.map((g) => Array.from(g.dataSync())) };
    }),
  );
}

test("ops equal the plain formulas, values and gradients: composite on cpu, both wasm kernel sets", async () => {
  await initBackend("cpu");
  const list = cases();
  const inputs = list.map((c) => tf.tidy(() => c.inputs().map((t) => Array.from(t.dataSync()))));
  const ref = evaluate(list, "ref", inputs);
  const check = (label: string, got: ReturnType<typeof evaluate>) =>
    got.forEach((g, i) => {
      const name = `${list[i].name} (${label})`;
      assert.ok(maxRelDiff(g.value, ref[i].value) < 2e-5, `${name} value: ${maxRelDiff(g.value, ref[i].value)}`);
      g.grads.forEach((gr, j) => assert.ok(maxRelDiff(gr, ref[i].grads[j]) < 1e-4, `${name} grad ${j}: ${maxRelDiff(gr, ref[i].grads[j])}`));
    });
  check("cpu", evaluate(list, "ours", inputs));
  await initBackend("wasm");
  for (const k of WASM_KERNELS) check(`wasm ${k}`, withWasmKernels(k, () => evaluate(list, "ours", inputs)));
  await initBackend("cpu");
});

test("native products: every layout of BatchMatMul and _FusedMatMul equals cpu", { skip: !WASM_KERNELS.includes("native") && "native kernels not built" }, async () => {
  const shapes: Array<[number[], number[], boolean, boolean]> = [
    [[5, 4], [4, 3], false, false],
    [[4, 5], [4, 3], true, false],
    [[5, 4], [3, 4], false, true],
    [[4, 5], [3, 4], true, true],
    [[2, 5, 4], [2, 4, 3], false, false],
    [[2, 4, 5], [2, 3, 4], true, true],
    [[2, 3, 5, 4], [4, 6], false, false], // batched a, unbatched b: one folded product
    [[2, 4, 5], [4, 6], true, false],
    [[5, 4], [3, 4, 6], false, false], // unbatched a, batched b
    [[1, 5, 4], [3, 4, 6], false, false],
  ];
  const data = shapes.map(([sa, sb]) => [rng.normalArray(sa.reduce((p, d) => p * d, 1), 1), rng.normalArray(sb.reduce((p, d) => p * d, 1), 1)]);
  const run = () =>
    shapes.map(([sa, sb, tA, tB], i) =>
      tf.tidy(() => {
        const a = tf.tensor(data[i][0], sa);
        const b = tf.tensor(data[i][1], sb);
        const n = tB ? sb[sb.length - 2] : sb[sb.length - 1];
        const bias = tf.linspace(-1, 1, n);
        return [
          Array.from(tf.matMul(a, b, tA, tB).dataSync()),
          Array.from(tf.fused.matMul({ a, b, transposeA: tA, transposeB: tB, bias, activation: "relu" }).dataSync()),
        ];
      }),
    );
  await initBackend("cpu");
  const onCpu = run();
  await initBackend("wasm");
  setWasmKernels("native");
  const onNative = run();
  onNative.forEach((pair, i) => pair.forEach((v, j) => assert.ok(maxRelDiff(v, onCpu[i][j]) < 1e-5, `${JSON.stringify(shapes[i])} ${j ? "fused" : "plain"}`)));
  await initBackend("cpu");
});

test("fused Adam(W) with clipping equals the formula; inputs shared with other tensors are left alone", { skip: !WASM_KERNELS.includes("native") && "native kernels not built" }, async () => {
  await initBackend("wasm");
  setWasmKernels("native");
  const p = [tf.variable(tf.tensor2d([[1, -2], [3, 0.5]])), tf.variable(tf.tensor1d([0.1, -0.2, 0.3]))];
  const keep = p[0].clone(); // shares p[0]'s buffer: the update must not write into it
  const g = [tf.tensor2d([[0.5, -1], [2, 0]]), tf.tensor1d([3, 0, -4])];
  const m = p.map((v) => tf.variable(tf.fill(v.shape, 0.1)));
  const v = p.map((x) => tf.variable(tf.fill(x.shape, 0.2)));
  const h = { lr: 0.01, beta1: 0.9, beta2: 0.98, eps: 1e-8, c1: 1 - 0.9 ** 3, c2: 1 - 0.98 ** 3, weightDecay: 0.1, clipNorm: 1 };
  const before = { p: p.map((x) => Array.from(x.dataSync())), m: m.map((x) => Array.from(x.dataSync())), v: v.map((x) => Array.from(x.dataSync())) };
  const gs = g.map((x) => Array.from(x.dataSync()));
  const n0 = tf.memory().numTensors;
  const norm = adamUpdate(p, g, m, v, [true, false], h);
  const expectNorm = Math.sqrt(gs.flat().reduce((s, x) => s + x * x, 0));
  assert.ok(Math.abs(norm.dataSync()[0] - expectNorm) < 1e-5, `norm ${norm.dataSync()[0]} vs ${expectNorm}`);
  norm.dispose();
  assert.equal(tf.memory().numTensors, n0, "no tensor leak");
  const scale = Math.min(1, h.clipNorm / (expectNorm + 1e-6));
  for (let i = 0; i < 2; i++) {
    const got = { p: p[i].dataSync(), m: m[i].dataSync(), v: v[i].dataSync() };
    gs[i].forEach((g0, j) => {
      const gg = g0 * scale;
      const mm = 0.9 * before.m[i][j] + 0.1 * gg;
      const vv = 0.98 * before.v[i][j] + 0.02 * gg * gg;
      const pp = before.p[i][j] - h.lr * (mm / h.c1 / (Math.sqrt(vv / h.c2) + h.eps) + (i === 0 ? h.weightDecay * before.p[i][j] : 0));
      assert.ok(Math.abs(got.m[j] - mm) < 1e-6 && Math.abs(got.v[j] - vv) < 1e-6, `moments ${i}.${j}`);
      assert.ok(Math.abs(got.p[j] - pp) < 1e-6, `param ${i}.${j}: ${got.p[j]} vs ${pp}`);
    });
  }
  assert.deepEqual(Array.from(keep.dataSync()), before.p[0], "a clone of the old value is unchanged");
  [...p, ...m, ...v, keep, ...g].forEach((t) => t.dispose());
  await initBackend("cpu");
});

test("fused SGD equals p - lr g for every variable, leaves clones of the old values alone, leaks nothing", { skip: !WASM_KERNELS.includes("native") && "native kernels not built" }, async () => {
  await initBackend("wasm");
  setWasmKernels("native");
  const p = [tf.variable(tf.tensor2d([[1, -2], [3, 0.5]])), tf.variable(tf.tensor1d([0.1, -0.2, 0.3]))];
  const keep = p[1].clone();
  const g = [tf.tensor2d([[0.5, -1], [2, 0]]), tf.tensor1d([3, 0, -4])];
  const n0 = tf.memory().numTensors;
  sgdUpdate(p, g, 0.1);
  assert.equal(tf.memory().numTensors, n0);
  assert.deepEqual(Array.from(p[0].dataSync()).map((v) => Math.round(v * 1e6) / 1e6), [0.95, -1.9, 2.8, 0.5]);
  assert.deepEqual(Array.from(p[1].dataSync()).map((v) => Math.round(v * 1e6) / 1e6), [-0.2, -0.2, 0.7]);
  assert.deepEqual(Array.from(keep.dataSync()).map((v) => Math.round(v * 1e6) / 1e6), [0.1, -0.2, 0.3]);
  [...p, ...g, keep].forEach((t) => t.dispose());
  await initBackend("cpu");
});

test("the native library refuses ranges outside the heap and ids outside the table, with a message", { skip: !WASM_KERNELS.includes("native") && "native kernels not built" }, () => {
  const addon = nativeAddon()!;
  const heap = new Uint8Array(64);
  assert.throws(() => addon.columnSum(heap, 4, 4, 0, 60), /columnSum: argument 4: range \[60, 76\) is outside the heap/);
  assert.throws(() => addon.gemm(heap, 1, 2, 2, 2, 0, 0, 0, 0, 2, 16, 0, 2, 1000, 0, 2, 1, 0, -1, 0, 0), /outside the heap/);
  const ids = new Int32Array(heap.buffer, 0, 2);
  ids.set([0, 7]);
  assert.throws(() => addon.gatherRows(heap, 2, 2, 16, 3, 0, 40), /id 7 at 1 is outside \[0, 3\)/);
  assert.throws(() => addon.layerNormForward(heap, 1, 4, 2, -1, -1, 16, -1, 48, 1e-5), /bad offset 2/);
});
