/**
 * The fused MLP kernels (native/mlp.cc through src/ops/mlp.ts) against the reference: the model's
 * hand-derived gradients and p -= lr g, on the cpu backend. Shapes: small odd ones, batches 1 to 8,
 * two and three classes, taps on relu and on the pre-activation with every unit or the first few,
 * and one wide layer that takes the multi-threaded path. Every build of the row kernels this CPU runs
 * (native/lanes.h: base, avx2, avx512) passes the whole file: the default one in this process, the others
 * in a child each (CD_MLP_ISA).
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import path from "node:path";
import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../src/backend";
import { curriculumExtraction } from "../src/distill/curriculumExtraction";
import { randomProjection } from "../src/distill/projection";
import { parityTask } from "../src/data/sparseParity";
import { parityStream } from "../src/experiments/parityTask";
import { runPhases } from "../src/train/loop";
import { Mlp, createMlp } from "../src/models/mlp";
import { Rng } from "../src/rng";
import { assertClose } from "./helpers";
import { Case, steps } from "./mlpSteps";
import { WASM_KERNELS } from "./nativeHelpers";
import { ADDON_PATH, nativeAddon } from "../src/kernels/addon";

const native = WASM_KERNELS.includes("native");
const skip = native ? false : "the native library is not built";

const CASES: Case[] = [
  { n: 7, H: 13, C: 3, B: 4, what: { labels: true } },
  { n: 7, H: 13, C: 2, B: 1, what: {} },
  { n: 7, H: 13, C: 3, B: 5, what: {} },
  { n: 9, H: 6, C: 2, B: 8, what: { tap: "hidden" } },
  { n: 9, H: 6, C: 2, B: 1, what: { tap: "hiddenPre" } },
  { n: 9, H: 11, C: 2, B: 3, what: { tap: "hidden", dim: 4 } },
  { n: 100, H: 4096, C: 2, B: 1, what: {} }, // wide: split across threads
  { n: 100, H: 4096, C: 2, B: 2, what: { tap: "hidden", dim: 100 } },
];

test("one fused SGD step equals the hand-derived gradients and p -= lr g on cpu: losses and every weight", { skip }, async () => {
  for (const c of CASES) {
    const ref = await steps(c, "cpu");
    const got = await steps(c, "wasm");
    const what = `n ${c.n} H ${c.H} C ${c.C} B ${c.B} ${c.what.tap ?? "output"}${c.what.dim ? ` dim ${c.what.dim}` : ""}`;
    assertClose(got.losses, ref.losses, 1e-5, `${what}: loss`);
    got.weights.forEach((w, i) => assertClose(w, ref.weights[i], 1e-5, `${what}: weight ${i}`));
  }
});

test("a fused step leaves a snapshot and loaded weights alone (copy on write), and leaks nothing", { skip }, async () => {
  await initBackend("wasm");
  const m: Mlp = createMlp({ inputDim: 5, width: 8, outputDim: 2 }, new Rng("cow"));
  const snap = m.snapshot();
  const before = Array.from(snap.W1.dataSync());
  const x = tf.tensor2d([[1, -1, 1, 1, -1]]);
  const t = tf.tensor2d([[0, 1]]);
  tf.tidy(() => m.sgdStep!(x, t, 0.5)!).dispose();
  assert.deepEqual(Array.from(snap.W1.dataSync()), before, "the snapshot shares W1's buffer until the step copies it");
  assert.notDeepEqual(Array.from(m.W1.dataSync()), before, "the model moved");
  const loaded = m.snapshot();
  m.load(loaded);
  const kept = Array.from(loaded.b1.dataSync());
  tf.tidy(() => m.sgdStep!(x, t, 0.5)!).dispose();
  assert.deepEqual(Array.from(loaded.b1.dataSync()), kept, "weights the model was loaded from stay as they were");
  const n0 = tf.memory().numTensors;
  for (let i = 0; i < 5; i++) tf.tidy(() => m.sgdStep!(x, t, 0.1)!).dispose();
  assert.equal(tf.memory().numTensors, n0);
  [x, t, ...Object.values(snap), ...Object.values(loaded)].forEach((v) => v.dispose());
  m.dispose();
});

test("the one-pass forward and the fused tap projection equal the products", { skip }, async () => {
  await initBackend("wasm");
  const m = createMlp({ inputDim: 30, width: 700, outputDim: 3 }, new Rng("fwd"));
  const P = randomProjection(new Rng("proj"), 20, 700);
  const r = new Rng("xs");
  for (const B of [1, 3, 9]) {
    const x = tf.tensor2d(Float32Array.from({ length: B * 30 }, () => (r.next() < 0.5 ? -1 : 1)), [B, 30]);
    const viaProducts = tf.tidy(() => m.forward(x, { taps: ["hidden"] }).logits); // taps: never the one-pass kernel
    const logits = tf.tidy(() => m.forward(x).logits); // batches <= 4: the one-pass kernel
    assertClose(logits.dataSync(), viaProducts.dataSync(), 1e-5, `logits B ${B}`);
    for (const tap of ["hidden", "hiddenPre"] as const) {
      const fused = tf.tidy(() => m.projectTap!(x, tap, P.Pt) ?? P.apply(m.forwardTaps(x, [tap])[tap])); // batches > 4: products
      const plain = tf.tidy(() => P.apply(m.forwardTaps(x, [tap])[tap]));
      assertClose(fused.dataSync(), plain.dataSync(), 1e-4, `${tap} projection B ${B}`);
      tf.dispose([fused, plain]);
    }
    tf.dispose([x, logits, viaProducts]);
  }
  P.dispose();
  m.dispose();
});

test("a frozen model queried for many rows at once (rowsAhead) gives each row the bits of a batch of 1, 2 or 4 alone; larger batches decline", { skip }, async () => {
  await initBackend("wasm");
  // n 50 and m 37 leave tails after every vector width (16, 8, 4); 71 and 76 rows: a sweep of 64, then
  // groups of eight and of four and single rows; width 4099 takes the multi-threaded path.
  for (const [n, H, C, m] of [[50, 23, 3, 5], [50, 4099, 2, 37], [9, 13, 2, 100]]) {
    const model = createMlp({ inputDim: n, width: H, outputDim: C }, new Rng(`ahead-${n}-${H}`));
    const P = randomProjection(new Rng(`ahead-proj-${H}`), m, H);
    const r = new Rng(`ahead-x-${n}`);
    for (const [rows, total] of [[1, 71], [2, 76], [4, 76]]) {
      const x = tf.tensor2d(Float32Array.from({ length: total * n }, () => (r.next() < 0.5 ? -1 : 1)), [total, n]);
      const batches = tf.split(x, total / rows, 0);
      const alone = (f: (b: tf.Tensor) => tf.Tensor) =>
        batches.flatMap((b) => {
          const t = tf.tidy(() => f(b));
          const v = Array.from(t.dataSync());
          t.dispose();
          return v;
        });
      const logits = model.rowsAhead!.logits(x, rows)!;
      assert.deepEqual(Array.from(logits.dataSync()), alone((b) => model.forward(b).logits), `logits ${n}x${H}, batches of ${rows}`);
      for (const tap of ["hidden", "hiddenPre"]) {
        const all = model.rowsAhead!.projectTap(x, tap, P.Pt, rows)!;
        assert.deepEqual(Array.from(all.dataSync()), alone((b) => model.projectTap!(b, tap, P.Pt)!), `${tap} projection ${n}x${H} m ${m}, batches of ${rows}`);
        all.dispose();
      }
      // A batch of 5 alone goes to the products (sgemm), whose rows may depend on the batch: declined.
      assert.equal(model.rowsAhead!.logits(x, 5), null);
      assert.equal(model.rowsAhead!.projectTap(x, "hidden", P.Pt, 5), null);
      tf.dispose([x, logits, ...batches]);
    }
    P.dispose();
    model.dispose();
  }
});

test("without the kernels (cpu) the model declines the fused step and the loop takes the reference path", async () => {
  await initBackend("cpu");
  const m = createMlp({ inputDim: 3, width: 4, outputDim: 2 }, new Rng("cpu"));
  const r = m.sgdStep!(tf.ones([1, 3]), tf.tensor2d([[1, 0]]), 0.1);
  assert.equal(r, null);
  m.dispose();
});

test("curriculum extraction through the loop (tap phase on 3 of 6 units, then outputs; events mid-phase): wasm's fused steps equal cpu", { skip }, async () => {
  const run = async (backend: "cpu" | "wasm") => {
    await initBackend(backend);
    const rng = new Rng("cx-loop");
    const task = parityStream(parityTask(8, 2), rng.derive("data"), rng.derive("heldout"), 4, 64);
    const teacher = createMlp({ inputDim: 8, width: 16, outputDim: 2 }, rng.derive("teacher"));
    const student = createMlp({ inputDim: 8, width: 6, outputDim: 2 }, rng.derive("student"));
    const plan = curriculumExtraction(student, teacher, rng.derive("projection"), {
      pairs: [{ teacherTap: "hidden", studentTap: "hidden", dim: 3 }],
      tapSteps: 7,
      tapOptimizer: { kind: "sgd", lr: 0.05 },
      output: { optimizer: { kind: "sgd", lr: 0.1 }, tau: 1 },
    });
    const evals: number[] = [];
    for await (const ev of runPhases(student, plan, task, { evalEvery: 5, maxSamples: 4 * 20, checkpointEvery: 3, tickSeconds: 0 })) {
      if (ev.type === "eval") evals.push(ev.loss);
      if (ev.type === "checkpoint") evals.push(tf.tidy(() => tf.sum(student.snapshot().W1).dataSync()[0]));
    }
    const w = student.variables.map((v) => v.dataSync() as Float32Array);
    plan.dispose();
    [task, teacher, student].forEach((d) => d.dispose());
    return { evals, w };
  };
  const ref = await run("cpu");
  const got = await run("wasm");
  assertClose(got.evals, ref.evals, 1e-5, "evaluations and checkpoint sums");
  got.w.forEach((w, i) => assertClose(w, ref.w[i], 1e-5, `weight ${i}`));
});

test("settling a held-back update at any step gives bit for bit the weights of never settling (a resumed run equals an uninterrupted one)", { skip }, async () => {
  await initBackend("wasm");
  const run = (settleEvery: number) => {
    const m = createMlp({ inputDim: 50, width: 20, outputDim: 2 }, new Rng("settle"));
    const r = new Rng("settle-data");
    for (let s = 0; s < 120; s++) {
      const x = tf.tensor2d(Float32Array.from({ length: 8 * 50 }, () => (r.next() < 0.5 ? -1 : 1)), [8, 50]);
      const y = tf.tensor1d(Int32Array.from({ length: 8 }, () => (r.next() < 0.5 ? 0 : 1)), "int32");
      tf.tidy(() => m.sgdStep!(x, y, 0.1, { labels: true })!).dispose();
      tf.dispose([x, y]);
      if (settleEvery > 0 && s % settleEvery === 3) m.settle!();
    }
    const w = m.variables.map((v) => Array.from(v.dataSync()));
    m.dispose();
    return w;
  };
  const never = run(0);
  for (const every of [1, 7]) assert.deepEqual(run(every), never, `settled every ${every} steps`);
});

test("batch 1's four-rows-per-sweep paths give bit for bit what the row-at-a-time loop gives (CD_MLP_ROWS=1), every step kind, forward and tap projection", { skip }, () => {
  const run = (rows: string) => {
    const r = spawnSync(process.execPath, ["--import", "tsx", path.join(__dirname, "mlpRowsChild.ts")], { env: { ...process.env, CD_MLP_ROWS: rows }, encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout.trim().split("\n").pop()!) as Record<string, { losses: number[]; weights: string }>;
  };
  const rows = run("1");
  const fast = run("0");
  assert.equal(Object.keys(rows).length, 3);
  for (const v of Object.values(rows)) assert.ok(v.losses.every((l) => Number.isFinite(l) && l > 0), "every step ran and gave a loss");
  assert.deepEqual(fast, rows);
});

/** The row-kernel builds this CPU runs, the default (widest) first. */
function isas(): string[] {
  const probe = (isa?: string) => {
    const env: Record<string, string | undefined> = { ...process.env, CD_MLP_ISA: isa };
    if (isa === undefined) delete env.CD_MLP_ISA;
    return spawnSync(process.execPath, ["-e", `process.stdout.write(require(${JSON.stringify(ADDON_PATH)}).mlpIsa(new Uint8Array(1)))`], { env, encoding: "utf8" });
  };
  const all = ["avx512", "avx2", "base"].filter((isa) => probe(isa).status === 0);
  assert.equal(probe().stdout, all[0], "the default is the widest build the CPU runs");
  return all;
}

