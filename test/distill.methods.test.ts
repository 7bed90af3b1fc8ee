/**
 * The methods on a small parity problem: which parameters each phase trains, that the teacher never
 * moves, progressive-with-one-checkpoint = one-shot step for step, no tensor leak, determinism.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { PARITY, ParityConfig, resolveParityConfig, trainParityTeacher } from "../src/experiments/parity";
import { TrainedTeacher } from "../src/experiments/experiment";
import { runStudent } from "../src/experiments/engine";
import { buildMethod, MethodName } from "../src/distill/methods";
import { runPhases } from "../src/train/loop";
import { NamedTensors } from "../src/models/types";
import { useBackend } from "./helpers";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { saveWeights } from "../src/train/checkpoints";
import { costToTarget, summarize, tapStepsOf } from "../src/experiments/results";

// A small task whose teacher trains in a couple of seconds.
const cfg = resolveParityConfig("smoke", {
  n: 12, k: 3, teacherWidth: 64, studentWidth: 8, seeds: [0], teacherMaxSamples: 2e5, maxSamples: 6400,
  ckptEvery: 100, evalEvery: 50, tapSteps: 60, heldout: 512, methods: ["cx", "oneshot", "progressive", "scratch", "twoshot"],
});

let teacherPromise: Promise<TrainedTeacher> | null = null;
function trained(): Promise<TrainedTeacher> {
  teacherPromise ??= (async () => {
    await useBackend();
    return trainParityTeacher(cfg, 0, { cacheDir: null });
  })();
  return teacherPromise;
}

/** A (seed 0, method) student, its stream and its plan, as the engine builds them. */
async function setup(m: MethodName, c: Readonly<ParityConfig> = cfg) {
  const teacher = await trained();
  const s = PARITY.student(c, 0, m, null, teacher);
  const p = buildMethod(m, s.context);
  return { student: s.model, stream: s.task, p, dispose: () => (p.dispose(), s.dispose(), s.model.dispose()) };
}

const run = async (m: MethodName, c: Readonly<ParityConfig> = cfg, teacher?: TrainedTeacher) => runStudent(PARITY, c, 0, m, null, teacher ?? (await trained()));

const values = (w: NamedTensors) => Object.fromEntries(Object.entries(w).map(([k, t]) => [k, Array.from(t.dataSync())]));

test("the teacher trains, and no method moves its weights", async () => {
  const teacher = await trained();
  assert.ok(teacher.info.accuracy >= 0.99, `teacher accuracy ${teacher.info.accuracy}`);
  const before = values(teacher.model.snapshot());
  const ckptBefore = teacher.checkpoints.map((c) => values(c.weights));
  for (const m of cfg.methods) await run(m);
  assert.deepEqual(values(teacher.model.snapshot()), before);
  assert.deepEqual(teacher.checkpoints.map((c) => values(c.weights)), ckptBefore);
});

test("curriculum extraction's phase 1 changes only the student's first layer, then phase 2 trains all", async () => {
  const { student, stream, p, dispose } = await setup("cx");
  assert.deepEqual(p.phases.map((ph) => ph.name), ["tap:hidden<-hidden", "teacher"]);
  assert.deepEqual(p.phases.map((ph) => ph.kind), ["tap", "output"]);
  const start = values(student.snapshot());
  let afterP1: Record<string, number[]> | null = null;
  for await (const ev of runPhases(student, p, stream, { evalEvery: 10, maxSamples: ((cfg.tapSteps as number) + 20) * cfg.batch })) {
    if (ev.type === "phase" && ev.index === 1) afterP1 = values(student.snapshot());
  }
  const end = values(student.snapshot());
  assert.ok(afterP1);
  assert.notDeepEqual(afterP1.W1, start.W1, "phase 1 must change W1");
  assert.notDeepEqual(afterP1.b1, start.b1, "phase 1 must change b1");
  assert.deepEqual(afterP1.W2, start.W2, "phase 1 must not change W2");
  assert.deepEqual(afterP1.b2, start.b2, "phase 1 must not change b2");
  for (const k of ["W1", "b1", "W2", "b2"]) assert.notDeepEqual(end[k], afterP1[k], `phase 2 must change ${k}`);
  dispose();
});

test("every student weight gets a non-zero gradient in an output phase", async () => {
  const { student, stream, p, dispose } = await setup("oneshot");
  const b = await stream.nextBatch();
  const norms = tf.tidy(() => {
    const target = p.phases[0].target(b);
    const { grads } = tf.variableGrads(() => p.phases[0].loss(student, b, target), student.variables as tf.Variable[]);
    return student.variables.map((v) => tf.norm(grads[v.name]).dataSync()[0]);
  });
  assert.ok(norms.every((x) => x > 0), `gradient norms ${norms}`);
  b.x.dispose();
  b.y.dispose();
  dispose();
});

test("progressive with only the final checkpoint equals one-shot, step for step", async () => {
  const teacher = await trained();
  const last = teacher.checkpoints[teacher.checkpoints.length - 1];
  const long = resolveParityConfig("smoke", { ...cfg, runToCap: true, maxSamples: 640 * cfg.batch });
  const a = await run("progressive", long, { ...teacher, checkpoints: [last] });
  const b = await run("oneshot", long);
  assert.equal(a.curve.length, Math.ceil(640 / cfg.evalEvery), "every evalEvery steps, and once more at the budget");
  assert.deepEqual(a.curve.map((c) => [c.samples, c.accuracy, c.loss, c.trainLoss]), b.curve.map((c) => [c.samples, c.accuracy, c.loss, c.trainLoss]));
});

