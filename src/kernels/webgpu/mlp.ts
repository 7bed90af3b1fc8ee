/**
 * The two-layer MLP's SGD step on WebGPU as three compute dispatches (the wasm layer's CdMlpStep,
 * native/mlp.cc, on the GPU):
 *
 *   1. forward   one thread per hidden unit: its pre-activation for every batch row (tap modes: its
 *                pre-activation gradient instead) and, per workgroup, partial sums of the logits (tap
 *                modes: of the squared error);
 *   2. loss      one workgroup: the logits, the loss and its gradient g = (softmax - target) / B;
 *   3. update    one thread per hidden unit: its pre-activation gradient, then its row of W1, its
 *                bias and its row of W2 in place; thread 0 also b2.
 *
 * The weights are updated in place through read_write bindings of the variables' own buffers, which
 * tfjs's program API cannot express (a program has one fresh output), so the passes are recorded
 * here on the backend's own command encoder, in order with the tfjs kernels before and after them.
 * At most 8 storage buffers per pass (SwiftShader's limit; NVIDIA's is 16). Batches above
 * MAX_BATCH are declined (the kernel throws; src/ops/mlp.ts only calls it below that).
 */
import * as tf from "@tensorflow/tfjs";
import type { KernelArgs, KernelOutput } from "../registry";
import { asBufferType, asGpu } from "./dispatch";

/** Rows of a batch the update pass keeps per thread (a private array): larger batches take the reference path. */
export const MAX_BATCH = 64;
const WG = 64;

