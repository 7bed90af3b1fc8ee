/**
 * The kernels layer: one registry (registry.ts) and the layers it installs per backend, side by
 * side — wasm: "xnnpack" (xnnpack.ts), "native" (native.ts, the C++ library in native/), then
 * "conv" (conv.ts: the convolution gradients tfjs-backend-wasm lacks; native when "native" is on);
 * webgpu: "wgsl" (webgpu/). The cpu backend runs tfjs's stock kernels and the composites in
 * src/ops/composite.ts, against which every layer is tested.
 */
import { registerBatchNormGradient } from "./batchNormGrad";
import { convLayer } from "./conv";
import { nativeLayer } from "./native";
import { KernelBackend, defineLayers, installKernels } from "./registry";
import { xnnpackLayer } from "./xnnpack";

defineLayers("wasm", [xnnpackLayer, nativeLayer, convLayer]);
// Batch normalisation's gradient without tfjs's full-size Tile (same values; all backends).
registerBatchNormGradient();

/** Install every available layer of `backend` (after tf.setBackend). Returns the active layers. */
export function installBackendKernels(backend: KernelBackend, layers?: readonly string[]): string[] {
  return installKernels(backend, layers);
}

export { activeLayers, layerActive } from "./registry";
export { nativeActive } from "./native";
