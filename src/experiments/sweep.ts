/**
 * Sweeps that outgrow one machine: a grid of config settings x seeds becomes a list of jobs; a shard
 * i/N runs the jobs j with j mod N = i, each into its own folder (`<out>/job-<j>-<hash>/`), so shards
 * writing to one shared folder never collide; `mergeSweep` combines the job folders into one summary.
 * A job whose summary.json exists is skipped, so a shard can be re-run after an interruption.
 * The scheduler (Slurm array, Kubernetes indexed Job, a shell loop) is the user's: see the README.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { createHash } from "node:crypto";
import { ConfigError } from "../config";
import { readJson, writeFileAtomic, writeJsonAtomic } from "../io";
import { median } from "./results";

export interface GridFile {
  /** Which experiment: "parity" or "parity-transformer". */
  command: string;
  /** Preset the settings start from. Default "main". */
  preset?: string;
  /** Overrides applied to every job. */
  base?: Record<string, unknown>;
  /** Config field -> the values to sweep (cartesian product). */
  grid: Record<string, unknown[]>;
  /** Seeds: one job per (setting, seed). */
  seeds: number[];
}

export interface SweepJob {
  index: number;
  /** The grid point: field -> value. */
  point: Record<string, unknown>;
  seed: number;
  /** Folder name, unique per job. */
  id: string;
}

export function parseGrid(text: string, file: string): GridFile {
  let g: GridFile;
  try {
    g = JSON.parse(text) as GridFile;
  } catch (e) {
    throw new ConfigError("--grid", file, `not valid JSON (${(e as Error).message})`);
  }
  if (typeof g !== "object" || g === null) throw new ConfigError("--grid", file, "expected a JSON object");
  if (typeof g.command !== "string") throw new ConfigError("grid.command", g.command ?? null, 'expected "parity" or "parity-transformer"');
  if (typeof g.grid !== "object" || g.grid === null || Array.isArray(g.grid)) throw new ConfigError("grid.grid", g.grid ?? null, "expected an object of field -> list of values");
  for (const [k, v] of Object.entries(g.grid)) if (!Array.isArray(v) || v.length === 0) throw new ConfigError(`grid.grid.${k}`, v, "expected a non-empty list");
  if (!Array.isArray(g.seeds) || g.seeds.length === 0 || !g.seeds.every((s) => Number.isInteger(s) && s >= 0)) throw new ConfigError("grid.seeds", g.seeds ?? null, "expected a non-empty list of integers >= 0");
  return g;
}

/** Every (grid point, seed) in a fixed order: points in row-major order of the grid's keys, then seeds. */
export function sweepJobs(g: GridFile): SweepJob[] {
  let points: Array<Record<string, unknown>> = [{}];
  for (const [k, vs] of Object.entries(g.grid)) points = points.flatMap((p) => vs.map((v) => ({ ...p, [k]: v })));
  const jobs: SweepJob[] = [];
  for (const point of points) {
    for (const seed of g.seeds) {
      const index = jobs.length;
      const hash = createHash("sha256").update(JSON.stringify([g.command, g.preset ?? "main", g.base ?? {}, point, seed])).digest("hex").slice(0, 8);
      jobs.push({ index, point, seed, id: `job-${String(index).padStart(4, "0")}-${hash}` });
    }
  }
  return jobs;
}

/** "i/N" -> [i, N], 0 <= i < N. */
export function parseShard(s: string): [number, number] {
  const m = /^(\d+)\/(\d+)$/.exec(s);
  if (!m) throw new ConfigError("--shard", s, 'expected "i/N", e.g. 0/4');
  const i = Number(m[1]);
  const n = Number(m[2]);
  if (n < 1 || i >= n) throw new ConfigError("--shard", s, "need 0 <= i < N");
  return [i, n];
}

export function shardJobs(jobs: readonly SweepJob[], shard: [number, number]): SweepJob[] {
  return jobs.filter((j) => j.index % shard[1] === shard[0]);
}

export function jobDone(out: string, job: SweepJob): boolean {
  return fs.existsSync(path.join(out, job.id, "summary.json"));
}

export interface MergedRow {
  point: Record<string, unknown>;
  method: string;
  seeds: number[];
  samplesToTarget: Array<number | null>;
  /** Median, a miss counted as the cap. */
  median: number;
}

/**
 * Combine the job folders of a sweep folder into rows per (grid point, method). Throws naming the
 * missing jobs unless `allowMissing`.
 */
export function mergeSweep(out: string, allowMissing = false): { grid: GridFile; rows: MergedRow[]; missing: string[] } {
  const sweepFile = path.join(out, "sweep.json");
  if (!fs.existsSync(sweepFile)) throw new ConfigError("--out", out, "has no sweep.json (not a sweep folder)");
  const grid = readJson<GridFile>(sweepFile);
  const jobs = sweepJobs(grid);
  const missing = jobs.filter((j) => !jobDone(out, j)).map((j) => j.id);
  if (missing.length && !allowMissing) {
    throw new ConfigError("--out", out, `${missing.length} of ${jobs.length} jobs have no summary.json yet (first: ${missing[0]}); use --allow-missing to merge what is there`);
  }
  const rows = new Map<string, MergedRow>();
  for (const j of jobs) {
    if (!jobDone(out, j)) continue;
    const s = readJson<{ methods: Record<string, { samplesToTarget: Array<number | null> }>; config: { maxSamples: number } }>(path.join(out, j.id, "summary.json"));
    for (const [method, m] of Object.entries(s.methods)) {
      const key = JSON.stringify([j.point, method]);
      const row = rows.get(key) ?? { point: j.point, method, seeds: [], samplesToTarget: [], median: NaN };
      row.seeds.push(j.seed);
      row.samplesToTarget.push(m.samplesToTarget[0]);
      row.median = median(row.samplesToTarget.map((x) => x ?? s.config.maxSamples));
      rows.set(key, row);
    }
  }
  return { grid, rows: [...rows.values()], missing };
}

export function writeMerged(out: string, merged: ReturnType<typeof mergeSweep>): void {
  writeJsonAtomic(path.join(out, "merged.json"), { grid: merged.grid, missing: merged.missing, rows: merged.rows });
  const keys = Object.keys(merged.grid.grid);
  const head = [...keys, "method", "seed", "samplesToTarget"].join(",");
  const lines = merged.rows.flatMap((r) => r.seeds.map((s, i) => [...keys.map((k) => JSON.stringify(r.point[k])), r.method, s, r.samplesToTarget[i] ?? ""].join(",")));
  writeFileAtomic(path.join(out, "merged.csv"), [head, ...lines].join("\n") + "\n");
}
