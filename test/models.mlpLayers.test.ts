/**
 * createMlpLayers: the project's MLP as a tf.sequential (same draws from the same stream, or a copy of
 * an MLP's weights, same logits); parityDataset / parityTensors: the experiments' batches and held-out set.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../src/backend";
import { parityDataset, parityTensors } from "../src/data/parityDataset";
import { parityTask } from "../src/data/sparseParity";
import { parityStream } from "../src/experiments/parityTask";
import { fromLayersModel } from "../src/models/layers";
import { createMlp } from "../src/models/mlp";
import { createMlpLayers } from "../src/models/mlpLayers";
import { Rng } from "../src/rng";

const values = (t: tf.Tensor) => Array.from(t.dataSync());

test("createMlpLayers: the same stream draws createMlp's weights; `from` copies them; the logits agree", async () => {
  await initBackend("wasm");
  const cfg = { inputDim: 7, width: 5, outputDim: 2 };
  const ref = createMlp(cfg, new Rng("mlp-layers"));
  const drawn = createMlpLayers(cfg, { name: "drawn", rng: new Rng("mlp-layers") });
  const copied = createMlpLayers(cfg, { name: "copied", from: ref });
  assert.deepEqual(drawn.layers.map((l) => l.name), ["hidden", "logits"]);
  for (const m of [drawn, copied]) {
    const w = m.getWeights();
    [tf.transpose(ref.W1), ref.b1, ref.W2, ref.b2].forEach((v, i) => assert.deepEqual(values(w[i]), values(v), `${m.name} weight ${i}`));
  }
  const x = parityTensors(parityTask(7, 2), new Rng("x"), 9).xs;
  const a = tf.tidy(() => values(ref.forward(x).logits));
  const b = tf.tidy(() => values(fromLayersModel(drawn).forward(x).logits));
  a.forEach((v, i) => assert.ok(Math.abs(v - b[i]) < 1e-5, `logit ${i}: ${v} vs ${b[i]}`));
  assert.throws(() => createMlpLayers({ inputDim: 7, width: 6, outputDim: 2 }, { from: ref }), /the MLP to copy is 7-5-2, the layers model 7-6-2/);
  assert.throws(() => createMlpLayers({ inputDim: 0, width: 6, outputDim: 2 }), /inputDim must be a positive integer, got 0/);
  tf.dispose([x, ...ref.variables]);
  drawn.dispose();
  copied.dispose();
});

test("parityDataset gives the experiments' training batches; parityTensors their held-out set", async () => {
  await initBackend("wasm");
  const task = parityTask(10, 3);
  const stream = parityStream(task, new Rng("d").derive("data"), new Rng("d").derive("heldout"), 8, 64);
  const held = parityTensors(task, new Rng("d").derive("heldout"), 64);
  assert.deepEqual(values(held.xs), values(stream.heldout.x));
  assert.deepEqual(values(held.ys), values(stream.heldout.y));
  const it = await parityDataset(task, new Rng("d").derive("data"), 8).iterator();
  for (let i = 0; i < 3; i++) {
    const ours = await stream.nextBatch();
    const b = (await it.next()).value;
    assert.deepEqual(b.xs.shape, [8, 10]);
    assert.equal(b.ys.dtype, "int32");
    assert.deepEqual(values(b.xs), values(ours.x), `batch ${i}`);
    assert.deepEqual(values(b.ys), values(ours.y), `batch ${i}`);
    tf.dispose([b.xs, b.ys, ours.x, ours.y]);
  }
  tf.dispose([held.xs, held.ys]);
  stream.dispose();
});
