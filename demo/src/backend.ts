/**
 * The page's TensorFlow.js backend: WebGPU where the browser offers a hardware adapter, else WebGL on
 * a hardware GPU, else wasm (its .wasm files lie beside the bundle, in wasm/; from file:// the
 * copies embedded in wasm/inline.js are used). As in the library
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
import { installBackendKernels } from "../../src/kernels";

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

/** Run a classic script beside the page (classic scripts load from file://, fetch does not). */
function loadScript(src: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const el = document.createElement("script");
    el.src = src;
    el.onload = () => resolve();
    el.onerror = () => reject(new Error(`cannot load ${src}`));
    document.head.appendChild(el);
  });
}

/**
 * Where tfjs finds its .wasm files: the wasm/ folder beside the page; from file://, where a browser
 * refuses to fetch files, blob: URLs of the copies that demo/build.ts embeds in wasm/inline.js
 * (base64; the threaded build is left out: threads need cross-origin isolation, which file:// never has).
 */
async function wasmPaths(): Promise<string | Record<string, string>> {
  if (location.protocol !== "file:") return new URL("wasm/", document.baseURI).href;
  await loadScript("wasm/inline.js");
  const inline = (window as unknown as { cdWasmInline: Record<string, string> }).cdWasmInline;
  const url = (name: string) => {
    const bytes = Uint8Array.from(atob(inline[name]), (c) => c.charCodeAt(0));
    return URL.createObjectURL(new Blob([bytes], { type: "application/wasm" }));
  };
  const simd = url("tfjs-backend-wasm-simd.wasm");
  return { "tfjs-backend-wasm.wasm": url("tfjs-backend-wasm.wasm"), "tfjs-backend-wasm-simd.wasm": simd, "tfjs-backend-wasm-threaded-simd.wasm": simd };
}

async function setWasm(): Promise<string | null> {
  try {
    setWasmPaths((await wasmPaths()) as Parameters<typeof setWasmPaths>[0]);
  } catch {
    return null;
  }
  if (!(await tf.setBackend("wasm").catch(() => false))) return null;
  // The library's batched-matMul kernels for XNNPACK's fast path (the CLI's wasm backend uses them too).
  installBackendKernels("wasm");
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
    skipped.push("wasm: failed to start");
  }
  throw new Error(`no backend could start: ${skipped.join("; ")}`);
}

/** One line for the page. */
export function describeChoice(c: BackendChoice): string {
  return `${c.backend} (${c.detail}${c.software ? ", software: slow" : ""})`;
}
