/** Masked-LM distillation (issue 5): the loss at masked positions, leaks, the CLI end to end. */
import { test, before } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import * as tf from "@tensorflow/tfjs";
import { useBackend } from "./helpers";
import { LANGUAGE_MODEL, MlmValidation, mlmBatchTensors, prepareMlmData, resolveLanguageModelConfig } from "../src/experiments/languageModel";
import { trainTeacher } from "../src/experiments/engine";
import { buildMethod } from "../src/distill/methods";
import { disposeBatch, optimizerAt } from "../src/distill/phases";
import { MlmBatch, } from "../src/data/maskedLm";
import { labelsPhase } from "../src/distill/outputs";
import { createTransformer, TransformerModel, TransformerForwardOptions } from "../src/models/transformer";
import { rootRng } from "../src/rng";
import { trainStep } from "../src/train/loop";
import { createOptimizer } from "../src/train/optimizers";

const BIN = path.join(__dirname, "..", "bin", "curriculum-distill.js");

before(async () => {
  await useBackend();
});

/** A stub LM whose logits are a fixed table [batch * seq, vocab], gathered at `logitPositions`. */
function stubModel(table: number[][]): TransformerModel {
  const t = tf.tensor2d(table);
  const base = createTransformer({ vocabSize: table[0].length, seqLen: table.length, dModel: 2, nHeads: 1, nLayers: 1, head: "lm" }, rootRng(0));
  return {
    ...base,
    forward: (_x: tf.Tensor, opts: TransformerForwardOptions = {}) => ({ logits: opts.logitPositions ? tf.gather(t, opts.logitPositions) : t.clone(), taps: {} }),
  };
}

test("MLM loss and metrics count only the masked positions (hand-computed)", async () => {
  const V = 6;
  // One sequence of 3: position 0 unmasked (its huge logits must not count), 1 and 2 masked.
  const batch: MlmBatch = {
    batchSize: 1, seqLen: 3, inputIds: Int32Array.from([3, 2, 2]), labels: Int32Array.from([-100, 4, 5]),
    targets: Int32Array.from([3, 4, 5]), maskWeights: Float32Array.from([0, 1, 1]), numMasked: 2,
  };
  // Position 1: logit ln 3 on the target, 0 elsewhere -> p = 3/8, CE = ln(8/3). Position 2: uniform -> CE = ln 6.
  // Mean over masked positions: (ln(8/3) + ln 6) / 2 = ln 4. Accuracy: position 1 right, position 2 wrong (arg-max 0).
  const model = stubModel([[100, -100, 0, 0, 0, -100], [0, 0, 0, 0, Math.log(3), 0], [0, 0, 0, 0, 0, 0]]);
  const b = mlmBatchTensors(batch);
  assert.deepEqual(Array.from(b.forward!.logitPositions!.dataSync()), [1, 2]);
  assert.deepEqual(Array.from(b.y.dataSync()), [4, 5]);
  const phase = labelsPhase({ classes: V, nextBatch: () => b, evaluate: async () => ({ accuracy: 0, loss: 0 }) }, model, 1, { kind: "sgd", lr: 0 });
  const loss = tf.tidy(() => phase.loss(model, b, phase.target(b)).dataSync()[0]);
  assert.ok(Math.abs(loss - Math.log(4)) < 1e-5, `loss ${loss} != ln 4`);
  const valid = new MlmValidation([batch]);
  const m = await valid.evaluate(model);
  assert.ok(Math.abs(m.loss - Math.log(4)) < 1e-5, `held-out loss ${m.loss}`);
  assert.equal(m.accuracy, 0.5);
  valid.dispose();
  disposeBatch(b);
});

