/**
 * The parity-transformer teacher computes what the PyTorch peer computes (issue 23): the same
 * initial weights and batches give the same loss at every one of the first steps, through the
 * engine's own training step (labels phase, our Adam). The expected losses are the peer's,
 * computed by ../shared/peer/torch_transformer_parity.py (its TF model and torch.optim.AdamW with
 * weight decay 0, GELU in its tanh form as ours) from our initial weights and our batches:
 *
 *   npx tsx scripts/teacher-check/dump.ts --seed 0 --steps 12 --n 8 --teacher-d-model 16 --teacher-heads 4 [--scale 4] --out /tmp/f.json
 *   /usr/bin/python3 scripts/teacher-check/peer_steps.py /tmp/f.json      # prints "peer_losses"
 *
 * A change to the initialisation (distributions, draw order, seeding), the embedding, the block, the
 * read-out, the loss, Adam (epsilon, bias correction, a schedule) or the sample stream shows here.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { labelsPhase } from "../src/distill/outputs";
import { plan } from "../src/distill/phases";
import { PARITY_TRANSFORMER, resolveParityTransformerConfig } from "../src/experiments/parityTransformer";
import { trainStep } from "../src/train/loop";
import { createOptimizer } from "../src/train/optimizers";
import { useBackend } from "./helpers";

/** The peer's loss at steps 0..11 from our weights (scaled: every matrix times `scale`) and batches. */
const PEER: Record<number, number[]> = {
  1: [0.8581396, 0.7415501, 0.8079495, 0.7797163, 0.7179574, 0.7360703, 0.7083124, 0.6925229, 0.6907871, 0.7099196, 0.7537787, 0.7358258],
  // Weights x4: attention logits 16x sharper, far from the initial regime.
  4: [1.2721128, 1.062924, 1.1885573, 0.9974922, 1.0207134, 0.9978519, 0.8345528, 0.8309587, 0.7687446, 0.8829864, 0.8685457, 0.7122785],
};

async function ourLosses(scale: number, steps: number): Promise<number[]> {
  const cfg = resolveParityTransformerConfig("main", { n: 8, teacherDModel: 16, teacherHeads: 4 });
  const tp = PARITY_TRANSFORMER.teacher(cfg, 0, null, 0);
  const model = tp.create();
  if (scale !== 1) for (const v of model.variables) if (v.rank === 2) tf.tidy(() => v.assign(tf.mul(v, scale)));
  const methodPlan = plan("teacher", [labelsPhase(tp.task, model, Infinity, tp.optimizer)]);
  const phase = methodPlan.phases[0];
  const opt = createOptimizer(tp.optimizer);
  const losses: number[] = [];
  try {
    for (let s = 0; s < steps; s++) {
      const b = await tp.task.nextBatch();
      const loss = trainStep(model, phase, b, opt);
      losses.push(loss.dataSync()[0]);
      tf.dispose([loss, b.x, b.y as tf.Tensor]);
    }
  } finally {
    opt.dispose();
    methodPlan.dispose();
    model.dispose();
    tp.dispose();
  }
  return losses;
}

for (const scale of [1, 4]) {
  test(`parity-transformer teacher: the first 12 losses equal the PyTorch peer's on the same weights and batches (weights x${scale})`, async () => {
    await useBackend();
    const before = tf.memory().numTensors;
    const ours = await ourLosses(scale, PEER[scale].length);
    PEER[scale].forEach((p, i) => assert.ok(Math.abs(ours[i] - p) < 2e-5, `step ${i}: ours ${ours[i]}, the peer's ${p}`));
    assert.equal(tf.memory().numTensors, before, "no tensor left behind");
  });
}
