/**
 * The kernels layer: one registry (registry.ts) and the layers it installs per backend, side by
 * side — wasm: "xnnpack" (xnnpack.ts) then "native" (native.ts, the C++ library in native/);
 * webgpu: "wgsl" (webgpu/). The cpu backend runs tfjs's stock kernels and the composites in
 * src/ops/composite.ts, against which every layer is tested.
 */
import { nativeLayer } from "./native";
import { KernelBackend, defineLayers, installKernels } from "./registry";
import { wgslMlpLayer } from "./webgpu/mlp";
import { xnnpackLayer } from "./xnnpack";

defineLayers("wasm", [xnnpackLayer, nativeLayer]);
defineLayers("webgpu", [wgslMlpLayer]);

/** Install every available layer of `backend` (after tf.setBackend). Returns the active layers. */
export function installBackendKernels(backend: KernelBackend, layers?: readonly string[]): string[] {
  return installKernels(backend, layers);
}

export { activeLayers, layerActive } from "./registry";
export { nativeActive } from "./native";
