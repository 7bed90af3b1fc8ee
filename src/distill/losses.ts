/**
 * Losses, named for what they compute. All take logits (never probabilities) and return a scalar.
 * The same functions are used for training and for held-out evaluation.
 */
import * as tf from "@tensorflow/tfjs";
import { softCrossEntropyRows } from "../ops";

/**
 * Soft cross-entropy: mean over rows of -sum_c target[c] * log_softmax(logits)[c].
 * `logits` [..., C], `target` [..., C] (probabilities; one-hot for labels). With `weights` [...]
 * (e.g. masked positions of a language model) the mean is weighted: sum(w * ce) / sum(w).
 */
export function softCrossEntropy(logits: tf.Tensor, target: tf.Tensor, weights?: tf.Tensor): tf.Scalar {
  return tf.tidy(() => {
    const classes = logits.shape[logits.rank - 1];
    const rows = (t: tf.Tensor) => (t.rank === 2 ? t : tf.reshape(t, [-1, classes])) as tf.Tensor2D;
    const ce = softCrossEntropyRows(rows(logits), rows(target)).reshape(logits.shape.slice(0, -1)); // [...]
    if (!weights) return tf.mean(ce) as tf.Scalar;
    return tf.div(tf.sum(tf.mul(ce, weights)), tf.maximum(tf.sum(weights), 1e-12)) as tf.Scalar;
  });
}

/** Teacher targets: softmax(logits / tau). tau = 1 is plain KD; tau -> 0 approaches the arg-max. */
export function teacherProbs(logits: tf.Tensor, tau: number): tf.Tensor {
  if (!(tau > 0)) throw new Error(`teacherProbs: tau must be > 0, got ${tau}`);
  return tf.tidy(() => tf.softmax(tau === 1 ? logits : tf.div(logits, tau)));
}

/** One-hot targets from class ids [...] -> [..., classes]. */
export function oneHotTargets(labels: tf.Tensor, classes: number): tf.Tensor {
  return tf.tidy(() => tf.oneHot(tf.cast(labels, "int32") as tf.Tensor1D, classes).toFloat());
}

/**
 * Projected mean-squared error: mean over rows (all leading axes) of the SUM over the last axis of
 * (student - target)^2. Summing over features (rather than tf.losses.meanSquaredError's mean) keeps
 * the effective learning rate independent of the width.
 */
export function projectedMse(student: tf.Tensor, target: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.mean(tf.sum(tf.squaredDifference(student, target), -1)) as tf.Scalar);
}

/** Top-1 accuracy of logits [..., C] against class ids [...] (optionally weighted). A scalar tensor. */
export function accuracy(logits: tf.Tensor, labels: tf.Tensor, weights?: tf.Tensor): tf.Scalar {
  return tf.tidy(() => {
    const hit = tf.cast(tf.equal(tf.argMax(logits, -1), tf.cast(labels, "int32")), "float32");
    if (!weights) return tf.mean(hit) as tf.Scalar;
    return tf.div(tf.sum(tf.mul(hit, weights)), tf.maximum(tf.sum(weights), 1e-12)) as tf.Scalar;
  });
}
