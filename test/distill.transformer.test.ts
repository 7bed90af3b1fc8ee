/**
 * The taps API on transformers: one phase per tap pair in order, each training only the student's
 * parameters up to its tap; the teacher untouched; depth pairing; no tensor leak per step.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { PARITY_TRANSFORMER, resolveParityTransformerConfig } from "../src/experiments/parityTransformer";
import { runStudent, trainTeacher } from "../src/experiments/engine";
import { buildMethod } from "../src/distill/methods";
import { defaultTapPairs } from "../src/distill/curriculumExtraction";
import { createTransformer } from "../src/models/transformer";
import { shortName } from "../src/models/types";
import { runPhases } from "../src/train/loop";
import { Rng } from "../src/rng";
import { useBackend } from "./helpers";

const cfg = resolveParityTransformerConfig("smoke", {
  n: 6, k: 2, teacherDModel: 16, teacherHeads: 2, studentDModel: 8, studentHeads: 2, mlpRatio: 2,
  teacherMaxSamples: 64 * 40, ckptEvery: 10, evalEvery: 5, heldout: 128, tapSteps: 6, maxSamples: 64 * 30, teacherRetries: 0,
});

const snap = (vars: readonly tf.Variable[]) => Object.fromEntries(vars.map((v) => [shortName(v), Array.from(v.dataSync())]));

test("layer-wise curriculum extraction: phases in order, each trains only up to its tap, teacher untouched", async () => {
  await useBackend();
  const teacher = await trainTeacher(PARITY_TRANSFORMER, cfg, 0, { cacheDir: null });
  const setup = PARITY_TRANSFORMER.student(cfg, 0, "cx", null, teacher);
  const { model: student, task: stream } = setup;
  const p = buildMethod("cx", setup.context);
  assert.deepEqual(p.phases.map((ph) => ph.name), ["tap:block1<-block1", "tap:block2<-block2", "teacher"]);
  const names = (vs: readonly tf.Variable[]) => vs.map(shortName);
  assert.ok(names(p.phases[0].trainable).every((n) => !n.startsWith("block2") && !n.startsWith("lnF") && !n.startsWith("head")), `phase 1 trains ${names(p.phases[0].trainable)}`);
  assert.ok(names(p.phases[0].trainable).some((n) => n.startsWith("block1")));
  assert.ok(names(p.phases[1].trainable).some((n) => n.startsWith("block2")));
  assert.equal(p.phases[2].trainable.length, student.variables.length);

  const teacherBefore = snap(teacher.model.variables);
  const snaps: Array<Record<string, number[]>> = [snap(student.variables)];
  const counts: number[] = [];
  for await (const ev of runPhases(student, p, stream, { evalEvery: 3, maxSamples: 64 * 18 })) {
    if (ev.type === "phase" && ev.index > 0) snaps.push(snap(student.variables));
    if (ev.type === "eval") counts.push(tf.memory().numTensors);
  }
  const [start, after1, after2] = snaps;
  const changed = (a: Record<string, number[]>, b: Record<string, number[]>) => Object.keys(a).filter((k) => a[k].some((x, i) => x !== b[k][i]));
  const c1 = changed(start, after1);
  const c2 = changed(after1, after2);
  assert.ok(c1.length > 0 && c1.every((n) => n.startsWith("tokEmb") || n.startsWith("posEmb") || n.startsWith("block1")), `phase 1 changed ${c1}`);
  assert.ok(c2.some((n) => n.startsWith("block2")) && c2.every((n) => !n.startsWith("head") && !n.startsWith("lnF")), `phase 2 changed ${c2}`);
  assert.deepEqual(snap(teacher.model.variables), teacherBefore, "the teacher did not move");
  // Burn-in (first evaluation), then a flat tensor count within the output phase.
  const tail = counts.slice(-2);
  assert.equal(tail[0], tail[1], `tensor counts ${counts}`);
  p.dispose();
  student.dispose();
  setup.dispose();
  teacher.dispose();
});

test("depths that differ pair student layer l with teacher layer round(l * L_T / L_S)", async () => {
  await useBackend();
  const mk = (layers: number, seed: string) => createTransformer({ vocabSize: 2, seqLen: 4, dModel: 8, nHeads: 2, nLayers: layers, head: "classify", numClasses: 2 }, new Rng(seed));
  const t = mk(4, "t");
  const s = mk(2, "s");
  assert.deepEqual(defaultTapPairs(t, s).map((p) => [p.studentTap, p.teacherTap]), [["block1", "block2"], ["block2", "block4"]]);
  const s3 = mk(3, "s3");
  assert.deepEqual(defaultTapPairs(t, s3).map((p) => p.teacherTap), ["block1", "block3", "block4"]);
  [t, s, s3].forEach((m) => m.dispose());
});

test("transformer runs are reproducible: same config and seed, the same curve", async () => {
  await useBackend();
  const c = resolveParityTransformerConfig("smoke", { ...cfg, runToCap: true });
  const teacher = await trainTeacher(PARITY_TRANSFORMER, c, 1, { cacheDir: null });
  const again = await trainTeacher(PARITY_TRANSFORMER, c, 1, { cacheDir: null });
  assert.deepEqual(snap(again.model.variables), snap(teacher.model.variables), "teacher weights");
  const a = await runStudent(PARITY_TRANSFORMER, c, 1, "cx", null, teacher);
  const b = await runStudent(PARITY_TRANSFORMER, c, 1, "cx", null, teacher);
  assert.ok(a.curve.length >= 5);
  assert.deepEqual(a.curve.map((p) => [p.samples, p.accuracy, p.loss, p.trainLoss]), b.curve.map((p) => [p.samples, p.accuracy, p.loss, p.trainLoss]));
  teacher.dispose();
  again.dispose();
});
