/**
 * The page's teacher cache: trained teachers in IndexedDB, one record per configuration, so that
 * changing only student settings (width, phase-1 length, methods) reuses the teacher instead of
 * training it again. The key is the experiment's own teacher key (what the CLI's cache hashes:
 * src/experiments/teachers.ts) plus the seed, attempt and backend, as canonical JSON. A record holds
 * the weights at initialisation, every checkpoint (progressive replays them) and the teacher's curve.
 *
 * Where IndexedDB is unavailable (some private modes; file:// in some browsers) the store says so
 * and the page trains the teacher every time.
 */
import * as tf from "@tensorflow/tfjs";
import type { Checkpoint } from "../../src/distill/outputs";
import type { TeacherInfo } from "../../src/experiments/experiment";
import type { NamedTensors } from "../../src/models/types";

const DB_NAME = "curriculum-distill-demo";
const STORE = "teachers";

interface StoredWeights {
  [name: string]: { shape: number[]; data: Float32Array };
}

interface StoredTeacher {
  key: string;
  init: StoredWeights;
  checkpoints: Array<{ step: number; samples: number; accuracy?: number; weights: StoredWeights }>;
  info: TeacherInfo;
}

export interface CachedTeacher {
  init: NamedTensors;
  checkpoints: Checkpoint[];
  info: TeacherInfo;
}

/** Canonical JSON (keys sorted at every level): equal configurations give equal keys. */
export function canonicalKey(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalKey).join(",")}]`;
  if (v !== null && typeof v === "object") {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .filter((k) => o[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonicalKey(o[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(v);
}

function request<T>(r: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}

let opened: Promise<IDBDatabase | null> | null = null;

function db(): Promise<IDBDatabase | null> {
  if (opened === null) {
    opened = new Promise((resolve) => {
      try {
        const r = indexedDB.open(DB_NAME, 1);
        r.onupgradeneeded = () => r.result.createObjectStore(STORE, { keyPath: "key" });
        r.onsuccess = () => resolve(r.result);
        r.onerror = () => resolve(null);
      } catch {
        resolve(null);
      }
    });
  }
  return opened;
}

/** Whether teachers can be cached in this browser. */
export async function storeAvailable(): Promise<boolean> {
  return (await db()) !== null;
}

async function toStored(w: NamedTensors): Promise<StoredWeights> {
  const out: StoredWeights = {};
  for (const [name, t] of Object.entries(w)) out[name] = { shape: t.shape.slice(), data: (await t.data()) as Float32Array };
  return out;
}

function fromStored(w: StoredWeights): NamedTensors {
  const out: NamedTensors = {};
  for (const [name, { shape, data }] of Object.entries(w)) out[name] = tf.tensor(data, shape, "float32");
  return out;
}

/** The cached teacher of `key` (tensors the caller owns), or null. */
export async function loadTeacher(key: string): Promise<CachedTeacher | null> {
  const d = await db();
  if (d === null) return null;
  const rec = (await request(d.transaction(STORE, "readonly").objectStore(STORE).get(key)).catch(() => undefined)) as StoredTeacher | undefined;
  if (!rec) return null;
  return {
    init: fromStored(rec.init),
    checkpoints: rec.checkpoints.map((c) => ({ step: c.step, samples: c.samples, accuracy: c.accuracy, weights: fromStored(c.weights) })),
    info: rec.info,
  };
}

/** Cache a trained teacher under `key` (false when the store is unavailable or full). */
export async function saveTeacher(key: string, t: CachedTeacher): Promise<boolean> {
  const d = await db();
  if (d === null) return false;
  const rec: StoredTeacher = { key, init: await toStored(t.init), checkpoints: [], info: t.info };
  for (const c of t.checkpoints) rec.checkpoints.push({ step: c.step, samples: c.samples, accuracy: c.accuracy, weights: await toStored(c.weights) });
  const tx = d.transaction(STORE, "readwrite");
  tx.objectStore(STORE).put(rec);
  return new Promise((resolve) => {
    tx.oncomplete = () => resolve(true);
    tx.onerror = () => resolve(false);
    tx.onabort = () => resolve(false);
  });
}

/** Forget every cached teacher. */
export async function clearTeachers(): Promise<void> {
  const d = await db();
  if (d !== null) await request(d.transaction(STORE, "readwrite").objectStore(STORE).clear());
}