test("progressive switches checkpoints at the first one whose sample count is >= the student's", async () => {
  const { p, dispose } = await setup("progressive");
  const ck = (await trained()).checkpoints;
  assert.equal(p.phases.length, ck.length);
  // Checkpoint i covers steps t with t*B <= samples_i (and > samples_{i-1}): 101 steps, then 100 each.
  assert.equal(p.phases[0].steps, ck[0].samples / cfg.batch + 1);
  for (let i = 1; i < ck.length - 1; i++) assert.equal(p.phases[i].steps, (ck[i].samples - ck[i - 1].samples) / cfg.batch);
  assert.equal(p.phases[ck.length - 1].steps, Infinity);
  dispose();
});

test("no tensor leak over 100 steps of each method", async () => {
  for (const m of cfg.methods) {
    const { student, stream, p, dispose } = await setup(m);
    const counts: number[] = [];
    // Targets one batch at a time: with targets ahead the count at an evaluation depends on where in a
    // window it falls (test/ahead.test.ts checks that path leaves nothing behind).
    for await (const ev of runPhases(student, p, stream, { evalEvery: 20, maxSamples: 120 * cfg.batch, targetsAhead: 1 })) {
      if (ev.type === "eval") counts.push(tf.memory().numTensors);
    }
    // Burn-in: the first evaluation; then the count stays flat for 100 steps.
    assert.equal(counts.length, 6);
    assert.deepEqual(counts.slice(1), new Array(5).fill(counts[0]), `${m}: tensor counts ${counts}`);
    const before = tf.memory().numTensors;
    dispose();
    assert.ok(tf.memory().numTensors < before, `${m}: dispose frees the method's tensors`);
  }
});

test("same config and seed give the same curve, number for number", async () => {
  const teacher = await trained();
  for (const m of ["cx", "scratch"] as const) {
    const a = await run(m);
    const b = await run(m);
    assert.deepEqual(a.curve.map((c) => [c.samples, c.accuracy, c.loss, c.trainLoss]), b.curve.map((c) => [c.samples, c.accuracy, c.loss, c.trainLoss]));
  }
  // And the teacher: retrained from scratch, identical weights.
  const t2 = await trainParityTeacher(cfg, 0, { cacheDir: null });
  assert.deepEqual(values(t2.model.snapshot()), values(teacher.model.snapshot()));
  t2.dispose();
});

test("cost accounting: progressive stores its intermediate checkpoints (their size as saved), cx and one-shot store nothing; cost to target read at the hit", async () => {
  const teacher = await trained();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cd-stored-"));
  let onDisk = 0;
  for (const [i, c] of teacher.checkpoints.slice(0, -1).entries()) {
    await saveWeights(path.join(dir, `c${i}`), c.weights);
    onDisk += fs.statSync(path.join(dir, `c${i}.bin`)).size + fs.statSync(path.join(dir, `c${i}.json`)).size;
  }
  fs.rmSync(dir, { recursive: true, force: true });
  assert.ok(teacher.checkpoints.length >= 3);
  const r = Object.fromEntries(await Promise.all((["cx", "oneshot", "progressive"] as const).map(async (m) => [m, await run(m)] as const)));
  assert.equal(r.progressive.storedBytes, onDisk);
  assert.equal(r.cx.storedBytes, 0);
  assert.equal(r.oneshot.storedBytes, 0);
  assert.deepEqual(
    r.cx.phases.map((p) => ({ name: p.name, step: p.step })),
    [
      { name: "tap:hidden<-hidden", step: 0 },
      { name: "teacher", step: cfg.tapSteps as number },
    ],
  );
  // Each phase's rate is its steps over its time (the summary's stepsPerSecond per phase).
  for (const p of r.cx.phases) assert.ok(p.stepsPerSecond === null || (p.stepsPerSecond! > 0 && Number.isFinite(p.stepsPerSecond)), `${p.name}: ${p.stepsPerSecond}`);
  assert.equal(tapStepsOf(r.cx), cfg.tapSteps);
  assert.equal(tapStepsOf(r.oneshot), 0);
  for (const m of ["cx", "oneshot", "progressive"] as const) {
    const c = costToTarget(r[m]);
    if (r[m].samplesToTarget === null) {
      assert.equal(c, null);
      continue;
    }
    const at = r[m].curve.find((p) => p.samples === r[m].samplesToTarget)!;
    assert.deepEqual(c, { samples: at.samples, teacherFlops: at.teacherFlops, studentFlops: at.studentFlops, seconds: at.seconds });
    assert.ok(c!.teacherFlops > 0 && c!.studentFlops > 0);
  }
  const s = summarize(Object.values(r), ["cx", "oneshot", "progressive"], [0], cfg.maxSamples);
  assert.deepEqual(s.progressive.storedBytes, [onDisk]);
  assert.deepEqual(s.cx.teacherFlopsToTarget, [costToTarget(r.cx)?.teacherFlops ?? null]);
});
