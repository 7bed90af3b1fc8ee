/**
 * Where the papers'-scale run (the `paper` preset: n 100, k 6, a 50,000-wide teacher at batch 1)
 * stands, as one JSON object for docs/results/paper-scale.json: per seed, the teacher's held-out
 * accuracy at each evaluation so far (from its saved, checksummed state in the run folder, or its
 * finished record), and every finished student's result (from the results folder). The run is
 * resumable and lives outside the checkout; this reads it without touching it.
 *
 *   npx tsx scripts/paper-status.ts --run /work/runs/paper-scale --out /work/results/paper-scale \
 *     --command "<the command that started it>" [--cache DIR] > docs/results/paper-scale.json
 *
 * A finished teacher's curve is read from the teacher cache its run used (the command's --cache, or --cache here).
 * Finished students (students/seed<N>-<method>.result.json, checksummed) are read from the run folder and from
 * every `--students-run DIR`: a run of the same preset that trains some seeds' students from the same cached
 * teachers (while the main run still trains another seed's teacher), named with its command by
 * `--students-command`.
 */
import { lockHolder } from "../src/experiments/folders";
import * as fs from "node:fs";
import * as path from "node:path";
import { z } from "zod";
import { readRecord } from "../src/io";

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const runDir = arg("--run");
const outDir = arg("--out");
if (!runDir) throw new Error("--run DIR is required (the run folder)");

const point = z.object({ samples: z.number(), accuracy: z.number(), loss: z.number() });
const teacherState = z.object({
  position: z.object({ samples: z.number(), step: z.number(), seconds: z.number() }).passthrough(),
  policy: z.object({ curve: z.array(point), hit: z.number().nullable() }).passthrough(),
}).passthrough();
const stateFile = z.object({ data: z.unknown() }).passthrough();

const finishedRecord = z.object({
  entry: z.string(),
  info: z.object({ samples: z.number(), samplesToTarget: z.number().nullable(), seconds: z.number(), stepsPerSecond: z.number().nullable(), attempt: z.number() }).passthrough(),
}).passthrough();
const cacheEntry = z.object({ info: z.object({ curve: z.array(point) }).passthrough() }).passthrough();

/** The run's teacher cache: --cache, else the one its command named. */
function cacheDir(args: string[] | undefined): string | null {
  const i = args?.indexOf("--cache") ?? -1;
  return arg("--cache") ?? (i >= 0 ? args![i + 1] : null);
}

/**
 * Every finished teacher of the run (teachers/seed<N>.json, checksummed, naming its cache entry): its record,
 * and its curve from the cache entry (also checksummed). The batch is 1, so steps are samples.
 */
function finishedTeachers(args: string[] | undefined): unknown[] {
  const dir = path.join(runDir!, "teachers");
  if (!fs.existsSync(dir)) return [];
  const cache = cacheDir(args);
  return fs
    .readdirSync(dir)
    .map((f) => /^seed(\d+)\.json$/.exec(f))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => {
      const rec = readRecord(path.join(dir, m[0]), finishedRecord, "finished teacher record");
      const entry = cache ? path.join(cache, rec.entry, "teacher.json") : null;
      const curve = entry && fs.existsSync(entry) ? readRecord(entry, cacheEntry, "teacher cache entry").info.curve : [];
      return {
        seed: Number(m[1]),
        attempt: rec.info.attempt,
        samples: rec.info.samples,
        steps: rec.info.samples,
        seconds: Math.round(rec.info.seconds),
        stepsPerSecond: rec.info.stepsPerSecond === null ? null : Math.round(rec.info.stepsPerSecond),
        samplesToTarget: rec.info.samplesToTarget,
        curve: curve.map((p) => [p.samples, Math.round(p.accuracy * 1e4) / 1e4]),
      };
    });
}

