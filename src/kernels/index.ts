/**
 * The kernels layer: one registry (registry.ts) and the layers it installs per backend, side by
 * side — wasm: "xnnpack" (xnnpack.ts), "native" (native.ts, the C++ library in native/), then
 * "conv" (conv.ts: the convolution gradients tfjs-backend-wasm lacks; native when "native" is on);
 * webgpu: "wgsl" (webgpu/, WGSL compute shaders; webgpu/mlp.ts the MLP step). The
 * cpu backend runs tfjs's stock kernels and the composites in src/ops/composite.ts, against which
 * every layer is tested.
 */
import * as tf from "@tensorflow/tfjs";
import { registerBatchNormGradient } from "./batchNormGrad";
import { convLayer } from "./conv";
import { nativeLayer } from "./native";
import { KernelBackend, defineLayers, installKernels, layerActive } from "./registry";
import { wgslLayer } from "./webgpu";
import { xnnpackLayer } from "./xnnpack";

defineLayers("wasm", [xnnpackLayer, nativeLayer, convLayer]);
defineLayers("webgpu", [wgslLayer]);
// Batch normalisation's gradient without tfjs's full-size Tile (same values; all backends).
registerBatchNormGradient();

/** Install every available layer of `backend` (after tf.setBackend). Returns the active layers. */
export function installBackendKernels(backend: KernelBackend, layers?: readonly string[]): string[] {
  return installKernels(backend, layers);
}

/**
 * Whether the fused `Cd*` kernels serve the backend in use: the native layer on wasm, or the wgsl
 * layer on webgpu. src/ops and the optimisers take their fused paths when this holds.
 */
export function fusedActive(): boolean {
  return layerActive("wasm", "native") || layerActive("webgpu", "wgsl");
}

/** Whether fused kernel `name` is registered for the backend in use (a layer may implement a subset). */
export function fusedKernel(name: string): boolean {
  return fusedActive() && tf.getKernel(name, tf.getBackend()) !== undefined;
}

export { activeLayers, layerActive } from "./registry";
export { nativeActive } from "./native";
