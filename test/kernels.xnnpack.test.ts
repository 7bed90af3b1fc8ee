import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../src/backend";
import { activeLayers, installBackendKernels } from "../src/kernels";
import { BATCH_LOOP_MIN_FLOPS } from "../src/kernels/xnnpack";
import { setWasmKernels } from "./nativeHelpers";

/** These tests are about the pure-wasm (XNNPACK) kernels: the native library's are taken out. */
async function xnnpackWasm(): Promise<string> {
  const b = await initBackend("wasm");
  setWasmKernels("xnnpack");
  return b;
}

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

/** Run `fn` on a backend (tensors must be created inside fn) and read the results out. */
async function on(backend: "wasm" | "cpu", fn: () => tf.Tensor | tf.Tensor[]): Promise<{ shape: number[]; data: Float32Array }[]> {
  await tf.setBackend(backend);
  const outs = tf.tidy(fn);
  const list = Array.isArray(outs) ? outs : [outs];
  const res = list.map((t) => ({ shape: t.shape, data: t.dataSync() as Float32Array }));
  tf.dispose(list);
  return res;
}

function assertClose(got: { shape: number[]; data: Float32Array }, want: { shape: number[]; data: Float32Array }, what: string, rel = 1e-4): void {
  assert.deepEqual(got.shape, want.shape, `${what}: shape`);
  let scale = 0;
  for (const v of want.data) scale = Math.max(scale, Math.abs(v));
  assert.ok(scale > 0, `${what}: reference is all zeros (test would be vacuous)`);
  for (let i = 0; i < want.data.length; i++) {
    const err = Math.abs(got.data[i] - want.data[i]);
    if (!(err <= rel * Math.max(scale, 1))) {
      assert.fail(`${what}: element ${i} got ${got.data[i]} want ${want.data[i]} (scale ${scale})`);
    }
  }
}

async function sameOnWasmAndCpu(what: string, fn: () => tf.Tensor | tf.Tensor[]): Promise<void> {
  const w = await on("wasm", fn);
  const c = await on("cpu", fn);
  assert.equal(w.length, c.length);
  for (let i = 0; i < w.length; i++) assertClose(w[i], c[i], `${what} [${i}]`);
}

/** Plain JS reference: y[M,N] = x[M,K] w[K,N]. */
function refMatMul(x: Float32Array, w: Float32Array, m: number, k: number, n: number): Float32Array {
  const y = new Float32Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
    let s = 0;
    for (let p = 0; p < k; p++) s += x[i * k + p] * w[p * n + j];
    y[i * n + j] = s;
  }
  return y;
}

const wasmBackend = (): { numDataIds(): number } => tf.findBackend("wasm") as unknown as { numDataIds(): number };

test("fast wasm kernels are registered by initBackend and registration is idempotent", async () => {
  assert.equal(await xnnpackWasm(), "wasm");
  assert.ok(activeLayers("wasm").includes("xnnpack"));
  installBackendKernels("wasm", ["xnnpack"]);
  installBackendKernels("wasm", ["xnnpack"]);
  assert.deepEqual(activeLayers("wasm"), ["xnnpack"]);
});

const COMBOS: [boolean, boolean][] = [
  [false, false],
  [true, false],
  [false, true],
  [true, true],
];

/** Shape of an operand given its logical [.., rows, cols] and whether it is passed transposed. */
const shp = (batch: number[], rows: number, cols: number, t: boolean): number[] => [...batch, ...(t ? [cols, rows] : [rows, cols])];

test("matMul equals cpu for every transposeA/transposeB, 2-D and batched shapes", async () => {
  await xnnpackWasm();
  // [batchA, batchB, M, K, N]
  const cases: [number[], number[], number, number, number][] = [
    [[], [], 33, 17, 29], // 2-D
    [[], [], 1, 50, 20], // row vector
    [[6], [6], 24, 16, 20], // batched, per-entry XNNPACK loop (M*K*N >= threshold)
    [[12], [12], 5, 3, 4], // batched, tiny entries (original loop)
    [[2, 3], [2, 3], 21, 8, 21], // 4-D batched (attention-like)
    [[2, 3], [], 15, 17, 19], // b broadcast over a's batch
    [[], [4], 15, 17, 19], // a broadcast over b's batch
  ];
  assert.ok(24 * 16 * 20 >= BATCH_LOOP_MIN_FLOPS && 5 * 3 * 4 < BATCH_LOOP_MIN_FLOPS);
  for (const [ba, bb, m, k, n] of cases) {
    for (const [tA, tB] of COMBOS) {
      await sameOnWasmAndCpu(`matMul a[${ba}] b[${bb}] ${m}x${k}x${n} tA=${tA} tB=${tB}`, () =>
        tf.matMul(make(shp(ba, m, k, tA), 1), make(shp(bb, k, n, tB), 2), tA, tB),
      );
    }
  }
});

