/**
 * The gradient of `FusedBatchNorm` (every batch-normalisation layer), for every backend.
 *
 * tfjs-core 4.22's gradient tiles the per-channel factor 1/sqrt(var + eps) to the input's full
 * shape ([N, H, W, C]) before multiplying, and multiplies full-size tensors by per-channel factors
 * five times over. On wasm, whose Tile kernel is a per-element index loop, the 14 tiles of a
 * MobileNet-style step were the largest single cost of the step (more than all its convolutions).
 * This one computes the same values with the per-channel factors folded first (broadcast, never
 * tiled): two full-size products (dy * (scale/sqrt(var+eps)), dy * (x - mean)), one subtraction
 * and two reductions. A mean of rank > 1 keeps tfjs's own formulas (without the tile).
 */
import * as tf from "@tensorflow/tfjs";

let registered = false;

export function registerBatchNormGradient(): void {
  if (registered) return;
  registered = true;
  tf.registerGradient({
    kernelName: "FusedBatchNorm",
    inputsToSave: ["x", "mean", "variance", "scale"],
    gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs: tf.NamedAttrMap) => {
      const g = dy as tf.Tensor;
      const [x, mean, variance, scale] = saved;
      const eps = Number(attrs.varianceEpsilon);
      const s = scale ?? tf.scalar(1);
      const rstd = tf.rsqrt(tf.add(variance, tf.scalar(eps))); // per channel
      const axes = tf.backend_util.getReductionAxes(mean.shape, x.shape);
      const reduce = (t: tf.Tensor) => tf.reshape(mean.rank === 1 ? tf.sum(t, axes) : t, mean.shape);
      const xc = tf.sub(x, mean);
      // Shared by the mean, variance and scale gradients, per channel: sum(dy) and sum(dy * (x - mean)).
      // Computed here, not in the gradient closures: each closure runs in its own tidy.
      const dySum = reduce(g);
      const dyXcSum = reduce(tf.mul(g, xc));
      return {
        x: () => tf.reshape(tf.mul(g, tf.mul(rstd, s)), x.shape),
        mean: () => tf.reshape(tf.mul(tf.neg(tf.mul(rstd, s)), dySum), mean.shape),
        variance: () => tf.reshape(tf.mul(tf.mul(tf.mul(tf.mul(rstd, rstd), rstd), tf.mul(s, tf.scalar(-0.5))), dyXcSum), mean.shape),
        scale: () => tf.reshape(tf.mul(rstd, dyXcSum), mean.shape),
        offset: () => tf.clone(dySum),
      };
    },
  });
}
