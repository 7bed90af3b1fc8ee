/**
 * Picks and prepares the TensorFlow.js backend.
 *
 * Automatic order: native TensorFlow (tfjs-node-gpu, then tfjs-node) when it loads, WebGPU on a
 * hardware GPU, wasm, cpu. `--backend NAME` / `CD_BACKEND` forces one; it throws a `BackendError`
 * (one line, the CLI exits 2) when that backend cannot start.
 *
 * - wasm: the kernel chain of src/kernels/ is installed: the "xnnpack" layer (transposed and 3-D
 *   products on XNNPACK's fast path) and, when the native library is built (`npm run
 *   build:native`, native/), the "native" layer (products on OpenBLAS, the transformer's pieces and
 *   the MLP step as fused kernels). `CD_NATIVE=0` keeps the pure-wasm kernels.
 * - webgpu: @tensorflow/tfjs-backend-webgpu on Dawn (the `webgpu` npm package). Automatic selection
 *   takes it only for a hardware adapter; on a machine without a GPU it is never picked silently.
 *   Asked for explicitly with no hardware adapter, it falls back to SwiftShader's Vulkan driver
 *   (Debian's chromium-common ships it), says so on stderr, and records the software adapter.
 */
import * as fs from "node:fs";
import { createHash } from "node:crypto";
import { execFileSync } from "node:child_process";
import * as tf from "@tensorflow/tfjs";
import * as os from "node:os";
import { installBackendKernels } from "./kernels";
import { layerActive } from "./kernels/registry";
import { WGSL_VERSION } from "./kernels/webgpu";
import { ADDON_PATH, nativeAddon, nativeUnavailableReason } from "./kernels/addon";
import { nativeActive } from "./kernels/native";
import { hasPackage } from "./optional";

export type BackendName = "tensorflow" | "webgpu" | "wasm" | "cpu";
export const BACKENDS: readonly BackendName[] = ["tensorflow", "webgpu", "wasm", "cpu"];

/** The WebGPU adapter a run used (null off WebGPU). */
export interface AdapterInfo {
  vendor: string;
  architecture: string;
  description: string;
  /** A software rasteriser (SwiftShader, a "fallback adapter"): correct but slow. */
  software: boolean;
}

export interface BackendInfo {
  backend: BackendName;
  adapter: AdapterInfo | null;
  /** The native kernel library in use on wasm (OpenBLAS's build string), else null. */
  native: string | null;
}

/** A backend that was asked for cannot start. The message is one line starting "backend: ". */
export class BackendError extends Error {
  constructor(message: string) {
    super(`backend: ${message}`);
    this.name = "BackendError";
  }
}

let chosen: BackendName | null = null;
let adapter: AdapterInfo | null = null;

function tryRequire(name: string): boolean {
  try {
    require(name);
    return true;
  } catch {
    return false;
  }
}

async function setWasm(): Promise<boolean> {
  try {
    // Loading the wasm backend installs process-level handlers that rethrow unhandled rejections
    // (fatal in a notebook kernel); remove the ones it added.
    const before = new Set(process.listeners("unhandledRejection"));
    const beforeExc = new Set(process.listeners("uncaughtException"));
    require("@tensorflow/tfjs-backend-wasm");
    const ok = await tf.setBackend("wasm");
    for (const l of process.listeners("unhandledRejection")) if (!before.has(l)) process.removeListener("unhandledRejection", l);
    for (const l of process.listeners("uncaughtException")) if (!beforeExc.has(l)) process.removeListener("uncaughtException", l);
    if (!ok) return false;
    installBackendKernels("wasm");
    setKernelThreads();
    return true;
  } catch {
    return false;
  }
}

// ------------------------------------------------------------------------------------------ WebGPU

interface GpuAdapterLike {
  info?: { vendor?: string; architecture?: string; description?: string; device?: string; isFallbackAdapter?: boolean };
  isFallbackAdapter?: boolean;
  features: ReadonlySet<string>;
  limits: Record<string, number>;
  requestDevice(desc?: object): Promise<unknown>;
}
interface GpuLike {
  requestAdapter(opts?: object): Promise<GpuAdapterLike | null>;
}

