/**
 * The data of `curriculum-distill distill`, from files:
 *
 * - a CSV file (`--data x.csv --label <column>`): a header row, then one example per row; every
 *   column but the label is a numeric feature, the label is a class id (0, 1, ...). The whole file is
 *   read and checked first (a cell that is not a finite number, a label that is not a class id, a
 *   row of the wrong length: one line naming the file, the line and the column), then served as a
 *   tf.data.Dataset of shuffled batches (seeded; a new order each pass).
 * - a JavaScript module (`--data data.js`) exporting a tf.data.Dataset of `{ xs, ys }` batches, as
 *   `module.exports`, `default` or `dataset`; it may export `validation` (`{ xs, ys }` tensors or a
 *   Dataset of such batches) for the evaluations.
 *
 * Inputs are reshaped to the teacher's input shape when their feature count matches it (a CSV of
 * 784 pixels for a [28, 28, 1] convnet).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import type { DataBatch } from "../api";
import { ConfigError } from "../config";
import { rootRng } from "../rng";

/** Examples held in memory: `features` row-major [rows, width]. */
export interface Table {
  features: Float32Array;
  labels: Int32Array;
  rows: number;
  width: number;
  /** Feature column names, in order. */
  columns: string[];
}

/** Split one CSV line (double-quoted fields may hold commas and "" quotes). */
function cells(line: string): string[] {
  if (!line.includes('"')) return line.split(",");
  const out: string[] = [];
  let cur = "";
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') (cur += '"'), i++;
      else if (c === '"') quoted = false;
      else cur += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") out.push(cur), (cur = "");
    else cur += c;
  }
  out.push(cur);
  return out;
}

/** Read and check a CSV file of numeric features and a class-id label column. */
export function readCsv(flag: string, file: string, label: string): Table {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    throw new ConfigError(flag, file, `cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const lines = text.split(/\r?\n/);
  while (lines.length > 0 && lines[lines.length - 1].trim() === "") lines.pop();
  if (lines.length < 2) throw new ConfigError(flag, file, "expected a header row and at least one row of data");
  const header = cells(lines[0]).map((h) => h.trim());
  const li = header.indexOf(label);
  if (li < 0) throw new ConfigError("--label", label, `no such column in ${file} (columns: ${header.join(", ")})`);
  const rows = lines.length - 1;
  const width = header.length - 1;
  if (width === 0) throw new ConfigError(flag, file, "has no feature columns besides the label");
  const features = new Float32Array(rows * width);
  const labels = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    const cs = cells(lines[r + 1]);
    if (cs.length !== header.length) throw new ConfigError(flag, file, `line ${r + 2} has ${cs.length} fields, the header ${header.length}`);
    let f = r * width;
    for (let c = 0; c < cs.length; c++) {
      const raw = cs[c].trim();
      const v = raw === "" ? NaN : Number(raw);
      if (c === li) {
        if (!Number.isInteger(v) || v < 0) throw new ConfigError(flag, file, `line ${r + 2}, label column "${label}": ${JSON.stringify(raw)} is not a class id (0, 1, ...)`);
        labels[r] = v;
      } else {
        if (!Number.isFinite(v)) throw new ConfigError(flag, file, `line ${r + 2}, column "${header[c]}": ${JSON.stringify(raw)} is not a finite number`);
        features[f++] = v;
      }
    }
  }
  return { features, labels, rows, width, columns: header.filter((_, i) => i !== li) };
}

/** Rows `idx` of a table, as tensors shaped [n, ...inputShape] and [n]. */
export function rowsOf(t: Table, idx: ArrayLike<number>, inputShape: readonly number[]): DataBatch {
  const n = idx.length;
  const x = new Float32Array(n * t.width);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    x.set(t.features.subarray(idx[i] * t.width, (idx[i] + 1) * t.width), i * t.width);
    y[i] = t.labels[idx[i]];
  }
  return { xs: tf.tensor(x, [n, ...inputShape]), ys: tf.tensor1d(y, "int32") };
}

/** Split rows into training and validation: a seeded shuffle, the last `fraction` held out. */
export function splitRows(rows: number, fraction: number, seed: number): { train: number[]; valid: number[] } {
  const order = Array.from({ length: rows }, (_, i) => i);
  const rng = rootRng(seed).derive("split");
  for (let i = rows - 1; i > 0; i--) {
    const j = Math.floor(rng.next() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  const nValid = Math.round(rows * fraction);
  return { train: order.slice(0, rows - nValid), valid: order.slice(rows - nValid) };
}

/** Shuffled batches of `rows` (whole batches only; a new seeded order each pass). */
export function tableDataset(t: Table, rows: readonly number[], batch: number, inputShape: readonly number[], seed: number): tf.data.Dataset<DataBatch> {
  const rng = rootRng(seed).derive("batches");
  return tf.data.generator(function* () {
    const order = [...rows];
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(rng.next() * (i + 1));
      [order[i], order[j]] = [order[j], order[i]];
    }
    for (let s = 0; s + batch <= order.length; s += batch) yield rowsOf(t, order.slice(s, s + batch), inputShape) as unknown as tf.TensorContainer;
  }) as unknown as tf.data.Dataset<DataBatch>;
}

/** What a data module exports. */
export interface ModuleData {
  dataset: tf.data.Dataset<DataBatch>;
  validation: DataBatch | null;
}

async function concatBatches(ds: tf.data.Dataset<DataBatch>): Promise<DataBatch> {
  const bs = await ds.toArray();
  if (bs.length === 0) throw new Error("the validation dataset is empty");
  const out = { xs: tf.concat(bs.map((b) => b.xs)), ys: tf.concat(bs.map((b) => b.ys)) };
  tf.dispose(bs as unknown as tf.TensorContainer);
  return out;
}

/** Load a module exporting a tf.data.Dataset (the same TensorFlow.js as this library's must build it). */
export async function loadDataModule(flag: string, file: string): Promise<ModuleData> {
  let mod: Record<string, unknown>;
  try {
    mod = require(path.resolve(file)) as Record<string, unknown>;
  } catch (e) {
    throw new ConfigError(flag, file, `cannot be loaded: ${(e instanceof Error ? e.message : String(e)).split("\n")[0]}`);
  }
  const candidates = [mod, mod?.default, mod?.dataset];
  const dataset = candidates.find((c) => c instanceof tf.data.Dataset) as tf.data.Dataset<DataBatch> | undefined;
  if (dataset === undefined) {
    const other = candidates.some((c) => c !== null && typeof c === "object" && typeof (c as { iterator?: unknown }).iterator === "function");
    throw new ConfigError(
      flag,
      file,
      other
        ? "exports a Dataset of another copy of @tensorflow/tfjs: install one @tensorflow/tfjs (this library's peer dependency) and build the dataset with it"
        : "must export a tf.data.Dataset of { xs, ys } batches (module.exports, default or dataset)",
    );
  }
  const v = mod.validation;
  let validation: DataBatch | null = null;
  if (v instanceof tf.data.Dataset) validation = await concatBatches(v as tf.data.Dataset<DataBatch>);
  else if (v !== undefined) {
    const b = v as Partial<DataBatch>;
    if (!(b.xs instanceof tf.Tensor) || !(b.ys instanceof tf.Tensor))
      throw new ConfigError(flag, file, "its `validation` export must be { xs, ys } tensors or a tf.data.Dataset of them");
    validation = { xs: b.xs, ys: b.ys };
  }
  return { dataset, validation };
}
