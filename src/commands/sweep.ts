/** `curriculum-distill sweep --grid FILE --shard i/N --out DIR` and `curriculum-distill merge --out DIR`. */
import * as fs from "node:fs";
import * as path from "node:path";
import { backendIdentity, backendInfo, describeBackend, identityMismatch, initBackend } from "../backend";
import { ConfigError } from "../config";
import { parseArgs } from "../cliArgs";
import { sha256, writeFileAtomic, writeJsonAtomic } from "../io";
import { Interrupted } from "../train/state";
import { DEFAULT_CACHE } from "../experiments/engine";
import { checkFolderArg, contentOf, lockFolder, lockHolder, prepareFolder, removeDeadTmpFolders } from "../experiments/folders";
import { ProgressEvent } from "../experiments/engine";
import { AnyConfig, EXPERIMENTS, isExperimentName } from "../experiments/registry";
import { ExperimentName } from "../experiments/experiment";
import { writeResults } from "../experiments/results";
import { GridFile, SweepJob, claimSweepFile, jobSummary, mergeSweep, mergedFiles, parseGrid, parseShard, readSweepFile, shardJobs, sweepJobs } from "../experiments/sweep";
import { fmtSamples } from "../progress";
import { alignedTable } from "../report/text";
import { RUN_FORMAT, RunFile, checkFinished, readRunRecord, createRunFolder, finishedFile, installStopHandlers, writeRunFile } from "./runFolder";
import { checkBackendName, configText } from "./plan";

export const SWEEP_HELP = `usage: curriculum-distill sweep --grid FILE --out DIR [--shard i/N] [--backend NAME] [--cache DIR] [--force] [--quiet]
       curriculum-distill merge --out DIR [--allow-missing]

sweep runs shard i of N (default 0/1: all) of the jobs of a grid file: one job per (grid point, seed); job j
belongs to shard j mod N and is a run folder DIR/job-<j>-<hash>/ (claimed by one writer, resumable: an
interrupted shard continues where it stopped), so shards can share DIR. Finished jobs are skipped; a corrupt
one is named and re-run. merge combines them into DIR/merged.json and DIR/merged.csv and prints a table.
Experiments: ${Object.keys(EXPERIMENTS).join(", ")}.

grid file (JSON):
  {"command": "parity", "preset": "main", "base": {"methods": ["cx", "oneshot"]},
   "grid": {"tapSteps": [250, 500], "studentWidth": [10, 20]}, "seeds": [0, 1, 2]}
`;

