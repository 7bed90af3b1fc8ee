/**
 * MobileNet-style convnets as plain tfjs-layers models, for the convnet distillation example
 * (scripts/convnet.ts, notebooks/06-convnets.ipynb) and tests. NHWC input [size, size, channels].
 *
 * - `mobileNetTeacher`: a MobileNetV2-like network: a 3x3 stem, then three stages, each an inverted
 *   residual block (1x1 expand, BN, ReLU6, 3x3 depthwise, BN, ReLU6, 1x1 project, BN, residual add)
 *   with a strided depthwise separable convolution between stages; global average pooling and a
 *   Dense head with softmax, as Keras classifiers have (fromLayersModel uses its pre-activation).
 *   Width 32 gives about 117k parameters.
 * - `smallConvnet`: the student: a stem and three depthwise separable convolutions (the second and
 *   third strided), BN and ReLU6 after each, pooling and a Dense head giving logits (~5k parameters
 *   at width 16).
 * Both name their stage outputs "block1".."block3" (16x16, 8x8 and 4x4 for a 16x16 input), so
 * `defaultTapPairs` pairs them stage by stage, at equal spatial sizes.
 */
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../rng";

export interface ConvnetOptions {
  /** Image side (16) and channels (3). */
  size?: number;
  channels?: number;
  classes: number;
  /** Channels of the first stage (teacher 32, student 16); each later stage doubles it. */
  width?: number;
  /** Seeds the initialisers. */
  rng: Rng;
  name?: string;
}

type Sym = tf.SymbolicTensor;

/** Layer factories with seeded initialisers and unique names under `prefix`. */
function builder(rng: Rng) {
  const init = () => tf.initializers.heNormal({ seed: rng.int(2 ** 31) });
  const apply = (layer: tf.layers.Layer, x: Sym | Sym[]) => layer.apply(x) as Sym;
  // Moving statistics with momentum 0.9 (Keras's default 0.99 lags by hundreds of steps: a short
  // training run would evaluate with statistics of its first weights).
  const batchNorm = () => tf.layers.batchNormalization({ momentum: 0.9 });
  const bnRelu6 = (x: Sym, name?: string) => apply(tf.layers.reLU({ maxValue: 6, name }), apply(batchNorm(), x));
  return {
    conv: (x: Sym, filters: number, kernelSize: number, strides = 1) =>
      apply(tf.layers.conv2d({ filters, kernelSize, strides, padding: "same", useBias: false, kernelInitializer: init() }), x),
    depthwise: (x: Sym, strides = 1) => apply(tf.layers.depthwiseConv2d({ kernelSize: 3, strides, padding: "same", useBias: false, depthwiseInitializer: init() }), x),
    bn: (x: Sym) => apply(batchNorm(), x),
    bnRelu6,
    add: (a: Sym, b: Sym, name: string) => apply(tf.layers.add({ name }), [a, b]),
    head: (x: Sym, classes: number, activation: "softmax" | "linear") =>
      apply(tf.layers.dense({ units: classes, activation, name: activation === "softmax" ? "probs" : "logits", kernelInitializer: tf.initializers.glorotUniform({ seed: rng.int(2 ** 31) }) }), apply(tf.layers.globalAveragePooling2d({}), x)),
  };
}

export function mobileNetTeacher(o: ConvnetOptions): tf.LayersModel {
  const b = builder(o.rng.derive("mobilenet"));
  const w = o.width ?? 32;
  const input = tf.input({ shape: [o.size ?? 16, o.size ?? 16, o.channels ?? 3] });
  const invertedResidual = (x: Sym, c: number, expand: number, name: string) => {
    let h = b.bnRelu6(b.conv(x, c * expand, 1));
    h = b.bnRelu6(b.depthwise(h));
    h = b.bn(b.conv(h, c, 1));
    return b.add(x, h, name);
  };
  const separable = (x: Sym, c: number) => b.bnRelu6(b.conv(b.bnRelu6(b.depthwise(x, 2)), c, 1));
  let h = b.bnRelu6(b.conv(input, w, 3), "stem");
  h = invertedResidual(h, w, 3, "block1");
  h = invertedResidual(separable(h, 2 * w), 2 * w, 3, "block2");
  h = invertedResidual(separable(h, 4 * w), 4 * w, 2, "block3");
  return tf.model({ inputs: input, outputs: b.head(h, o.classes, "softmax"), name: o.name ?? "mobilenet_teacher" });
}

export function smallConvnet(o: ConvnetOptions): tf.LayersModel {
  const b = builder(o.rng.derive("small-convnet"));
  const w = o.width ?? 16;
  const input = tf.input({ shape: [o.size ?? 16, o.size ?? 16, o.channels ?? 3] });
  const separable = (x: Sym, c: number, strides: number, name: string) => b.bnRelu6(b.conv(b.bnRelu6(b.depthwise(x, strides)), c, 1), name);
  let h = b.bnRelu6(b.conv(input, w, 3), "stem");
  h = separable(h, w, 1, "block1");
  h = separable(h, 2 * w, 2, "block2");
  h = separable(h, 4 * w, 2, "block3");
  return tf.model({ inputs: input, outputs: b.head(h, o.classes, "linear"), name: o.name ?? "small_convnet" });
}