/** The parts of tfjs-backend-webgpu's backend these kernels use (internal, not in its typings). */
interface GpuBackend {
  device: GPUDevice;
  queue: GPUQueue;
  tensorMap: { get(dataId: object): { resource?: unknown } | undefined };
  makeTensorInfo(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  uploadToGPU(dataId: object): void;
  bufferManager: { acquireBuffer(size: number, usage: number): GPUBuffer };
  uniformPendingDisposal: GPUBuffer[];
  ensureCommandEncoderReady(): void;
  endComputePassEncoder(): void;
  commandEncoder: GPUCommandEncoder;
  computePassEncoder: GPUComputePassEncoder | null;
  commandQueueOwnedIds: WeakSet<object>;
  dispatchCountInPass: number;
  submitQueue(): void;
  disposeData(dataId: object, force?: boolean): boolean;
}

const UNIFORMS = `struct U { B: u32, n: u32, H: u32, C: u32, units: u32, mode: u32, nwg: u32, pad: u32, lr: f32, invB: f32 }
@group(0) @binding(0) var<uniform> u: U;
var<workgroup> red: array<f32, ${WG}>;
// Modes 0 (targets) and 3 (class ids, read as the int32 bits they are) train on the outputs.
fn outMode() -> bool { return u.mode == 0u || u.mode == 3u; }
fn reduce(lid: u32, v: f32) -> f32 {
  red[lid] = v;
  workgroupBarrier();
  for (var s = ${WG / 2}u; s > 0u; s = s >> 1u) {
    if (lid < s) { red[lid] = red[lid] + red[lid + s]; }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();
  return r;
}`;

const FORWARD = `${UNIFORMS}
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> W1: array<f32>;
@group(0) @binding(3) var<storage, read> b1: array<f32>;
@group(0) @binding(4) var<storage, read> W2: array<f32>;
@group(0) @binding(5) var<storage, read> tgt: array<f32>;
@group(0) @binding(6) var<storage, read_write> pre: array<f32>;
@group(0) @binding(7) var<storage, read_write> partial: array<f32>;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let j = gid.x;
  let live = j < u.units;
  var sq = 0.0;
  for (var b = 0u; b < u.B; b = b + 1u) {
    var a = 0.0;
    if (live) {
      a = b1[j];
      for (var i = 0u; i < u.n; i = i + 1u) { a = a + W1[j * u.n + i] * x[b * u.n + i]; }
      if (outMode()) {
        pre[b * u.units + j] = a;
      } else {
        var act = a;
        if (u.mode == 1u) { act = max(a, 0.0); }
        let d = act - tgt[b * u.units + j];
        sq = sq + d * d;
        var dp = 2.0 * u.invB * d;
        if (u.mode == 1u && !(a > 0.0)) { dp = 0.0; }
        pre[b * u.units + j] = dp; // tap modes keep the pre-activation gradient
      }
    }
    if (outMode()) {
      for (var c = 0u; c < u.C; c = c + 1u) {
        var v = 0.0;
        if (live) { v = max(a, 0.0) * W2[j * u.C + c]; }
        let s = reduce(lid.x, v);
        if (lid.x == 0u) { partial[(wid.x * u.B + b) * u.C + c] = s; }
      }
    }
  }
  if (!outMode()) {
    let s = reduce(lid.x, sq);
    if (lid.x == 0u) { partial[wid.x] = s; }
  }
}`;

const LOSS = `${UNIFORMS}
@group(0) @binding(1) var<storage, read> partial: array<f32>;
@group(0) @binding(2) var<storage, read> b2: array<f32>;
@group(0) @binding(3) var<storage, read> tgt: array<f32>;
@group(0) @binding(4) var<storage, read_write> g: array<f32>;
@group(0) @binding(5) var<storage, read_write> loss: array<f32>;
@compute @workgroup_size(${WG})
fn main(@builtin(local_invocation_id) lid: vec3<u32>) {
  if (!outMode()) {
    var v = 0.0;
    for (var w = lid.x; w < u.nwg; w = w + ${WG}u) { v = v + partial[w]; }
    let s = reduce(lid.x, v);
    if (lid.x == 0u) { loss[0] = s * u.invB; }
    return;
  }
  var total = 0.0;
  for (var b = 0u; b < u.B; b = b + 1u) {
    for (var c = 0u; c < u.C; c = c + 1u) {
      var v = 0.0;
      for (var w = lid.x; w < u.nwg; w = w + ${WG}u) { v = v + partial[(w * u.B + b) * u.C + c]; }
      let s = reduce(lid.x, v);
      if (lid.x == 0u) { g[b * u.C + c] = s + b2[c]; }
    }
    if (lid.x == 0u) {
      var m = g[b * u.C];
      for (var c = 1u; c < u.C; c = c + 1u) { m = max(m, g[b * u.C + c]); }
      var sum = 0.0;
      for (var c = 0u; c < u.C; c = c + 1u) { sum = sum + exp(g[b * u.C + c] - m); }
      let lse = m + log(sum);
      for (var c = 0u; c < u.C; c = c + 1u) {
        let logp = g[b * u.C + c] - lse;
        var t = 0.0;
        if (u.mode == 3u) { t = select(0.0, 1.0, u32(bitcast<i32>(tgt[b])) == c); } else { t = tgt[b * u.C + c]; }
        total = total - t * logp;
        g[b * u.C + c] = (exp(logp) - t) * u.invB;
      }
    }
  }
  if (lid.x == 0u) { loss[0] = total * u.invB; }
}`;

const UPDATE = `${UNIFORMS}
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> W1: array<f32>;
@group(0) @binding(3) var<storage, read_write> b1: array<f32>;
@group(0) @binding(4) var<storage, read_write> W2: array<f32>;
@group(0) @binding(5) var<storage, read_write> b2: array<f32>;
@group(0) @binding(6) var<storage, read> pre: array<f32>;
@group(0) @binding(7) var<storage, read> g: array<f32>;
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let j = gid.x;
  if (j == 0u && outMode()) {
    for (var c = 0u; c < u.C; c = c + 1u) {
      var s = 0.0;
      for (var b = 0u; b < u.B; b = b + 1u) { s = s + g[b * u.C + c]; }
      b2[c] = b2[c] - u.lr * s;
    }
  }
  if (j >= u.units) { return; }
  var d: array<f32, ${MAX_BATCH}>;
  var db = 0.0;
  for (var b = 0u; b < u.B; b = b + 1u) {
    var dp = pre[b * u.units + j];
    if (outMode()) {
      let p = dp;
      dp = 0.0;
      if (p > 0.0) { for (var c = 0u; c < u.C; c = c + 1u) { dp = dp + g[b * u.C + c] * W2[j * u.C + c]; } }
    }
    d[b] = dp;
    db = db + dp;
  }
  if (outMode()) {
    for (var c = 0u; c < u.C; c = c + 1u) {
      var s = 0.0;
      for (var b = 0u; b < u.B; b = b + 1u) { s = s + max(pre[b * u.units + j], 0.0) * g[b * u.C + c]; }
      W2[j * u.C + c] = W2[j * u.C + c] - u.lr * s;
    }
  }
  b1[j] = b1[j] - u.lr * db;
  for (var i = 0u; i < u.n; i = i + 1u) {
    var s = 0.0;
    for (var b = 0u; b < u.B; b = b + 1u) { s = s + d[b] * x[b * u.n + i]; }
    W1[j * u.n + i] = W1[j * u.n + i] - u.lr * s;
  }
}`;

const pipelines = new WeakMap<GPUDevice, Record<"forward" | "loss" | "update", GPUComputePipeline>>();
function pipelinesOf(device: GPUDevice) {
  let p = pipelines.get(device);
  if (p === undefined) {
    const make = (code: string) => device.createComputePipeline({ layout: "auto", compute: { module: device.createShaderModule({ code }), entryPoint: "main" } });
    p = { forward: make(FORWARD), loss: make(LOSS), update: make(UPDATE) };
    pipelines.set(device, p);
  }
  return p;
}

/** Dispatches recorded by these kernels since the module loaded (the bench and tests count them). */
export let mlpDispatches = 0;

function record(be: GpuBackend, pipeline: GPUComputePipeline, buffers: Array<GPUBufferBinding>, workgroups: number): void {
  const layout = pipeline.getBindGroupLayout(0);
  const bindGroup = be.device.createBindGroup({ layout, entries: buffers.map((resource, binding) => ({ binding, resource })) });
  be.ensureCommandEncoderReady();
  if (!be.computePassEncoder) be.computePassEncoder = be.commandEncoder.beginComputePass({});
  be.computePassEncoder.setPipeline(pipeline);
  be.computePassEncoder.setBindGroup(0, bindGroup);
  be.computePassEncoder.dispatchWorkgroups(workgroups);
  be.dispatchCountInPass++;
  mlpDispatches++;
}

function bufferOf(be: GpuBackend, t: tf.TensorInfo): GPUBufferBinding {
  be.uploadToGPU(t.dataId);
  be.commandQueueOwnedIds.add(t.dataId); // not released before the queue that reads it is submitted
  const r = be.tensorMap.get(t.dataId)?.resource;
  if (!(r instanceof GPUBuffer)) throw new Error("CdMlpStep (webgpu): a tensor is not in a GPU buffer");
  return { buffer: r };
}

/**
 * inputs x [B, n], W1 [H, n], b1 [H], W2 [H, C], b2 [C], target [B, C] (mode 0) or [B, dim];
 * attrs mode (0 output, 1 tap on relu, 2 tap on the pre-activation, 3 output on int32 class ids
 * [B]), lr, dim -> loss [].
 * Updates W1, b1 (and W2, b2 in mode 0) in place.
 */
export function mlpStepWebGpu(args: KernelArgs): KernelOutput {
  const be = args.backend as unknown as GpuBackend;
  const { W1, b1, W2, b2 } = args.inputs as Record<string, tf.TensorInfo>;
  const attrs = args.attrs ?? {};
  const mode = Number(attrs.mode);
  const [B, n] = (args.inputs.x as tf.TensorInfo).shape;
  const [H] = W1.shape;
  const C = W2.shape[1];
  const units = mode === 0 || mode === 3 ? H : Number(attrs.dim);
  if (B > MAX_BATCH) throw new Error(`CdMlpStep (webgpu): batch ${B} is above ${MAX_BATCH}`);
  // tfjs-webgpu keeps a float32 made by casting int data in its int buffer (a relabel): these shaders
  // read float bits, so such an input is converted first (one dispatch, dispatch.ts). Class ids (mode 3)
  // are read as int bits.
  const gpu = asGpu(args.backend);
  const x = asBufferType(gpu, args.inputs.x as tf.TensorInfo, "f32");
  const target = mode === 3 ? (args.inputs.target as tf.TensorInfo) : asBufferType(gpu, args.inputs.target as tf.TensorInfo, "f32");
  const converted = [x, target].filter((t) => t !== args.inputs.x && t !== args.inputs.target);
  const nwg = Math.ceil(units / WG);
  const p = pipelinesOf(be.device);
  const scratch = (size: number) => be.makeTensorInfo([Math.max(1, size)], "float32");
  const pre = scratch(B * units);
  const partial = scratch(nwg * B * C);
  const g = scratch(B * C);
  const loss = be.makeTensorInfo([], "float32");
  // struct U: 8 u32 then 2 f32 (48 bytes with the struct's 16-byte alignment), written before this
  // queue's commands run; released with tfjs's own uniforms when the queue is submitted.
  const ub = new ArrayBuffer(48);
  new Uint32Array(ub, 0, 8).set([B, n, H, C, units, mode, nwg, 0]);
  new Float32Array(ub, 32, 2).set([Number(attrs.lr), 1 / B]);
  const ubuf = be.bufferManager.acquireBuffer(48, GPUBufferUsage.COPY_DST | GPUBufferUsage.UNIFORM);
  be.queue.writeBuffer(ubuf, 0, ub);
  be.uniformPendingDisposal.push(ubuf);
  const uniforms: GPUBufferBinding = { buffer: ubuf };
  const buf = (t: tf.TensorInfo) => bufferOf(be, t);
  record(be, p.forward, [uniforms, buf(x), buf(W1), buf(b1), buf(W2), buf(target), buf(pre), buf(partial)], nwg);
  record(be, p.loss, [uniforms, buf(partial), buf(b2), buf(target), buf(g), buf(loss)], 1);
  record(be, p.update, [uniforms, buf(x), buf(W1), buf(b1), buf(W2), buf(b2), buf(pre), buf(g)], nwg);
  for (const t of [pre, partial, g, ...converted]) be.disposeData(t.dataId); // released once the queue is submitted
  return [loss];
}
