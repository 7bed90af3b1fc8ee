/**
 * Fixed random projections of a teacher's hidden representation, drawn once from a seeded stream.
 *
 * P has shape [m, M] with entries N(0, scale^2), scale = 1/sqrt(M) by default (PAPER.md). It is
 * stored transposed, as Pt [M, m], so that a tap h [..., M] is projected by one matMul: h @ Pt.
 */
import * as tf from "@tensorflow/tfjs";
import { layerNorm } from "../ops";
import { Rng } from "../rng";

export interface Projection {
  /** [M, m]: teacher dim by projected dim. */
  readonly Pt: tf.Tensor2D;
  readonly teacherDim: number;
  readonly dim: number;
  /** Project h [..., M] to [..., m]. */
  apply(h: tf.Tensor): tf.Tensor;
  dispose(): void;
}

/** `scale` is the entries' standard deviation; default 1/sqrt(teacherDim). */
export function randomProjection(rng: Rng, dim: number, teacherDim: number, scale?: number): Projection {
  const std = scale ?? 1 / Math.sqrt(teacherDim);
  // Draw P row by row ([m, M], the paper's orientation) then transpose, so the numbers do not
  // depend on how the product is laid out.
  const P = tf.tensor2d(rng.normalArray(dim * teacherDim, std), [dim, teacherDim]);
  const Pt = tf.keep(tf.transpose(P)) as tf.Tensor2D; // [M, m]
  P.dispose();
  return {
    Pt,
    teacherDim,
    dim,
    apply(h: tf.Tensor): tf.Tensor {
      return tf.tidy(() => {
        if (h.shape[h.rank - 1] !== teacherDim) {
          throw new Error(`projection: expected last axis ${teacherDim}, got shape [${h.shape}]`);
        }
        if (h.rank === 2) return tf.matMul(h as tf.Tensor2D, Pt);
        const lead = h.shape.slice(0, -1);
        const flat = tf.reshape(h, [-1, teacherDim]) as tf.Tensor2D;
        return tf.reshape(tf.matMul(flat, Pt), [...lead, dim]);
      });
    },
    dispose(): void {
      Pt.dispose();
    },
  };
}

/** Parameter-free LayerNorm over the last axis (the "normalised targets" option for transformers). */
export function layerNormTarget(h: tf.Tensor, eps = 1e-5): tf.Tensor {
  return tf.tidy(() => {
    const d = h.shape[h.rank - 1];
    return layerNorm(tf.reshape(h, [-1, d]) as tf.Tensor2D, null, null, eps).reshape(h.shape);
  });
}
