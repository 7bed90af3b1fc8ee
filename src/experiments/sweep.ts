/**
 * Sweeps that outgrow one machine: a grid of config settings x seeds becomes a list of jobs; a shard
 * i/N runs the jobs j with j mod N = i, each in its own run folder (`<out>/job-<j>-<hash>/`, claimed
 * by one writer, resumable), so shards writing to one shared folder never collide; `mergeSweep`
 * combines the finished jobs. A job counts as finished only when its run.json (checksummed) says
 * so and its summary.json matches the checksum recorded there; a corrupt job is reported by name
 * and treated as missing, so re-running its shard repairs it.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { z } from "zod";
import { ConfigError } from "../config";
import { FileError, canonicalJson, hashKey, readRecord, sha256, writeRecord } from "../io";
import { csvText, median } from "./results";

const GRID = z.object({
  command: z.string(),
  preset: z.string().optional(),
  base: z.record(z.unknown()).optional(),
  grid: z.record(z.array(z.unknown()).nonempty()),
  seeds: z.array(z.number().int().nonnegative()).nonempty(),
});
export type GridFile = z.infer<typeof GRID>;

export interface SweepJob {
  index: number;
  /** The grid point: field -> value. */
  point: Record<string, unknown>;
  seed: number;
  /** Folder name, unique per job. */
  id: string;
}

/** A grid file's text, checked: one ConfigError line naming the bad part. */
export function parseGrid(text: string, file: string): GridFile {
  let g: unknown;
  try {
    g = JSON.parse(text);
  } catch (e) {
    throw new ConfigError("--grid", file, `not valid JSON (${(e as Error).message.split("\n")[0]})`);
  }
  const r = GRID.safeParse(g);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new ConfigError(`grid.${i.path.join(".")}`.replace(/\.$/, ""), null, i.message);
  }
  return r.data;
}

/** Every (grid point, seed) in a fixed order: points in row-major order of the grid's keys, then seeds. */
export function sweepJobs(g: GridFile): SweepJob[] {
  let points: Array<Record<string, unknown>> = [{}];
  for (const [k, vs] of Object.entries(g.grid)) points = points.flatMap((p) => vs.map((v) => ({ ...p, [k]: v })));
  const jobs: SweepJob[] = [];
  for (const point of points) {
    for (const seed of g.seeds) {
      const index = jobs.length;
      const hash = hashKey([g.command, g.preset ?? "main", g.base ?? {}, point, seed]).slice(0, 8);
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

const SWEEP = z.object({ format: z.literal("curriculum-distill/sweep@2"), grid: GRID });
const JOB_RUN = z.object({ status: z.string(), files: z.record(z.string()) }).passthrough();

/** The sweep folder's grid (sweep.json, checksummed); null when there is none. Throws FileError when corrupt. */
export function readSweepFile(out: string): GridFile | null {
  const file = path.join(out, "sweep.json");
  if (!fs.existsSync(file)) return null;
  return readRecord(file, SWEEP, "sweep file").grid;
}

/** Write sweep.json, or check that the one there holds the same grid (a different grid: refused unless `force`). */
export function claimSweepFile(out: string, grid: GridFile, force: boolean): void {
  let existing: GridFile | null = null;
  try {
    existing = readSweepFile(out);
  } catch (e) {
    if (!(e instanceof FileError) || !force) throw new ConfigError("--out", out, `${e instanceof FileError ? e.message : String(e)}; use --force to replace it`);
  }
  if (existing && canonicalJson(existing) !== canonicalJson(grid) && !force)
    throw new ConfigError("--out", out, "holds a sweep of another grid (sweep.json differs; use another --out, or --force to replace it)");
  if (!existing || canonicalJson(existing) !== canonicalJson(grid)) writeRecord(path.join(out, "sweep.json"), { format: "curriculum-distill/sweep@2", grid });
}

/** A finished job's summary.json (verified), or null when unfinished; `problem` says why a job that exists does not count. */
export function jobSummary(out: string, job: SweepJob): { summary: unknown; problem: null } | { summary: null; problem: string | null } {
  const dir = path.join(out, job.id);
  if (!fs.existsSync(path.join(dir, "run.json"))) return { summary: null, problem: null };
  try {
    const run = readRecord(path.join(dir, "run.json"), JOB_RUN, "job run file");
    if (run.status !== "done") return { summary: null, problem: null };
    const file = path.join(dir, "summary.json");
    const text = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "";
    if (sha256(text) !== run.files["summary.json"]) return { summary: null, problem: `${file}: missing or does not match the checksum in run.json` };
    return { summary: JSON.parse(text), problem: null };
  } catch (e) {
    return { summary: null, problem: e instanceof Error ? e.message : String(e) };
  }
}

/** How merge reads one method's value for one job from its summary.json. */
export interface SweepMetric {
  /** Column name in merged.csv and merged.json ("samplesToTarget", "accuracy"). */
  column: string;
  read(summary: unknown, method: string): { value: number | null; cap: number | null } | null;
}

export interface MergedRow {
  point: Record<string, unknown>;
  method: string;
  seeds: number[];
  values: Array<number | null>;
  /** Median; a miss counts as the cap. */
  median: number;
}

/** Combine the finished jobs of a sweep folder into rows per (grid point, method). */
export function mergeSweep(out: string, grid: GridFile, metric: SweepMetric, allowMissing: boolean, warn: (s: string) => void): { rows: MergedRow[]; missing: string[] } {
  const jobs = sweepJobs(grid);
  const missing: string[] = [];
  const rows = new Map<string, MergedRow>();
  for (const j of jobs) {
    const { summary, problem } = jobSummary(out, j);
    if (problem) warn(`job ${j.id} is corrupt, counted as missing (re-run its shard to repair it): ${problem}`);
    if (summary === null) {
      missing.push(j.id);
      continue;
    }
    for (const method of Object.keys((summary as { methods?: object }).methods ?? {})) {
      const got = metric.read(summary, method);
      if (!got) continue;
      const key = canonicalJson([j.point, method]);
      const row = rows.get(key) ?? { point: j.point, method, seeds: [], values: [], median: NaN };
      row.seeds.push(j.seed);
      row.values.push(got.value);
      row.median = median(row.values.map((x) => x ?? got.cap ?? NaN));
      rows.set(key, row);
    }
  }
  if (missing.length && !allowMissing) {
    throw new ConfigError("--out", out, `${missing.length} of ${jobs.length} jobs are not finished yet (first: ${missing[0]}); use --allow-missing to merge what is there`);
  }
  return { rows: [...rows.values()], missing };
}

/** merged.json and merged.csv (list-valued grid fields written as JSON, quoted by csv-stringify). */
export function mergedFiles(grid: GridFile, metric: SweepMetric, merged: ReturnType<typeof mergeSweep>): { json: unknown; csv: string } {
  const keys = Object.keys(grid.grid);
  const rows = merged.rows.map((r) => ({ point: r.point, method: r.method, seeds: r.seeds, [metric.column]: r.values, median: r.median }));
  const cell = (v: unknown) => (typeof v === "string" ? v : JSON.stringify(v));
  const lines = merged.rows.flatMap((r) => r.seeds.map((s, i) => [...keys.map((k) => cell(r.point[k])), r.method, s, r.values[i] ?? ""]));
  return { json: { grid, missing: merged.missing, rows }, csv: csvText([...keys, "method", "seed", metric.column], lines) };
}
