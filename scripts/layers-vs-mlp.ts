/**
 * Issue 17's done criterion, measured: on the headline configuration (parity preset `main`: n=50,
 * k=5, teacher 1000, student 20, SGD 0.1, batch 32, cx with 500 tap steps at 0.05), curriculum
 * extraction through `fromLayersModel` + `distill` against the project's own MLP, seed by seed.
 *
 *   npx tsx scripts/layers-vs-mlp.ts [--seeds 0,1,2,3] [--cache data/cache/teachers] [--backend wasm]
 *
 * Per seed, both arms use the same teacher (the project's, trained or read from the cache, its
 * weights copied into a tf.sequential for the layers arm), the same student initialisation (drawn
 * from the same stream: createMlpLayers draws as createMlp does), the same training batches and the
 * same 4096-sample held-out set. What differs: the layers arm runs tfjs-layers' forward pass with
 * autodiff gradients through the adapter, and distill() draws its own random projection (seed
 * stream "distill", the experiment's is "student/projection"). Samples to 95% are counted at the
 * evaluations (every 250 steps), phase-1 samples included, as in the experiments.
 */
import * as tf from "@tensorflow/tfjs";
import { distill } from "../src/api";
import { BackendName, initBackend } from "../src/backend";
import { parityDataset, parityTensors } from "../src/data/parityDataset";
import { parityTask } from "../src/data/sparseParity";
import { trainTeacher } from "../src/experiments/engine";
import { PARITY, resolveParityConfig, runParity } from "../src/experiments/parity";
import { fromLayersModel } from "../src/models/layers";
import { Mlp } from "../src/models/mlp";
import { createMlpLayers } from "../src/models/mlpLayers";
import { fmtSamples } from "../src/progress";
import { rootRng } from "../src/rng";

function flag(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : dflt;
}

async function main(): Promise<void> {
  const seeds = flag("seeds", "0,1,2,3").split(",").map(Number);
  const cacheDir = flag("cache", "data/cache/teachers");
  const backend = await initBackend(flag("backend", "wasm") as BackendName);
  const cfg = resolveParityConfig("main", { seeds, methods: ["cx"] });
  console.log(`backend ${backend}; preset main: n=${cfg.n} k=${cfg.k} teacher ${cfg.teacherWidth} student ${cfg.studentWidth}, cx tapSteps ${cfg.tapSteps} at ${cfg.tapLr}, SGD ${cfg.lr}, batch ${cfg.batch}, eval every ${cfg.evalEvery} steps, cap ${fmtSamples(cfg.maxSamples)}`);
  const rows: Array<{ seed: number; mlp: number | null; layers: number | null; layersSeconds: number }> = [];
  for (const seed of seeds) {
    const one = resolveParityConfig("main", { seeds: [seed], methods: ["cx"] });
    const ours = await runParity(one, { cacheDir, workers: 1 });
    const mlp = ours.summary.methods.cx.samplesToTarget[0] ?? null;

    const teacher = await trainTeacher(PARITY, one, seed, { cacheDir });
    const rng = rootRng(seed);
    const task = parityTask(cfg.n, cfg.k);
    const teacherLayers = createMlpLayers({ inputDim: cfg.n, width: cfg.teacherWidth, outputDim: 2 }, { name: "teacher", from: teacher.model as Mlp });
    const studentLayers = createMlpLayers({ inputDim: cfg.n, width: cfg.studentWidth, outputDim: 2 }, { name: "student", rng: rng.derive("student", "init") });
    const validation = parityTensors(task, rng.derive("heldout"), cfg.heldout);
    let hit: number | null = null;
    const r = await distill({
      teacher: fromLayersModel(teacherLayers),
      student: fromLayersModel(studentLayers),
      data: parityDataset(task, rng.derive("student", "data"), cfg.batch),
      method: "cx",
      budget: { samples: cfg.maxSamples },
      pairs: [{ teacherTap: "hidden", studentTap: "hidden" }],
      tapSteps: cfg.tapSteps,
      tapOptimizer: { kind: "sgd", lr: cfg.tapLr },
      optimizer: { kind: "sgd", lr: cfg.lr },
      tau: cfg.tau,
      seed,
      validation,
      evalEvery: cfg.evalEvery,
      until: (e) => {
        if (hit === null && e.accuracy >= cfg.targetAccuracy) hit = e.samples;
        return hit !== null;
      },
    });
    rows.push({ seed, mlp, layers: hit, layersSeconds: r.seconds });
    console.log(`seed ${seed}: project MLP cx ${fmtSamples(mlp)}, fromLayersModel + distill cx ${hit === null ? `not reached by ${fmtSamples(r.samples)}` : fmtSamples(hit)} (${r.seconds.toFixed(0)} s)`);
    tf.dispose([validation.xs, validation.ys]);
    teacherLayers.dispose();
    studentLayers.dispose();
    teacher.dispose();
  }
  const reached = rows.map((r) => r.mlp).filter((x): x is number => x !== null);
  const lo = Math.min(...reached);
  const hi = Math.max(...reached);
  const inside = rows.filter((r) => r.layers !== null && r.layers >= lo && r.layers <= hi).length;
  console.log(`project MLP spread over seeds ${seeds.join(",")}: ${fmtSamples(lo)}..${fmtSamples(hi)}; fromLayersModel + distill runs inside it: ${inside} of ${rows.length}`);
  console.log(JSON.stringify({ seeds, rows }));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
