/**
 * tapSteps "auto": the plateau rule on hand-made loss sequences, and a tap phase that ends by itself
 * in the loop (a multiple of the check interval, before its cap; the output phase's schedule starts then).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { AUTO_RULE, plateauRule } from "../src/distill/autoLength";
import { parityTask } from "../src/data/sparseParity";
import { curriculumExtraction } from "../src/distill/curriculumExtraction";
import { parityStream } from "../src/experiments/parityTask";
import { createMlp } from "../src/models/mlp";
import { Rng } from "../src/rng";
import { runPhases } from "../src/train/loop";
import { useBackend } from "./helpers";

/** The step (in the phase) at which the rule ends a phase whose loss after s steps is loss(s). */
function endOf(loss: (s: number) => number, rule = plateauRule()): number {
  for (let s = rule.every; s <= 10 * AUTO_RULE.maxSteps; s += rule.every) if (rule.observe(loss(s), s)) return s;
  return -1;
}

test("plateau rule: a loss that halves every 20 steps then stays flat ends soon after it flattens", () => {
  // Flat from step 200 (value 2^-10). The average lags: its gap to the floor shrinks by 0.7 per
  // reading and must fall to about 2% before five readings pass without a 1% gain (~250 steps).
  const end = endOf((s) => 2 ** (-Math.min(s, 200) / 20));
  assert.ok(end > 200 && end <= 500, `ended at ${end}`);
});

test("plateau rule: a loss that keeps falling by more than 1% per 50 steps runs to the cap; flat from the start ends at the minimum", () => {
  assert.equal(endOf((s) => Math.exp(-s / 500)), AUTO_RULE.maxSteps);
  assert.equal(endOf(() => 1), Math.max(AUTO_RULE.minSteps, (AUTO_RULE.patience + 1) * AUTO_RULE.checkEvery));
});

test("plateau rule: noise around a flat loss does not keep it going; scale does not matter; NaN readings are ignored", () => {
  const rng = new Rng("plateau-noise");
  const noisy = (scale: number) => (s: number) => scale * (1 + (s < 100 ? (100 - s) / 50 : 0)) * (1 + 0.2 * (rng.next() - 0.5));
  const a = endOf(noisy(1));
  const b = endOf(noisy(1e-4));
  assert.ok(a > 100 && a < 600, `ended at ${a}`);
  assert.ok(b > 100 && b < 600, `ended at ${b}`);
  assert.equal(endOf((s) => (s % 20 === 0 ? NaN : 1)), endOf((s) => (s % 20 === 0 ? NaN : 1)), "deterministic");
});

test("plateau rule: state saved mid-way and restored into a fresh rule ends at the same step", () => {
  const loss = (s: number) => 1 / (1 + s / 30);
  const whole = endOf(loss);
  const first = plateauRule();
  for (let s = 10; s <= 120; s += 10) assert.equal(first.observe(loss(s), s), false);
  const second = plateauRule();
  second.restore(JSON.parse(JSON.stringify(first.state())));
  let end = -1;
  for (let s = 130; end < 0; s += 10) if (second.observe(loss(s), s)) end = s;
  assert.equal(end, whole);
});

test("tapSteps auto in the loop: the tap phase ends by itself at a check, before its cap, and the output phase follows", async () => {
  await useBackend();
  const rng = new Rng("auto-loop");
  const teacher = createMlp({ inputDim: 10, width: 40, outputDim: 2 }, rng.derive("t"));
  const student = createMlp({ inputDim: 10, width: 8, outputDim: 2 }, rng.derive("s"));
  const stream = parityStream(parityTask(10, 2), rng.derive("d"), rng.derive("h"), 32, 64);
  const plan = curriculumExtraction(student, teacher, rng.derive("p"), {
    pairs: [{ teacherTap: "hidden", studentTap: "hidden" }], tapSteps: "auto", tapOptimizer: { kind: "sgd", lr: 0.05 }, output: { optimizer: { kind: "sgd", lr: 0.1 }, tau: 1 },
  });
  assert.equal(plan.phases[0].steps, AUTO_RULE.maxSteps, "the cap");
  let outputStart = -1;
  for await (const ev of runPhases(student, plan, stream, { evalEvery: 1000, maxSamples: 3000 * 32 })) if (ev.type === "phase" && ev.index === 1) outputStart = ev.step;
  assert.ok(outputStart >= AUTO_RULE.minSteps && outputStart < AUTO_RULE.maxSteps && outputStart % AUTO_RULE.checkEvery === 0, `output phase from step ${outputStart}`);
  plan.dispose();
  [teacher, student, stream].forEach((d) => d.dispose());
});
