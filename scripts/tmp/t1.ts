import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../src/backend";
import { createMlp } from "../../src/models/mlp";
import { Rng } from "../../src/rng";
(async () => {
  await initBackend("wasm");
  const m = createMlp({ inputDim: 100, width: 50000, outputDim: 2 }, new Rng("t"));
  const x = tf.tensor2d(Float32Array.from({ length: 100 }, (_, i) => (i % 3 ? 1 : -1)), [1, 100]);
  const t = tf.tensor2d([[1, 0]]);
  for (let rep = 0; rep < 3; rep++) {
    let t0 = performance.now();
    for (let i = 0; i < 200; i++) tf.tidy(() => m.sgdStep!(x, t, 0.005)!).dispose();
    console.log("sgdStep ms", (performance.now() - t0) / 200);
    t0 = performance.now();
    for (let i = 0; i < 200; i++) tf.tidy(() => m.forward(x).logits).dispose();
    console.log("forward ms", (performance.now() - t0) / 200);
  }
})();
