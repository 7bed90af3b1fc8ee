/**
 * Runs hand-written WGSL compute shaders on tfjs-backend-webgpu's buffers, with several outputs per
 * kernel (tfjs's own WebGPUProgram API has exactly one output buffer per program).
 *
 * A shader is written against this binding convention, which `shader` generates:
 *   @binding(0)          var<uniform> u: Params            (the scalars of `params`, in order)
 *   @binding(1..)        one `array<f32|i32>` per input     (read-only storage)
 *   @binding(1+inputs..) one `array<f32|atomic<u32>>` per output (read_write storage)
 * and is recorded into the backend's own command encoder and compute pass, exactly as tfjs's
 * `recordAndSubmit` records its programs (same submit batching, same deferred disposal of buffers
 * still owned by the queue), so our dispatches and tfjs's interleave in order.
 *
 * This uses members of WebGPUBackend that are not in its public typings (tensorMap, the encoder
 * state, the buffer manager). They are read through the narrow `Gpu` interface below, checked once
 * per backend by `asGpu`; tfjs is pinned (4.22), and test/kernels.webgpu.test.ts exercises every path.
 */
import * as tf from "@tensorflow/tfjs";

type Info = tf.TensorInfo;

/* Minimal WebGPU shapes (the project does not depend on @webgpu/types). */
interface GpuBuffer {
  readonly size: number;
}
interface GpuPipeline {
  getBindGroupLayout(i: number): unknown;
}
interface GpuPass {
  setPipeline(p: GpuPipeline): void;
  setBindGroup(i: number, g: unknown): void;
  dispatchWorkgroups(x: number, y?: number, z?: number): void;
  end(): void;
}
interface GpuEncoder {
  beginComputePass(desc?: object): GpuPass;
}
interface GpuDevice {
  createShaderModule(desc: { code: string; label?: string }): unknown;
  createComputePipeline(desc: object): GpuPipeline;
  createBindGroup(desc: object): unknown;
  readonly limits: Record<string, number>;
}

/** The parts of tfjs-backend-webgpu's WebGPUBackend this module drives. */
export interface Gpu {
  device: GpuDevice;
  queue: { writeBuffer(b: GpuBuffer, off: number, data: ArrayBuffer, dataOff: number, size: number): void };
  tensorMap: { get(id: object): { resource?: unknown; dtype?: tf.DataType } | undefined };
  makeTensorInfo(shape: number[], dtype: tf.DataType): Info;
  uploadToGPU(id: object): void;
  disposeData(id: object, force?: boolean): boolean;
  commandQueueOwnedIds: WeakSet<object>;
  ensureCommandEncoderReady(): void;
  endComputePassEncoder(): void;
  submitQueue(): void;
  commandEncoder: GpuEncoder | null;
  computePassEncoder: GpuPass | null;
  dispatchCountInPass: number;
  activeTimers: Array<{ name: string; query: Promise<number> }> | null;
  bufferManager: { acquireBuffer(size: number, usage: number): GpuBuffer };
  uniformPendingDisposal: GpuBuffer[];
}

const REQUIRED = ["device", "queue", "tensorMap", "makeTensorInfo", "uploadToGPU", "disposeData", "commandQueueOwnedIds", "ensureCommandEncoderReady", "endComputePassEncoder", "submitQueue", "bufferManager", "uniformPendingDisposal"];

/** The backend as `Gpu`, or an error naming what this tfjs version lacks. */
export function asGpu(backend: object): Gpu {
  const missing = REQUIRED.filter((k) => !(k in backend));
  if (missing.length) throw new Error(`wgsl kernels: the backend is not tfjs-backend-webgpu 4.x (missing ${missing.join(", ")})`);
  return backend as Gpu;
}

/** Storage buffers one shader may bind (8 on SwiftShader, 16 on NVIDIA). */
export function storageLimit(gpu: Gpu): number {
  return gpu.device.limits.maxStorageBuffersPerShaderStage ?? 8;
}

/** Dispatches recorded by this module since the process started (bench diagnostics). */
export let wgslDispatches = 0;

export type Param = [name: string, type: "u32" | "f32", value: number];

