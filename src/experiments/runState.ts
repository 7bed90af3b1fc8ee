/**
 * Saved training states, for interrupt and resume. A state is two parts:
 *
 *   <base>.json           {"format": "curriculum-distill/state@1", "serial": k, "weights": "<base>.w<k>",
 *                          "sha256": <the weight manifest's checksum>, "data": {...}}
 *   <base>.w<k>.bin/.json  the tensors (model weights, optimiser moments, ...) as a weight file
 *                          (train/checkpoints.ts: binary float32 + manifest with shapes and SHA-256)
 *
 * The weights are written first under a new serial, then the JSON (atomically), then the previous
 * serial's weights are removed: a process killed at any point (SIGKILL included) leaves either the
 * old complete state or the new one. Loading checks the JSON, the manifest, the checksum and every
 * shape, and throws a `CheckpointError` naming the file and what is wrong; there is no fallback.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { NamedTensors } from "../models/types";
import { CheckpointError, loadWeights, saveWeights } from "../train/checkpoints";
import { writeJsonAtomic } from "../io";

export const STATE_FORMAT = "curriculum-distill/state@1";

/** Thrown when a stop was requested (Ctrl-C): the state has been saved; the run can be resumed. */
export class Interrupted extends Error {
  constructor() {
    super("interrupted");
    this.name = "Interrupted";
  }
}

/** What a long run needs to save and stop: the run folder, how often, and whether to stop now. */
export interface RunContext {
  /** The run folder (data/runs/<runId>). */
  dir: string;
  /** Save a student's (or teacher's) state every this many evaluations (and always at the end). */
  saveEvery: number;
  /** Polled after every step; true = save and throw `Interrupted`. */
  shouldStop?: () => boolean;
}

interface StateFile {
  format: string;
  serial: number;
  weights: string;
  sha256: string;
  data: unknown;
}

/** Read a JSON file; any failure is a CheckpointError naming the file. */
export function readJsonChecked<T>(file: string, what = "file"): T {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    throw new CheckpointError(file, `cannot read ${what} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    throw new CheckpointError(file, `${what} is not valid JSON (truncated or corrupt: ${(e as Error).message})`);
  }
}

export function stateExists(base: string): boolean {
  return fs.existsSync(`${base}.json`);
}

/** Save `weights` and `data` (plain JSON) as the state at `base`. */
export async function saveState(base: string, weights: NamedTensors, data: unknown): Promise<void> {
  let prev: number | null = null;
  try {
    prev = (JSON.parse(fs.readFileSync(`${base}.json`, "utf8")) as StateFile).serial ?? null;
  } catch {
    prev = null;
  }
  const serial = (prev ?? 0) + 1;
  const wbase = `${base}.w${serial}`;
  const manifest = await saveWeights(wbase, weights);
  const file: StateFile = { format: STATE_FORMAT, serial, weights: path.basename(wbase), sha256: manifest.sha256, data };
  writeJsonAtomic(`${base}.json`, file);
  if (prev !== null && prev !== serial) {
    for (const ext of [".bin", ".json"]) fs.rmSync(`${base}.w${prev}${ext}`, { force: true });
  }
}

/**
 * Load the state at `base`. `expect` (name -> shape) must all be present with those shapes.
 * `check(data)` validates the JSON part; a message it throws is reported against the state file.
 */
export function loadState<T>(base: string, expect: Record<string, readonly number[]>, check: (data: unknown) => T): { data: T; weights: NamedTensors } {
  const file = `${base}.json`;
  const s = readJsonChecked<StateFile>(file, "state");
  if (!s || s.format !== STATE_FORMAT) throw new CheckpointError(file, `unknown state format ${JSON.stringify(s?.format)}`);
  if (typeof s.weights !== "string" || typeof s.sha256 !== "string" || s.weights.includes("/")) throw new CheckpointError(file, "state names no weight file");
  let data: T;
  try {
    data = check(s.data);
  } catch (e) {
    throw new CheckpointError(file, `malformed state (${(e as Error).message})`);
  }
  const wbase = path.join(path.dirname(base), s.weights);
  const { weights, manifest } = loadWeights(wbase, expect);
  if (manifest.sha256 !== s.sha256) {
    for (const t of Object.values(weights)) t.dispose();
    throw new CheckpointError(`${wbase}.json`, `checksum ${manifest.sha256.slice(0, 12)}... does not match the state's ${s.sha256.slice(0, 12)}... (${file})`);
  }
  return { data, weights };
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

/** A tiny structural checker for saved JSON: throws a message naming the first bad field. */
export function need(cond: unknown, what: string): asserts cond {
  if (!cond) throw new Error(`${what} is missing or malformed`);
}

export const isCount = (x: unknown): x is number => typeof x === "number" && Number.isInteger(x) && x >= 0;
