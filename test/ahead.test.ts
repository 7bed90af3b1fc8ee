/**
 * Targets ahead (src/train/ahead.ts): a frozen teacher's targets for up to 32 upcoming batches in one
 * call change no value. Curriculum extraction, one-shot and a checkpoint switch, at batches 1 and 3,
 * through the loop: the same curve and the same final weights, bit for bit, as one batch at a time;
 * stopped inside a window and resumed from the saved position, the same again; nothing leaks.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { curriculumExtraction } from "../src/distill/curriculumExtraction";
import { oneShot, outputPhase } from "../src/distill/outputs";
import { MethodPlan, plan } from "../src/distill/phases";
import { parityTask } from "../src/data/sparseParity";
import { parityStream } from "../src/experiments/parityTask";
import { createMlp } from "../src/models/mlp";
import { TappedModel } from "../src/models/types";
import { Rng } from "../src/rng";
import { LoopResume, newCursor, runPhases } from "../src/train/loop";
import { WASM_KERNELS } from "./nativeHelpers";
import { useBackend } from "./helpers";

const skip = WASM_KERNELS.includes("native") ? false : "the native library is not built (no row-independent kernels: targets are computed one batch at a time)";
const task = parityTask(20, 3);
const sgd = { kind: "sgd" as const, lr: 0.05 };

type Method = "cx" | "oneshot" | "switch";

/** A fresh teacher, student, stream and plan; the teacher counts its many-row calls. */
function setup(method: Method, batch: number) {
  const teacher = createMlp({ inputDim: 20, width: 90, outputDim: 2 }, new Rng("teacher"));
  const other = createMlp({ inputDim: 20, width: 90, outputDim: 2 }, new Rng("checkpoint"));
  const calls = { ahead: 0 };
  for (const m of [teacher, other]) {
    const ra = m.rowsAhead!;
    m.rowsAhead = {
      logits: (x, rows) => (calls.ahead++, ra.logits(x, rows)),
      projectTap: (x, tap, Pt, rows) => (calls.ahead++, ra.projectTap(x, tap, Pt, rows)),
    };
  }
  const student = createMlp({ inputDim: 20, width: 6, outputDim: 2 }, new Rng("student"));
  const stream = parityStream(task, new Rng("data"), new Rng("heldout"), batch, 64);
  const out = { optimizer: sgd, tau: 1 };
  const p: MethodPlan =
    method === "cx"
      ? curriculumExtraction(student, teacher, new Rng("projection"), { pairs: [{ teacherTap: "hidden", studentTap: "hidden" }], tapSteps: 45, tapOptimizer: sgd, output: out })
      : method === "oneshot"
        ? oneShot(student, teacher, out)
        : plan("switch", [outputPhase("ckpt", student, other, 37, out), outputPhase("teacher", student, teacher, Infinity, out)]);
  const dispose = () => {
    p.dispose();
    for (const m of [teacher, other, student]) m.dispose();
    stream.dispose();
  };
  return { teacher, student, stream, p, calls, dispose };
}

async function bits(m: TappedModel): Promise<string[]> {
  const out: string[] = [];
  for (const v of m.variables) out.push(Buffer.from(((await v.data()) as Float32Array).buffer).toString("hex"));
  return out;
}

// 130 steps: windows end at the phase's end (45 or 37 steps) and at the budget's (not a multiple of 32).
const opts = (batch: number) => ({ evalEvery: 20, maxSamples: 130 * batch });

