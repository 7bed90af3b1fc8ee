/**
 * Weight files: a documented binary format with a JSON manifest.
 *
 *   <name>.bin   the tensors' float32 values, little-endian, concatenated in manifest order
 *   <name>.json  {"format": "curriculum-distill/weights@2", "bytes": N, "sha256": "...",
 *                 "tensors": [{"name", "shape", "dtype": "float32", "offset", "length"}], "meta": {...},
 *                 "checksum": "sha256:..." (of the manifest itself, see io.ts)}
 *
 * Both files are written atomically (bin first, manifest last, so a manifest always describes a
 * complete bin). Loading checks the manifest's own checksum (an edited offset is caught), the bin's
 * size and SHA-256, and every shape, and throws a `CheckpointError` naming the file and what is
 * wrong; there is no silent fallback.
 */
import * as fs from "node:fs";
import * as tf from "@tensorflow/tfjs";
import { z } from "zod";
import { NamedTensors } from "../models/types";
import { FileError, readRecord, recordText, sha256, writeFileAtomic } from "../io";

export const WEIGHTS_FORMAT = "curriculum-distill/weights@2";

/** A saved file (weights, state, record) that is missing, corrupt or does not fit: one line, exit 2. */
export class CheckpointError extends FileError {
  constructor(file: string, reason: string) {
    super(file, reason, "checkpoint ");
    this.name = "CheckpointError";
  }
}

const count = z.number().int().nonnegative();
const MANIFEST = z.object({
  format: z.literal(WEIGHTS_FORMAT),
  bytes: count,
  sha256: z.string(),
  tensors: z.array(z.object({ name: z.string(), shape: z.array(count), dtype: z.literal("float32"), offset: count, length: count })),
  meta: z.record(z.unknown()),
});

export interface TensorEntry {
  name: string;
  shape: number[];
  dtype: "float32";
  offset: number;
  length: number;
}

export interface WeightsManifest {
  format: string;
  bytes: number;
  sha256: string;
  tensors: TensorEntry[];
  meta: Record<string, unknown>;
}

/** Save named tensors as `<base>.bin` + `<base>.json`. Reads the values (asynchronously: WebGPU has no synchronous read). */
export async function saveWeights(base: string, weights: NamedTensors, meta: Record<string, unknown> = {}): Promise<WeightsManifest> {
  const { bin, manifest, manifestText } = await encodeWeights(weights, meta);
  writeFileAtomic(`${base}.bin`, bin);
  writeFileAtomic(`${base}.json`, manifestText);
  return manifest;
}

/**
 * The bytes saveWeights writes for `weights` (`.bin` + `.json`): what storing them costs on disk.
 * Progressive distillation's storage in the results is this, summed over its checkpoints. From the
 * shapes alone (no read of the values, no hash): a SHA-256 in hex has a fixed length.
 */
export function storedSize(weights: NamedTensors, meta: Record<string, unknown> = {}): number {
  const { entries, total } = layoutOf(weights);
  const manifest: WeightsManifest = { format: WEIGHTS_FORMAT, bytes: 4 * total, sha256: "0".repeat(64), tensors: entries, meta };
  return 4 * total + Buffer.byteLength(recordText(manifest).text);
}

/** Where each tensor goes in the `.bin` file (offsets and lengths in floats). */
function layoutOf(weights: NamedTensors): { entries: TensorEntry[]; total: number } {
  const entries: TensorEntry[] = [];
  let total = 0;
  for (const [name, t] of Object.entries(weights)) {
    entries.push({ name, shape: t.shape.slice(), dtype: "float32", offset: total, length: t.size });
    total += t.size;
  }
  return { entries, total };
}

async function encodeWeights(weights: NamedTensors, meta: Record<string, unknown>): Promise<{ bin: Uint8Array; manifest: WeightsManifest; manifestText: string }> {
  const { entries, total } = layoutOf(weights);
  const buf = new Float32Array(total);
  for (const e of entries) buf.set((await weights[e.name].data()) as Float32Array, e.offset);
  const bytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  const manifest: WeightsManifest = { format: WEIGHTS_FORMAT, bytes: bytes.byteLength, sha256: sha256(bytes), tensors: entries, meta };
  return { bin: bytes, manifest, manifestText: recordText(manifest).text };
}

/** The manifest at `<base>.json`, its checksum and shape verified. */
export function readManifest(base: string): WeightsManifest {
  try {
    return readRecord(`${base}.json`, MANIFEST, "weights manifest");
  } catch (e) {
    if (e instanceof FileError) throw new CheckpointError(e.file, e.reason);
    throw e;
  }
}

/** Load and verify `<base>.bin` against its manifest. `expect` (name -> shape) is checked when given. */
export function loadWeights(base: string, expect?: Record<string, readonly number[]>): { weights: NamedTensors; manifest: WeightsManifest } {
  const manifest = readManifest(base);
  const file = `${base}.bin`;
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (e) {
    throw new CheckpointError(file, `cannot read (${(e as Error).message})`);
  }
  if (bytes.byteLength !== manifest.bytes) {
    throw new CheckpointError(file, `size ${bytes.byteLength} bytes, manifest says ${manifest.bytes} (truncated or wrong file)`);
  }
  const sha = sha256(bytes);
  if (sha !== manifest.sha256) throw new CheckpointError(file, `checksum mismatch (sha256 ${sha.slice(0, 12)}..., manifest ${manifest.sha256.slice(0, 12)}...)`);
  const floats = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  const weights: NamedTensors = {};
  for (const e of manifest.tensors) {
    const size = e.shape.reduce((a, b) => a * b, 1);
    if (size !== e.length || e.offset + e.length > floats.length) {
      throw new CheckpointError(`${base}.json`, `tensor "${e.name}" does not fit: shape [${e.shape}], offset ${e.offset}, length ${e.length}`);
    }
    if (expect?.[e.name] && expect[e.name].join(",") !== e.shape.join(",")) {
      throw new CheckpointError(`${base}.json`, `tensor "${e.name}" has shape [${e.shape}], the model expects [${expect[e.name]}]`);
    }
    weights[e.name] = tf.tensor(floats.subarray(e.offset, e.offset + e.length), e.shape, "float32");
  }
  if (expect) {
    for (const name of Object.keys(expect)) {
      if (!weights[name]) throw new CheckpointError(`${base}.json`, `tensor "${name}" is missing`);
    }
  }
  return { weights, manifest };
}

export function disposeWeights(w: NamedTensors): void {
  for (const t of Object.values(w)) t.dispose();
}

export function shapesOf(w: NamedTensors): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const [k, t] of Object.entries(w)) out[k] = t.shape.slice();
  return out;
}

