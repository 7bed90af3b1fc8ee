/**
 * The two-layer MLP's fused kernels (native/mlp.cc on wasm), as ops. A step updates the model's
 * variables in place (and holds its first-layer update back for the next step: `HeldUpdate`), so
 * each variable is first made the sole owner of its buffer: one that shares
 * its data with another tensor (a snapshot taken for a checkpoint, weights it was loaded from) gets
 * a copy, and the other tensor keeps the old values.
 *
 * Used when the backend has the kernels (`mlpKernelActive`); otherwise the model takes its
 * hand-derived gradients and the optimiser's update, which is the reference these kernels are
 * tested against (test/kernels.mlp.test.ts).
 */
import * as tf from "@tensorflow/tfjs";

/** What a fused step minimises: the outputs against target distributions, or one tap against projected targets. */
export type MlpStepKind =
  | { kind: "output" }
  /** The outputs against class ids (int32 [B]): the same loss as one-hot targets, without making them. */
  | { kind: "labels" }
  /** `post`: relu(W1 x + b1) (else the pre-activation); `dim`: the first `dim` units are matched. */
  | { kind: "tap"; post: boolean; dim: number };

export interface MlpWeights {
  W1: tf.Variable; // [H, n]
  b1: tf.Variable; // [H]
  W2: tf.Variable; // [H, C]
  b2: tf.Variable; // [C]
}

/** Batches up to this size take the one-pass forward kernel; larger ones are products (sgemm). */
export const MLP_FORWARD_MAX_BATCH = 4;

/** Whether the current backend has the fused MLP kernel `name` (CdMlpStep, CdMlpForward, CdMlpTapTarget). */
export function mlpKernelActive(name: "CdMlpStep" | "CdMlpForward" | "CdMlpTapTarget" = "CdMlpStep"): boolean {
  return tf.getKernel(name, tf.getBackend()) !== undefined;
}

/** Rows of a batch the WebGPU step takes (src/kernels/webgpu/mlp.ts: MAX_BATCH); larger ones take the reference path. */
const WEBGPU_MAX_BATCH = 64;

/** Whether a fused step runs here for a batch of `rows`. */
export function mlpStepAvailable(rows: number): boolean {
  return mlpKernelActive("CdMlpStep") && (tf.getBackend() !== "webgpu" || rows <= WEBGPU_MAX_BATCH);
}

/** The one output of a project kernel (runKernel hands back the array a kernel returns). */
function one(out: tf.Tensor | tf.Tensor[]): tf.Tensor {
  return Array.isArray(out) ? out[0] : out;
}

function exclusive(v: tf.Variable): void {
  if (tf.backend().refCount(v.dataId) > 1) v.assign(tf.tidy(() => tf.mul(v, 1)));
}

/**
 * A first-layer update a fused step held back (W1 row j -= Σ_b d[b, j] x[b, :], d scaled by the
 * rate): the next step applies it to each row as it reads it, so a step makes one pass over W1.
 * Whoever holds one must `mlpSettle` it before anything else reads W1. Kept tensors (outside tidy).
 */
export interface HeldUpdate {
  x: tf.Tensor2D; // [B, n]
  d: tf.Tensor2D; // [B, units]
}

/**
 * One SGD step (p -= lr g) of `w` on a batch, in place, after applying `held`; where the backend
 * can (wasm's native layer: CdMlpSettle exists), the first-layer row update of this step is held
 * back in turn (returned, kept; else null). Returns the loss before the step.
 */
export function mlpSgdStep(w: MlpWeights, x: tf.Tensor2D, target: tf.Tensor2D, lr: number, what: MlpStepKind, held: HeldUpdate | null): { loss: tf.Scalar; held: HeldUpdate | null } {
  const vars = what.kind === "tap" ? [w.W1, w.b1] : [w.W1, w.b1, w.W2, w.b2];
  vars.forEach(exclusive);
  const mode = what.kind === "output" ? 0 : what.kind === "labels" ? 3 : what.post ? 1 : 2;
  const dim = what.kind === "tap" ? what.dim : w.W1.shape[0];
  if (held !== null && held.d.shape[1] > dim) throw new Error("mlpSgdStep: settle the held-back update first (it is wider than this step)");
  const inputs: tf.NamedTensorMap = { x, W1: w.W1, b1: w.b1, W2: w.W2, b2: w.b2, target };
  if (held !== null) Object.assign(inputs, { pendX: held.x, pendD: held.d });
  const lazy = tf.getKernel("CdMlpSettle", tf.getBackend()) !== undefined;
  if (held !== null && !lazy) throw new Error("mlpSgdStep: a held-back update on a backend that cannot settle it");
  const out = tf.engine().runKernel("CdMlpStep", inputs, { mode, lr, dim, lazy: lazy ? 1 : 0 });
  const [loss, d] = Array.isArray(out) ? out : [out];
  return { loss: loss as tf.Scalar, held: lazy ? { x: tf.keep(tf.clone(x)), d: tf.keep(d as tf.Tensor2D) } : null };
}

/** Apply a held-back update to W1 in place (the tensors of `held` stay the caller's). */
export function mlpSettle(W1: tf.Variable, held: HeldUpdate): void {
  exclusive(W1);
  tf.dispose(tf.engine().runKernel("CdMlpSettle", { W1, pendX: held.x, pendD: held.d }));
}

/** The logits [B, C] in one pass over W1 (small batches). */
export function mlpLogits(w: MlpWeights, x: tf.Tensor2D): tf.Tensor2D {
  return one(tf.engine().runKernel("CdMlpForward", { x, W1: w.W1, b1: w.b1, W2: w.W2, b2: w.b2 })) as tf.Tensor2D;
}

/** act(x W1ᵀ + b1) @ Pt [H, m] -> [B, m], act = relu when `post`; inactive units' rows of Pt are not read. */
export function mlpTapTarget(w: Pick<MlpWeights, "W1" | "b1">, x: tf.Tensor2D, Pt: tf.Tensor2D, post: boolean): tf.Tensor2D {
  return one(tf.engine().runKernel("CdMlpTapTarget", { x, W1: w.W1, b1: w.b1, Pt }, { post: post ? 1 : 0 })) as tf.Tensor2D;
}
