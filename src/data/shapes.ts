/**
 * A procedural image classification task for convnets: small colour images (NHWC, default 16x16x3)
 * of one of six textures, each with a random colour, scale, phase or position, under Gaussian noise:
 *
 *   0 horizontal stripes   1 vertical stripes   2 diagonal stripes
 *   3 a blob               4 a ring             5 a checkerboard
 *
 * Orientation and shape are local features a few conv layers pick up in minutes; the noise and the
 * random scales keep it from being solved by one pixel. Seeded: the same Rng gives the same images.
 */
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../rng";

export const SHAPE_CLASSES = ["horizontal", "vertical", "diagonal", "blob", "ring", "checker"] as const;

export interface ShapesOptions {
  /** Image side in pixels (16). */
  size?: number;
  /** Standard deviation of the pixel noise (0.6). */
  noise?: number;
}

export interface ShapesBatch extends tf.TensorContainerObject {
  /** [n, size, size, 3] float32. */
  xs: tf.Tensor4D;
  /** [n] int32 class ids. */
  ys: tf.Tensor1D;
}

/** The texture of class `c` at pixel (i, j), in [-1, 1]. */
function pattern(c: number, i: number, j: number, size: number, p: { freq: number; phase: number; ci: number; cj: number; r: number; flip: number }): number {
  switch (c) {
    case 0:
      return Math.sin(p.freq * i + p.phase);
    case 1:
      return Math.sin(p.freq * j + p.phase);
    case 2:
      return Math.sin(p.freq * 0.7071 * (i + p.flip * j) + p.phase);
    case 3:
      return 2 * Math.exp(-((i - p.ci) ** 2 + (j - p.cj) ** 2) / (2 * p.r * p.r)) - 1;
    case 4: {
      const d = Math.sqrt((i - p.ci) ** 2 + (j - p.cj) ** 2);
      return 2 * Math.exp(-((d - 1.6 * p.r) ** 2) / 1.5) - 1;
    }
    default: {
      const cell = Math.max(2, Math.round(Math.PI / p.freq));
      return (Math.floor((i + size) / cell) + Math.floor((j + size) / cell)) % 2 === 0 ? 1 : -1;
    }
  }
}

/** `n` images with labels uniform over the six classes. */
export function shapesBatch(rng: Rng, n: number, opts: ShapesOptions = {}): ShapesBatch {
  const size = opts.size ?? 16;
  const noise = opts.noise ?? 0.6;
  const px = new Float32Array(n * size * size * 3);
  const labels = new Int32Array(n);
  for (let b = 0; b < n; b++) {
    const c = rng.int(SHAPE_CLASSES.length);
    labels[b] = c;
    const p = {
      freq: rng.uniform(0.6, 1.4),
      phase: rng.uniform(0, 2 * Math.PI),
      ci: rng.uniform(size * 0.25, size * 0.75),
      cj: rng.uniform(size * 0.25, size * 0.75),
      r: rng.uniform(size * 0.08, size * 0.18),
      flip: rng.next() < 0.5 ? 1 : -1,
    };
    const colour = [rng.normal(), rng.normal(), rng.normal()];
    const norm = Math.hypot(colour[0], colour[1], colour[2]) || 1;
    for (let i = 0; i < size; i++)
      for (let j = 0; j < size; j++) {
        const v = pattern(c, i, j, size, p);
        const o = ((b * size + i) * size + j) * 3;
        for (let ch = 0; ch < 3; ch++) px[o + ch] = (v * colour[ch]) / norm + noise * rng.normal();
      }
  }
  return { xs: tf.tensor4d(px, [n, size, size, 3]), ys: tf.tensor1d(labels, "int32") };
}

/** An endless tf.data.Dataset of batches ({xs, ys}) drawn from `rng`. */
export function shapesDataset(rng: Rng, batch: number, opts: ShapesOptions = {}): tf.data.Dataset<ShapesBatch> {
  return tf.data.generator(function* () {
    for (;;) yield shapesBatch(rng, batch, opts);
  });
}
