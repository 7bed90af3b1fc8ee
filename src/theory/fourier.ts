/**
 * Fourier analysis on the Boolean cube {-1,+1}^n, for the theory notebook: why one-shot distillation
 * of sparse parity is hard and why a random projection of the teacher's hidden layer is not.
 *
 *   f = sum_A f^(A) chi_A,   chi_A(x) = prod_{i in A} x_i,   f^(A) = E_x[f(x) chi_A(x)]  (x uniform).
 *
 * Degree 1 of a ReLU neuron with zero bias (this project's analysis, checked by enumeration in the
 * tests and the notebook): relu(t) = (t + |t|) / 2, so for any weight vector w
 *   E[relu(w.x) x_j] = (E[(w.x) x_j] + E[|w.x| x_j]) / 2 = w_j / 2,
 * because E[(w.x) x_j] = w_j and |w.x| is even under x -> -x while x_j is odd. For the neuron
 * relu(a * sum_{i in S} s_i x_i) this is a s_j / 2: |E[relu(a u) x_j]| = |a| / 2 for j in S and 0 off
 * S, for every k >= 1 and either sign of a (PAPER.md's a/2 assumes a > 0). With a bias b != 0 the
 * value depends on k and b (see `reluNeuronCorrelation`).
 *
 * Pure functions on plain arrays, except the teacher helpers at the end, which run the model in tfjs.
 * Keep this file within TypeScript 5.0 syntax: notebooks compile against its .d.ts with tslab's TS 5.0.4.
 */
import * as tf from "@tensorflow/tfjs";
import { ParityTask, sampleParity } from "../data/sparseParity";
import { randomProjection } from "../distill/projection";
import { TappedModel } from "../models/types";
import { Rng } from "../rng";

/** Largest n for which functions enumerate {-1,+1}^n (2^20 points). */
export const MAX_ENUM_BITS = 20;

function checkEnumBits(fn: string, n: number): void {
  if (!Number.isInteger(n) || n < 0 || n > MAX_ENUM_BITS) {
    throw new Error(`${fn}: n must be an integer in [0, ${MAX_ENUM_BITS}] to enumerate the cube, got ${n}`);
  }
}

function checkSubset(fn: string, A: readonly number[], n: number): void {
  const seen = new Set<number>();
  for (const i of A) {
    if (!Number.isInteger(i) || i < 0 || i >= n) throw new Error(`${fn}: index ${i} in A is outside [0, ${n})`);
    if (seen.has(i)) throw new Error(`${fn}: index ${i} repeated in A`);
    seen.add(i);
  }
}

/** chi_A(x) = prod_{i in A} x_i, for the row of `x` starting at `offset` (entries +-1). chi_{} = 1. */
export function characterValue(x: ArrayLike<number>, A: readonly number[], offset = 0): number {
  let p = 1;
  for (const i of A) p *= x[offset + i];
  return p;
}

/** Point number `m` of {-1,+1}^n: bit i of m set means x_i = -1. Writes into `into`. */
export function cubePoint(m: number, n: number, into: Float64Array = new Float64Array(n)): Float64Array {
  for (let i = 0; i < n; i++) into[i] = (m >>> i) & 1 ? -1 : 1;
  return into;
}

/** f^(A) = E[f(x) chi_A(x)] by enumerating all 2^n points (n <= MAX_ENUM_BITS). */
export function fourierCoefficient(f: (x: Float64Array) => number, n: number, A: readonly number[]): number {
  checkEnumBits("fourierCoefficient", n);
  checkSubset("fourierCoefficient", A, n);
  const x = new Float64Array(n);
  const size = 2 ** n;
  let sum = 0;
  for (let m = 0; m < size; m++) {
    cubePoint(m, n, x);
    sum += f(x) * characterValue(x, A);
  }
  return sum / size;
}

/** Subsets of {0..n-1} as bit masks -> index lists: mask bit i set means i in A. */
export function maskToSubset(mask: number, n: number): number[] {
  const A: number[] = [];
  for (let i = 0; i < n; i++) if ((mask >>> i) & 1) A.push(i);
  return A;
}

/**
 * Every coefficient at once: spectrum[mask] = f^(A) with A = maskToSubset(mask, n), by the fast
 * Walsh-Hadamard transform (n 2^n operations instead of 4^n).
 */
