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
import { FileError, canonicalJson, hashKey, readRecord, sha256, writeRecord, writeRecordExclusive } from "../io";
import { csvText, median } from "./results";

/** At most this many jobs in one grid (points x seeds): checked before any job is resolved. */
export const MAX_JOBS = 10_000;
/** Keys that would reach an object's prototype: refused anywhere in a grid file. */
const PROTO_KEYS = new Set(["__proto__", "constructor", "prototype"]);

const GRID = z
  .object({
    command: z.string(),
    preset: z.string().optional(),
    /** Config values shared by every job (not "seeds": those are the top-level list). */
    base: z.record(z.unknown()).optional(),
    /** field -> the values it takes (each once); jobs are the cartesian product. */
    grid: z.record(z.array(z.unknown()).nonempty()),
    seeds: z.array(z.number().int().nonnegative()).nonempty(),
  })
  .strict()
  .superRefine((g, ctx) => {
    const issue = (path: Array<string | number>, message: string) => ctx.addIssue({ code: z.ZodIssueCode.custom, path, message });
    if (g.base && Object.hasOwn(g.base, "seeds")) issue(["base", "seeds"], 'seeds go in the top-level "seeds" list, not in base');
    if (Object.hasOwn(g.grid, "seeds")) issue(["grid", "seeds"], 'seeds go in the top-level "seeds" list, not in grid');
    for (const k of Object.keys(g.grid)) if (g.base && Object.hasOwn(g.base, k)) issue(["base", k], `${k} is in both base and grid (the grid's values would replace it)`);
    const seen = new Set<number>();
    for (const s of g.seeds) {
      if (seen.has(s)) issue(["seeds"], `seed ${s} is listed twice (the same job would run twice)`);
      seen.add(s);
    }
    for (const [k, vs] of Object.entries(g.grid)) {
      const texts = new Set<string>();
      for (const v of vs) {
        const t = canonicalJson(v);
        if (texts.has(t)) issue(["grid", k], `value ${t} is listed twice (the same job would run twice)`);
        texts.add(t);
      }
    }
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

/** The first prototype key (`__proto__`, `constructor`, `prototype`) anywhere in a parsed JSON value, with its path. */
function protoKey(v: unknown, at: string[] = []): string[] | null {
  if (!v || typeof v !== "object") return null;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const found = typeof v[i] === "object" ? protoKey(v[i], [...at, String(i)]) : null;
      if (found) return found;
    }
    return null;
  }
  for (const k of Object.keys(v)) {
    if (PROTO_KEYS.has(k)) return [...at, k];
    const found = protoKey((v as Record<string, unknown>)[k], [...at, k]);
    if (found) return found;
  }
  return null;
}

/** How many jobs a grid makes (points x seeds), without making them. */
export function jobCount(g: Pick<GridFile, "grid" | "seeds">): number {
  return Object.values(g.grid).reduce((n, vs) => n * vs.length, 1) * g.seeds.length;
}

/**
 * A grid file's text, checked: one ConfigError line naming the bad part. Strict: unknown keys,
 * prototype keys, duplicate values or seeds, seeds in base or grid, a field in both base and grid,
 * and more than MAX_JOBS jobs are refused (the count before any job is made).
 */
export function parseGrid(text: string, file: string): GridFile {
  let g: unknown;
  try {
    g = JSON.parse(text);
  } catch (e) {
    throw new ConfigError("--grid", file, `not valid JSON (${(e as Error).message.split("\n")[0]})`);
  }
  // The job count first, from the raw lists (a huge grid is refused at once, before it is parsed).
  const raw = g as { grid?: unknown; seeds?: unknown } | null;
  if (raw && typeof raw === "object" && raw.grid && typeof raw.grid === "object" && Array.isArray(raw.seeds)) {
    const lists = Object.values(raw.grid).filter(Array.isArray);
    const n = lists.reduce((m, vs) => m * vs.length, 1) * raw.seeds.length;
    if (n > MAX_JOBS) throw new ConfigError("grid", file, `makes ${n} jobs (grid points x seeds); at most ${MAX_JOBS} per grid file (split it)`);
  }
  const proto = protoKey(g);
  if (proto) throw new ConfigError(`grid.${proto.join(".")}`, file, "a prototype key is not a config field");
  const r = GRID.safeParse(g);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new ConfigError(`grid.${i.path.join(".")}`.replace(/\.$/, ""), file, i.message);
  }
  return r.data;
}