export async function sweepCommand(argv: readonly string[]): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h")) {
    process.stdout.write(SWEEP_HELP);
    return 0;
  }
  const { options } = parseArgs(argv, {}, ["grid", "shard", "out", "backend", "cache"], ["quiet", "force"]);
  if (typeof options.grid !== "string") throw new ConfigError("--grid", null, "required");
  if (typeof options.out !== "string") throw new ConfigError("--out", null, "required");
  if (!fs.existsSync(options.grid) || !fs.statSync(options.grid).isFile()) throw new ConfigError("--grid", options.grid, "no such file");
  const shard = parseShard((options.shard as string | undefined) ?? "0/1");
  const backendName = options.backend as string | undefined;
  checkBackendName(backendName);
  const out = checkFolderArg("--out", options.out);
  const cache = checkFolderArg("--cache", (options.cache as string | undefined) ?? DEFAULT_CACHE);
  // The grid is checked whole (schema, duplicates, job count) before any job is made.
  const grid = parseGrid(fs.readFileSync(options.grid, "utf8"), options.grid);
  if (!isExperimentName(grid.command)) throw new ConfigError("grid.command", grid.command, `expected one of ${Object.keys(EXPERIMENTS).join(", ")}`);
  const exp = EXPERIMENTS[grid.command];
  const jobs = sweepJobs(grid);
  // Every job's config is checked before anything runs or is written, so a bad grid fails at once (exit 2).
  const configs = jobs.map((j) => exp.resolve(grid.preset, { ...(grid.base ?? {}), ...j.point, seeds: [j.seed] }));
  const backend = await initBackend(backendName);
  prepareFolder("--out", out);
  prepareFolder("--cache", cache);
  removeDeadTmpFolders(out); // job folders half-made by killed shards
  removeDeadTmpFolders(cache); // teachers half-published by killed runs
  const log = (s: string) => options.quiet || process.stderr.write(s + "\n");
  // Before the first file is written: a Ctrl-C from here on is a saved stop, never node's default death.
  const stop = installStopHandlers((signal) => log(`${signal}: finishing the current step and saving (again to quit at once)`));
  // One writer at a time claims the folder (the same lock as every command's): sweep.json is created or
  // checked under it; then shards of the same grid share the folder, one writer per job. The claim is brief:
  // the shards of an array start together, and each waits for the others' claims instead of being refused.
  let claim: ReturnType<typeof lockFolder> | undefined;
  try {
    claim = lockFolder("--out", out, "the sweep folder", { brief: true });
    const foreign = contentOf(out).filter((f) => !SWEEP_ENTRY.test(f));
    if (foreign.length > 0 && !fs.existsSync(path.join(out, "sweep.json")))
      throw new ConfigError("--out", options.out, `is not empty and holds no sweep (${foreign[0]}, ...); use another --out`);
    claimSweepFile(out, grid, Boolean(options.force), () => runningJob(out));
  } catch (e) {
    stop.remove();
    throw e;
  } finally {
    claim?.release();
  }
  const mine = shardJobs(jobs, shard);
  log(`sweep: backend ${describeBackend()}; shard ${shard[0]}/${shard[1]}: ${mine.length} of ${jobs.length} jobs`);
  try {
    for (const j of mine) {
      const status = await runJob(exp.name, j, configs[j.index], out, cache, stop.requested, log);
      if (status === "interrupted") {
        log(`interrupted: re-run the same command to continue (finished jobs are skipped, ${j.id} resumes)`);
        return 130;
      }
    }
  } finally {
    stop.remove();
  }
  void backend;
  return 0;
}

/** What a sweep folder may hold besides its jobs' folders. */
const SWEEP_ENTRY = /^(sweep\.json|merged\.json|merged\.csv|job-\d+-[0-9a-f]{8})$/;

/** A job folder of `out` locked by a live process (of any grid), or null. */
function runningJob(out: string): string | null {
  for (const f of fs.readdirSync(out)) if (/^job-/.test(f) && lockHolder(path.join(out, f))) return f;
  return null;
}

