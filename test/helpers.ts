/** Shared test set-up: the backend under test (wasm unless CD_BACKEND says otherwise). */
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../src/backend";

export async function useBackend(name?: string): Promise<string> {
  return initBackend(name ?? process.env.CD_BACKEND ?? "wasm");
}

export function values(t: tf.Tensor): number[] {
  return Array.from(t.dataSync());
}

export function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 1e-5, what = "value"): void {
  if (actual.length !== expected.length) throw new Error(`${what}: length ${actual.length} != ${expected.length}`);
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i];
    const e = expected[i];
    if (!(Math.abs(a - e) <= tol * Math.max(1, Math.abs(e)))) {
      throw new Error(`${what}[${i}]: ${a} != ${e} (tol ${tol})`);
    }
  }
}
