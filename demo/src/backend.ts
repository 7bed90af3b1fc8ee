/**
 * The page's TensorFlow.js backend: WebGPU where the browser offers a hardware adapter, else WebGL on
 * a hardware GPU, else wasm (its .wasm files lie beside the bundle, in wasm/). As in the library
 * (src/backend.ts), a software GPU (SwiftShader, llvmpipe: what a headless browser without a GPU
 * gets) is never picked silently: automatic selection takes wasm instead, which is faster on a CPU
 * (measured in the README's "Live page"). Asked for by name, a software GPU is used and said so.
 *
 * src/backend.ts itself is Node-only (Dawn, tfjs-node, the native addon); this is its browser half.
 */
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-webgl";
import "@tensorflow/tfjs-backend-webgpu";
import { setWasmPaths } from "@tensorflow/tfjs-backend-wasm";
import { registerFastWasmKernels } from "../../src/wasmKernels";

export type PageBackend = "webgpu" | "webgl" | "wasm";
export type BackendRequest = PageBackend | "auto";

export interface BackendChoice {
  backend: PageBackend;
  /** The GPU's renderer or adapter, or the wasm variant ("wasm, SIMD"). */
  detail: string;
  /** A software rasteriser (correct, slow). */
  software: boolean;
  /** Why earlier candidates were passed over, for the page. */
  skipped: string[];
}

const SOFTWARE = /swiftshader|llvmpipe|lavapipe|software|basic render/i;

interface GpuAdapterInfoLike {
  vendor?: string;
  architecture?: string;
  description?: string;
}
interface GpuAdapterLike {
  info?: GpuAdapterInfoLike;
  isFallbackAdapter?: boolean;
}

async function webGpuAdapter(): Promise<{ detail: string; software: boolean } | null> {
  const gpu = (navigator as unknown as { gpu?: { requestAdapter(o?: object): Promise<GpuAdapterLike | null> } }).gpu;
  if (!gpu) return null;
  const a = await gpu.requestAdapter({ powerPreference: "high-performance" }).catch(() => null);
  if (!a) return null;
  const i = a.info ?? {};
  const detail = [i.vendor, i.architecture, i.description].filter((s) => s).join(" / ") || "unknown adapter";
  return { detail, software: !!(a.isFallbackAdapter || (i as { isFallbackAdapter?: boolean }).isFallbackAdapter) || SOFTWARE.test(detail) };
}

/** The WebGL renderer string (unmasked when the browser allows), read from a throwaway context. */
function webGlRenderer(): string | null {
  const canvas = document.createElement("canvas");
  const gl = (canvas.getContext("webgl2") ?? canvas.getContext("webgl")) as WebGLRenderingContext | null;
  if (!gl) return null;
  const ext = gl.getExtension("WEBGL_debug_renderer_info");
  const r = String(gl.getParameter(ext ? ext.UNMASKED_RENDERER_WEBGL : gl.RENDERER));
  gl.getExtension("WEBGL_lose_context")?.loseContext();
  return r;
}

/** The wasm files' folder next to the page (an absolute URL: tfjs fetches them from there). */
function wasmFolder(): string {
  return new URL("wasm/", document.baseURI).href;
}

async function setWasm(): Promise<string | null> {
  setWasmPaths(wasmFolder());
  if (!(await tf.setBackend("wasm").catch(() => false))) return null;
  // The library's batched-matMul kernels for XNNPACK's fast path (the CLI's wasm backend uses them too).
  registerFastWasmKernels();
  const simd = await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT");
  const threads = await tf.env().getAsync("WASM_HAS_MULTITHREAD_SUPPORT");
  return `wasm${simd ? ", SIMD" : ""}${threads ? ", threads" : ""}`;
}

/** Select the backend (`request` "auto": WebGPU, WebGL, wasm; hardware GPUs only). Throws if none starts. */
export async function chooseBackend(request: BackendRequest): Promise<BackendChoice> {
  const skipped: string[] = [];
  const auto = request === "auto";
  if (auto || request === "webgpu") {
    const a = await webGpuAdapter();
    if (a === null) skipped.push("WebGPU: no adapter");
    else if (a.software && auto) skipped.push(`WebGPU: software adapter (${a.detail})`);
    else if (await tf.setBackend("webgpu").catch(() => false)) return { backend: "webgpu", detail: a.detail, software: a.software, skipped };
    else skipped.push("WebGPU: failed to start");
  }
  if (auto || request === "webgl") {
    const r = webGlRenderer();
    const software = r !== null && SOFTWARE.test(r);
    if (r === null) skipped.push("WebGL: not available");
    else if (software && auto) skipped.push(`WebGL: software renderer (${r})`);
    else if (await tf.setBackend("webgl").catch(() => false)) return { backend: "webgl", detail: r, software, skipped };
    else skipped.push("WebGL: failed to start");
  }
  if (auto || request === "wasm") {
    const w = await setWasm();
    if (w !== null) return { backend: "wasm", detail: w, software: false, skipped };
    skipped.push(location.protocol === "file:" ? "wasm: cannot fetch its .wasm files from file:// (serve the folder over http)" : "wasm: failed to start");
  }
  throw new Error(`no backend could start: ${skipped.join("; ")}`);
}

/** One line for the page. */
export function describeChoice(c: BackendChoice): string {
  return `${c.backend} (${c.detail}${c.software ? ", software: slow" : ""})`;
}
