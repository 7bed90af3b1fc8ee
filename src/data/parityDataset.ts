/**
 * Sparse parity as tensors in the shape users and tfjs-layers expect: `{ xs, ys }` batches (xs
 * [batch, n] of +-1, ys [batch] class ids), one batch or an endless `tf.data.Dataset` of fresh ones,
 * drawn from a seeded stream (sparseParity.ts): the same stream gives the same batches as the
 * experiments' parity stream with the same batch size.
 *
 * Keep this file within TypeScript 5.0 syntax: notebooks compile against its .d.ts with tslab's TS 5.0.4.
 */
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../rng";
import { ParityTask, sampleParity } from "./sparseParity";

/** A type alias, not an interface: tf.data's TensorContainer needs the implicit index signature. */
export type ParityTensors = {
  xs: tf.Tensor2D; // [batch, n]
  ys: tf.Tensor1D; // [batch] int32 class ids
};

/** `size` fresh samples as tensors (the caller disposes them). */
export function parityTensors(task: ParityTask, rng: Rng, size: number): ParityTensors {
  const b = sampleParity(task, rng, size);
  return { xs: tf.tensor2d(b.x, [size, task.n]), ys: tf.tensor1d(b.y, "int32") };
}

/**
 * An endless dataset of fresh batches of `batch` samples. Iterating it twice continues the same
 * stream (it does not restart), like a data source that never repeats.
 */
export function parityDataset(task: ParityTask, rng: Rng, batch: number): tf.data.Dataset<ParityTensors> {
  return tf.data.generator(function* () {
    for (;;) yield parityTensors(task, rng, batch);
  });
}