test("fused matMul with bias + relu (and other activations) equals cpu", async () => {
  await xnnpackWasm();
  const cases: [number[], number, number, number][] = [
    [[], 32, 50, 20],
    [[3], 15, 17, 19],
    [[8], 4, 3, 5], // tiny batched entries
  ];
  for (const [batch, m, k, n] of cases) {
    for (const [tA, tB] of COMBOS) {
      for (const activation of ["relu", "linear"] as const) {
        await sameOnWasmAndCpu(`fused ${activation} [${batch}] ${m}x${k}x${n} tA=${tA} tB=${tB}`, () =>
          tf.fused.matMul({
            a: make(shp(batch, m, k, tA), 3),
            b: make(shp(batch, k, n, tB), 4),
            transposeA: tA,
            transposeB: tB,
            bias: make([n], 5),
            activation,
          }),
        );
      }
    }
  }
  for (const activation of ["relu6", "prelu", "leakyrelu", "sigmoid", "elu"] as const) {
    await sameOnWasmAndCpu(`fused ${activation} batched tB`, () =>
      tf.fused.matMul({
        a: tf.mul(make([3, 15, 17], 6), 4),
        b: make([3, 19, 17], 7),
        transposeB: true,
        bias: make([19], 8),
        activation,
        preluActivationWeights: activation === "prelu" ? make([19], 9) : undefined,
        leakyreluAlpha: 0.2,
      }),
    );
  }
});

test("gradients of a 2-layer MLP (relu, softmax cross-entropy) on wasm equal cpu", async () => {
  await xnnpackWasm();
  const [batch, input, hidden, classes] = [32, 50, 64, 3];
  const grads = (): tf.Tensor[] => {
    const w1 = tf.variable(tf.mul(make([input, hidden], 11), 0.3));
    const b1 = tf.variable(tf.mul(make([hidden], 12), 0.1));
    const w2 = tf.variable(tf.mul(make([hidden, classes], 13), 0.3));
    const b2 = tf.variable(tf.mul(make([classes], 14), 0.1));
    const x = make([batch, input], 15);
    const labels = tf.oneHot(tf.tensor1d(Array.from({ length: batch }, (_, i) => (i * 7) % classes), "int32"), classes);
    const vars = [w1, b1, w2, b2];
    const { value, grads: g } = tf.variableGrads(() => {
      const h = tf.relu(tf.add(tf.matMul(x, w1), b1));
      const logits = tf.add(tf.matMul(h, w2), b2);
      return tf.losses.softmaxCrossEntropy(labels, logits) as tf.Scalar;
    }, vars);
    // Fused Linear layer (bias + relu) gradient too.
    const { grads: gf } = tf.variableGrads(() => {
      const h = tf.fused.matMul({ a: x, b: w1, bias: b1, activation: "relu" });
      const logits = tf.fused.matMul({ a: h, b: w2, bias: b2 });
      return tf.losses.softmaxCrossEntropy(labels, logits) as tf.Scalar;
    }, vars);
    const out = [value, ...vars.map((v) => g[v.name]), ...vars.map((v) => gf[v.name])];
    vars.forEach((v) => v.dispose());
    return out;
  };
  const w = await on("wasm", grads);
  const c = await on("cpu", grads);
  assert.equal(w.length, 9);
  for (let i = 0; i < w.length; i++) assertClose(w[i], c[i], `MLP output ${i}`);
});

