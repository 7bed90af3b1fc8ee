import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../src/backend";
import { activeLayers } from "../src/kernels";
import { KernelLayer, defineLayers, installKernels, stockKernel } from "../src/kernels/registry";

test("a layer over a stock kernel runs once per call however often the chain is installed, and comes off cleanly", async () => {
  await initBackend("cpu");
  const stockRelu = tf.getKernel("Relu", "cpu");
  let calls = 0;
  const counter: KernelLayer = {
    name: "counter",
    backend: "cpu",
    available: () => true,
    kernels: {
      Relu: (args, next) => {
        calls++;
        return next!(args);
      },
    },
  };
  defineLayers("cpu", [counter]);
  try {
    for (let i = 0; i < 3; i++) installKernels("cpu");
    assert.deepEqual(activeLayers("cpu"), ["counter"]);
    assert.equal(stockKernel("Relu", "cpu"), stockRelu, "the stock kernel is the one captured before any install");
    const y = tf.relu(tf.tensor1d([-1, 2]));
    assert.deepEqual(Array.from(y.dataSync()), [0, 2]);
    assert.equal(calls, 1, "three installs still give a chain of one layer");
    installKernels("cpu", []);
    tf.relu(tf.tensor1d([3])).dispose();
    assert.equal(calls, 1, "layer off: the stock kernel alone");
    y.dispose();
  } finally {
    defineLayers("cpu", []);
    installKernels("cpu");
  }
});

test("wasm, cpu, wasm again: a broadcast batched matMul still equals cpu (no self-calling chain)", async () => {
  const make = () => [tf.tensor3d(Float32Array.from({ length: 2 * 3 * 4 }, (_, i) => Math.sin(i)), [2, 3, 4]), tf.tensor2d(Float32Array.from({ length: 4 * 5 }, (_, i) => Math.cos(i)), [4, 5])] as const;
  await initBackend("cpu");
  const [xc, wc] = make();
  const want = Array.from(tf.matMul(xc, tf.broadcastTo(wc, [2, 4, 5])).dataSync());
  await initBackend("wasm");
  await initBackend("cpu");
  await initBackend("wasm");
  assert.ok(activeLayers("wasm").includes("xnnpack"));
  const [xw, ww] = make();
  const got = Array.from(tf.matMul(xw, tf.broadcastTo(ww, [2, 4, 5])).dataSync());
  got.forEach((g, i) => assert.ok(Math.abs(g - want[i]) < 1e-5, `entry ${i}: ${g} vs ${want[i]}`));
});