export function fourierSpectrum(f: (x: Float64Array) => number, n: number): Float64Array {
  checkEnumBits("fourierSpectrum", n);
  const size = 2 ** n;
  const v = new Float64Array(size);
  const x = new Float64Array(n);
  for (let m = 0; m < size; m++) v[m] = f(cubePoint(m, n, x));
  // With x_i = -1 encoded as bit 1, chi_A(x(m)) = (-1)^{popcount(m & A)}: the Hadamard matrix.
  for (let h = 1; h < size; h <<= 1) {
    for (let i = 0; i < size; i += h << 1) {
      for (let j = i; j < i + h; j++) {
        const a = v[j];
        const b = v[j + h];
        v[j] = a + b;
        v[j + h] = a - b;
      }
    }
  }
  for (let m = 0; m < size; m++) v[m] /= size;
  return v;
}

/** Fourier weight per degree: W[d] = sum_{|A| = d} f^(A)^2 (sums to E[f^2], Parseval). */
export function degreeWeights(spectrum: Float64Array, n: number): number[] {
  if (spectrum.length !== 2 ** n) throw new Error(`degreeWeights: spectrum has ${spectrum.length} entries, expected 2^${n}`);
  const w = new Array<number>(n + 1).fill(0);
  for (let m = 0; m < spectrum.length; m++) {
    let d = 0;
    for (let r = m; r; r &= r - 1) d++;
    w[d] += spectrum[m] * spectrum[m];
  }
  return w;
}

/** The parity chi_S as a function (S = support indices). */
export function parityFunction(S: readonly number[]): (x: Float64Array) => number {
  return (x) => characterValue(x, S);
}

/** Majority of the coordinates in S (|S| odd): sign(sum_{i in S} x_i). */
export function majorityFunction(S: readonly number[]): (x: Float64Array) => number {
  if (S.length % 2 === 0) throw new Error(`majorityFunction: |S| must be odd, got ${S.length}`);
  return (x) => (S.reduce((s, i) => s + x[i], 0) > 0 ? 1 : -1);
}

const relu = (t: number): number => (t > 0 ? t : 0);

/**
 * E[relu(a * sum_{i<k} s_i x_i + b) x_j] over x uniform on {-1,+1}^k, by enumerating the 2^k
 * sub-cube (the coordinates off S do not enter the neuron, so its correlation with them is 0).
 * `signs` (default all +1) are the s_i; `j` (default 0) indexes the support coordinate.
 */
export function reluNeuronCorrelation(a: number, b: number, k: number, signs?: readonly number[], j = 0): number {
  checkEnumBits("reluNeuronCorrelation", k);
  if (k < 1) throw new Error(`reluNeuronCorrelation: k must be >= 1, got ${k}`);
  if (!Number.isInteger(j) || j < 0 || j >= k) throw new Error(`reluNeuronCorrelation: j must be in [0, ${k}), got ${j}`);
  const s = signs ?? new Array<number>(k).fill(1);
  if (s.length !== k) throw new Error(`reluNeuronCorrelation: ${s.length} signs for k = ${k}`);
  const x = new Float64Array(k);
  const size = 2 ** k;
  let sum = 0;
  for (let m = 0; m < size; m++) {
    cubePoint(m, k, x);
    let u = 0;
    for (let i = 0; i < k; i++) u += s[i] * x[i];
    sum += relu(a * u + b) * x[j];
  }
  return sum / size;
}

/**
 * Closed form of E[relu(a * sum_{i in S} x_i) x_j] for j in S and zero bias: a / 2, for every
 * k >= 1 and any real a (derivation in the header). With signs s_i it is a s_j / 2.
 */
export function closedFormDegree1(a: number, k: number): number {
  if (!Number.isInteger(k) || k < 1) throw new Error(`closedFormDegree1: k must be an integer >= 1, got ${k}`);
  return a / 2;
}