for (const method of ["cx", "oneshot", "switch"] as const) {
  for (const batch of [1, 3]) {
    test(`${method}, batch ${batch}: targets ahead give the curve and weights of one batch at a time, also resumed inside a window`, { skip }, async () => {
      await useBackend();
      const before = tf.memory().numTensors;
      const run = async (ahead: number) => {
        const s = setup(method, batch);
        const curve: number[] = [];
        for await (const ev of runPhases(s.student, s.p, s.stream, { ...opts(batch), targetsAhead: ahead })) if (ev.type === "eval") curve.push(ev.loss, ev.trainLoss, ev.accuracy);
        const w = await bits(s.student);
        const calls = s.calls.ahead;
        s.dispose();
        return { curve, w, calls };
      };
      const one = await run(1);
      const ahead = await run(32);
      assert.equal(one.calls, 0, "one batch at a time: no many-row call");
      // 130 steps in windows of at most 32 that end with their phase: 5 calls (cx: 45 = 32 + 13, then 85 = 32 + 32 + 21).
      assert.ok(ahead.calls >= 5 && ahead.calls <= 6, `many-row calls: ${ahead.calls}`);
      assert.deepEqual(ahead.curve, one.curve);
      assert.deepEqual(ahead.w, one.w);

      // Stopped inside windows (steps 10, 40 and 50: mid-window, just before a phase ends, mid-window
      // of the next phase), saved as a state file would be, and resumed in a fresh process's objects.
      for (const stopAt of [10, 40, 50]) {
        const b = setup(method, batch);
        const cursor = newCursor();
        const curve: number[] = [];
        let steps = 0;
        let resume: LoopResume | null = null;
        for await (const ev of runPhases(b.student, b.p, b.stream, { ...opts(batch), cursor, shouldStop: () => ++steps === stopAt })) {
          if (ev.type === "eval") curve.push(ev.loss, ev.trainLoss, ev.accuracy);
          if (ev.type === "interrupt") {
            resume = JSON.parse(JSON.stringify({ ...cursor.position, optimizerStep: cursor.optimizer!.step }));
            resume!.optimizerState = {};
            break;
          }
        }
        assert.ok(resume, `stopped at step ${stopAt}`);
        const weights = b.student.snapshot();
        const pos = JSON.parse(JSON.stringify(b.stream.position()));
        b.dispose();
        const c = setup(method, batch);
        c.student.load(weights);
        c.stream.restore(pos);
        for await (const ev of runPhases(c.student, c.p, c.stream, { ...opts(batch), resume })) if (ev.type === "eval") curve.push(ev.loss, ev.trainLoss, ev.accuracy);
        assert.deepEqual(curve, one.curve, `stopped after step ${stopAt}`);
        assert.deepEqual(await bits(c.student), one.w, `weights, stopped after step ${stopAt}`);
        tf.dispose(Object.values(weights));
        c.dispose();
      }
      assert.equal(tf.memory().numTensors, before, "no tensor left behind (targets computed ahead, batches drawn ahead)");
    });
  }
}

test("a stream's saved position does not count the batches drawn ahead: restored, it draws them again", async () => {
  await useBackend();
  const a = parityStream(task, new Rng("d"), new Rng("h"), 2, 8);
  const b = parityStream(task, new Rng("d"), new Rng("h"), 2, 8);
  const read = async (x: tf.Tensor) => Array.from(await x.data());
  const first = a.nextBatch() as { x: tf.Tensor };
  const ahead = (await a.peek!(3)).map((q) => q.x);
  const saved = JSON.parse(JSON.stringify(a.position()));
  // The position is the one before the peeked batches: b, one batch in, reports the same.
  const bFirst = b.nextBatch() as { x: tf.Tensor };
  assert.deepEqual(saved, b.position());
  assert.deepEqual(await read(bFirst.x), await read(first.x));
  // nextBatch hands out the peeked batches themselves, in order.
  const next = a.nextBatch() as { x: tf.Tensor };
  assert.equal(next.x, ahead[0]);
  b.restore(saved);
  for (const x of ahead) assert.deepEqual(await read((b.nextBatch() as { x: tf.Tensor }).x), await read(x));
  a.dispose();
  b.dispose();
});

test("batches drawn ahead keep their own values on every backend (cpu keeps the arrays tensors are made from)", async () => {
  for (const backend of ["cpu", "wasm"]) {
    await useBackend(backend);
    const a = parityStream(task, new Rng("d"), new Rng("h"), 3, 8);
    const b = parityStream(task, new Rng("d"), new Rng("h"), 3, 8);
    const ahead = await a.peek!(5);
    for (const q of ahead) {
      const own = b.nextBatch() as { x: tf.Tensor; y: tf.Tensor };
      assert.deepEqual(Array.from(await q.x.data()), Array.from(await own.x.data()), backend);
      assert.deepEqual(Array.from(await q.y.data()), Array.from(await own.y.data()), backend);
      own.x.dispose();
      own.y.dispose();
    }
    a.dispose();
    b.dispose();
  }
  await useBackend();
});
