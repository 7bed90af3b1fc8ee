/**
 * Picks and prepares the TensorFlow.js backend.
 *
 * Order: native TensorFlow (tfjs-node-gpu, then tfjs-node) when it loads, else wasm, else cpu.
 * `CD_BACKEND` or an explicit name overrides the order. On wasm the batched matMul kernel is
 * re-registered so that transposed and 3-D products take XNNPACK's fast path (see wasmKernels.ts).
 */
import * as tf from "@tensorflow/tfjs";

export type BackendName = "tensorflow" | "wasm" | "cpu";
export const BACKENDS: readonly BackendName[] = ["tensorflow", "wasm", "cpu"];

let chosen: BackendName | null = null;

function tryRequire(name: string): boolean {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
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
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require("@tensorflow/tfjs-backend-wasm");
    const ok = await tf.setBackend("wasm");
    for (const l of process.listeners("unhandledRejection")) if (!before.has(l)) process.removeListener("unhandledRejection", l);
    for (const l of process.listeners("uncaughtException")) if (!beforeExc.has(l)) process.removeListener("uncaughtException", l);
    if (!ok) return false;
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require("./wasmKernels").registerFastWasmKernels();
    return true;
  } catch {
    return false;
  }
}

/**
 * Select a backend. `name` (or env CD_BACKEND) forces one; throws if it cannot be loaded.
 * Returns the backend actually in use. Idempotent.
 */
export async function initBackend(name?: string): Promise<BackendName> {
  const want = name ?? process.env.CD_BACKEND ?? undefined;
  if (want !== undefined && !BACKENDS.includes(want as BackendName)) {
    throw new Error(`backend: unknown backend "${want}" (expected one of ${BACKENDS.join(", ")})`);
  }
  if (chosen !== null && (want === undefined || want === chosen) && tf.getBackend() === chosen) return chosen;
  chosen = null;
  const order: BackendName[] = want ? [want as BackendName] : ["tensorflow", "wasm", "cpu"];
  for (const b of order) {
    if (b === "tensorflow") {
      if ((tryRequire("@tensorflow/tfjs-node-gpu") || tryRequire("@tensorflow/tfjs-node")) && (await tf.setBackend("tensorflow"))) {
        chosen = b;
        break;
      }
    } else if (b === "wasm") {
      if (await setWasm()) {
        chosen = b;
        break;
      }
    } else if (await tf.setBackend("cpu")) {
      chosen = b;
      break;
    }
  }
  if (chosen === null || (want && chosen !== want)) {
    throw new Error(`backend: could not load backend "${want ?? order.join("/")}"`);
  }
  await tf.ready();
  return chosen;
}

/** The backend in use (after initBackend). */
export function currentBackend(): BackendName {
  return (chosen ?? tf.getBackend()) as BackendName;
}