async function runJob(
  name: ExperimentName,
  j: SweepJob,
  cfg: AnyConfig,
  out: string,
  cache: string,
  shouldStop: () => boolean,
  log: (s: string) => void,
): Promise<"done" | "skipped" | "interrupted"> {
  const exp = EXPERIMENTS[name];
  const dir = path.join(out, j.id);
  const got = jobSummary(out, j);
  if (got.summary !== null) {
    log(`  ${j.id}: done already, skipped`);
    return "skipped";
  }
  const holder = fs.existsSync(dir) ? lockHolder(dir) : null;
  if (holder) {
    log(`  ${j.id}: being run by process ${holder.pid} on ${holder.host}, skipped`);
    return "skipped";
  }
  if (got.problem) log(`  ${j.id}: corrupt (${got.problem}); running it again`);
  const text = configText(cfg);
  const resumable = !got.problem && fs.existsSync(path.join(dir, "config.json")) && fs.readFileSync(path.join(dir, "config.json"), "utf8") === text;
  const earlier = resumable ? readRunRecord(dir) : null;
  const run: RunFile = earlier ?? {
    format: RUN_FORMAT,
    command: name,
    runId: j.id,
    args: [],
    backend: backendInfo().backend,
    adapter: backendInfo().adapter,
    identity: backendIdentity(),
    status: "running" as const,
    elapsedSeconds: 0,
    created: new Date().toISOString(),
    files: { "config.json": sha256(text) },
  };
  const claim = earlier ? lockFolder("--out", dir, `sweep job ${j.id}`) : createRunFolder(out, j.id, true, text, run);
  try {
    if (earlier) {
      // A job continues only on the backend it started on, with everything it finished still there.
      const mismatch = earlier.identity ? identityMismatch(earlier.identity) : null;
      if (mismatch) throw new ConfigError("--out", dir, `sweep job ${j.id} ${mismatch}; remove ${dir} to run it again here`);
      checkFinished(dir, earlier);
    }
    const finished = new Set(run.finished ?? []);
    const onProgress = (e: ProgressEvent) => {
      const f = finishedFile(dir, e);
      if (f !== null && !finished.has(f)) {
        finished.add(f);
        writeRunFile(dir, { ...run, status: "running", finished: [...finished].sort() });
      }
    };
    const r = await exp.run(cfg, { cacheDir: cache, onProgress, run: { dir, saveEvery: 10, shouldStop } });
    const files = writeResults(dir, cfg, { ...r.result.summary, point: j.point, seed: j.seed, job: j.id }, r.result.runs, r.result.files);
    writeRunFile(dir, { ...run, status: "done", files, finished: [...finished].sort() });
    log(`  ${j.id} ${JSON.stringify(j.point)} seed ${j.seed}: done`);
    return "done";
  } catch (e) {
    if (e instanceof Interrupted) return "interrupted";
    throw e;
  } finally {
    claim.release();
  }
}

export async function mergeCommand(argv: readonly string[]): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h")) {
    process.stdout.write(SWEEP_HELP);
    return 0;
  }
  const { options } = parseArgs(argv, {}, ["out"], ["allow-missing"]);
  if (typeof options.out !== "string") throw new ConfigError("--out", null, "required");
  const out = checkFolderArg("--out", options.out);
  let grid: GridFile | null;
  try {
    grid = readSweepFile(out);
  } catch (e) {
    throw new ConfigError("--out", options.out, e instanceof Error ? e.message : String(e));
  }
  if (!grid) throw new ConfigError("--out", options.out, "has no sweep.json (not a sweep folder)");
  if (!isExperimentName(grid.command)) throw new ConfigError("grid.command", grid.command, `expected one of ${Object.keys(EXPERIMENTS).join(", ")}`);
  const metric = EXPERIMENTS[grid.command].metric;
  const merged = mergeSweep(out, grid, metric, Boolean(options["allow-missing"]), (s) => process.stderr.write(`warning: ${s}\n`));
  if (merged.backends.length > 1)
    process.stderr.write(`warning: the jobs ran on ${merged.backends.length} backends (${merged.backends.join(", ")}); merged.json lists each job's\n`);
  const files = mergedFiles(grid, metric, merged);
  const claim = lockFolder("--out", out, "the sweep folder", { brief: true }); // one writer per folder, merge included
  try {
    writeJsonAtomic(path.join(out, "merged.json"), files.json);
    writeFileAtomic(path.join(out, "merged.csv"), files.csv);
  } finally {
    claim.release();
  }
  const keys = Object.keys(grid.grid);
  const show = (v: number | null) => (v === null ? "not reached" : metric.column === "accuracy" ? v.toFixed(4) : fmtSamples(v));
  process.stdout.write(
    alignedTable(
      [...keys, "method", "median", ...grid.seeds.map((s) => `seed ${s}`)],
      merged.rows.map((r) => [
        ...keys.map((k) => JSON.stringify(r.point[k])),
        r.method,
        show(r.median),
        ...grid!.seeds.map((s) => (r.seeds.includes(s) ? show(r.values[r.seeds.indexOf(s)]) : "missing")),
      ]),
    ) + "\n",
  );
  if (merged.missing.length) process.stdout.write(`missing jobs: ${merged.missing.length}\n`);
  process.stdout.write(`written: ${path.join(out, "merged.json")}, merged.csv\n`);
  return 0;
}
