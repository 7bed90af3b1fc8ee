import type * as tf from "@tensorflow/tfjs";
import type { Gpu } from "./dispatch";

/** A `Cd*` kernel of the wgsl layer: records its dispatches and returns its outputs. */
export type WgslKernel = (gpu: Gpu, inputs: tf.NamedTensorInfoMap, attrs: tf.NamedAttrMap | undefined) => tf.TensorInfo[];
