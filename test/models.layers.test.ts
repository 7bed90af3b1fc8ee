/**
 * fromLayersModel: taps equal the layers' outputs (Sequential and a branched functional model),
 * variablesUpTo follows the graph, forwardTaps computes nothing past the deepest tap, errors name the
 * layer, and a layers MLP given the project MLP's weights follows the same curriculum-extraction curve.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../src/backend";
import { parityTask } from "../src/data/sparseParity";
import { curriculumExtraction } from "../src/distill/curriculumExtraction";
import { parityStream } from "../src/experiments/parityTask";
import { fromLayersModel } from "../src/models/layers";
import { createMlp } from "../src/models/mlp";
import { shortName } from "../src/models/types";
import { Rng } from "../src/rng";
import { runPhases } from "../src/train/loop";

function mlpLayers(n: number, width: number, name: string): tf.Sequential {
  return tf.sequential({
    name,
    layers: [tf.layers.dense({ inputShape: [n], units: width, activation: "relu", name: "hidden" }), tf.layers.dense({ units: 2, name: "out" })],
  });
}

function branched(): tf.LayersModel {
  const input = tf.input({ shape: [6] });
  const a = tf.layers.dense({ units: 5, activation: "relu", name: "a" }).apply(input) as tf.SymbolicTensor;
  const b = tf.layers.dense({ units: 4, name: "b" }).apply(a) as tf.SymbolicTensor;
  const c = tf.layers.dense({ units: 3, name: "c" }).apply(input) as tf.SymbolicTensor;
  const cat = tf.layers.concatenate({ name: "cat" }).apply([b, c]) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: 2, name: "out" }).apply(cat) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: out, name: "branched" });
}

const values = (t: tf.Tensor) => Array.from(t.dataSync());

test("Sequential: default taps, tap values equal the layer's output, logits equal predict, variablesUpTo", async () => {
  await initBackend("wasm");
  const m = mlpLayers(8, 16, "seq");
  const t = fromLayersModel(m);
  assert.deepEqual(t.tapNames, ["hidden"]);
  assert.equal(t.tapDim("hidden"), 16);
  const x = tf.randomNormal([5, 8], 0, 1, "float32", 1);
  const ref = tf.model({ inputs: m.inputs, outputs: m.getLayer("hidden").output as tf.SymbolicTensor }).predict(x) as tf.Tensor;
  const { logits, taps } = t.forward(x, { taps: ["hidden"] });
  assert.deepEqual(values(taps.hidden), values(ref));
  assert.deepEqual(values(logits), values(m.predict(x) as tf.Tensor));
  assert.deepEqual(values(t.forwardTaps(x, ["hidden"]).hidden), values(ref));
  assert.deepEqual(t.variablesUpTo("hidden").map(shortName), ["hidden/kernel", "hidden/bias"]);
  assert.deepEqual(t.variables.map(shortName), ["hidden/kernel", "hidden/bias", "out/kernel", "out/bias"]);
  // Nothing past the tap: no product makes the [5, 2] output.
  const prof = await tf.profile(() => Object.values(t.forwardTaps(x, ["hidden"])));
  assert.ok(prof.kernels.every((k) => k.outputShapes.every((s) => s[s.length - 1] !== 2)), prof.kernels.map((k) => `${k.name}${JSON.stringify(k.outputShapes)}`).join(" "));
  m.dispose();
});

test("functional model with branches: every tap equals its layer's output; variablesUpTo follows the graph", async () => {
  await initBackend("wasm");
  const m = branched();
  const t = fromLayersModel(m);
  // Topological order: a before b, both branches before the concatenation.
  assert.deepEqual([...t.tapNames].sort(), ["a", "b", "c", "cat"]);
  assert.ok(t.tapNames.indexOf("a") < t.tapNames.indexOf("b") && t.tapNames.indexOf("cat") === 3, t.tapNames.join(","));
  const x = tf.randomNormal([3, 6], 0, 1, "float32", 2);
  const { taps } = t.forward(x, { taps: ["b", "c", "cat"] });
  for (const name of ["b", "c", "cat"]) {
    const ref = tf.model({ inputs: m.inputs, outputs: m.getLayer(name).output as tf.SymbolicTensor }).predict(x) as tf.Tensor;
    assert.deepEqual(values(taps[name]), values(ref), name);
  }
  assert.deepEqual(t.variablesUpTo("b").map(shortName).sort(), ["a/bias", "a/kernel", "b/bias", "b/kernel"]);
  assert.deepEqual(t.variablesUpTo("c").map(shortName).sort(), ["c/bias", "c/kernel"]);
  assert.equal(t.variablesUpTo("cat").length, 6);
  // Gradients through forwardTaps reach exactly variablesUpTo.
  const { grads } = tf.variableGrads(() => tf.sum(tf.square(t.forwardTaps(x, ["b"]).b)) as tf.Scalar, t.variablesUpTo("b"));
  assert.equal(Object.values(grads).filter((g) => values(g).some((v) => v !== 0)).length, 4);
  m.dispose();
});

test("errors name the layer: unknown, inside a nested model, shared, not float; taps repeated", async () => {
  await initBackend("wasm");
  const m = mlpLayers(4, 3, "errs");
  assert.throws(() => fromLayersModel(m, { taps: ["nope"] }), /fromLayersModel\(errs\): no layer named "nope" \(layers: hidden, out\)/);
  assert.throws(() => fromLayersModel(m, { taps: ["hidden", "hidden"] }), /taps repeat a layer/);
  const inner = mlpLayers(4, 3, "inner");
  const input = tf.input({ shape: [4] });
  const nested = tf.model({ inputs: input, outputs: tf.layers.dense({ units: 2, name: "top" }).apply(inner.apply(input) as tf.SymbolicTensor) as tf.SymbolicTensor, name: "outer" });
  assert.throws(() => fromLayersModel(nested, { taps: ["hidden"] }), /layer "hidden" is inside the nested model "inner"/);
  const shared = tf.layers.dense({ units: 4, name: "shared" });
  const i2 = tf.input({ shape: [4] });
  const twice = shared.apply(shared.apply(i2) as tf.SymbolicTensor) as tf.SymbolicTensor;
  const sm = tf.model({ inputs: i2, outputs: tf.layers.dense({ units: 2, name: "o2" }).apply(twice) as tf.SymbolicTensor, name: "sharing" });
  assert.throws(() => fromLayersModel(sm, { taps: ["shared"] }), /layer "shared" is applied 2 times/);
  assert.deepEqual(fromLayersModel(sm).tapNames, [], "a shared layer is not a default tap");
  const i3 = tf.input({ shape: [5], dtype: "int32" });
  const emb = tf.layers.embedding({ inputDim: 10, outputDim: 3, name: "emb" }).apply(i3) as tf.SymbolicTensor;
  const flat = tf.layers.flatten({ name: "flat" }).apply(emb) as tf.SymbolicTensor;
  const em = tf.model({ inputs: i3, outputs: tf.layers.dense({ units: 2, name: "o3" }).apply(flat) as tf.SymbolicTensor, name: "tokens" });
  assert.deepEqual(fromLayersModel(em).tapNames, ["emb", "flat"]);
  const two = tf.model({ inputs: [i2, tf.input({ shape: [3] })], outputs: tf.layers.dense({ units: 2 }).apply(i2) as tf.SymbolicTensor, name: "twoin" });
  assert.throws(() => fromLayersModel(two), /one input and one output are supported, this one has 2 and 1/);
});

test("a layers MLP with the project MLP's weights follows the same curriculum-extraction curve", async () => {
  await initBackend("wasm");
  const run = async (make: (rng: Rng) => ReturnType<typeof createMlp> | ReturnType<typeof fromLayersModel>) => {
    const rng = new Rng("layers-vs-mlp");
    const teacher = make(rng.derive("teacher"));
    const student = make(rng.derive("student"));
    const stream = parityStream(parityTask(12, 3), rng.derive("data"), rng.derive("heldout"), 32, 512);
    const plan = curriculumExtraction(student, teacher, rng.derive("projection"), {
      pairs: [{ teacherTap: "hidden", studentTap: "hidden" }], tapSteps: 150, tapOptimizer: { kind: "sgd", lr: 0.05 }, output: { optimizer: { kind: "sgd", lr: 0.1 }, tau: 1 },
    });
    const curve: number[] = [];
    for await (const ev of runPhases(student, plan, stream, { evalEvery: 50, maxSamples: 300 * 32 })) if (ev.type === "eval") curve.push(ev.trainLoss, ev.loss);
    plan.dispose();
    stream.dispose();
    return curve;
  };
  // The project's MLP (hand-derived gradients) and a tf.sequential with the same weights (autodiff).
  const ours = await run((rng) => createMlp({ inputDim: 12, width: 24, outputDim: 2 }, rng));
  const viaLayers = await run((rng) => {
    const ref = createMlp({ inputDim: 12, width: 24, outputDim: 2 }, rng);
    const m = mlpLayers(12, 24, `mlp-${rng.next()}`);
    m.getLayer("hidden").setWeights([tf.transpose(ref.W1), ref.b1]); // Dense keeps [in, width]
    m.getLayer("out").setWeights([ref.W2, ref.b2]);
    ref.dispose();
    return fromLayersModel(m);
  });
  assert.equal(viaLayers.length, ours.length);
  ours.forEach((v, i) => assert.ok(Math.abs(viaLayers[i] - v) <= 1e-4 * Math.max(1, Math.abs(v)), `point ${i}: ${viaLayers[i]} vs ${v}`));
});

test("file:// save and load in Node: the reloaded model predicts the same; a truncated weights file is refused", async () => {
  const fs = await import("node:fs");
  const os = await import("node:os");
  const path = await import("node:path");
  const { registerFileIo } = await import("../src/models/layersIo");
  await initBackend("wasm");
  registerFileIo();
  registerFileIo(); // idempotent
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cd-layers-io-"));
  try {
    const m = branched();
    const x = tf.randomNormal([4, 6], 0, 1, "float32", 3);
    await m.save(`file://${dir}/student`);
    assert.deepEqual(fs.readdirSync(path.join(dir, "student")).sort(), ["model.json", "weights.bin"]);
    const back = await tf.loadLayersModel(`file://${dir}/student/model.json`);
    assert.deepEqual(values(back.predict(x) as tf.Tensor), values(m.predict(x) as tf.Tensor));
    const w = path.join(dir, "student", "weights.bin");
    fs.writeFileSync(w, fs.readFileSync(w).subarray(0, 20));
    await assert.rejects(tf.loadLayersModel(`file://${dir}/student/model.json`), /weights of .*model\.json hold 20 bytes, the manifest says/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("layers FLOPs: Dense products, up to a tap or the whole model; other weighted layers make the model uncounted", async () => {
  await initBackend("wasm");
  const t = fromLayersModel(mlpLayers(8, 16, "flops"));
  assert.equal(t.forwardFlops!({ batch: 5 }), 2 * 5 * (8 * 16 + 16 * 2));
  assert.equal(t.forwardFlops!({ batch: 5, upTo: "hidden" }), 2 * 5 * 8 * 16);
  const b = fromLayersModel(branched());
  assert.equal(b.forwardFlops!({ batch: 3, upTo: "cat" }), 2 * 3 * (6 * 5 + 5 * 4 + 6 * 3));
  const conv = tf.sequential({ layers: [tf.layers.conv1d({ inputShape: [6, 2], filters: 3, kernelSize: 2, name: "c" }), tf.layers.flatten({ name: "f" }), tf.layers.dense({ units: 2, name: "d" })] });
  assert.equal(fromLayersModel(conv).forwardFlops, undefined);
});
