/**
 * Two-layer MLP: Linear(inputDim, width) -> ReLU -> Linear(width, outputDim), biases on.
 * Init U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weights and biases (PyTorch's default).
 *
 * Taps: "hiddenPre" (W1 x + b1) and "hidden" (relu of it), both [batch, width].
 * Weights are stored as W1 [inputDim, width] (x @ W1, no transpose in the forward pass).
 */
import * as tf from "@tensorflow/tfjs";
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
  readonly W1: tf.Variable; // [inputDim, width]
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
  // Draw order W1, b1, W2, b2 (fixed: it defines the numbers). The initial-value tensors are freed
  // once the variables hold copies of them.
  const variable = (values: Float32Array, shape: number[], name: string): tf.Variable => {
    const t = tf.tensor(values, shape, "float32");
    const v = tf.variable(t, true, `${p}/${name}`);
    t.dispose();
    return v;
  };
  const W1 = variable(rng.uniformArray(inputDim * width, -a1, a1), [inputDim, width], "W1");
  const b1 = variable(rng.uniformArray(width, -a1, a1), [width], "b1");
  const W2 = variable(rng.uniformArray(width * outputDim, -a2, a2), [width, outputDim], "W2");
  const b2 = variable(rng.uniformArray(outputDim, -a2, a2), [outputDim], "b2");
  const variables = [W1, b1, W2, b2];
  const tapDim = (tap: string): number => {
    if (!(TAPS as readonly string[]).includes(tap)) throw new Error(`mlp: unknown tap "${tap}" (taps: ${TAPS.join(", ")})`);
    return width;
  };

  /** The wanted first-layer taps ("hidden" in one fused kernel unless "hiddenPre" is wanted too). */
  function firstLayer(x: tf.Tensor, want: readonly string[]): NamedTensors {
    want.forEach(tapDim);
    if (!want.includes("hiddenPre")) {
      return want.includes("hidden") ? { hidden: tf.fused.matMul({ a: x as tf.Tensor2D, b: W1 as tf.Tensor2D, bias: b1, activation: "relu" }) } : {}; // [batch, width]
    }
    const pre = tf.add(tf.matMul(x as tf.Tensor2D, W1), b1) as tf.Tensor2D; // [batch, width]
    return want.includes("hidden") ? { hiddenPre: pre, hidden: tf.relu(pre) } : { hiddenPre: pre };
  }

  return {
    kind: "mlp",
    config: { ...cfg },
    W1,
    b1,
    W2,
    b2,
    variables,
    tapNames: TAPS,
    tapDim,
    variablesUpTo(tap: string): tf.Variable[] {
      tapDim(tap);
      return [W1, b1];
    },
    forward(x: tf.Tensor, opts: ForwardOptions = {}): ForwardResult {
      const want = opts.taps ?? [];
      const layer = firstLayer(x, want.includes("hidden") ? want : [...want, "hidden"]);
      const logits = tf.fused.matMul({ a: layer.hidden as tf.Tensor2D, b: W2 as tf.Tensor2D, bias: b2 }); // [batch, outputDim]
      const taps: NamedTensors = {};
      for (const t of want) taps[t] = layer[t];
      return { logits, taps };
    },
    forwardTaps(x: tf.Tensor, taps: readonly string[]): NamedTensors {
      return firstLayer(x, taps); // both taps are the first layer: the output layer is never computed here
    },
    forwardFlops({ batch, upTo }: FlopShape): number {
      if (upTo !== undefined) tapDim(upTo);
      const first = 2 * batch * inputDim * width;
      return upTo === undefined ? first + 2 * batch * width * outputDim : first;
    },
    outputGrads(x: tf.Tensor, target: tf.Tensor) {
      // Backprop of the mean soft cross-entropy by hand: 20 kernels instead of autodiff's ~70.
      const batch = x.shape[0];
      const h = tf.fused.matMul({ a: x as tf.Tensor2D, b: W1 as tf.Tensor2D, bias: b1, activation: "relu" }) as tf.Tensor2D; // [B, w]
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
          [W1.name]: tf.matMul(x as tf.Tensor2D, dh, true, false),
          [b1.name]: tf.sum(dh, 0),
        },
      };
    },
    tapGrads(x: tf.Tensor, tap: string, target: tf.Tensor, dim: number) {
      tapDim(tap);
      const batch = x.shape[0];
      const pre = tf.add(tf.matMul(x as tf.Tensor2D, W1), b1) as tf.Tensor2D; // [B, w]
      const act = tap === "hidden" ? tf.relu(pre) : pre;
      const used = dim === width ? act : tf.slice(act, [0, 0], [batch, dim]);
      const diff = tf.sub(used, target); // [B, dim]
      const value = tf.div(tf.sum(tf.square(diff)), batch) as tf.Scalar;
      let dAct = tf.mul(diff, 2 / batch) as tf.Tensor2D;
      if (dim !== width) dAct = tf.pad(dAct, [[0, 0], [0, width - dim]]);
      const dPre = tap === "hidden" ? (tf.mul(dAct, tf.step(pre)) as tf.Tensor2D) : dAct;
      return { value, grads: { [W1.name]: tf.matMul(x as tf.Tensor2D, dPre, true, false), [b1.name]: tf.sum(dPre, 0) } };
    },
    snapshot(): NamedTensors {
      return snapshotOf(variables);
    },
    load(weights: NamedTensors): void {
      loadInto(variables, weights, "mlp");
    },
    dispose(): void {
      for (const v of variables) v.dispose();
    },
  };
}