export interface ShaderSpec {
  /** A name for the pipeline label and the profile. */
  name: string;
  /** Input bindings: [name, element type]. */
  inputs: ReadonlyArray<[string, "f32" | "i32"]>;
  /** Output bindings: [name, element type]. */
  outputs: ReadonlyArray<[string, "f32" | "i32" | "atomic<u32>"]>;
  /** Uniform scalars, in order. */
  params: readonly Param[];
  /** Threads per workgroup (x). */
  workgroup: number;
  /** The body of `fn main(gid, lid, wid)`: `idx` (flat global index) is defined. Helpers may precede via `prelude`. */
  body: string;
  prelude?: string;
}

/** The WGSL text of a shader (pure: the pipeline cache is keyed by it). */
export function shader(s: ShaderSpec): string {
  const params = s.params.length ? s.params.map(([n, t]) => `  ${n}: ${t},`).join("\n") : "  unused: u32,";
  const ins = s.inputs.map(([n, t], i) => `@group(0) @binding(${1 + i}) var<storage, read> ${n}: array<${t}>;`);
  const outs = s.outputs.map(([n, t], i) => `@group(0) @binding(${1 + s.inputs.length + i}) var<storage, read_write> ${n}: array<${t}>;`);
  return `struct Params {\n${params}\n};
@group(0) @binding(0) var<uniform> u: Params;
${ins.join("\n")}
${outs.join("\n")}
${s.prelude ?? ""}
@compute @workgroup_size(${s.workgroup})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let idx = gid.x + gid.y * nwg.x * ${s.workgroup}u;
${s.body}
}
`;
}

const pipelines = new WeakMap<GpuDevice, Map<string, GpuPipeline>>();

function pipeline(gpu: Gpu, code: string, name: string): GpuPipeline {
  let cache = pipelines.get(gpu.device);
  if (!cache) {
    cache = new Map();
    pipelines.set(gpu.device, cache);
  }
  let p = cache.get(code);
  if (!p) {
    const module = gpu.device.createShaderModule({ code, label: name });
    p = gpu.device.createComputePipeline({ layout: "auto", compute: { module, entryPoint: "main" }, label: name });
    cache.set(code, p);
  }
  return p;
}

const MAX_GROUPS = 65535;
const GPU_BUFFER_USAGE_UNIFORM = 0x0040;
const GPU_BUFFER_USAGE_COPY_DST = 0x0008;

/** The element type of a tensor's GPU buffer: tfjs-webgpu may keep a float32 tensor in an int32 buffer (a cast of int data is a relabel). */
function bufferType(gpu: Gpu, t: Info): "f32" | "i32" {
  const dtype = gpu.tensorMap.get(t.dataId)?.dtype ?? t.dtype;
  return dtype === "float32" ? "f32" : "i32";
}

function convertSpec(n: number, from: "f32" | "i32", to: "f32" | "i32"): ShaderSpec {
  return {
    name: `convert.${from}.${to}`,
    inputs: [["x", from]],
    outputs: [["y", to]],
    params: [["n", "u32", n]],
    workgroup: 256,
    body: `
  if (idx >= u.n) { return; }
  y[idx] = ${to}(x[idx]);`,
  };
}

/**
 * `t` in a buffer of element type `want`: `t` itself, or (when tfjs-webgpu keeps it in a buffer of the other
 * type) a converted temporary, recorded as one dispatch, that the caller disposes after recording its kernel.
 */
export function asBufferType(gpu: Gpu, t: Info, want: "f32" | "i32"): Info {
  const have = bufferType(gpu, t);
  if (have === want) return t;
  const y = output(gpu, t.shape.slice(), want === "f32" ? "float32" : "int32");
  dispatch(gpu, convertSpec(size(t.shape), have, want), [t], [y], Math.ceil(size(t.shape) / 256));
  return y;
}

/**
 * Record one dispatch of `spec` over `workgroups` workgroups (split over x and y when above the
 * 65,535-per-dimension limit; shaders use `idx`/`wid.x + wid.y * nwg.x` and bound-check). An input
 * whose buffer holds another element type than the shader reads is converted into a temporary first.
 */
