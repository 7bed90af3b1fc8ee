import { test } from "node:test";
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import {
  characterValue,
  characterCorrelation,
  closedFormDegree1,
  degreeWeights,
  fourierCoefficient,
  fourierSpectrum,
  inputCorrelations,
  inputCorrelationsSigned,
  majorityFunction,
  maskToSubset,
  parityFunction,
  reluNeuronCorrelation,
  standardize,
  teacherCorrelations,
} from "../src/theory/fourier";
import { parityTask } from "../src/data/sparseParity";
import { createMlp } from "../src/models/mlp";
import { randomProjection } from "../src/distill/projection";
import { rootRng } from "../src/rng";
import { assertClose, useBackend } from "./helpers";

test("characterValue multiplies the coordinates in A", () => {
  const x = [1, -1, -1, 1, -1];
  assert.equal(characterValue(x, []), 1);
  assert.equal(characterValue(x, [1]), -1);
  assert.equal(characterValue(x, [1, 2]), 1);
  assert.equal(characterValue(x, [0, 1, 4]), 1);
  assert.equal(characterValue(x, [1, 2, 4]), -1);
  // Row offset: the second row of a flat [2, 3] array.
  assert.equal(characterValue([1, 1, 1, -1, 1, 1], [0], 3), -1);
});

test("a parity on S has coefficient 1 at S and 0 at every other subset", () => {
  const n = 5;
  const S = [0, 2, 3];
  const f = parityFunction(S);
  const spec = fourierSpectrum(f, n);
  for (let mask = 0; mask < 2 ** n; mask++) {
    const A = maskToSubset(mask, n);
    const want = A.join(",") === S.join(",") ? 1 : 0;
    assert.equal(spec[mask], want, `spectrum at {${A}}`);
    // The direct enumeration agrees with the fast transform.
    assert.equal(fourierCoefficient(f, n, A), want, `coefficient at {${A}}`);
  }
  assert.deepEqual(degreeWeights(spec, n), [0, 0, 0, 1, 0, 0]);
});

test("majority of 3: 1/2 at singletons, -1/2 at {1,2,3}, 0 elsewhere", () => {
  const n = 4; // a fourth, unused coordinate: its coefficients must all vanish
  const f = majorityFunction([0, 1, 2]);
  const want: Record<string, number> = { "0": 0.5, "1": 0.5, "2": 0.5, "0,1,2": -0.5 };
  const spec = fourierSpectrum(f, n);
  for (let mask = 0; mask < 2 ** n; mask++) {
    const A = maskToSubset(mask, n);
    const w = want[A.join(",")] ?? 0;
    assert.equal(fourierCoefficient(f, n, A), w, `maj3 at {${A}}`);
    assert.equal(spec[mask], w, `maj3 spectrum at {${A}}`);
  }
  // Parseval: f is +-1 valued, so the weights sum to 1 (3/4 at degree 1, 1/4 at degree 3).
  assert.deepEqual(degreeWeights(spec, n), [0, 0.75, 0, 0.25, 0]);
});

test("fourierCoefficient rejects bad subsets and sizes", () => {
  assert.throws(() => fourierCoefficient(() => 1, 3, [3]), /index 3 in A is outside \[0, 3\)/);
  assert.throws(() => fourierCoefficient(() => 1, 3, [1, 1]), /index 1 repeated/);
  assert.throws(() => fourierCoefficient(() => 1, 21, []), /n must be an integer in \[0, 20\]/);
});

test("E[relu(a u) x_j] = a s_j / 2 for zero bias: closed form against enumeration of the 2^k sub-cube", () => {
  for (const k of [1, 2, 3, 4, 5, 6, 7, 8, 10]) {
    for (const a of [0.3, 1, 2.5, -0.7, -2]) {
      const closed = closedFormDegree1(a, k);
      assert.equal(closed, a / 2);
      for (let j = 0; j < k; j++) {
        const e = reluNeuronCorrelation(a, 0, k, undefined, j);
        assert.ok(Math.abs(e - closed) < 1e-12, `k=${k} a=${a} j=${j}: enumeration ${e} vs closed form ${closed}`);
      }
      // Mixed signs: the coefficient on x_j carries s_j.
      const signs = Array.from({ length: k }, (_, i) => (i % 2 ? -1 : 1));
      for (let j = 0; j < k; j++) {
        const e = reluNeuronCorrelation(a, 0, k, signs, j);
        assert.ok(Math.abs(e - signs[j] * closed) < 1e-12, `k=${k} a=${a} j=${j} signed: ${e}`);
      }
    }
  }
});

test("with a bias the degree-1 term is not a/2 and depends on k (hand-computed cases)", () => {
  // k = 1: E[relu(a x + b) x] = (relu(a + b) - relu(-a + b)) / 2. a = 1, b = 0.5: (1.5 - 0) / 2 = 0.75.
  assert.ok(Math.abs(reluNeuronCorrelation(1, 0.5, 1) - 0.75) < 1e-12);
  // k = 2, a = 1, b = -1: u in {2, 0, 0, -2} -> relu(u - 1) = {1, 0, 0, 0}; E[. x_1] = 1/4.
  assert.ok(Math.abs(reluNeuronCorrelation(1, -1, 2) - 0.25) < 1e-12);
  // Large positive bias: the neuron is linear on the cube, E = a exactly (relu never clips).
  assert.ok(Math.abs(reluNeuronCorrelation(1.5, 10, 4) - 1.5) < 1e-12);
});

