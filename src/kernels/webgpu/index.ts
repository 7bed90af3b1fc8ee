/**
 * The "wgsl" layer of the webgpu backend's kernel chain (src/kernels/registry.ts): the project's
 * fused `Cd*` kernels as WGSL compute shaders on tfjs-backend-webgpu's buffers, the same names,
 * inputs, attributes and outputs as the native layer's (src/kernels/native.ts), plus larger fusions
 * the engine sees as one kernel: CdLinear / CdLinearGrad and CdSelfAttention / CdSelfAttentionGrad.
 * src/ops/fused.ts calls them by name; test/kernels.webgpu.test.ts holds each equal to the cpu
 * backend's composite (src/ops/composite.ts), values and gradients.
 */
import type { KernelLayer, LayerKernel } from "../registry";
import { mlpStepWebGpu } from "./mlp";
import { attentionKernels } from "./attention";
import { asGpu } from "./dispatch";
import { embeddingKernels } from "./embedding";
import { geluKernels } from "./gelu";
import { layerNormKernels } from "./layerNorm";
import { linearKernels } from "./linear";
import { optimizerKernels } from "./optimizer";
import { selfAttentionKernels } from "./selfAttention";
import { softXentKernels } from "./softXent";
import type { WgslKernel } from "./types";

const KERNELS: Record<string, WgslKernel> = {
  ...attentionKernels,
  ...layerNormKernels,
  ...geluKernels,
  ...softXentKernels,
  ...embeddingKernels,
  ...optimizerKernels,
  ...linearKernels,
  ...selfAttentionKernels,
};

/**
 * The version of the shaders' arithmetic. It is part of the webgpu backend's identity (backendKey in
 * src/backend.ts), so that a cached teacher or a resumed run never mixes two versions' rounding: bump it
 * whenever a shader changes what it computes or in what order. test/kernels.wgslVersion.test.ts pins it to
 * a hash of this folder's sources and fails, saying so, when they change without a bump.
 */
export const WGSL_VERSION = 1;

/** Names of the wgsl layer's kernels. */
export const WGSL_KERNELS = Object.keys(KERNELS);

export const wgslLayer: KernelLayer = {
  name: "wgsl",
  backend: "webgpu",
  available: () => true,
  kernels: {
    ...Object.fromEntries(Object.entries(KERNELS).map(([name, k]): [string, LayerKernel] => [name, (args) => k(asGpu(args.backend), args.inputs, args.attrs)])),
    // The two-layer MLP's whole SGD step in three dispatches, weights updated in place (mlp.ts).
    CdMlpStep: (args) => mlpStepWebGpu(args),
  },
};