test("a reshaped view of a weight reused as matMul's 2nd input gives correct values (XNNPACK cache)", async () => {
  await xnnpackWasm();
  await tf.setBackend("wasm");
  const wv = values(24, 21);
  const x1v = values(18, 22);
  const x2v = values(12, 23);
  const W = tf.tensor(wv, [6, 4]);
  const bias4 = tf.tensor(values(4, 24), [4]);
  const y1 = tf.matMul(tf.tensor(x1v, [3, 6]), W);
  assertClose({ shape: y1.shape, data: y1.dataSync() as Float32Array }, { shape: [3, 4], data: refMatMul(x1v, wv, 3, 6, 4) }, "first use");
  // The same data (same wasm tensor id) viewed as [4, 6]: the stock kernel reuses the operator
  // XNNPACK built for the [6, 4] weights and returns garbage.
  const y2 = tf.matMul(tf.tensor(x2v, [3, 4]), W.reshape([4, 6]));
  assertClose({ shape: y2.shape, data: y2.dataSync() as Float32Array }, { shape: [3, 6], data: refMatMul(x2v, wv, 3, 4, 6) }, "reshaped view");
  // Fused path shares the same cache; and the original shape must still work afterwards.
  const y3 = tf.fused.matMul({ a: tf.tensor(x1v, [3, 6]), b: W, bias: bias4 });
  const y3ref = refMatMul(x1v, wv, 3, 6, 4).map((v, i) => v + bias4.dataSync()[i % 4]);
  assertClose({ shape: y3.shape, data: y3.dataSync() as Float32Array }, { shape: [3, 4], data: y3ref }, "fused after view");
  const y4 = tf.fused.matMul({ a: tf.tensor(x2v, [3, 4]), b: W.reshape([4, 6]) });
  assertClose({ shape: y4.shape, data: y4.dataSync() as Float32Array }, { shape: [3, 6], data: refMatMul(x2v, wv, 3, 4, 6) }, "fused view");
  const y5 = tf.matMul(tf.tensor(x1v, [3, 6]), W);
  assertClose({ shape: y5.shape, data: y5.dataSync() as Float32Array }, { shape: [3, 4], data: refMatMul(x1v, wv, 3, 6, 4) }, "original again");
  tf.disposeVariables();
  tf.dispose([W, bias4, y1, y2, y3, y4, y5]);
});

test("no tensor or buffer leak over repeated calls", async () => {
  await xnnpackWasm();
  await tf.setBackend("wasm");
  const x = make([32, 50], 31);
  const w1 = tf.variable(make([50, 40], 32));
  const b1 = tf.variable(make([40], 33));
  const w2 = tf.variable(make([40, 2], 34));
  const q = make([16, 21, 8], 35);
  const k = make([16, 21, 8], 36);
  const labels = tf.oneHot(tf.tensor1d(Array.from({ length: 32 }, (_, i) => i % 2), "int32"), 2);
  const bias32 = make([32], 37);
  const vars = [w1, b1, w2];
  const round = (): void => {
    tf.tidy(() => {
      tf.matMul(x, w1, false, false);
      tf.matMul(x, x, true, false);
      tf.matMul(w1, x, true, true);
      tf.matMul(q, k, false, true); // batched per-entry loop
      tf.matMul(q.slice([0, 0, 0], [16, 3, 2]), k.slice([0, 0, 0], [16, 3, 2]), false, true); // tiny batched
      tf.fused.matMul({ a: x, b: w1, bias: b1, activation: "relu" });
      tf.fused.matMul({ a: w1, b: x, bias: bias32, transposeA: true, transposeB: true, activation: "relu" });
      tf.matMul(x, w1.reshape([40, 50]), false, true);
      const { grads } = tf.variableGrads(() => {
        const h = tf.fused.matMul({ a: x, b: w1, bias: b1, activation: "relu" });
        return tf.losses.softmaxCrossEntropy(labels, tf.matMul(h, w2)) as tf.Scalar;
      }, vars);
      for (const v of vars) v.assign(tf.sub(v, tf.mul(0.01, grads[v.name])));
    });
  };
  round(); // burn-in
  const before = tf.memory();
  const idsBefore = wasmBackend().numDataIds();
  for (let i = 0; i < 20; i++) round();
  const after = tf.memory();
  assert.equal(after.numTensors, before.numTensors, "numTensors");
  assert.equal(after.numBytes, before.numBytes, "numBytes");
  assert.equal(wasmBackend().numDataIds(), idsBefore, "wasm backend data ids (kernel-internal buffers)");
  const finite = (await w1.data()).every((v) => Number.isFinite(v));
  assert.ok(finite);
  tf.dispose([x, q, k, labels, bias32, ...vars]);
});