function describeAdapter(a: GpuAdapterLike): AdapterInfo {
  const i = a.info ?? {};
  const text = `${i.vendor ?? ""} ${i.architecture ?? ""} ${i.description ?? ""} ${i.device ?? ""}`.toLowerCase();
  const software = !!(i.isFallbackAdapter || a.isFallbackAdapter) || /swiftshader|llvmpipe|lavapipe|software/.test(text);
  return { vendor: i.vendor ?? "", architecture: i.architecture ?? "", description: i.description ?? i.device ?? "", software };
}

/** A GPU device node exists (Linux): without one, no Vulkan driver can offer a hardware adapter. */
export function gpuDevicePresent(): boolean {
  if (process.platform !== "linux") return true;
  const has = (dir: string, re: RegExp) => {
    try {
      return fs.readdirSync(dir).some((f) => re.test(f));
    } catch {
      return false;
    }
  };
  return has("/dev", /^nvidia\d+$/) || has("/dev/dri", /^renderD\d+$/);
}

/** SwiftShader's Vulkan ICD manifest, if installed (Debian's chromium-common ships it). */
export function swiftShaderIcd(): string | null {
  const known = ["/usr/lib/chromium/vk_swiftshader_icd.json", "/usr/lib/chromium-browser/vk_swiftshader_icd.json"];
  for (const p of known) if (fs.existsSync(p)) return p;
  try {
    const files = execFileSync("dpkg", ["-L", "chromium-common"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
    return files.split("\n").find((f) => f.endsWith("vk_swiftshader_icd.json") && fs.existsSync(f)) ?? null;
  } catch {
    return null;
  }
}

/** A fresh Dawn instance (reads VK_ICD_FILENAMES now) with its `globals` installed. */
function createGpu(): GpuLike {
  const dawn = require("webgpu") as { create(flags: string[]): GpuLike; globals: object };
  Object.assign(globalThis, dawn.globals);
  return dawn.create([]);
}

/**
 * The adapter to use: hardware first; software only when `allowSoftware` (an explicit request).
 * Without a GPU device node the default Vulkan drivers are not probed at all (Dawn would only find
 * and reject Mesa's lavapipe, noisily); SwiftShader is loaded directly instead.
 */
async function findAdapter(allowSoftware: boolean): Promise<{ gpu: GpuLike; adapter: GpuAdapterLike; info: AdapterInfo } | null> {
  const request = async () => {
    const gpu = createGpu();
    const a = await gpu.requestAdapter({ powerPreference: "high-performance" });
    return a ? { gpu, adapter: a, info: describeAdapter(a) } : null;
  };
  let found = process.env.VK_ICD_FILENAMES !== undefined || gpuDevicePresent() ? await request() : null;
  if (found && !found.info.software) return found;
  if (!allowSoftware) return null;
  if (found === null) {
    const icd = swiftShaderIcd();
    if (icd === null) return null;
    process.env.VK_ICD_FILENAMES = icd;
    found = await request();
  }
  return found;
}

async function setWebGpu(explicit: boolean): Promise<boolean> {
  let found: Awaited<ReturnType<typeof findAdapter>>;
  try {
    found = await findAdapter(explicit);
  } catch {
    return false;
  }
  if (found === null) return false;
  const { gpu, adapter: a, info } = found;
  // tfjs-backend-webgpu reads navigator.gpu (Node 20 has no navigator).
  const nav = (globalThis as { navigator?: object }).navigator;
  Object.defineProperty(globalThis, "navigator", { value: { ...(nav ?? {}), gpu }, configurable: true, writable: true });
  const webgpu = require("@tensorflow/tfjs-backend-webgpu") as { WebGPUBackend: new (device: unknown, info: unknown) => tf.KernelBackend };
  // Our own factory, so the backend runs on the adapter chosen above (the package's asks Dawn again).
  if (tf.findBackendFactory("webgpu")) tf.removeBackend("webgpu");
  tf.registerBackend("webgpu", async () => {
    const limits = ["maxComputeWorkgroupStorageSize", "maxComputeWorkgroupsPerDimension", "maxStorageBufferBindingSize", "maxBufferSize", "maxComputeWorkgroupSizeX", "maxComputeInvocationsPerWorkgroup", "maxStorageBuffersPerShaderStage"];
    const device = await a.requestDevice({
      requiredFeatures: a.features.has("timestamp-query") ? ["timestamp-query"] : [],
      requiredLimits: Object.fromEntries(limits.filter((k) => a.limits[k] !== undefined).map((k) => [k, a.limits[k]])),
    });
    return new webgpu.WebGPUBackend(device, a.info);
  }, 3);
  if (!(await tf.setBackend("webgpu"))) return false;
  installBackendKernels("webgpu");
  adapter = info;
  if (info.software) {
    process.stderr.write(`backend: webgpu has no hardware adapter here; using the software adapter ${info.vendor}/${info.architecture} (${info.description}): correct but slow\n`);
  }
  return true;
}

// ------------------------------------------------------------------------------------------ public

/**
 * Select a backend. `name` (or env CD_BACKEND) forces one; throws a BackendError if it cannot start.
 * Returns the backend actually in use. Idempotent.
 */
export async function initBackend(name?: string): Promise<BackendName> {
  const want = name ?? process.env.CD_BACKEND ?? undefined;
  if (want !== undefined && !BACKENDS.includes(want as BackendName)) {
    throw new BackendError(`unknown backend "${want}" (expected one of ${BACKENDS.join(", ")})`);
  }
  if (process.env.CD_MLP_ISA) {
    // The native MLP row kernels (native/lanes.h) that CD_MLP_ISA names: refused before any work.
    const addon = nativeAddon();
    try {
      addon?.mlpIsa(new Uint8Array(1));
    } catch (e) {
      throw new BackendError((e as Error).message);
    }
  }
  if (chosen !== null && (want === undefined || want === chosen) && tf.getBackend() === chosen) return chosen;
  chosen = null;
  adapter = null;
  const order: BackendName[] = want ? [want as BackendName] : ["tensorflow", "webgpu", "wasm", "cpu"];
  for (const b of order) {
    let ok = false;
    if (b === "tensorflow") ok = (tryRequire("@tensorflow/tfjs-node-gpu") || tryRequire("@tensorflow/tfjs-node")) && (await tf.setBackend("tensorflow"));
    else if (b === "webgpu") ok = await setWebGpu(want === "webgpu");
    else if (b === "wasm") ok = await setWasm();
    else ok = await tf.setBackend("cpu");
    if (ok) {
      chosen = b;
      break;
    }
  }
  if (chosen === null) {
    // Optional peer dependencies of the package: name the one to install.
    const needs = want === "webgpu" ? ["webgpu", "@tensorflow/tfjs-backend-webgpu"] : want === "wasm" ? ["@tensorflow/tfjs-backend-wasm"] : [];
    const missing = needs.filter((p) => !hasPackage(p));
    const spec = (p: string) => (p.startsWith("@tensorflow/") ? `${p}@${tf.version_core}` : p); // tfjs's backends pin tfjs-core exactly
    if (missing.length > 0) throw new BackendError(`${want}: needs the npm package${missing.length > 1 ? "s" : ""} ${missing.join(" and ")}: npm install ${missing.map(spec).join(" ")}`);
    if (want === "webgpu") throw new BackendError("webgpu: no WebGPU adapter (no hardware GPU driver found, and SwiftShader is not installed: apt-get install chromium-common libvulkan1)");
    if (want === "tensorflow") throw new BackendError("tensorflow: @tensorflow/tfjs-node(-gpu) is not installed (its install downloads libtensorflow; see environment.md)");
    throw new BackendError(`could not load backend "${want ?? order.join("/")}"`);
  }
  await tf.ready();
  return chosen;
}

/** The backend in use (after initBackend). */
export function currentBackend(): BackendName {
  return (chosen ?? tf.getBackend()) as BackendName;
}

/** The backend in use, its WebGPU adapter and its native kernel library: recorded in every result. */
export function backendInfo(): BackendInfo {
  const backend = currentBackend();
  return { backend, adapter: backend === "webgpu" ? adapter : null, native: nativeActive() ? nativeAddon()!.config() : null };
}

let buildId: string | null = null;

/**
 * The build of the native kernel library in use (null when none is): its OpenBLAS build string and
 * a hash of the loaded .node file, so that two builds (another compiler, flags or machine) never
 * share a cache entry or a resumed run. (The internals may change; callers use the string as is.)
 */
export function nativeBuildId(): string | null {
  if (!nativeActive()) return null;
  if (buildId === null) {
    let hash = "unknown";
    try {
      hash = createHash("sha256").update(fs.readFileSync(ADDON_PATH)).digest("hex").slice(0, 12);
    } catch {
      // the file moved after loading: the build string alone
    }
    buildId = `${nativeAddon()!.config().trim()} #${hash}`;
  }
  return buildId;
}

/**
 * What a cached or resumed result depends on: the backend, plus the native library's build on wasm
 * (its products round differently from XNNPACK's, and builds may differ) and, on WebGPU, the adapter and
 * the version of the project's WGSL kernels.
 * Teacher caches, run.json and every sweep job are keyed by it.
 */
export function backendKey(): string {
  const { backend, adapter: a } = backendInfo();
  const native = nativeBuildId();
  if (backend === "wasm" && native !== null) return `wasm+native@${createHash("sha256").update(native).digest("hex").slice(0, 12)}`;
  if (backend === "webgpu" && a !== null) return `webgpu:${a.vendor}/${a.architecture}${layerActive("webgpu", "wgsl") ? `+wgsl@${WGSL_VERSION}` : ""}`;
  return backend;
}

/** The full identity of the backend in use, as recorded in run.json and compared on resume. */
export interface BackendIdentity {
  /** backendKey(): equal keys give equal results. */
  key: string;
  /** describeBackend(): what a person reads. */
  description: string;
  /** nativeBuildId(), or null when the native kernels are not in use. */
  native: string | null;
}

export function backendIdentity(): BackendIdentity {
  return { key: backendKey(), description: describeBackend(), native: nativeBuildId() };
}

/**
 * Null when a run recorded with `recorded` may continue under this session's backend, else one
 * line naming both identities and why they may not mix.
 */
export function identityMismatch(recorded: BackendIdentity): string | null {
  const now = backendIdentity();
  if (recorded.key === now.key) return null;
  return `was made with backend ${recorded.key} (${recorded.description}), but this session has ${now.key} (${now.description}); continuing would mix two kernels' rounding in one result (resume with the same backend and native build, e.g. the same CD_NATIVE and CD_BACKEND)`;
}

/** One line for logs: "wasm (native kernels: OpenBLAS ...)", "webgpu (nvidia/ampere)", ... */
export function describeBackend(): string {
  const { backend, adapter: a, native } = backendInfo();
  if (backend === "wasm") return native !== null ? `wasm + native kernels (${native.trim()})` : `wasm (native kernels off: ${nativeUnavailableReason() || "not registered"})`;
  if (backend === "webgpu" && a !== null) return `webgpu (${a.vendor}/${a.architecture}${a.software ? ", software" : ""})`;
  return backend;
}

/**
 * Threads the native MLP kernels split a wide layer across, in the calling thread: `n`, else the
 * environment's CD_THREADS (or OMP_NUM_THREADS), else every core. The CLI's worker threads each take their share of the
 * cores (cores / workers): two workers of two threads each on two cores ran ten times slower.
 * Results do not depend on it (native/mlp.cc sums in fixed blocks). Returns the number in effect
 * (1 without the native library).
 */
export function setKernelThreads(n?: number): number {
  const addon = nativeAddon();
  if (addon === null) return 1;
  const env = [process.env.CD_THREADS, process.env.OMP_NUM_THREADS].map(Number).find((v) => Number.isInteger(v) && v > 0);
  const want = n ?? env ?? os.cpus().length;
  return addon.mlpThreads(new Uint8Array(0), Math.max(1, Math.floor(want)));
}
