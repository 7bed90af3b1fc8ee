/** `curriculum-distill sweep --grid FILE --shard i/N --out DIR` and `curriculum-distill merge --out DIR`. */
import * as fs from "node:fs";
import * as path from "node:path";
import { initBackend } from "../backend";
import { ConfigError } from "../config";
import { parseArgs } from "../cliArgs";
import { writeJsonAtomic } from "../io";
import { TRANSFORMER_PARITY } from "../experiments/families";
import { CommonParityConfig, MLP_PARITY, ParityFamily, runParity } from "../experiments/parity";
import { resolveParityConfig } from "../experiments/parityConfig";
import { resolveParityTransformerConfig } from "../experiments/parityTransformerConfig";
import { writeResults } from "../experiments/results";
import { jobDone, mergeSweep, parseGrid, parseShard, shardJobs, sweepJobs, writeMerged } from "../experiments/sweep";
import { fmtSamples } from "../progress";
import { alignedTable } from "../report/text";

export const SWEEP_HELP = `usage: curriculum-distill sweep --grid FILE --out DIR [--shard i/N] [--backend NAME] [--quiet]
       curriculum-distill merge --out DIR [--allow-missing]

sweep runs shard i of N (default 0/1: all) of the jobs of a grid file: one job per (grid point, seed), job j
belongs to shard j mod N and writes only its own folder DIR/job-<j>-<hash>/ (config.json, curves.csv,
summary.json), so shards can share DIR. Finished jobs are skipped. merge combines them into DIR/merged.json
and DIR/merged.csv and prints a table.

grid file (JSON):
  {"command": "parity", "preset": "main", "base": {"methods": ["cx", "oneshot"]},
   "grid": {"p1Steps": [250, 500], "studentWidth": [10, 20]}, "seeds": [0, 1, 2]}
`;

const FAMILIES: Record<string, { family: ParityFamily<CommonParityConfig>; resolve: (p: string | undefined, o: Record<string, unknown>) => Readonly<CommonParityConfig> }> = {
  parity: { family: MLP_PARITY as unknown as ParityFamily<CommonParityConfig>, resolve: resolveParityConfig },
  "parity-transformer": { family: TRANSFORMER_PARITY as unknown as ParityFamily<CommonParityConfig>, resolve: resolveParityTransformerConfig },
};

export async function sweepCommand(argv: readonly string[]): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h")) {
    process.stdout.write(SWEEP_HELP);
    return 0;
  }
  const { options } = parseArgs(argv, {}, ["grid", "shard", "out", "backend", "cache"], ["quiet"]);
  if (typeof options.grid !== "string") throw new ConfigError("--grid", null, "required");
  if (typeof options.out !== "string") throw new ConfigError("--out", null, "required");
  if (!fs.existsSync(options.grid)) throw new ConfigError("--grid", options.grid, "no such file");
  const grid = parseGrid(fs.readFileSync(options.grid, "utf8"), options.grid);
  const fam = FAMILIES[grid.command];
  if (!fam) throw new ConfigError("grid.command", grid.command, `expected one of ${Object.keys(FAMILIES).join(", ")}`);
  const shard = parseShard((options.shard as string | undefined) ?? "0/1");
  const jobs = sweepJobs(grid);
  // Validate every job's config before running any, so a bad grid fails at once (exit 2).
  const configs = jobs.map((j) => fam.resolve(grid.preset, { ...(grid.base ?? {}), ...j.point, seeds: [j.seed] }));
  const out = options.out;
  writeJsonAtomic(path.join(out, "sweep.json"), grid); // identical content from every shard
  const backend = await initBackend(options.backend as string | undefined);
  const mine = shardJobs(jobs, shard);
  const log = (s: string) => options.quiet || process.stderr.write(s + "\n");
  log(`sweep: backend ${backend}; shard ${shard[0]}/${shard[1]}: ${mine.length} of ${jobs.length} jobs`);
  for (const j of mine) {
    if (jobDone(out, j)) {
      log(`  ${j.id}: done already, skipped`);
      continue;
    }
    const cfg = configs[j.index];
    const r = await runParity(cfg, { cacheDir: (options.cache as string | undefined) ?? "data/cache/teachers" }, fam.family);
    writeResults(path.join(out, j.id), cfg, { ...r.summary, point: j.point, seed: j.seed, job: j.id }, r.runs);
    log(`  ${j.id} ${JSON.stringify(j.point)} seed ${j.seed}: ${Object.entries(r.summary.methods).map(([m, s]) => `${m} ${fmtSamples(s.samplesToTarget[0])}`).join(", ")}`);
  }
  return 0;
}

export async function mergeCommand(argv: readonly string[]): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h")) {
    process.stdout.write(SWEEP_HELP);
    return 0;
  }
  const { options } = parseArgs(argv, {}, ["out"], ["allow-missing"]);
  if (typeof options.out !== "string") throw new ConfigError("--out", null, "required");
  const merged = mergeSweep(options.out, Boolean(options["allow-missing"]));
  writeMerged(options.out, merged);
  const keys = Object.keys(merged.grid.grid);
  process.stdout.write(
    alignedTable(
      [...keys, "method", "median", ...merged.grid.seeds.map((s) => `seed ${s}`)],
      merged.rows.map((r) => [...keys.map((k) => String(r.point[k])), r.method, fmtSamples(r.median), ...merged.grid.seeds.map((s) => {
        const i = r.seeds.indexOf(s);
        return i < 0 ? "missing" : r.samplesToTarget[i] === null ? "not reached" : fmtSamples(r.samplesToTarget[i]);
      })]),
    ) + "\n",
  );
  if (merged.missing.length) process.stdout.write(`missing jobs: ${merged.missing.length}\n`);
  process.stdout.write(`written: ${path.join(options.out, "merged.json")}, merged.csv\n`);
  return 0;
}
