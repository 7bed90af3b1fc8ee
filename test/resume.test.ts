/**
 * Interrupt and resume, end to end: a real CLI child process is stopped mid-run (SIGINT: it saves
 * and prints the resume command, exit 130; SIGKILL: no warning, the last periodic save counts),
 * resumed, and its final summary.json and curves.csv are compared with an uninterrupted run of the
 * same config: equal (timings aside). Plus the pieces: Rng and stream positions, Adam's moments.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../src/rng";
import { createMlp } from "../src/models/mlp";
import { labelsPhase } from "../src/distill/outputs";
import { plan } from "../src/distill/phases";
import { parityTask } from "../src/data/sparseParity";
import { parityStream } from "../src/experiments/parityTask";
import { LoopResume, newCursor, runPhases } from "../src/train/loop";
import { useBackend } from "./helpers";

const BIN = path.join(__dirname, "..", "bin", "curriculum-distill.js");
const RUNS = fs.mkdtempSync(path.join(os.tmpdir(), "cd-resume-"));
// Small, but long enough to be stopped in the middle: students run to the cap.
const ARGS = ["parity", "--preset", "smoke", "--n", "12", "--k", "3", "--teacher-width", "64", "--student-width", "8", "--seeds", "0",
  "--methods", "cx,progressive", "--heldout", "512", "--eval-every", "50", "--ckpt-every", "50", "--teacher-extra-ckpts", "10",
  "--max-samples", "8e4", "--run-to-cap", "true", "--no-cache", "--runs-dir", RUNS, "--save-every", "2", "--json", "--quiet"];

function cli(args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", timeout: 300_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Start a run and stop it with `signal` as soon as one of `files` (relative to the run) exists. */
async function interrupted(runId: string, signal: NodeJS.Signals, files: string[], extra: string[] = []) {
  const child = spawn(process.execPath, [BIN, ...ARGS, "--run-id", runId, "--out", path.join(RUNS, `out-${runId}`), ...extra], { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d));
  const exited = new Promise<number | null>((r) => child.on("exit", (code, sig) => r(code ?? (sig ? -1 : null))));
  const dir = path.join(RUNS, runId);
  const t0 = Date.now();
  let seen = "";
  while (!seen && Date.now() - t0 < 120_000) {
    seen = files.find((f) => fs.existsSync(path.join(dir, f))) ?? "";
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.ok(seen, `no state file appeared (stderr: ${stderr})`);
  child.kill(signal);
  return { code: await exited, stderr, seen };
}

/** summary.json without timings. */
function summary(runId: string) {
  const s = JSON.parse(fs.readFileSync(path.join(RUNS, runId, "summary.json"), "utf8"));
  delete s.wallSeconds;
  for (const m of Object.values<Record<string, unknown>>(s.methods)) (delete m.seconds, delete m.stepsPerSecond, delete m.secondsToTarget);
  for (const t of Object.values<Record<string, unknown>>(s.teachers)) (delete t.seconds, delete t.stepsPerSecond);
  return s;
}

/** run.json without timings and ids: the run record must equal an uninterrupted run's. */
function record(runId: string) {
  const r = JSON.parse(fs.readFileSync(path.join(RUNS, runId, "run.json"), "utf8"));
  for (const k of ["elapsedSeconds", "created", "checksum", "runId"]) delete r[k];
  r.args = r.args.filter((a: string, i: number, all: string[]) => a !== "--workers" && all[i - 1] !== "--workers" && a !== "--out" && all[i - 1] !== "--out");
  delete r.files["summary.json"];
  delete r.files["curves.csv"];
  return r;
}

/** curves.csv without the seconds column. */
function curves(runId: string): string[] {
  return fs.readFileSync(path.join(RUNS, runId, "curves.csv"), "utf8").trim().split("\n").map((l) => l.split(",").slice(0, 8).join(","));
}

let full: Promise<void> | null = null;
function uninterrupted(): Promise<void> {
  full ??= (async () => {
    const r = cli([...ARGS, "--run-id", "full", "--out", path.join(RUNS, "out-full")]);
    assert.equal(r.code, 0, r.stderr);
  })();
  return full;
}

test("SIGINT mid-run: saves, prints the exact resume command, exits 130; the resumed run equals an uninterrupted one", async () => {
  await uninterrupted();
  const r = await interrupted("sigint", "SIGINT", ["students/seed0-cx.json"]);
  assert.equal(r.code, 130, r.stderr);
  const line = r.stderr.split("\n").find((l) => l.startsWith("resume with: "));
  assert.equal(line, `resume with: curriculum-distill parity --resume sigint --runs-dir ${RUNS}`);
  assert.doesNotMatch(r.stderr, /at .*\.js:\d+/, "no stack trace");
  assert.ok(!fs.existsSync(path.join(RUNS, "sigint", "summary.json")), "no results before the end");
  const resumed = cli(line!.slice("resume with: curriculum-distill ".length).split(" "));
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.deepEqual(summary("sigint"), summary("full"));
  assert.deepEqual(curves("sigint"), curves("full"));
  assert.deepEqual(record("sigint"), record("full"));
  assert.ok(curves("full").length > 100);
});

test("SIGKILL (no warning) during the teacher or a student, with 2 workers: resuming from the last save gives the same results", async () => {
  await uninterrupted();
  const r = await interrupted("sigkill", "SIGKILL", ["teachers/seed0-attempt0/state.json", "students/seed0-cx.json", "students/seed0-progressive.json"], ["--workers", "2"]);
  assert.equal(r.code, -1);
  const resumed = cli(["parity", "--resume", "sigkill", "--runs-dir", RUNS, "--workers", "2"]);
  assert.equal(resumed.code, 0, `${r.seen}: ${resumed.stderr}`);
  assert.deepEqual(summary("sigkill"), summary("full"));
  assert.deepEqual(curves("sigkill"), curves("full"));
  assert.deepEqual(record("sigkill"), record("full"));
});

test("a resumed run refuses changed settings and unknown runs with one line and exit 2", () => {
  const changed = cli(["parity", "--resume", "full", "--runs-dir", RUNS, "--lr", "0.5"]);
  assert.equal(changed.code, 2);
  assert.match(changed.stderr, /invalid --resume: "full" \(a resumed run keeps its own settings; --lr cannot be given/);
  const none = cli(["parity", "--resume", "nope", "--runs-dir", RUNS]);
  assert.equal(none.code, 2);
  assert.equal(none.stderr.trim().split("\n").length, 1);
  assert.match(none.stderr, /no run folder/);
});

test("Rng positions round-trip through JSON, Box-Muller's spare included", () => {
  const a = new Rng("x");
  a.normal(); // leaves the pair's twin cached
  const saved = JSON.parse(JSON.stringify(a.state()));
  assert.notEqual(saved.spare, null);
  const b = new Rng("x");
  b.restore(saved);
  const draw = (r: Rng) => [r.normal(), r.normal(), r.next(), r.uint32(), r.int(7)];
  assert.deepEqual(draw(b), draw(a));
  assert.throws(() => new Rng("y").restore(saved), /state of stream "x" given to stream "y"/);
});

test("the loop stopped at any step and restarted from the saved position (Adam moments, stream, step) matches an unbroken run", async () => {
  await useBackend();
  const task = parityTask(10, 3);
  const adam = { kind: "adam" as const, lr: 0.01, schedule: { kind: "warmupCosine" as const, warmupSteps: 20, totalSteps: 200 } };
  const setup = () => {
    const model = createMlp({ inputDim: 10, width: 8, outputDim: 2 }, new Rng("init"));
    const stream = parityStream(task, new Rng("data"), new Rng("heldout"), 16, 64);
    const p = plan("t", [labelsPhase(stream, model, 30, adam), labelsPhase(stream, model, Infinity, adam)]);
    return { model, stream, p };
  };
  const opts = { evalEvery: 10, maxSamples: 16 * 90 };
  const a = setup();
  const curveA: number[] = [];
  for await (const ev of runPhases(a.model, a.p, a.stream, opts)) if (ev.type === "eval") curveA.push(ev.loss, ev.trainLoss);
  for (const stopAt of [1, 30, 47]) {
    const b = setup();
    const cursor = newCursor();
    const curveB: number[] = [];
    let calls = 0;
    let resume: LoopResume | null = null;
    for await (const ev of runPhases(b.model, b.p, b.stream, { ...opts, cursor, shouldStop: () => ++calls === stopAt })) {
      if (ev.type === "eval") curveB.push(ev.loss, ev.trainLoss);
      if (ev.type === "interrupt") {
        // What a state file holds, copied (the loop frees its optimiser when it ends).
        const moments = Object.fromEntries(Object.entries(cursor.optimizer!.state()).map(([k, t]) => [k, t.clone()]));
        resume = JSON.parse(JSON.stringify({ ...cursor.position, optimizerStep: cursor.optimizer!.step }));
        resume!.optimizerState = moments;
        break;
      }
    }
    assert.ok(resume);
    const weights = b.model.snapshot();
    const moments = resume.optimizerState;
    const pos = JSON.parse(JSON.stringify(b.stream.position()));
    b.p.dispose();
    b.model.dispose();
    b.stream.dispose();
    const c = setup();
    c.model.load(weights);
    c.stream.restore(pos);
    for await (const ev of runPhases(c.model, c.p, c.stream, { ...opts, resume })) if (ev.type === "eval") curveB.push(ev.loss, ev.trainLoss);
    assert.deepEqual(curveB, curveA, `stopped after step ${stopAt}`);
    for (const t of [...Object.values(weights), ...Object.values(moments)]) t.dispose();
    c.p.dispose();
    c.model.dispose();
    c.stream.dispose();
  }
  a.p.dispose();
  a.model.dispose();
  a.stream.dispose();
  assert.ok(tf.memory().numTensors < 100);
});

const MLM = ["mlm", "--corpus", "pcfg", "--preset", "smoke", "--allow-failed-teacher", "--pcfg-documents", "20", "--teacher-steps", "30", "--teacher-ckpt-every", "10",
  "--student-steps", "40", "--tap-steps", "4", "--eval-every", "4", "--valid-batches", "2", "--no-cache", "--quiet", "--json", "--runs-dir", RUNS, "--save-every", "1"];

/** mlm's summary.json without timings. */
function mlmSummary(runId: string) {
  const s = JSON.parse(fs.readFileSync(path.join(RUNS, runId, "summary.json"), "utf8"));
  delete s.wallSeconds;
  for (const seeds of Object.values<Record<string, Record<string, unknown>>>(s.methods)) for (const r of Object.values(seeds)) (delete r.seconds, delete r.msPerStep);
  for (const t of Object.values<Record<string, unknown>>(s.teachers)) (delete t.seconds, delete t.stepsPerSecond, delete t.msPerStep);
  return s;
}

test("mlm: run folders, SIGKILL mid-student, --resume (with 2 workers): the same summary.json, curves and run record as an uninterrupted run", async () => {
  const full = cli([...MLM, "--run-id", "mlm-full", "--workers", "1", "--out", path.join(RUNS, "out-mlm-full")]);
  assert.equal(full.code, 0, full.stderr);
  const child = spawn(process.execPath, [BIN, ...MLM, "--run-id", "mlm-kill", "--workers", "1", "--out", path.join(RUNS, "out-mlm-kill")], { stdio: "ignore" });
  const exited = new Promise((r) => child.on("exit", r));
  const want = path.join(RUNS, "mlm-kill", "students", "seed0-progressive.json");
  for (let t = 0; t < 12000 && !fs.existsSync(want) && child.exitCode === null; t++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(fs.existsSync(want), "a student state was saved before the kill");
  child.kill("SIGKILL");
  await exited;
  assert.ok(!fs.existsSync(path.join(RUNS, "mlm-kill", "summary.json")));
  const resumed = cli(["mlm", "--resume", "mlm-kill", "--runs-dir", RUNS, "--workers", "2"]);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.deepEqual(mlmSummary("mlm-kill"), mlmSummary("mlm-full"));
  assert.deepEqual(curves("mlm-kill"), curves("mlm-full"));
  const record = (id: string) => {
    const r = JSON.parse(fs.readFileSync(path.join(RUNS, id, "run.json"), "utf8"));
    return { command: r.command, status: r.status, backend: r.backend, adapter: r.adapter, config: r.files["config.json"], summaryKeys: Object.keys(mlmSummary(id)) };
  };
  assert.deepEqual(record("mlm-kill"), record("mlm-full"));
  assert.ok(fs.existsSync(path.join(RUNS, "mlm-kill", "tokenizer.json")));
});
