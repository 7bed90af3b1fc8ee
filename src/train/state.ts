/**
 * Saved training states, for interrupt and resume. A state is two parts:
 *
 *   <base>.json           {"format": "curriculum-distill/state@2", "serial": k, "weights": "<base>.w<k>",
 *                          "sha256": <the weight file's checksum>, "data": {...}, "checksum": ...}
 *   <base>.w<k>.bin/.json  the tensors (model weights, optimiser moments, ...) as a weight file
 *                          (train/checkpoints.ts: binary float32 + manifest with shapes and SHA-256)
 *
 * The weights are written first under a new serial, then the JSON (atomically), then the previous
 * serial's weights are removed: a process killed at any point (SIGKILL included) leaves either the
 * old complete state or the new one. Loading checks the JSON's checksum and shape (`data` against the
 * caller's zod schema), the manifest, the weights' checksum and every shape, and throws a
 * `CheckpointError` naming the file and what is wrong; there is no fallback.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { z } from "zod";
import { NamedTensors } from "../models/types";
import { CheckpointError, disposeWeights, loadWeights, saveWeights } from "./checkpoints";
import { FileError, Shape, readRecord, writeRecord } from "../io";

export const STATE_FORMAT = "curriculum-distill/state@2";

/** Thrown when a stop was requested (Ctrl-C, an AbortSignal): the state has been saved; the run can be resumed. */
export { Interrupted } from "./driver";

const STATE = z.object({ format: z.literal(STATE_FORMAT), serial: z.number().int().positive(), weights: z.string().regex(/^[^/]+$/), sha256: z.string(), data: z.unknown() });

/** Read a checksummed record; any failure is a CheckpointError naming the file. */
export function readChecked<T>(file: string, shape: Shape<T>, what: string): T & { checksum: string } {
  try {
    return readRecord(file, shape, what);
  } catch (e) {
    if (e instanceof FileError && !(e instanceof CheckpointError)) throw new CheckpointError(e.file, e.reason);
    throw e;
  }
}

export function stateExists(base: string): boolean {
  return fs.existsSync(`${base}.json`);
}

/** Save `weights` and `data` (plain JSON) as the state at `base`. */
export async function saveState(base: string, weights: NamedTensors, data: unknown): Promise<void> {
  let prev: number | null = null;
  try {
    prev = (JSON.parse(fs.readFileSync(`${base}.json`, "utf8")) as { serial?: number }).serial ?? null;
  } catch {
    prev = null;
  }
  const serial = (prev ?? 0) + 1;
  const wbase = `${base}.w${serial}`;
  const manifest = await saveWeights(wbase, weights);
  writeRecord(`${base}.json`, { format: STATE_FORMAT, serial, weights: path.basename(wbase), sha256: manifest.sha256, data });
  if (prev !== null && prev !== serial) {
    for (const ext of [".bin", ".json"]) fs.rmSync(`${base}.w${prev}${ext}`, { force: true });
  }
}

/**
 * Load the state at `base`. `expect` (name -> shape) must all be present with those shapes;
 * `shape` checks the JSON part.
 */
export function loadState<T>(base: string, expect: Record<string, readonly number[]>, shape: Shape<T>): { data: T; weights: NamedTensors } {
  const file = `${base}.json`;
  const s = readChecked(file, STATE, "state");
  const r = shape.safeParse(s.data);
  if (!r.success) throw new CheckpointError(file, `malformed state (${r.error.issues[0].path.join(".")}: ${r.error.issues[0].message})`);
  const wbase = path.join(path.dirname(base), s.weights);
  const { weights, manifest } = loadWeights(wbase, expect);
  if (manifest.sha256 !== s.sha256) {
    disposeWeights(weights);
    throw new CheckpointError(`${wbase}.json`, `checksum ${manifest.sha256.slice(0, 12)}... does not match the state's ${s.sha256.slice(0, 12)}... (${file})`);
  }
  return { data: r.data, weights };
}

/** Remove a state and its weight files. */
export function removeState(base: string): void {
  const dir = path.dirname(base);
  const stem = path.basename(base);
  if (!fs.existsSync(dir)) return;
  for (const f of fs.readdirSync(dir)) {
    if (f === `${stem}.json` || (f.startsWith(`${stem}.w`) && /^\.w\d+\.(bin|json)$/.test(f.slice(stem.length)))) fs.rmSync(path.join(dir, f), { force: true });
  }
}

/** Tensors under `prefix/` of a saved set, with the prefix removed. */
export function section(weights: NamedTensors, prefix: string): NamedTensors {
  const out: NamedTensors = {};
  for (const [k, t] of Object.entries(weights)) if (k.startsWith(`${prefix}/`)) out[k.slice(prefix.length + 1)] = t;
  return out;
}

/** Prefix every name with `prefix/`. */
export function prefixed(weights: NamedTensors, prefix: string): NamedTensors {
  const out: NamedTensors = {};
  for (const [k, t] of Object.entries(weights)) out[`${prefix}/${k}`] = t;
  return out;
}

/** zod pieces shared by the saved records. */
export const count = z.number().int().nonnegative();
export const POSITION = z.object({
  phaseIndex: count,
  stepInPhase: count,
  step: count,
  samples: count,
  seconds: z.number().nonnegative(),
  teacherFlops: z.number().nonnegative(),
  studentFlops: z.number().nonnegative(),
  rule: z.object({ ema: z.number().nullable(), best: z.number().nullable(), sinceBest: count }).optional(),
});
export const EVAL_POINT = z.object({
  step: count,
  samples: count,
  phase: z.string(),
  accuracy: z.number(),
  loss: z.number(),
  trainLoss: z
    .number()
    .nullable()
    .transform((x) => x ?? NaN),
  seconds: z.number(),
  teacherFlops: z.number().nonnegative(),
  studentFlops: z.number().nonnegative(),
});
