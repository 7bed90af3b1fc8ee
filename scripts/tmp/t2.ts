import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../src/backend";
import { createMlp } from "../../src/models/mlp";
import { Rng } from "../../src/rng";
(async () => {
  await initBackend("wasm");
  const m = createMlp({ inputDim: 100, width: 50000, outputDim: 2 }, new Rng("t"));
  const x = tf.tensor2d(Float32Array.from({ length: 100 }, (_, i) => (i % 3 ? 1 : -1)), [1, 100]);
  const t = tf.tensor2d([[1, 0]]);
  const cpu = (f: () => void, n: number) => { const c0 = process.cpuUsage(); const t0 = performance.now(); for (let i = 0; i < n; i++) f(); const c = process.cpuUsage(c0); return `cpu ${((c.user + c.system) / 1000 / n).toFixed(3)} ms wall ${((performance.now() - t0) / n).toFixed(3)} ms`; };
  for (let rep = 0; rep < 3; rep++) {
    console.log("sgdStep", cpu(() => tf.tidy(() => m.sgdStep!(x, t, 0.005)!).dispose(), 300));
    console.log("forward", cpu(() => tf.tidy(() => m.forward(x).logits).dispose(), 300));
  }
})();
