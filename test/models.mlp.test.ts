import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { createMlp } from "../src/models/mlp";
import { Rng } from "../src/rng";
import { assertClose, useBackend } from "./helpers";

test("PyTorch-default init: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weights and biases", async () => {
  await useBackend();
  const m = createMlp({ inputDim: 50, width: 400, outputDim: 2 }, new Rng("init"));
  const check = (t: tf.Tensor, a: number, name: string) => {
    const v = Array.from(t.dataSync());
    assert.ok(v.every((x) => Math.abs(x) <= a), `${name} out of range`);
    // Uniform on [-a, a]: max |x| close to a, variance a^2/3.
    assert.ok(Math.max(...v.map(Math.abs)) > 0.95 * a, `${name} does not fill the range`);
    if (v.length > 1000) {
      const varr = v.reduce((s, x) => s + x * x, 0) / v.length;
      assert.ok(Math.abs(varr / (a * a / 3) - 1) < 0.05, `${name} variance ${varr}`);
    }
  };
  check(m.W1, 1 / Math.sqrt(50), "W1");
  check(m.b1, 1 / Math.sqrt(50), "b1");
  check(m.W2, 1 / Math.sqrt(400), "W2");
  m.dispose();
});

test("forward pass and taps equal the hand computation", async () => {
  await useBackend();
  const m = createMlp({ inputDim: 2, width: 2, outputDim: 2 }, new Rng("x"));
  m.load({
    W1: tf.tensor2d([[1, 2], [-1, 0.5]]), // [width, in]: unit 0 = (1, 2), unit 1 = (-1, 0.5)
    b1: tf.tensor1d([0, -1]),
    W2: tf.tensor2d([[1, 0], [0, 2]]),
    b2: tf.tensor1d([0.5, 0]),
  });
  const x = tf.tensor2d([[1, 1], [-1, 1]]);
  const { logits, taps } = m.forward(x, { taps: ["hidden", "hiddenPre"] });
  // Row 1: pre = [1+2+0, -1+0.5-1] = [3, -1.5]; hidden = [3, 0]; logits = [3.5, 0].
  // Row 2: pre = [-1+2, 1+0.5-1] = [1, 0.5]; hidden = [1, 0.5]; logits = [1.5, 1].
  assertClose(taps.hiddenPre.dataSync(), [3, -1.5, 1, 0.5]);
  assertClose(taps.hidden.dataSync(), [3, 0, 1, 0.5]);
  assertClose(logits.dataSync(), [3.5, 0, 1.5, 1]);
  assert.deepEqual(m.variablesUpTo("hidden").map((v) => v.name.split("/")[1]), ["W1", "b1"]);
  assert.throws(() => m.forward(x, { taps: ["nope"] }), /unknown tap "nope"/);
  m.dispose();
});

test("snapshot and load round-trip between instances; shape mismatch is named", async () => {
  await useBackend();
  const a = createMlp({ inputDim: 3, width: 4, outputDim: 2 }, new Rng("a"));
  const b = createMlp({ inputDim: 3, width: 4, outputDim: 2 }, new Rng("b"));
  const snap = a.snapshot();
  b.load(snap);
  for (let i = 0; i < 4; i++) assert.deepEqual(Array.from(a.variables[i].dataSync()), Array.from(b.variables[i].dataSync()));
  const c = createMlp({ inputDim: 3, width: 5, outputDim: 2 }, new Rng("c"));
  assert.throws(() => c.load(snap), /weight "W1" has shape \[4,3\], expected \[5,3\]/);
  [a, b, c].forEach((m) => m.dispose());
  Object.values(snap).forEach((t) => t.dispose());
});

test("hand-derived gradients equal autodiff (output loss; tap loss post/pre activation, full and partial dim)", async () => {
  await useBackend();
  const { softCrossEntropy, projectedMse } = await import("../src/distill/losses");
  const rng = new Rng("g");
  const m = createMlp({ inputDim: 7, width: 6, outputDim: 2 }, rng.derive("m"));
  const x = tf.tensor2d(rng.uniformArray(5 * 7, -1, 1), [5, 7]);
  const target = tf.softmax(tf.tensor2d(rng.normalArray(10, 1), [5, 2]));
  const compare = (fast: { value: tf.Scalar; grads: Record<string, tf.Tensor> }, slow: { value: tf.Scalar; grads: Record<string, tf.Tensor> }, what: string) => {
    assertClose(fast.value.dataSync(), slow.value.dataSync(), 1e-5, `${what} value`);
    assert.deepEqual(Object.keys(fast.grads).sort(), Object.keys(slow.grads).sort(), `${what}: same variables`);
    for (const k of Object.keys(slow.grads)) assertClose(fast.grads[k].dataSync(), slow.grads[k].dataSync(), 1e-5, `${what} d${k}`);
  };
  compare(m.outputGrads!(x, target), tf.variableGrads(() => softCrossEntropy(m.forward(x).logits, target), m.variables as tf.Variable[]), "output");
  for (const tap of ["hidden", "hiddenPre"]) {
    for (const dim of [6, 4]) {
      const z = tf.tensor2d(rng.normalArray(5 * dim, 1), [5, dim]);
      const slow = tf.variableGrads(() => {
        const h = m.forward(x, { taps: [tap] }).taps[tap];
        return projectedMse(dim === 6 ? h : tf.slice(h, [0, 0], [5, dim]), z);
      }, m.variablesUpTo(tap));
      compare(m.tapGrads!(x, tap, z, dim), slow, `${tap} dim ${dim}`);
    }
  }
  m.dispose();
});

test("creating and disposing a model leaves no tensor behind", async () => {
  await useBackend();
  const before = tf.memory().numTensors;
  const m = createMlp({ inputDim: 5, width: 4, outputDim: 2 }, new Rng("leak"));
  assert.equal(tf.memory().numTensors, before + 4, "exactly the four variables");
  m.dispose();
  assert.equal(tf.memory().numTensors, before);
});

test("mlp forwardTaps runs the first layer only (one kernel) and equals forward's taps", async () => {
  await useBackend();
  const m = createMlp({ inputDim: 6, width: 10, outputDim: 2 }, new Rng("mlp-taps"));
  const x = tf.tensor2d(new Rng("mlp-taps-x").normalArray(4 * 6, 1), [4, 6]);
  const prof = await tf.profile(() => m.forwardTaps(x, ["hidden"]).hidden);
  const products = prof.kernels.filter((k) => /MatMul$/.test(k.name));
  assert.equal(products.length, 1, prof.kernels.map((k) => k.name).join(","));
  assert.ok(prof.kernels.every((k) => k.outputShapes.every((s) => s[s.length - 1] !== 2)), "no kernel makes [batch, 2] logits");
  for (const taps of [["hidden"], ["hiddenPre"], ["hidden", "hiddenPre"]]) {
    const a = m.forwardTaps(x, taps);
    const b = m.forward(x, { taps }).taps;
    assert.deepEqual(Object.keys(a).sort(), [...taps].sort());
    for (const t of taps) assert.deepEqual(Array.from(a[t].dataSync()), Array.from(b[t].dataSync()), t);
  }
  assert.throws(() => m.forwardTaps(x, ["nope"]), /unknown tap "nope"/);
  m.dispose();
});