/** Signed E[z x_i] for i = 0..n-1, estimated on N samples: values [N], x [N * n] row-major. */
export function inputCorrelationsSigned(values: ArrayLike<number>, x: ArrayLike<number>, n: number): number[] {
  const N = values.length;
  if (N === 0) throw new Error("inputCorrelations: no samples");
  if (x.length !== N * n) throw new Error(`inputCorrelations: x has ${x.length} entries, expected N * n = ${N} * ${n}`);
  const acc = new Float64Array(n);
  for (let r = 0; r < N; r++) {
    const z = values[r];
    const o = r * n;
    for (let i = 0; i < n; i++) acc[i] += z * x[o + i];
  }
  return Array.from(acc, (v) => v / N);
}

/** |E[z x_i]| for i = 0..n-1, estimated on N samples: values [N], x [N * n] row-major. */
export function inputCorrelations(values: ArrayLike<number>, x: ArrayLike<number>, n: number): number[] {
  return inputCorrelationsSigned(values, x, n).map(Math.abs);
}

/** E[z chi_A(x)] estimated on N samples (x [N * n] row-major). */
export function characterCorrelation(values: ArrayLike<number>, x: ArrayLike<number>, n: number, A: readonly number[]): number {
  const N = values.length;
  if (x.length !== N * n) throw new Error(`characterCorrelation: x has ${x.length} entries, expected ${N} * ${n}`);
  let s = 0;
  for (let r = 0; r < N; r++) s += values[r] * characterValue(x, A, r * n);
  return s / N;
}

/** (v - mean) / std: zero mean, unit variance (population std). Throws on a constant signal. */
export function standardize(values: ArrayLike<number>): Float64Array {
  const N = values.length;
  let mean = 0;
  for (let r = 0; r < N; r++) mean += values[r];
  mean /= N;
  let v2 = 0;
  for (let r = 0; r < N; r++) v2 += (values[r] - mean) ** 2;
  const std = Math.sqrt(v2 / N);
  if (!(std > 0)) throw new Error(`standardize: signal has zero variance over ${N} samples`);
  const out = new Float64Array(N);
  for (let r = 0; r < N; r++) out[r] = (values[r] - mean) / std;
  return out;
}

// ---------------------------------------------------------------------------------------------
// A trained teacher's signals.

export interface TeacherSignalOptions {
  /** Samples drawn from the task (default 40000, as in PAPER.md's measurement). */
  samples?: number;
  /** Random projections z_p = (P h_T)_p to measure (default 1). */
  projections?: number;
  /** Which tap is projected (default "hidden", the post-activation layer phase 1 matches). */
  tap?: string;
  /** Rows per forward pass (default 4096). */
  chunk?: number;
  /**
   * The teacher output p_T (standardized either way): "probability" (default) = softmax(logits)[1],
   * what one-shot distillation trains on at tau = 1; "logitDiff" = logit 1 - logit 0, whose size
   * varies with the teacher's confidence and so keeps some degree-1 mass (up to ~0.1 measured).
   */
  output?: "probability" | "logitDiff";
}

export interface TeacherSignals {
  /** x [samples * n], entries +-1. */
  x: Float32Array;
  n: number;
  samples: number;
  /** One standardized projection per entry, each [samples]: z_p = (P h_T(x))_p, P ~ N(0, 1/M). */
  projections: Float64Array[];
  /** The teacher's output p_T (class-1 probability or logit difference, per `output`), standardized, [samples]. */
  output: Float64Array;
}

/**
 * Sample x from the task and compute, on the same samples, `projections` unit-variance random
 * projections of the teacher's hidden layer and its standardized output p_T. `rng` draws
 * the samples (derive "x") and the projection P (derive "projection"), shape [projections, M].
 */