test("no tensor leak per step (tap and output phases, evaluation), teacher unchanged", async () => {
  const cfg = resolveLanguageModelConfig("smoke", {
    corpus: "pcfg", pcfgDocuments: 20, teacherSteps: 4, teacherCkptEvery: 2, studentSteps: 20, tapSteps: 2, validBatches: 1, batch: 4, seqLen: 8,
    teacherDModel: 16, studentDModel: 8,
  });
  const data = prepareMlmData(cfg);
  const teacher = await trainTeacher(LANGUAGE_MODEL, cfg, 0, { cacheDir: null });
  const before = teacher.model.snapshot();
  for (const method of ["cx", "progressive"] as const) {
    const setup = LANGUAGE_MODEL.student(cfg, 0, method, data, teacher);
    const { model: student, task } = setup;
    const p = buildMethod(method, setup.context);
    for (const phase of p.phases.slice(0, 2).concat(p.phases.slice(-1))) {
      phase.begin?.();
      const opt = createOptimizer(optimizerAt(phase.optimizer, 0));
      const step = async () => {
        const b = await task.nextBatch();
        trainStep(student, phase, b, opt).dispose();
        disposeBatch(b);
        await task.evaluate(student);
      };
      await step();
      await step();
      const n = tf.memory().numTensors;
      for (let i = 0; i < 3; i++) await step();
      assert.equal(tf.memory().numTensors, n, `${method} ${phase.name}: tensors leaked`);
      opt.dispose();
    }
    p.dispose();
    setup.dispose();
    student.dispose();
  }
  const after = teacher.model.snapshot();
  for (const k of Object.keys(before)) assert.deepEqual(Array.from(after[k].dataSync()), Array.from(before[k].dataSync()), `teacher ${k} moved`);
  teacher.dispose();
});

function cli(args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", timeout: 300_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test("tiny end-to-end mlm run (pcfg) writes config, curves, summary and tokenizer", () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), "cd-mlm-"));
  const r = cli(["mlm", "--corpus", "pcfg", "--preset", "smoke", "--allow-failed-teacher", "--pcfg-documents", "20", "--teacher-steps", "10", "--teacher-ckpt-every", "5",
    "--student-steps", "12", "--tap-steps", "2", "--eval-every", "4", "--valid-batches", "2", "--no-cache", "--quiet", "--force", "--json", "--out", out, "--runs-dir", path.join(out, "..", `${path.basename(out)}-runs`)]);
  assert.equal(r.code, 0, r.stderr);
  for (const f of ["config.json", "curves.csv", "summary.json", "tokenizer.json"]) assert.ok(fs.existsSync(path.join(out, f)), f);
  const summary = JSON.parse(fs.readFileSync(path.join(out, "summary.json"), "utf8"));
  for (const m of ["cx", "oneshot", "progressive", "scratch"]) {
    const ev = summary.methods[m]["0"].evaluations;
    assert.deepEqual(ev.map((e: { step: number }) => e.step), [0, 4, 8, 12], m);
    assert.ok(ev.every((e: { perplexity: number; loss: number }) => Math.abs(e.perplexity - Math.exp(e.loss)) < 1e-6 * e.perplexity));
  }
  const csv = fs.readFileSync(path.join(out, "curves.csv"), "utf8").trim().split("\n");
  assert.equal(csv.length, 1 + 4 * 4);
  assert.ok(JSON.parse(fs.readFileSync(path.join(out, "tokenizer.json"), "utf8")).vocab.length > 100);
  fs.rmSync(out, { recursive: true, force: true });
});

test("bad mlm input exits 2 with one line and no result folder", () => {
  const out = path.join(os.tmpdir(), `cd-mlm-bad-${process.pid}`);
  for (const args of [["--corpus", "wiki"], ["--preset", "huge"], ["--student-steps", "100", "--tap-steps", "30"], ["--methods", "cx,bogus"], ["--vocab-size", "-3"], ["--teacher-heads", "3"]]) {
    const r = cli(["mlm", ...args, "--out", out]);
    assert.equal(r.code, 2, `${args.join(" ")}: exit ${r.code}, ${r.stderr}`);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    assert.ok(!fs.existsSync(out));
  }
});
