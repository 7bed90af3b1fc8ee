/**
 * Two-layer MLP: Linear(inputDim, width) -> ReLU -> Linear(width, outputDim), biases on.
 * Init U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weights and biases (PyTorch's default).
 *
 * Taps: "hiddenPre" (W1 x + b1) and "hidden" (relu of it), both [batch, width].
 * W1 is stored row per hidden unit, [width, inputDim] (PyTorch's nn.Linear layout): the fused
 * training step (src/ops/mlp.ts, native/mlp.cc) reads and updates one contiguous row per unit, and
 * at batch 1 only the rows of active units change. The forward pass is x @ W1ᵀ.
 */
import * as tf from "@tensorflow/tfjs";
import { HeldUpdate, MLP_FORWARD_MAX_BATCH, MlpStepKind, mlpKernelActive, mlpLogits, mlpSettle, mlpSgdStep, mlpStepAvailable, mlpTapTarget } from "../ops/mlp";
import { Rng } from "../rng";
import { FlopShape, ForwardOptions, ForwardResult, NamedTensors, TappedModel, loadInto, snapshotOf, uniquePrefix } from "./types";

export interface MlpConfig {
  /** Input features (n for parity). */
  inputDim: number;
  /** Hidden units. */
  width: number;
  /** Output classes (2 for parity). */
  outputDim: number;
}

export interface Mlp extends TappedModel {
  readonly config: MlpConfig;
  readonly W1: tf.Variable; // [width, inputDim]
  readonly b1: tf.Variable; // [width]
  readonly W2: tf.Variable; // [width, outputDim]
  readonly b2: tf.Variable; // [outputDim]
}

const TAPS = ["hiddenPre", "hidden"] as const;