export function teacherSignals(teacher: TappedModel, task: ParityTask, rng: Rng, opts: TeacherSignalOptions = {}): TeacherSignals {
  const samples = opts.samples ?? 40000;
  const nProj = opts.projections ?? 1;
  const tap = opts.tap ?? "hidden";
  const chunk = opts.chunk ?? 4096;
  const outputKind = opts.output ?? "probability";
  if (outputKind !== "probability" && outputKind !== "logitDiff") throw new Error(`teacherSignals: output must be "probability" or "logitDiff", got ${outputKind}`);
  if (!Number.isInteger(samples) || samples < 2) throw new Error(`teacherSignals: samples must be an integer >= 2, got ${samples}`);
  if (!Number.isInteger(nProj) || nProj < 1) throw new Error(`teacherSignals: projections must be an integer >= 1, got ${nProj}`);
  const n = task.n;
  const M = teacher.tapDim(tap);
  const x = sampleParity(task, rng.derive("x"), samples).x; // [samples * n]
  const proj = randomProjection(rng.derive("projection"), nProj, M); // Pt [M, nProj]
  const zRaw = new Float32Array(samples * nProj); // [samples, nProj]
  const outRaw = new Float32Array(samples);
  try {
    for (let start = 0; start < samples; start += chunk) {
      const size = Math.min(chunk, samples - start);
      const [z, d] = tf.tidy(() => {
        const xb = tf.tensor2d(x.subarray(start * n, (start + size) * n), [size, n]); // [size, n]
        const { logits, taps } = teacher.forward(xb, { taps: [tap] }); // logits [size, 2]
        const out =
          outputKind === "probability"
            ? tf.slice(tf.softmax(logits), [0, 1], [size, 1]) // [size, 1]
            : tf.sub(tf.slice(logits, [0, 1], [size, 1]), tf.slice(logits, [0, 0], [size, 1])); // [size, 1]
        return [proj.apply(taps[tap]), out]; // [size, nProj], [size, 1]
      });
      zRaw.set(z.dataSync(), start * nProj);
      outRaw.set(d.dataSync(), start);
      z.dispose();
      d.dispose();
    }
  } finally {
    proj.dispose();
  }
  const projections: Float64Array[] = [];
  for (let p = 0; p < nProj; p++) {
    const col = new Float64Array(samples);
    for (let r = 0; r < samples; r++) col[r] = zRaw[r * nProj + p];
    projections.push(standardize(col));
  }
  return { x, n, samples, projections, output: standardize(outRaw) };
}

export interface RangeStats {
  min: number;
  mean: number;
  max: number;
}

function stats(v: readonly number[]): RangeStats {
  if (v.length === 0) return { min: NaN, mean: NaN, max: NaN };
  return { min: Math.min(...v), mean: v.reduce((a, b) => a + b, 0) / v.length, max: Math.max(...v) };
}

export interface TeacherCorrelations {
  n: number;
  samples: number;
  support: readonly number[];
  /** |E[z_p x_i]| per projection p, each [n]. */
  projection: number[][];
  /** Mean over the projections of |E[z_p x_i]|, [n]. */
  projectionMean: number[];
  /** |E[p_T x_i]|, [n], p_T the standardized teacher output. */
  output: number[];
  /** |E[z_p chi_S(x)]| per projection and |E[p_T chi_S(x)]|: the degree-k term. */
  projectionParity: number[];
  outputParity: number;
  /** Over all projections and bits: |E[z_p x_i]| for i in S, for i off S; and |E[p_T x_i]| over all i. */
  projectionInSupport: RangeStats;
  projectionOffSupport: RangeStats;
  outputAll: RangeStats;
}

/** |E[z x_i]| and |E[p_T x_i]| for every input bit i, for a trained (or any) teacher. */
export function teacherCorrelations(teacher: TappedModel, task: ParityTask, rng: Rng, opts: TeacherSignalOptions = {}): TeacherCorrelations {
  const s = teacherSignals(teacher, task, rng, opts);
  const S = task.support;
  const inS = new Set(S);
  const projection = s.projections.map((z) => inputCorrelations(z, s.x, s.n));
  const output = inputCorrelations(s.output, s.x, s.n);
  const projectionMean = output.map((_, i) => projection.reduce((a, r) => a + r[i], 0) / projection.length);
  const pick = (rows: number[][], want: boolean) => rows.flatMap((r) => r.filter((_, i) => inS.has(i) === want));
  return {
    n: s.n,
    samples: s.samples,
    support: S,
    projection,
    projectionMean,
    output,
    projectionParity: s.projections.map((z) => Math.abs(characterCorrelation(z, s.x, s.n, S))),
    outputParity: Math.abs(characterCorrelation(s.output, s.x, s.n, S)),
    projectionInSupport: stats(pick(projection, true)),
    projectionOffSupport: stats(pick(projection, false)),
    outputAll: stats(output),
  };
}
