/**
 * Two-layer MLP: Linear(inputDim, width) -> ReLU -> Linear(width, outputDim), biases on.
 * Init U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weights and biases (PyTorch's default).
 *
 * Taps: "hiddenPre" (W1 x + b1) and "hidden" (relu of it), both [batch, width].
 * Weights are stored as W1 [inputDim, width] (x @ W1, no transpose in the forward pass).
 */
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../rng";
import { ForwardOptions, ForwardResult, NamedTensors, TappedModel, loadInto, snapshotOf, uniquePrefix } from "./types";

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
  const W1 = tf.variable(tf.tensor2d(rng.uniformArray(inputDim * width, -a1, a1), [inputDim, width]), true, `${p}/W1`);
  const b1 = tf.variable(tf.tensor1d(rng.uniformArray(width, -a1, a1)), true, `${p}/b1`);
  const W2 = tf.variable(tf.tensor2d(rng.uniformArray(width * outputDim, -a2, a2), [width, outputDim]), true, `${p}/W2`);
  const b2 = tf.variable(tf.tensor1d(rng.uniformArray(outputDim, -a2, a2)), true, `${p}/b2`);
  const variables = [W1, b1, W2, b2];

  return {
    kind: "mlp",
    config: { ...cfg },
    W1,
    b1,
    W2,
    b2,
    variables,
    tapNames: TAPS,
    tapDim(tap: string): number {
      if (!(TAPS as readonly string[]).includes(tap)) throw new Error(`mlp: unknown tap "${tap}" (taps: ${TAPS.join(", ")})`);
      return width;
    },
    variablesUpTo(tap: string): tf.Variable[] {
      this.tapDim(tap);
      return [W1, b1];
    },
    forward(x: tf.Tensor, opts: ForwardOptions = {}): ForwardResult {
      const want = opts.taps ?? [];
      for (const t of want) this.tapDim(t);
      const pre = tf.add(tf.matMul(x as tf.Tensor2D, W1), b1); // [batch, width]
      const hidden = tf.relu(pre); // [batch, width]
      const logits = tf.add(tf.matMul(hidden, W2), b2); // [batch, outputDim]
      const taps: NamedTensors = {};
      if (want.includes("hiddenPre")) taps.hiddenPre = pre;
      if (want.includes("hidden")) taps.hidden = hidden;
      return { logits, taps };
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