export function createMlp(cfg: MlpConfig, rng: Rng): Mlp {
  const { inputDim, width, outputDim } = cfg;
  for (const [k, v] of Object.entries(cfg)) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`createMlp: ${k} must be a positive integer, got ${v}`);
  }
  const p = uniquePrefix("mlp");
  const a1 = 1 / Math.sqrt(inputDim);
  const a2 = 1 / Math.sqrt(width);
  // Draw order W1, b1, W2, b2 (fixed: it defines the numbers; W1 is drawn as [inputDim, width] and
  // stored transposed). The initial-value tensors are freed once the variables hold copies of them.
  const variable = (values: Float32Array, shape: number[], name: string): tf.Variable => {
    const t = tf.tensor(values, shape, "float32");
    const v = tf.variable(t, true, `${p}/${name}`);
    t.dispose();
    return v;
  };
  const W1 = variable(transposed(rng.uniformArray(inputDim * width, -a1, a1), inputDim, width), [width, inputDim], "W1");
  const b1 = variable(rng.uniformArray(width, -a1, a1), [width], "b1");
  const W2 = variable(rng.uniformArray(width * outputDim, -a2, a2), [width, outputDim], "W2");
  const b2 = variable(rng.uniformArray(outputDim, -a2, a2), [outputDim], "b2");
  const variables = [W1, b1, W2, b2];
  const weights = { W1, b1, W2, b2 };
  // The first-layer update the last fused step held back (src/ops/mlp.ts). Everything that reads
  // the weights settles it first: every method below and the `variables` and `W1` getters.
  let held: HeldUpdate | null = null;
  const drop = () => {
    if (held !== null) tf.dispose([held.x, held.d]);
    held = null;
  };
  const settle = () => {
    if (held === null) return;
    mlpSettle(W1, held);
    drop();
  };
  const tapDim = (tap: string): number => {
    if (!(TAPS as readonly string[]).includes(tap)) throw new Error(`mlp: unknown tap "${tap}" (taps: ${TAPS.join(", ")})`);
    return width;
  };

  /** The wanted first-layer taps ("hidden" in one fused kernel unless "hiddenPre" is wanted too). */
  function firstLayer(x: tf.Tensor, want: readonly string[]): NamedTensors {
    want.forEach(tapDim);
    if (!want.includes("hiddenPre")) {
      return want.includes("hidden") ? { hidden: tf.fused.matMul({ a: x as tf.Tensor2D, b: W1 as tf.Tensor2D, transposeB: true, bias: b1, activation: "relu" }) } : {}; // [batch, width]
    }
    const pre = tf.fused.matMul({ a: x as tf.Tensor2D, b: W1 as tf.Tensor2D, transposeB: true, bias: b1 }); // [batch, width]
    return want.includes("hidden") ? { hiddenPre: pre, hidden: tf.relu(pre) } : { hiddenPre: pre };
  }

  const rowsAhead: NonNullable<TappedModel["rowsAhead"]> = {
    logits(x: tf.Tensor, batchRows: number): tf.Tensor | null {
      if (x.rank !== 2 || batchRows > MLP_FORWARD_MAX_BATCH || !mlpKernelActive("CdMlpForward")) return null;
      settle();
      return mlpLogits(weights, x as tf.Tensor2D);
    },
    projectTap(x: tf.Tensor, tap: string, Pt: tf.Tensor2D, batchRows: number): tf.Tensor | null {
      tapDim(tap);
      if (x.rank !== 2 || batchRows > MLP_FORWARD_MAX_BATCH || !mlpKernelActive("CdMlpTapTarget")) return null;
      settle();
      return mlpTapTarget(weights, x as tf.Tensor2D, Pt, tap === "hidden");
    },
  };
  return {
    kind: "mlp",
    config: { ...cfg },
    get W1() {
      settle();
      return W1;
    },
    b1,
    W2,
    b2,
    get variables() {
      settle();
      return variables;
    },
    settle,
    tapNames: TAPS,
    tapDim,
    variablesUpTo(tap: string): tf.Variable[] {
      tapDim(tap);
      return [W1, b1];
    },
    forward(x: tf.Tensor, opts: ForwardOptions = {}): ForwardResult {
      settle();
      const want = opts.taps ?? [];
      if (want.length === 0 && x.rank === 2 && x.shape[0] <= MLP_FORWARD_MAX_BATCH && mlpKernelActive("CdMlpForward")) {
        return { logits: mlpLogits(weights, x as tf.Tensor2D), taps: {} }; // one pass over W1
      }
      const layer = firstLayer(x, want.includes("hidden") ? want : [...want, "hidden"]);
      const logits = tf.fused.matMul({ a: layer.hidden as tf.Tensor2D, b: W2 as tf.Tensor2D, bias: b2 }); // [batch, outputDim]
      const taps: NamedTensors = {};
      for (const t of want) taps[t] = layer[t];
      return { logits, taps };
    },
    forwardTaps(x: tf.Tensor, taps: readonly string[]): NamedTensors {
      settle();
      return firstLayer(x, taps); // both taps are the first layer: the output layer is never computed here
    },
    forwardFlops({ batch, upTo }: FlopShape): number {
      if (upTo !== undefined) tapDim(upTo);
      const first = 2 * batch * inputDim * width;
      return upTo === undefined ? first + 2 * batch * width * outputDim : first;
    },
    outputGrads(x: tf.Tensor, target: tf.Tensor) {
      // Backprop of the mean soft cross-entropy by hand: 20 kernels instead of autodiff's ~70.
      settle();
      const batch = x.shape[0];
      const h = tf.fused.matMul({ a: x as tf.Tensor2D, b: W1 as tf.Tensor2D, transposeB: true, bias: b1, activation: "relu" }) as tf.Tensor2D; // [B, w]
      const logits = tf.fused.matMul({ a: h, b: W2 as tf.Tensor2D, bias: b2 }); // [B, out]
      const logp = tf.logSoftmax(logits);
      const value = tf.div(tf.neg(tf.sum(tf.mul(target, logp))), batch) as tf.Scalar;
      const g = tf.div(tf.sub(tf.exp(logp), target), batch) as tf.Tensor2D; // dL/dlogits [B, out]
      const dh = tf.mul(tf.matMul(g, W2, false, true), tf.step(h)) as tf.Tensor2D; // dL/dpre [B, w]
      return {
        value,
        grads: {
          [W2.name]: tf.matMul(h, g, true, false),
          [b2.name]: tf.sum(g, 0),
          [W1.name]: tf.matMul(dh, x as tf.Tensor2D, true, false), // [w, in]
          [b1.name]: tf.sum(dh, 0),
        },
      };
    },
    tapGrads(x: tf.Tensor, tap: string, target: tf.Tensor, dim: number) {
      tapDim(tap);
      settle();
      const batch = x.shape[0];
      const pre = tf.fused.matMul({ a: x as tf.Tensor2D, b: W1 as tf.Tensor2D, transposeB: true, bias: b1 }); // [B, w]
      const act = tap === "hidden" ? tf.relu(pre) : pre;
      const used = dim === width ? act : tf.slice(act, [0, 0], [batch, dim]);
      const diff = tf.sub(used, target); // [B, dim]
      const value = tf.div(tf.sum(tf.square(diff)), batch) as tf.Scalar;
      let dAct = tf.mul(diff, 2 / batch) as tf.Tensor2D;
      if (dim !== width) dAct = tf.pad(dAct, [[0, 0], [0, width - dim]]);
      const dPre = tap === "hidden" ? (tf.mul(dAct, tf.step(pre)) as tf.Tensor2D) : dAct;
      return { value, grads: { [W1.name]: tf.matMul(dPre, x as tf.Tensor2D, true, false), [b1.name]: tf.sum(dPre, 0) } };
    },
    sgdStep(x: tf.Tensor, target: tf.Tensor, lr: number, what: { tap?: string; dim?: number; labels?: boolean } = {}): tf.Scalar | null {
      if (x.rank !== 2 || !mlpStepAvailable(x.shape[0])) return null;
      const kind: MlpStepKind =
        what.tap !== undefined ? { kind: "tap", post: what.tap === "hidden", dim: what.dim ?? width } : what.labels ? { kind: "labels" } : { kind: "output" };
      if (what.tap !== undefined) tapDim(what.tap);
      if (held !== null && held.d.shape[1] > (kind.kind === "tap" ? kind.dim : width)) settle();
      const r = mlpSgdStep(weights, x as tf.Tensor2D, target as tf.Tensor2D, lr, kind, held);
      drop();
      held = r.held;
      return r.loss;
    },
    // One pass that skips inactive units pays at small batches; larger ones are two products (sgemm).
    projectTap: (x: tf.Tensor, tap: string, Pt: tf.Tensor2D): tf.Tensor | null => rowsAhead.projectTap(x, tap, Pt, x.shape[0]),
    // The one-pass kernels (native/mlp.cc) compute each row on its own at any batch: a batch of
    // MLP_FORWARD_MAX_BATCH rows or fewer, which `forward` and `projectTap` send to them, gets the
    // same bits alone as among many rows (test/kernels.mlp.test.ts).
    rowsAhead,
    snapshot(): NamedTensors {
      settle();
      return snapshotOf(variables);
    },
    load(w: NamedTensors): void {
      drop(); // every weight is replaced: what was held back no longer applies
      loadInto(variables, w, "mlp");
    },
    dispose(): void {
      drop();
      for (const v of variables) v.dispose();
    },
  };
}

/** A [rows, cols] row-major array transposed to [cols, rows]. */
function transposed(a: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(a.length);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * rows + i] = a[i * cols + j];
  return out;
}
