/**
 * The two kernel sets of the wasm backend, for tests that must hold on both: the native library
 * (OpenBLAS products, fused transformer kernels) and the pure-wasm kernels (XNNPACK products,
 * composite ops). Where the native library is not built, only the latter is tested and the reason
 * is printed once; `CD_REQUIRE_NATIVE=1` (set by .ci/run) turns that into a failure.
 */
import { nativeUnavailableReason } from "../src/kernels/addon";
import { installBackendKernels } from "../src/kernels";

export type WasmKernels = "native" | "xnnpack";

const reason = nativeUnavailableReason();
if (reason !== "") {
  if (process.env.CD_REQUIRE_NATIVE === "1") throw new Error(`native kernels required (CD_REQUIRE_NATIVE=1) but ${reason}`);
  process.stderr.write(`# native kernels not tested: ${reason}\n`);
}

export const WASM_KERNELS: readonly WasmKernels[] = reason === "" ? ["native", "xnnpack"] : ["xnnpack"];

/** Switch the wasm backend's kernel set (call after initBackend("wasm")). */
export function setWasmKernels(k: WasmKernels): void {
  if (k === "native") {
    if (!installBackendKernels("wasm").includes("native")) throw new Error(`native kernels unavailable: ${nativeUnavailableReason()}`);
  } else {
    installBackendKernels("wasm", ["xnnpack", "conv"]); // conv: its pure fallback (native is off)
  }
}

/** Run `f` with kernel set `k`, then restore the default (native when available). */
export function withWasmKernels<T>(k: WasmKernels, f: () => T): T {
  setWasmKernels(k);
  try {
    return f();
  } finally {
    installBackendKernels("wasm");
  }
}
