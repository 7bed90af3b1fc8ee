/**
 * The project's two-layer MLP (mlp.ts) as a tfjs-layers `tf.sequential`, for users who bring their
 * own layers models (notebook 05, the README's "Distil your own model", scripts/layers-vs-mlp.ts):
 *
 *   input [batch, inputDim] -> Dense(width, relu) "hidden" -> Dense(outputDim) "logits"
 *
 * The output layer has no activation: it gives logits, as every TappedModel does. Weights:
 * - `rng`: drawn exactly as createMlp draws them (U(-1/sqrt(fan_in), 1/sqrt(fan_in)), order W1, b1,
 *   W2, b2), so the same stream gives the same numbers as the project's MLP;
 * - `from`: copied from a project MLP (e.g. a cached teacher);
 * - neither: tfjs-layers' defaults (Glorot uniform kernels, zero biases), as a user's model would have.
 *
 * Keep this file within TypeScript 5.0 syntax: notebooks compile against its .d.ts with tslab's TS 5.0.4.
 */
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../rng";
import { Mlp, MlpConfig } from "./mlp";

export interface MlpLayersOptions {
  /** The model's name (default "mlp"); tfjs-layers makes layer names unique per model, not across models. */
  name?: string;
  /** Draw the weights as createMlp does from this stream (default: tfjs-layers' own initialisers). */
  rng?: Rng;
  /** Copy the weights of this project MLP (its config must match). */
  from?: Mlp;
}

/** A `tf.sequential` MLP with layers "hidden" (ReLU) and "logits"; see the top of this file. */
export function createMlpLayers(cfg: MlpConfig, opts: MlpLayersOptions = {}): tf.Sequential {
  const { inputDim, width, outputDim } = cfg;
  for (const [k, v] of Object.entries(cfg)) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`createMlpLayers: ${k} must be a positive integer, got ${v}`);
  }
  if (opts.rng && opts.from) throw new Error("createMlpLayers: give rng or from, not both");
  const model = tf.sequential({
    name: opts.name ?? "mlp",
    layers: [tf.layers.dense({ inputShape: [inputDim], units: width, activation: "relu", name: "hidden" }), tf.layers.dense({ units: outputDim, name: "logits" })],
  });
  if (opts.from) {
    const c = opts.from.config;
    if (c.inputDim !== inputDim || c.width !== width || c.outputDim !== outputDim) {
      throw new Error(`createMlpLayers: the MLP to copy is ${c.inputDim}-${c.width}-${c.outputDim}, the layers model ${inputDim}-${width}-${outputDim}`);
    }
    const kernel = tf.transpose(opts.from.W1); // the MLP keeps W1 as [width, inputDim]; Dense as [inputDim, width]
    model.getLayer("hidden").setWeights([kernel, opts.from.b1]);
    kernel.dispose();
    model.getLayer("logits").setWeights([opts.from.W2, opts.from.b2]);
  } else if (opts.rng) {
    const a1 = 1 / Math.sqrt(inputDim);
    const a2 = 1 / Math.sqrt(width);
    const r = opts.rng;
    // The same draws in the same order as createMlp.
    const w = tf.tidy(() => [
      tf.tensor2d(r.uniformArray(inputDim * width, -a1, a1), [inputDim, width]), // [inputDim, width]
      tf.tensor1d(r.uniformArray(width, -a1, a1)), // [width]
      tf.tensor2d(r.uniformArray(width * outputDim, -a2, a2), [width, outputDim]), // [width, outputDim]
      tf.tensor1d(r.uniformArray(outputDim, -a2, a2)), // [outputDim]
    ]);
    model.getLayer("hidden").setWeights([w[0], w[1]]);
    model.getLayer("logits").setWeights([w[2], w[3]]);
    tf.dispose(w);
  }
  return model;
}
