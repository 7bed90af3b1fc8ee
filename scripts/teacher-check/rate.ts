/**
 * Teacher success rate: trains only the teacher of each seed (one initialisation, no cache, no
 * students) and prints one JSON line per seed with the samples to its target (null: missed within
 * the cap). Config flags are the experiment's own (`--n 16 --teacher-max-samples 4e5`, camelCase or
 * kebab-case); `--attempt A` trains initialisation A (0 = the first, as a run's first try).
 *
 *   npx tsx scripts/teacher-check/rate.ts parity-transformer --preset main --seeds 0,1,2 [--teacher-extra-ckpts 0]
 *   npx tsx scripts/teacher-check/rate.ts parity --preset main --seeds 0,1,2
 */
import { initBackend } from "../../src/backend";
import { TeacherEvent, obtainTeacher } from "../../src/experiments/teachers";
import { PARITY } from "../../src/experiments/parityExperiment";
import { PARITY_TRANSFORMER } from "../../src/experiments/parityTransformer";
import { resolveExperiment } from "../../src/experiments/experiment";

async function main() {
  const [name, ...rest] = process.argv.slice(2);
  const exp = (name === "parity" ? PARITY : PARITY_TRANSFORMER) as typeof PARITY_TRANSFORMER;
  const flags: Record<string, string> = {};
  for (let i = 0; i < rest.length; i += 2) flags[rest[i].replace(/^--/, "").replace(/-([a-z])/g, (_, c) => c.toUpperCase())] = rest[i + 1];
  const preset = flags.preset ?? "main";
  const seeds = (flags.seeds ?? "0").split(",").map(Number);
  const attempt = Number(flags.attempt ?? "0");
  const overrides: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(flags)) if (!["preset", "seeds", "attempt", "backend"].includes(k)) overrides[k] = Number.isNaN(Number(v)) ? v : Number(v);
  await initBackend(flags.backend ?? process.env.CD_BACKEND);
  const cfg = resolveExperiment(exp, preset, overrides);
  for (const seed of seeds) {
    const t0 = Date.now();
    // Progress on stderr every 16 evaluations (64k samples at the default 64 steps x batch 64).
    let evals = 0;
    const onEval = (e: TeacherEvent) => {
      if (e.kind === "eval" && ++evals % 16 === 0) process.stderr.write(`seed ${seed}: ${e.samples} samples, accuracy ${e.accuracy.toFixed(4)}, ${e.seconds.toFixed(0)} s\n`);
    };
    // allowFailed: a teacher that misses its target is a result here (samplesToTarget null), not a stop.
    const t = await obtainTeacher(seed, (a) => exp.teacher(cfg, seed, null, a + attempt), 0, { cacheDir: null, allowFailed: true }, onEval);
    const i = t.info;
    const out = { impl: "ours", exp: name, preset, ...overrides, seed, attempt, samplesToTarget: i.samplesToTarget, samples: i.samples, accuracy: i.accuracy, seconds: (Date.now() - t0) / 1000 };
    process.stdout.write(`${JSON.stringify(out)}\n`);
    t.dispose();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
