/**
 * distill()'s options and conventions (issue 24): every bad option is one DistillOptionError naming
 * it, before any training and with no tensor leaked; batches of a plain async generator are freed; a
 * non-finite loss stops the run naming the step and the phase; the callbacks are awaited in fit's
 * order; an AbortSignal stops the run; a teacher at chance is an error unless allowed.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { DataBatch, DistillOptionError, DistillOptions, Interrupted, NonFiniteLoss, distill } from "../src/api";
import { initBackend } from "../src/backend";
import { parityTask, sampleParity } from "../src/data/sparseParity";
import { fromLayersModel } from "../src/models/layers";
import { Rng } from "../src/rng";

const N = 8;

function parityBatch(rng: Rng, size: number): DataBatch {
  const b = sampleParity(parityTask(N, 2), rng, size);
  return { xs: tf.tensor2d(b.x, [size, N]), ys: tf.tensor1d(b.y, "int32") };
}

function mlp(width: number, name: string, inputs = N): tf.Sequential {
  return tf.sequential({ name, layers: [tf.layers.dense({ inputShape: [inputs], units: width, activation: "relu", name: "hidden" }), tf.layers.dense({ units: 2, name: "out" })] });
}

async function* fresh(rng: Rng, size = 8): AsyncGenerator<DataBatch> {
  for (;;) yield parityBatch(rng, size);
}

test("setup", async () => {
  await initBackend("wasm");
});

test("each bad option: one DistillOptionError naming it and its value, before any work, no tensor leaked", async () => {
  const teacher = fromLayersModel(mlp(16, "t-bad"));
  const student = fromLayersModel(mlp(4, "s-bad"));
  const rng = new Rng("bad-options");
  const base = (): DistillOptions => ({ teacher, student, data: fresh(rng), method: "cx", budget: { steps: 20 }, tapSteps: 5, verbose: 0 });
  const shared = tf.sequential({ layers: [tf.layers.dense({ inputShape: [N], units: 2, name: "shared" })] });
  const cases: Array<[string, Partial<DistillOptions> | Record<string, unknown>, RegExp?]> = [
    ["budget", { budget: undefined }],
    ["budget.steps", { budget: { steps: 0 } }],
    ["budget.steps", { budget: { steps: -5 } }],
    ["budget.samples", { budget: { samples: Number.NaN } }],
    ["budget", { budget: { epochs: 3 } }],
    ["tapSteps", { tapSteps: -3 }],
    ["tapSteps", { tapSteps: 50 }, /leave no output steps in the budget of 20 steps/],
    ["evalEvery", { evalEvery: 0 }],
    ["optimizer", { optimizer: { kind: "rmsprop", lr: 1e-3 } }, /"rmsprop"/],
    ["optimizer.lr", { optimizer: { kind: "adam", lr: -1 } }],
    ["method", { method: "magic" }, /registered method: cx, oneshot/],
    ["checkpoints", { method: "progressive" }],
    ["student", { student: teacher }, /same model/],
    ["student", { teacher: fromLayersModel(shared), student: fromLayersModel(shared) }, /shares this variable/],
    ["data", { data: fresh(rng, 8), student: fromLayersModel(mlp(4, "s-wide", N + 3)) }, /student does not take inputs of shape \[8,8\]/],
    ["data", { data: [{ xs: tf.ones([4, N]), ys: tf.tensor1d([0, 1, 2, 1], "int32") }] }, /class ids must be integers in \[0, 2\)/],
    ["data", { data: [{ xs: tf.fill([4, N], Number.NaN), ys: tf.tensor1d([0, 1, 0, 1], "int32") }] }, /NaN or infinite/],
    ["tau", { tau: 0 }],
    ["verbose", { verbose: 2 }],
    ["pairs", { pairs: [{ teacherTap: "nope", studentTap: "hidden" }] }, /no layer named "nope"/],
  ];
  for (const [option, over, re] of cases) {
    const n0 = tf.memory().numTensors;
    const opts = { ...base(), ...over } as DistillOptions;
    const before = student.variables.map((v) => Array.from(v.dataSync()));
    await assert.rejects(
      distill(opts),
      (e: unknown) => {
        assert.ok(e instanceof DistillOptionError, `${option}: ${e}`);
        assert.equal(e.option, option, `${JSON.stringify(over)}: ${e.message}`);
        if (re) assert.match(e.message, re);
        return true;
      },
      option,
    );
    assert.equal(tf.memory().numTensors, n0, `${option} ${JSON.stringify(over)}: tensors leaked`);
    if (Array.isArray(opts.data)) tf.dispose((opts.data as DataBatch[]).flatMap((b) => [b.xs, b.ys])); // an array's batches stay the caller's
    student.variables.forEach((v, i) => assert.deepEqual(Array.from(v.dataSync()), before[i], "no training happened"));
  }
  shared.dispose();
});

test("a plain async generator's batches are freed: no leak per step", async () => {
  const teacher = fromLayersModel(mlp(16, "t-gen"));
  const student = fromLayersModel(mlp(4, "s-gen"));
  const rng = new Rng("gen");
  await distill({ teacher, student, data: fresh(rng), method: "oneshot", budget: { steps: 2 }, verbose: 0 }); // burn-in
  const n0 = tf.memory().numTensors;
  const r = await distill({ teacher, student, data: fresh(rng), method: "cx", budget: { steps: 40 }, tapSteps: 10, verbose: 0 });
  assert.equal(r.steps, 40);
  assert.equal(tf.memory().numTensors, n0, "no tensor leaked over 40 steps");
});

test("NaN appearing in the data stops the run at the next evaluation, naming the step and the phase", async () => {
  const teacher = fromLayersModel(mlp(16, "t-nan"));
  const student = fromLayersModel(mlp(4, "s-nan"));
  const rng = new Rng("nan");
  async function* poisoned() {
    for (let i = 0; ; i++) {
      const b = parityBatch(rng, 8);
      if (i < 12) yield b;
      else {
        b.xs.dispose();
        yield { xs: tf.fill([8, N], Number.NaN), ys: b.ys };
      }
    }
  }
  const v = parityBatch(new Rng("nan-valid"), 64);
  const n0 = tf.memory().numTensors;
  await assert.rejects(
    distill({ teacher, student, data: poisoned(), method: "oneshot", budget: { steps: 100 }, validation: v, evalEvery: 10, verbose: 0, allowWeakTeacher: true, onWarning: () => {} }),
    (e: unknown) => e instanceof NonFiniteLoss && e.step === 20 && e.phase === "teacher" && /step 20 \(phase "teacher"\)/.test(e.message),
  );
  assert.equal(tf.memory().numTensors, n0, "no tensor leaked");
  tf.dispose([v.xs, v.ys]);
});

test("a teacher at chance on the validation set: a DistillOptionError, or with allowWeakTeacher a warning", async () => {
  const chance = mlp(16, "t-chance");
  const out = chance.getLayer("out");
  out.setWeights(out.getWeights().map((w) => tf.zerosLike(w))); // constant logits: always class 0
  const teacher = fromLayersModel(chance);
  const rng = new Rng("chance");
  const v = parityBatch(new Rng("chance-valid"), 512);
  await assert.rejects(
    distill({ teacher, student: fromLayersModel(mlp(4, "s-c1")), data: fresh(rng), method: "oneshot", budget: { steps: 5 }, validation: v, verbose: 0 }),
    (e: unknown) => e instanceof DistillOptionError && e.option === "teacher" && /no better than chance/.test(e.message),
  );
  const warnings: string[] = [];
  const r = await distill({
    teacher, student: fromLayersModel(mlp(4, "s-c2")), data: fresh(rng), method: "oneshot", budget: { steps: 5 }, validation: v, verbose: 0,
    allowWeakTeacher: true, onWarning: (w) => warnings.push(w.message),
  });
  assert.equal(r.steps, 5);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /no better than chance/);
  tf.dispose([v.xs, v.ys]);
});

test("callbacks in fit's shape, awaited in order; an AbortSignal stops the run (Interrupted) with no leak", async () => {
  const teacher = fromLayersModel(mlp(16, "t-cb"));
  const rng = new Rng("cb");
  const log: string[] = [];
  const slow = () => new Promise((r) => setTimeout(r, 1));
  const r = await distill({
    teacher, student: fromLayersModel(mlp(4, "s-cb")), data: fresh(rng), method: "cx", budget: { steps: 6 }, tapSteps: 2, verbose: 0,
    evaluate: async () => ({ accuracy: 0.5, loss: 1 }), evalEvery: 3,
    onTrainBegin: async () => {
      await slow();
      log.push("begin");
    },
    onPhaseBegin: async (e) => {
      await slow();
      log.push(`phase ${e.phase}`);
    },
    onBatchEnd: async (e) => {
      await slow();
      log.push(`batch ${e.step}`);
    },
    onEvaluation: async (e) => {
      await slow();
      log.push(`eval ${e.step}`);
    },
    onPhaseEnd: async (e) => {
      await slow();
      log.push(`end ${e.phase} at ${e.step}`);
    },
    onTrainEnd: async (p) => {
      await slow();
      log.push(`done ${p.step}`);
    },
  });
  assert.equal(r.steps, 6);
  assert.deepEqual(log, [
    "begin", "eval 0", "phase tap:hidden<-hidden", "batch 1", "batch 2", "end tap:hidden<-hidden at 2",
    "phase teacher", "batch 3", "eval 3", "batch 4", "batch 5", "batch 6", "eval 6", "end teacher at 6", "done 6",
  ]);

  const controller = new AbortController();
  const student = fromLayersModel(mlp(4, "s-abort"));
  const n0 = tf.memory().numTensors;
  await assert.rejects(
    distill({ teacher, student, data: fresh(rng), method: "oneshot", budget: { steps: 1000 }, verbose: 0, signal: controller.signal, onBatchEnd: (e) => void (e.step === 7 && controller.abort()) }),
    (e: unknown) => e instanceof Interrupted,
  );
  assert.equal(tf.memory().numTensors, n0, "no tensor leaked");
});
