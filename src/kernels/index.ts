/**
 * The kernels layer: one registry (registry.ts) and the layers it installs per backend, side by
 * side — wasm: "xnnpack" (xnnpack.ts), "native" (native.ts, the C++ library in native/), then
 * "conv" (conv.ts: the convolution gradients tfjs-backend-wasm lacks; native when "native" is on);
 * webgpu: "wgsl" (webgpu/, WGSL compute shaders) and "wgsl-mlp" (webgpu/mlp.ts, the MLP step). The
 * cpu backend runs tfjs's stock kernels and the composites in src/ops/composite.ts, against which
 * every layer is tested.
 */
import * as os from "node:os";
import * as tf from "@tensorflow/tfjs";
import { nativeAddon } from "./addon";
import { registerBatchNormGradient } from "./batchNormGrad";
import { convLayer } from "./conv";
import { nativeLayer } from "./native";
import { KernelBackend, defineLayers, installKernels, layerActive } from "./registry";
import { wgslLayer } from "./webgpu";
import { wgslMlpLayer } from "./webgpu/mlp";
import { xnnpackLayer } from "./xnnpack";

defineLayers("wasm", [xnnpackLayer, nativeLayer, convLayer]);
defineLayers("webgpu", [wgslLayer, wgslMlpLayer]);
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

/**
 * Threads the native MLP kernels split a wide layer across, in the calling thread: `n`, else the
 * environment's CD_THREADS, else every core. The CLI's worker threads each take their share of the
 * cores (cores / workers): two workers of two threads each on two cores ran ten times slower.
 * Results do not depend on it (native/mlp.cc sums in fixed blocks). Returns the number in effect
 * (1 without the native library).
 */
export function setKernelThreads(n?: number): number {
  const addon = nativeAddon();
  if (addon === null) return 1;
  const fromEnv = Number(process.env.CD_THREADS);
  const want = n ?? (Number.isInteger(fromEnv) && fromEnv > 0 ? fromEnv : os.cpus().length);
  return addon.mlpThreads(new Uint8Array(0), Math.max(1, Math.floor(want)));
}