/** Every teacher attempt's saved state in the run folder: seed, attempt, samples so far, the curve. */
function teachers(): unknown[] {
  const dir = path.join(runDir!, "teachers");
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .map((d) => /^seed(\d+)-attempt(\d+)$/.exec(d))
    .filter((m): m is RegExpExecArray => m !== null && fs.existsSync(path.join(dir, m[0], "state.json")))
    .map((m) => {
      const rec = readRecord(path.join(dir, m[0], "state.json"), stateFile, "teacher state");
      const s = teacherState.parse(rec.data);
      const { samples, step, seconds } = s.position;
      return {
        seed: Number(m[1]),
        attempt: Number(m[2]),
        samples,
        steps: step,
        seconds: Math.round(seconds),
        stepsPerSecond: seconds > 0 ? Math.round(step / seconds) : null,
        samplesToTarget: s.policy.hit,
        curve: s.policy.curve.map((p) => [p.samples, Math.round(p.accuracy * 1e4) / 1e4]),
      };
    });
}

const studentResult = z.object({
  seed: z.number(),
  method: z.string(),
  samplesToTarget: z.number().nullable(),
  samples: z.number(),
  seconds: z.number(),
  stepsPerSecond: z.number().nullable(),
  finalAccuracy: z.number(),
  storedBytes: z.number(),
}).passthrough();

/** Every finished student of the run folder `dir` (its checksummed result records). */
function students(dir: string): unknown[] {
  const sub = path.join(dir, "students");
  if (!fs.existsSync(sub)) return [];
  const run = JSON.parse(fs.readFileSync(path.join(dir, "run.json"), "utf8")) as { runId?: string };
  return fs
    .readdirSync(sub)
    .filter((f) => /^seed\d+-[a-z0-9]+\.result\.json$/.test(f))
    .map((f) => {
      const r = readRecord(path.join(sub, f), studentResult, "student result");
      return {
        run: run.runId ?? path.basename(dir),
        seed: r.seed,
        method: r.method,
        samplesToTarget: r.samplesToTarget,
        samples: r.samples,
        seconds: Math.round(r.seconds),
        stepsPerSecond: r.stepsPerSecond === null ? null : Math.round(r.stepsPerSecond),
        finalAccuracy: Math.round(r.finalAccuracy * 1e4) / 1e4,
        storedBytes: r.storedBytes,
      };
    });
}

const extraRuns = process.argv.flatMap((a, i, all) => (a === "--students-run" && all[i + 1] ? [all[i + 1]] : []));
const summaryFile = outDir ? path.join(outDir, "summary.json") : null;
const summary = summaryFile && fs.existsSync(summaryFile) ? JSON.parse(fs.readFileSync(summaryFile, "utf8")) : null;
const run = JSON.parse(fs.readFileSync(path.join(runDir, "run.json"), "utf8")) as { status?: string; args?: string[]; runId?: string };
process.stdout.write(
  `${JSON.stringify(
    {
      command: arg("--command") ?? null,
      source: "run folder",
      sourceNote: "the run folder's checksummed teacher states and the results folder's summary.json, read by scripts/paper-status.ts",
      resume: `curriculum-distill parity --resume ${run.runId ?? path.basename(runDir)} --runs-dir ${path.dirname(path.resolve(runDir))}`,
      // run.json's status is written when a run stops; while one runs, its results folder's lock names it.
      status: outDir && lockHolder(outDir) !== null ? "running" : (run.status ?? null),
      measured: new Date().toISOString(),
      teachers: [...finishedTeachers(run.args), ...teachers()].sort((a, b) => (a as { seed: number }).seed - (b as { seed: number }).seed),
      students: [runDir, ...extraRuns].flatMap(students).sort((a, b) => {
        const [x, y] = [a as { seed: number; method: string }, b as { seed: number; method: string }];
        return x.seed - y.seed || x.method.localeCompare(y.method);
      }),
      studentsCommand: arg("--students-command") ?? null,
      // The settings the students' table states (the run folder's config.json).
      config: (() => {
        const c = JSON.parse(fs.readFileSync(path.join(runDir, "config.json"), "utf8")) as Record<string, unknown>;
        return { batch: c.batch, lr: c.lr, studentWidth: c.studentWidth, targetAccuracy: c.targetAccuracy, maxSamples: c.maxSamples, methods: c.methods, seeds: c.seeds };
      })(),
      summary,
    },
    null,
    1,
  )}\n`,
);
