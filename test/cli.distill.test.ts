/**
 * `curriculum-distill distill` end to end through the built CLI (bin/curriculum-distill.js): a
 * teacher trained here with model.fit (softmax output, as Keras classifiers have) and saved as a
 * layers model, data written as CSV and as a tf.data module; the student and the results folder
 * checked; bad input refused with one line and exit 2 before --out exists; Ctrl-C saves the student.
 */
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { fileHandler } from "../src/models/layersIo";

const ROOT = path.join(__dirname, "..");
const BIN = path.join(ROOT, "bin", "curriculum-distill.js");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "cd-distill-"));
const FEATURES = 6;
const CLASSES = 3;

function cli(args: string[]) {
  const r = spawnSync(process.execPath, [BIN, "distill", ...args], { encoding: "utf8", cwd: tmp, timeout: 300_000, env: { ...process.env, CD_BACKEND: "cpu" } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Rows x ~ N(0, 1)^6, label = argmax of a fixed linear map (3 classes). */
function makeData(rows: number, seed: number): { x: number[][]; y: number[] } {
  return tf.tidy(() => {
    const x = tf.randomNormal([rows, FEATURES], 0, 1, "float32", seed);
    const w = tf.randomNormal([FEATURES, CLASSES], 0, 1, "float32", 99);
    const y = tf.argMax(tf.matMul(x, w), -1);
    return { x: x.arraySync() as number[][], y: y.arraySync() as number[] };
  });
}

function writeCsv(file: string, x: number[][], y: number[], label = "y"): void {
  const head = [...Array.from({ length: FEATURES }, (_, i) => `f${i}`), label].join(",");
  fs.writeFileSync(file, [head, ...x.map((r, i) => [...r.map((v) => v.toFixed(5)), y[i]].join(","))].join("\n") + "\n");
}

let teacherAcc = 0;
const teacherDir = path.join(tmp, "teacher");
const trainCsv = path.join(tmp, "train.csv");

before(async () => {
  await tf.setBackend("cpu");
  const { x, y } = makeData(900, 1);
  writeCsv(trainCsv, x, y);
  const teacher = tf.sequential({ name: "teacher" });
  teacher.add(tf.layers.dense({ units: 32, activation: "relu", inputShape: [FEATURES], name: "hidden1" }));
  teacher.add(tf.layers.dense({ units: 32, activation: "relu", name: "hidden2" }));
  teacher.add(tf.layers.dense({ units: CLASSES, activation: "softmax", name: "probs" }));
  teacher.compile({ optimizer: tf.train.adam(0.01), loss: "sparseCategoricalCrossentropy", metrics: ["accuracy"] });
  const xs = tf.tensor2d(x);
  const ys = tf.tensor1d(y, "float32");
  const h = await teacher.fit(xs, ys, { epochs: 40, batchSize: 64, verbose: 0 });
  teacherAcc = (h.history.acc as number[]).at(-1)!;
  await teacher.save(fileHandler(`file://${teacherDir}`));
  tf.dispose([xs, ys]);
  teacher.dispose();
});

test("distils a saved softmax teacher on a CSV into a narrower student: student model and results folder", () => {
  assert.ok(teacherAcc > 0.9, `the fixture teacher learned (${teacherAcc})`);
  const out = path.join(tmp, "out-csv");
  const r = cli(["--teacher", teacherDir, "--student-width", "8", "--data", trainCsv, "--label", "y", "--steps", "300", "--tap-steps", "60", "--eval-every", "50", "--lr", "0.01", "--out", out]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /softmax output/);
  assert.match(r.stdout, /done: 300 steps/);
  for (const f of ["config.json", "curves.csv", "summary.json", "student/model.json", "student/weights.bin"]) assert.ok(fs.existsSync(path.join(out, f)), f);
  const summary = JSON.parse(fs.readFileSync(path.join(out, "summary.json"), "utf8"));
  assert.equal(summary.status, "done");
  assert.equal(summary.methods.cx.steps, 300);
  assert.deepEqual(summary.methods.cx.phases.map((p: { name: string }) => p.name.split(":")[0]), ["tap", "teacher"]);
  assert.equal(summary.student.softmaxOutput, true);
  assert.ok(summary.student.validation.accuracy > 0.75, `student accuracy ${summary.student.validation.accuracy}`);
  const config = JSON.parse(fs.readFileSync(path.join(out, "config.json"), "utf8"));
  assert.equal(config.studentWidth, 8);
  const curves = fs.readFileSync(path.join(out, "curves.csv"), "utf8").trim().split("\n");
  assert.equal(curves.length, 1 + 7, "a header and an evaluation at 0, 50, ..., 300");
});

test("the saved student is a layers model that predicts probabilities, as the teacher did", async () => {
  const out = path.join(tmp, "out-csv");
  const student = await tf.loadLayersModel(fileHandler(`file://${path.join(out, "student", "model.json")}`));
  const json = JSON.parse(fs.readFileSync(path.join(out, "student", "model.json"), "utf8"));
  const layers = json.modelTopology.config.layers;
  assert.equal(layers.at(-1).config.activation, "softmax");
  assert.deepEqual(layers.filter((l: { class_name: string }) => l.class_name === "Dense").map((l: { config: { units: number } }) => l.config.units), [8, 8, CLASSES]);
  const { x } = makeData(50, 7);
  const p = tf.tidy(() => tf.sum(student.predict(tf.tensor2d(x)) as tf.Tensor, -1).arraySync() as number[]);
  for (const s of p) assert.ok(Math.abs(s - 1) < 1e-4, `rows sum to 1 (${s})`);
  student.dispose();
});

test("a tf.data module as --data (with its validation export), a student model as --student", () => {
  const mod = path.join(tmp, "data.cjs");
  // The module's @tensorflow/tfjs must be the library's own copy: resolve it from the repo.
  fs.writeFileSync(
    mod,
    `const tf = require(${JSON.stringify(require.resolve("@tensorflow/tfjs"))});
const x = tf.randomNormal([512, ${FEATURES}], 0, 1, "float32", 3);
const w = tf.randomNormal([${FEATURES}, ${CLASSES}], 0, 1, "float32", 99);
const y = tf.argMax(tf.matMul(x, w), -1);
exports.dataset = tf.data.zip({ xs: tf.data.array(tf.unstack(x)), ys: tf.data.array(tf.unstack(y)) }).batch(32);
exports.validation = { xs: x.slice([0, 0], [128, ${FEATURES}]), ys: y.slice([0], [128]) };
`,
  );
  const studentDir = path.join(tmp, "student-in");
  const s = tf.sequential({ name: "small" });
  s.add(tf.layers.dense({ units: 4, activation: "relu", inputShape: [FEATURES], name: "h" }));
  s.add(tf.layers.dense({ units: CLASSES, name: "logits" }));
  return s.save(fileHandler(`file://${studentDir}`)).then(() => {
    s.dispose();
    const out = path.join(tmp, "out-module");
    const r = cli(["--teacher", path.join(teacherDir, "model.json"), "--student", studentDir, "--data", mod, "--method", "oneshot", "--steps", "100", "--eval-every", "50", "--out", out, "--json"]);
    assert.equal(r.code, 0, r.stderr);
    const summary = JSON.parse(r.stdout);
    assert.equal(summary.methods.oneshot.steps, 100);
    assert.equal(summary.student.softmaxOutput, false, "a linear student stays linear");
    assert.equal(summary.validationRows, 128);
    assert.ok(fs.existsSync(path.join(out, "student", "model.json")));
  });
});

test("bad input: one line naming the flag or file, exit 2, no --out folder", () => {
  const bad = (name: string, rows: string[]) => {
    const f = path.join(tmp, name);
    fs.writeFileSync(f, rows.join("\n") + "\n");
    return f;
  };
  const head = "f0,f1,f2,f3,f4,f5,y";
  const nan = bad("nan.csv", [head, "1,2,3,4,5,6,0", "1,2,x,4,5,6,1"]);
  const range = bad("range.csv", [head, ...Array.from({ length: 40 }, (_, i) => `1,2,3,4,5,6,${i === 39 ? 7 : i % 3}`)]);
  const narrow = bad("narrow.csv", ["f0,f1,y", "1,2,0"]);
  const constant = bad("constant.csv", [head, ...Array.from({ length: 100 }, (_, i) => `${i % 7},1,2,3,4,5,0`)]);
  const noDataset = path.join(tmp, "nodata.cjs");
  fs.writeFileSync(noDataset, "exports.rows = [1, 2, 3];\n");
  const base = ["--teacher", teacherDir, "--student-width", "8", "--data", trainCsv, "--label", "y"];
  const cases: Array<[string[], RegExp]> = [
    [["--student-width", "8", "--data", trainCsv], /invalid --teacher: "" \(required/],
    [["--teacher", path.join(tmp, "nope"), "--student-width", "8", "--data", trainCsv], /invalid --teacher: ".*nope" \(no such file\)/],
    [["--teacher", teacherDir, "--student", teacherDir, "--student-width", "8", "--data", trainCsv], /invalid --student: .*exactly one of --student MODEL and --student-width N/],
    [["--teacher", teacherDir, "--data", trainCsv], /exactly one of --student/],
    [["--teacher", teacherDir, "--student-width", "8"], /invalid --data: "" \(required/],
    [[...base, "--steps", "0"], /invalid steps: 0 \(must be >= 1\)/],
    [[...base, "--steps", "100", "--tap-steps", "100"], /invalid --tap-steps: 100 \(1 tap phase\(s\) of 100 steps leave no output phase within --steps 100\)/],
    [[...base, "--tap-steps", "-3"], /invalid tapSteps: -3/],
    [[...base, "--eval-every", "0"], /invalid evalEvery: 0/],
    [[...base, "--method", "magic"], /invalid method: "magic"/],
    [[...base, "--lr", "NaN"], /invalid lr/],
    [["--teacher", teacherDir, "--student-width", "8", "--data", trainCsv, "--label", "nolabel"], /invalid --label: "nolabel" \(no such column/],
    [["--teacher", teacherDir, "--student-width", "8", "--data", nan, "--label", "y"], /invalid --data: ".*nan.csv" \(line 3, column "f2": "x" is not a finite number\)/],
    [["--teacher", teacherDir, "--student-width", "8", "--data", range, "--label", "y"], /label 7 is out of range: the teacher has 3 classes/],
    [["--teacher", teacherDir, "--student-width", "8", "--data", narrow, "--label", "y"], /has 2 features; the teacher's input is \[6\]/],
    [["--teacher", teacherDir, "--student-width", "8", "--data", constant, "--label", "y"], /invalid --teacher: .*no better than the majority class/],
    [["--teacher", teacherDir, "--student-width", "8", "--data", noDataset], /invalid --data: .*must export a tf.data.Dataset/],
    [["--teacher", trainCsv, "--student-width", "8", "--data", trainCsv], /invalid --teacher: .*not a TensorFlow.js layers model/],
  ];
  for (const [args, re] of cases) {
    const out = path.join(tmp, "bad-out");
    const r = cli([...args, "--out", out]);
    assert.equal(r.code, 2, `${args.join(" ")}: exit ${r.code}\n${r.stderr}`);
    const lines = r.stderr.trim().split("\n");
    assert.equal(lines.length, 1, `${args.join(" ")}: one line, got ${r.stderr}`);
    assert.match(lines[0], re);
    assert.ok(!fs.existsSync(out), `${args.join(" ")}: no --out folder`);
  }
});

test("Ctrl-C stops the run, saves the student as trained so far and says so (exit 130)", async () => {
  const out = path.join(tmp, "out-int");
  const child = spawn(process.execPath, [BIN, "distill", "--teacher", teacherDir, "--student-width", "8", "--data", trainCsv, "--label", "y", "--steps", "1000000", "--out", out, "--progress-every", "0.2"], {
    cwd: tmp,
    env: { ...process.env, CD_BACKEND: "cpu" },
  });
  let stderr = "";
  let stdout = "";
  child.stdout.on("data", (d) => (stdout += d));
  const code = await new Promise<number | null>((resolve) => {
    child.stderr.on("data", (d) => {
      stderr += d;
      if (/step [1-9]\d*\//.test(stderr) && !child.killed) child.kill("SIGINT");
    });
    child.on("exit", (c) => resolve(c));
  });
  assert.equal(code, 130, stderr);
  assert.match(stdout, /interrupted: \d+ steps/);
  const summary = JSON.parse(fs.readFileSync(path.join(out, "summary.json"), "utf8"));
  assert.equal(summary.status, "interrupted");
  assert.ok(summary.methods.cx.steps > 0 && summary.methods.cx.steps < 1_000_000);
  assert.ok(fs.existsSync(path.join(out, "student", "model.json")));
});

test("cleanup", () => fs.rmSync(tmp, { recursive: true, force: true }));