test("the row kernels in use are named in the native build's identity; CD_MLP_ISA picks another or is refused naming itself (exit 2, before any work)", { skip }, () => {
  const addon = nativeAddon()!;
  const isa = addon.mlpIsa(new Uint8Array(1));
  assert.match(addon.config(), new RegExp(` mlp-${isa}$`));
  assert.ok(isas().includes("base"), "base runs everywhere");
  const key = (env: Record<string, string>) => spawnSync(process.execPath, ["--import", "tsx", "-e", 'require("./src/backend").initBackend("wasm").then(() => console.log(require("./src/backend").backendKey()))'], { cwd: path.join(__dirname, ".."), env: { ...process.env, ...env }, encoding: "utf8" });
  const base = key({ CD_MLP_ISA: "base" });
  assert.equal(base.status, 0, base.stderr);
  if (isa !== "base") assert.notEqual(base.stdout.trim(), key({ CD_MLP_ISA: isa }).stdout.trim(), "another build of the row kernels is another backend key (no shared cache entry, no mixed resume)");
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "cd-isa-"));
  try {
    const args = ["parity", "--preset", "smoke", "--runs-dir", path.join(tmp, "runs"), "--out", path.join(tmp, "out"), "--no-cache"];
    const bad = spawnSync(process.execPath, [path.join(__dirname, "..", "bin", "curriculum-distill.js"), ...args], { env: { ...process.env, CD_MLP_ISA: "avx9" }, encoding: "utf8" });
    assert.equal(bad.status, 2, bad.stderr);
    assert.match(bad.stderr, /CD_MLP_ISA=avx9: expected base, avx2 or avx512/);
    assert.equal(bad.stderr.trim().split("\n").length, 1, bad.stderr);
    assert.deepEqual(fs.readdirSync(tmp), [], "nothing written");
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

test("every other build of the row kernels this CPU runs passes this whole file (CD_MLP_ISA in a child each)", { skip: skip || (process.env.CD_MLP_ISA !== undefined ? "this is such a child" : false) }, () => {
  const others = isas().slice(1);
  for (const isa of others) {
    const env: Record<string, string | undefined> = { ...process.env, CD_MLP_ISA: isa };
    delete env.NODE_TEST_CONTEXT; // set for the runner's own children: it would make this one report in the runner's binary format
    const r = spawnSync(process.execPath, ["--import", "tsx", "--test", __filename], { env, encoding: "utf8", timeout: 300_000 });
    assert.equal(r.status, 0, `CD_MLP_ISA=${isa}:\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-2000)}`);
    assert.match(r.stdout, /# fail 0/);
    assert.doesNotMatch(r.stdout, /# pass 0\b/);
    process.stdout.write(`# CD_MLP_ISA=${isa}: ${/# pass (\d+)/.exec(r.stdout)?.[1]} passed\n`);
  }
});
