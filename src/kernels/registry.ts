/**
 * The one kernel registry. TensorFlow.js keeps one kernel per (name, backend); this project layers
 * its own implementations over tfjs's stock ones:
 *
 *   wasm    stock  <-  xnnpack (src/kernels/xnnpack.ts)  <-  native (src/kernels/native.ts)
 *   webgpu  stock  <-  wgsl    (src/kernels/webgpu/)
 *   cpu     stock                (the composites in src/ops/composite.ts are the reference)
 *
 * Each layer is a table of kernel functions that get `next`: the rest of the chain below them (the
 * previous layer's kernel, then the stock one; undefined for a kernel tfjs does not have). The stock
 * kernels are captured once, the first time a backend's chain is installed, and never again: every
 * later install composes the chain afresh from those captured configs, so installing twice, or
 * switching backends back and forth, can neither capture one of our own kernels as "stock" nor
 * build a chain that calls itself. Which layers are on is explicit state, read by `layerActive`.
 */
import * as tf from "@tensorflow/tfjs";

/** A kernel's arguments as tfjs passes them. */
export interface KernelArgs {
  inputs: tf.NamedTensorInfoMap;
  backend: object;
  attrs?: tf.NamedAttrMap;
}
export type KernelOutput = tf.TensorInfo | tf.TensorInfo[];
/** The rest of the chain below a layer's kernel. */
export type Next = (args: KernelArgs) => KernelOutput;
/** A layer's kernel: handles what it can, hands the rest to `next` (undefined: nothing below). */
export type LayerKernel = (args: KernelArgs, next: Next | undefined) => KernelOutput;

export type KernelBackend = "wasm" | "webgpu" | "cpu";

export interface KernelLayer {
  /** "xnnpack", "native", "wgsl". */
  readonly name: string;
  readonly backend: KernelBackend;
  /** Whether the layer can run here (the native addon loaded, the wasm module exposes what it needs). */
  available(): boolean;
  /** Kernels by tfjs kernel name (stock names override; `Cd*` names are the project's own). */
  readonly kernels: Readonly<Record<string, LayerKernel>>;
}

/** The layers of each backend, bottom (first over stock) to top. Filled by `defineLayers`. */
const LAYERS: Record<KernelBackend, KernelLayer[]> = { wasm: [], webgpu: [], cpu: [] };
/** Stock configs by "backend/kernel", captured once (null: tfjs has no such kernel). */
const stock = new Map<string, tf.KernelConfig | null>();
/** The layers installed now, per backend. */
const active: Record<KernelBackend, string[]> = { wasm: [], webgpu: [], cpu: [] };

/** Declare a backend's layers in chain order (bottom first). Called once per backend by the layer modules' owner. */
export function defineLayers(backend: KernelBackend, layers: readonly KernelLayer[]): void {
  for (const l of layers) if (l.backend !== backend) throw new Error(`kernel layer ${l.name} is for ${l.backend}, not ${backend}`);
  LAYERS[backend] = layers.slice();
}

/** tfjs's own kernel `name` on `backend`, as it was before any layer was installed. */
export function stockKernel(name: string, backend: KernelBackend): tf.KernelConfig | undefined {
  const key = `${backend}/${name}`;
  if (!stock.has(key)) stock.set(key, tf.getKernel(name, backend) ?? null);
  return stock.get(key) ?? undefined;
}

/**
 * Install `backend`'s chain with the layers named in `layers` (default: every available one), in
 * their declared order. Call after the backend is registered (its stock kernels exist). Returns the
 * layers now active. Idempotent; installing a subset removes the others' kernels.
 */
export function installKernels(backend: KernelBackend, layers?: readonly string[]): string[] {
  const all = LAYERS[backend];
  const on = all.filter((l) => (layers === undefined || layers.includes(l.name)) && l.available());
  const names = new Set(all.flatMap((l) => Object.keys(l.kernels)));
  for (const name of names) stockKernel(name, backend); // capture before touching anything
  for (const name of names) {
    const base = stockKernel(name, backend);
    let chain: Next | undefined = base ? (args) => base.kernelFunc(args as never) as KernelOutput : undefined;
    for (const layer of on) {
      const k = layer.kernels[name];
      if (k === undefined) continue;
      const below = chain;
      chain = (args) => k(args, below);
    }
    if (tf.getKernel(name, backend) !== undefined) tf.unregisterKernel(name, backend);
    if (chain === undefined) continue; // a project kernel with its layer off: not registered
    const run = chain;
    tf.registerKernel({
      kernelName: name,
      backendName: backend,
      kernelFunc: ((args: KernelArgs) => run(args)) as tf.KernelFunc,
      // The stock kernel's set-up (wasm: binding its C functions) runs when a backend is created.
      ...(base?.setupFunc ? { setupFunc: base.setupFunc } : {}),
      ...(base?.disposeFunc ? { disposeFunc: base.disposeFunc } : {}),
    });
  }
  active[backend] = on.map((l) => l.name);
  return active[backend].slice();
}

/** The layers installed on `backend` now. */
export function activeLayers(backend: KernelBackend): string[] {
  return active[backend].slice();
}

/** Whether layer `name` is installed and `backend` is the backend in use. */
export function layerActive(backend: KernelBackend, name: string): boolean {
  return active[backend].includes(name) && tf.getBackend() === backend;
}