export function dispatch(gpu: Gpu, spec: ShaderSpec, inputs: readonly Info[], outputs: readonly Info[], workgroups: number): void {
  if (inputs.length !== spec.inputs.length || outputs.length !== spec.outputs.length) throw new Error(`${spec.name}: binding count mismatch`);
  if (workgroups <= 0) return;
  const temps: Info[] = [];
  inputs = inputs.map((t, i) => {
    const r = asBufferType(gpu, t, spec.inputs[i][1]);
    if (r !== t) temps.push(r);
    return r;
  });
  const limit = storageLimit(gpu);
  if (inputs.length + outputs.length > limit) throw new Error(`${spec.name}: ${inputs.length + outputs.length} storage buffers exceed this device's ${limit}`);
  const p = pipeline(gpu, shader(spec), spec.name);
  for (const t of [...inputs, ...outputs]) gpu.uploadToGPU(t.dataId);
  // Uniforms: every field 4 bytes, the buffer padded to 16.
  const bytes = Math.max(16, Math.ceil((spec.params.length * 4) / 16) * 16);
  const data = new ArrayBuffer(bytes);
  const f32 = new Float32Array(data);
  const u32 = new Uint32Array(data);
  spec.params.forEach(([, t, v], i) => {
    if (t === "u32") u32[i] = v >>> 0;
    else f32[i] = v;
  });
  const ubuf = gpu.bufferManager.acquireBuffer(bytes, GPU_BUFFER_USAGE_UNIFORM | GPU_BUFFER_USAGE_COPY_DST);
  gpu.queue.writeBuffer(ubuf, 0, data, 0, bytes);
  gpu.uniformPendingDisposal.push(ubuf);
  const buffer = (t: Info) => {
    const r = gpu.tensorMap.get(t.dataId)?.resource;
    if (r === undefined || r === null) throw new Error(`${spec.name}: a tensor has no GPU buffer`);
    return { buffer: r };
  };
  const entries = [{ binding: 0, resource: { buffer: ubuf, offset: 0, size: bytes } }, ...[...inputs, ...outputs].map((t, i) => ({ binding: 1 + i, resource: buffer(t) }))];
  const bindGroup = gpu.device.createBindGroup({ layout: p.getBindGroupLayout(0), entries });
  for (const t of [...inputs, ...outputs]) gpu.commandQueueOwnedIds.add(t.dataId);
  gpu.ensureCommandEncoderReady();
  if (!gpu.computePassEncoder) gpu.computePassEncoder = gpu.commandEncoder!.beginComputePass({});
  const pass = gpu.computePassEncoder;
  pass.setPipeline(p);
  pass.setBindGroup(0, bindGroup);
  const x = Math.min(workgroups, MAX_GROUPS);
  pass.dispatchWorkgroups(x, Math.ceil(workgroups / x), 1);
  wgslDispatches++;
  gpu.dispatchCountInPass++;
  const profiling = gpu.activeTimers !== null && gpu.activeTimers !== undefined;
  if (profiling || Number(tf.env().get("WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE")) <= gpu.dispatchCountInPass) {
    gpu.endComputePassEncoder();
    // Under tf.profile our kernels report no device time (tfjs times its own programs with timestamp queries).
    if (profiling) gpu.activeTimers!.push({ name: spec.name, query: Promise.resolve(0) });
    else gpu.submitQueue();
  }
  for (const t of temps) release(gpu, t);
}

/** A fresh output tensor (uninitialised: every element must be written). */
export function output(gpu: Gpu, shape: number[], dtype: tf.DataType = "float32"): Info {
  return gpu.makeTensorInfo(shape, dtype);
}

/** Free an intermediate made by `output` (deferred by the backend while the queue still uses it). */
export function release(gpu: Gpu, t: Info): void {
  gpu.disposeData(t.dataId);
}

export const size = (shape: readonly number[]) => shape.reduce((p, d) => p * d, 1);
export const groups = (threads: number, wg: number) => Math.ceil(threads / wg);
export const num = (attrs: tf.NamedAttrMap | undefined, name: string): number => Number(attrs?.[name]);