test("inputCorrelations finds the one correlated bit: z = x_3 + noise", () => {
  const n = 8;
  const N = 20000;
  const rng = rootRng(7).derive("test", "corr");
  const x = new Float32Array(N * n);
  const z = new Float32Array(N);
  for (let r = 0; r < N; r++) {
    for (let i = 0; i < n; i++) x[r * n + i] = rng.next() < 0.5 ? -1 : 1;
    z[r] = x[r * n + 3] + 0.5 * rng.normal();
  }
  const c = inputCorrelations(z, x, n);
  assert.equal(c.length, n);
  // E[(x_3 + 0.5 e) x_3] = 1; every other E[z x_i] = 0; sampling error ~ 1.1 / sqrt(N) = 0.008.
  assert.ok(Math.abs(c[3] - 1) < 0.04, `i=3: ${c[3]}`);
  for (let i = 0; i < n; i++) if (i !== 3) assert.ok(c[i] < 0.04, `i=${i}: ${c[i]}`);
  // Signed: -z gives -1 at i = 3.
  const neg = inputCorrelationsSigned(Array.from(z, (v) => -v), x, n);
  assert.ok(Math.abs(neg[3] + 1) < 0.04);
  assert.throws(() => inputCorrelations(z, x.subarray(1), n), /expected N \* n/);
});

test("standardize gives zero mean and unit variance", () => {
  const s = standardize([1, 2, 3, 4, 10]);
  const mean = s.reduce((a, b) => a + b, 0) / s.length;
  const v = s.reduce((a, b) => a + b * b, 0) / s.length;
  assert.ok(Math.abs(mean) < 1e-12 && Math.abs(v - 1) < 1e-12);
  assert.throws(() => standardize([2, 2, 2]), /zero variance/);
});

test("teacherCorrelations on a hand-built parity teacher: output ~ chi_S has no degree-1 mass, the projection has", async () => {
  await useBackend();
  // n = 6, S = {0, 1}. Two neurons h1 = relu(x0 + x1), h2 = relu(-x0 - x1) (b = 0), the rest dead.
  // h1 + h2 = |x0 + x1| = 1 + x0 x1, so logit(0) = h1 + h2, logit(1) = 0 gives a logit difference
  // -(1 + x0 x1): standardized, exactly -chi_S; the class-1 probability sigmoid(-(1 + x0 x1)) is
  // also a two-valued function of chi_S, so standardized it is -chi_S too. A projection z = P1 h1 + P2 h2 has
  // E[z x0] = E[z x1] = (P1 - P2) / 2 (the a/2 rule, twice) and Var z = P1^2 + P2^2 - (P1 + P2)^2 / 4.
  const n = 6;
  const M = 4;
  const task = parityTask(n, 2);
  const mlp = createMlp({ inputDim: n, width: M, outputDim: 2 }, rootRng(0).derive("t"));
  const W1 = new Float32Array(M * n); // [M, n]: unit 0 = x0 + x1, unit 1 = -x0 - x1
  W1[0 * n + 0] = 1;
  W1[0 * n + 1] = 1;
  W1[1 * n + 0] = -1;
  W1[1 * n + 1] = -1;
  const W2 = new Float32Array(M * 2); // [M, 2]
  W2[0 * 2 + 0] = 1;
  W2[1 * 2 + 0] = 1;
  tf.tidy(() => {
    mlp.W1.assign(tf.tensor2d(W1, [M, n]));
    mlp.b1.assign(tf.zeros([M]));
    mlp.W2.assign(tf.tensor2d(W2, [M, 2]));
    mlp.b2.assign(tf.zeros([2]));
  });
  const rng = rootRng(4).derive("theory");
  const samples = 20000;
  const before = tf.memory().numTensors;
  const c = teacherCorrelations(mlp, task, rng, { samples, chunk: 3000 });
  assert.equal(tf.memory().numTensors, before, "teacherCorrelations leaked tensors");
  const cl = teacherCorrelations(mlp, task, rng, { samples, chunk: 3000, output: "logitDiff" });
  assert.ok(Math.abs(cl.outputParity - 1) < 1e-3, `logit difference vs chi_S: ${cl.outputParity}`);
  assert.deepEqual(cl.projection, c.projection, "same rng: same samples and projection");
  // The projection the helper drew (same stream) gives the exact expected value.
  const proj = randomProjection(rng.derive("projection"), 1, M);
  const P = proj.Pt.dataSync(); // [M, 1]
  proj.dispose();
  const exact = Math.abs(P[0] - P[1]) / 2 / Math.sqrt(P[0] ** 2 + P[1] ** 2 - (P[0] + P[1]) ** 2 / 4);
  const tol = 4 / Math.sqrt(samples);
  assert.ok(exact > 0.1, `test set-up: the drawn projection should not cancel (${exact})`);
  assertClose([c.projection[0][0], c.projection[0][1]], [exact, exact], tol, "projection in support");
  for (let i = 2; i < n; i++) assert.ok(c.projection[0][i] < tol, `projection off support i=${i}: ${c.projection[0][i]}`);
  for (let i = 0; i < n; i++) assert.ok(c.output[i] < tol, `output i=${i}: ${c.output[i]}`);
  assert.ok(Math.abs(c.outputParity - 1) < 1e-3, `output vs chi_S: ${c.outputParity}`);
  assert.ok(c.projectionInSupport.min > c.projectionOffSupport.max);
  assert.equal(c.samples, samples);
  mlp.dispose();
});

test("characterCorrelation of chi_S with itself is 1 and with another character ~0", () => {
  const n = 5;
  const N = 4000;
  const rng = rootRng(1).derive("cc");
  const x = new Float32Array(N * n);
  for (let j = 0; j < x.length; j++) x[j] = rng.next() < 0.5 ? -1 : 1;
  const z = Array.from({ length: N }, (_, r) => characterValue(x, [1, 4], r * n));
  assert.equal(characterCorrelation(z, x, n, [1, 4]), 1);
  assert.ok(Math.abs(characterCorrelation(z, x, n, [1])) < 0.07);
});