/** Every (grid point, seed) in a fixed order: points in row-major order of the grid's keys, then seeds. */
export function sweepJobs(g: GridFile): SweepJob[] {
  if (jobCount(g) > MAX_JOBS) throw new ConfigError("grid", jobCount(g), `at most ${MAX_JOBS} jobs`);
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
const JOB_RUN = z.object({ status: z.string(), backend: z.string(), files: z.record(z.string()), identity: z.object({ key: z.string() }).passthrough().optional() }).passthrough();

/** The sweep folder's grid (sweep.json, checksummed); null when there is none. Throws FileError when corrupt. */
export function readSweepFile(out: string): GridFile | null {
  const file = path.join(out, "sweep.json");
  if (!fs.existsSync(file)) return null;
  return readRecord(file, SWEEP, "sweep file").grid;
}

/**
 * Create sweep.json exclusively (a complete file linked into place: of two sweeps racing on one
 * empty folder, exactly one creates it), or check that the one there holds the same grid (a
 * different grid: refused unless `force`; then replaced, unless a job of it is running). Call with
 * the folder locked.
 */
export function claimSweepFile(out: string, grid: GridFile, force: boolean, jobRunning: () => string | null): void {
  const file = path.join(out, "sweep.json");
  let existing: GridFile | null = null;
  try {
    existing = readSweepFile(out);
  } catch (e) {
    if (!(e instanceof FileError) || !force) throw new ConfigError("--out", out, `${e instanceof FileError ? e.message : String(e)}; use --force to replace it`);
  }
  if (existing && canonicalJson(existing) === canonicalJson(grid)) return;
  if (existing && !force) throw new ConfigError("--out", out, "holds a sweep of another grid (sweep.json differs; use another --out, or --force to replace it)");
  if (existing || fs.existsSync(file)) {
    const running = jobRunning();
    if (running) throw new ConfigError("--out", out, `holds a sweep whose job ${running} is running; --force cannot replace its grid now`);
    writeRecord(file, { format: "curriculum-distill/sweep@2", grid });
    return;
  }
  if (!writeRecordExclusive(file, { format: "curriculum-distill/sweep@2", grid })) {
    // Created meanwhile by another sweep: the same grid is fine, another is refused.
    claimSweepFile(out, grid, false, jobRunning);
  }
}

/** A finished job's summary.json (verified), or null when unfinished; `problem` says why a job that exists does not count. */
export function jobSummary(out: string, job: SweepJob): { summary: unknown; problem: null; backend: string } | { summary: null; problem: string | null } {
  const dir = path.join(out, job.id);
  if (!fs.existsSync(path.join(dir, "run.json"))) return { summary: null, problem: null };
  try {
    const run = readRecord(path.join(dir, "run.json"), JOB_RUN, "job run file");
    if (run.status !== "done") return { summary: null, problem: null };
    const file = path.join(dir, "summary.json");
    const text = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "";
    if (sha256(text) !== run.files["summary.json"]) return { summary: null, problem: `${file}: missing or does not match the checksum in run.json` };
    return { summary: JSON.parse(text), problem: null, backend: run.identity?.key ?? run.backend };
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
export function mergeSweep(
  out: string,
  grid: GridFile,
  metric: SweepMetric,
  allowMissing: boolean,
  warn: (s: string) => void,
): { rows: MergedRow[]; missing: string[]; backends: string[]; jobBackends: Record<string, string> } {
  const jobs = sweepJobs(grid);
  const missing: string[] = [];
  const rows = new Map<string, MergedRow>();
  const backends: Record<string, string> = {};
  for (const j of jobs) {
    const got = jobSummary(out, j);
    const { summary, problem } = got;
    if (problem) warn(`job ${j.id} is corrupt, counted as missing (re-run its shard to repair it): ${problem}`);
    if (summary === null) {
      missing.push(j.id);
      continue;
    }
    if ("backend" in got) backends[j.id] = got.backend;
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
  return { rows: [...rows.values()], missing, backends: [...new Set(Object.values(backends))].sort(), jobBackends: backends };
}

/** merged.json and merged.csv (list-valued grid fields written as JSON, quoted by csv-stringify). */
export function mergedFiles(
  grid: GridFile,
  metric: SweepMetric,
  merged: { rows: MergedRow[]; missing: string[]; backends?: string[]; jobBackends?: Record<string, string> },
): { json: unknown; csv: string } {
  const keys = Object.keys(grid.grid);
  const rows = merged.rows.map((r) => ({ point: r.point, method: r.method, seeds: r.seeds, [metric.column]: r.values, median: r.median }));
  const cell = (v: unknown) => (typeof v === "string" ? v : JSON.stringify(v));
  const lines = merged.rows.flatMap((r) => r.seeds.map((s, i) => [...keys.map((k) => cell(r.point[k])), r.method, s, r.values[i] ?? ""]));
  return {
    json: { grid, missing: merged.missing, backends: merged.backends, jobBackends: merged.jobBackends, rows },
    csv: csvText([...keys, "method", "seed", metric.column], lines),
  };
}
