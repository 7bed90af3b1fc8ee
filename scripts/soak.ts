/**
 * Soak test (not part of CI): every parity method trains for --steps steps (default 50000) through
 * the real student runner with a run folder (states saved every --save-every evaluations), while
 * the tensor count and the process RSS are sampled at every evaluation. Prints, per method, the
 * tensor count after burn-in and its range afterwards (flat = no leak), and the RSS range.
 *
 *   npx tsx scripts/soak.ts [--steps 50000] [--methods cx,oneshot,progressive,scratch,twoshot]
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../src/backend";
import { PARITY, ParityMethod, resolveParityConfig, trainParityTeacher } from "../src/experiments/parity";
import { runStudent } from "../src/experiments/engine";

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : dflt;
}

async function main(): Promise<void> {
  const steps = Number(arg("steps", "50000"));
  const methods = arg("methods", "cx,oneshot,progressive,scratch,twoshot").split(",") as ParityMethod[];
  const saveEvery = Number(arg("save-every", "10"));
  const backend = await initBackend(process.env.CD_BACKEND ?? "wasm");
  // A small task whose teacher trains in seconds; the student runs to the cap (runToCap).
  const cfg = resolveParityConfig("smoke", {
    n: 20, k: 3, teacherWidth: 128, studentWidth: 16, seeds: [0], teacherMaxSamples: 4e5, ckptEvery: 200,
    evalEvery: 250, heldout: 1024, tapSteps: 500, twoShotSteps: 2000, maxSamples: steps * 32, runToCap: true, methods,
  });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cd-soak-"));
  const teacher = await trainParityTeacher(cfg, 0, { cacheDir: null });
  const mb = (b: number) => Math.round(b / 2 ** 20);
  console.log(`soak: backend ${backend}, ${steps} steps per method, batch ${cfg.batch}, eval every ${cfg.evalEvery}, state saved every ${saveEvery} evaluations`);
  console.log("method       steps   seconds  tensors(before/after burn-in/min/max/end)  rss MB (after burn-in/max/end)");
  try {
    for (const method of methods) {
      const before = tf.memory().numTensors;
      const tensors: number[] = [];
      const rss: number[] = [];
      const t0 = Date.now();
      const onProgress = (e: { kind: string }) => {
        if (e.kind !== "student") return;
        tensors.push(tf.memory().numTensors);
        rss.push(process.memoryUsage().rss);
      };
      const r = await runStudent(PARITY, cfg, 0, method, null, teacher, { onProgress, run: { dir, saveEvery } });
      const seconds = (Date.now() - t0) / 1000;
      const burn = Math.min(4, tensors.length - 1); // after 1000 steps
      const after = tensors.slice(burn);
      const rssAfter = rss.slice(burn);
      const end = tf.memory().numTensors;
      console.log(
        `${method.padEnd(12)} ${String(r.steps).padStart(6)} ${seconds.toFixed(0).padStart(8)}  ` +
          `${before}/${after[0]}/${Math.min(...after)}/${Math.max(...after)}/${end}`.padEnd(43) +
          `${mb(rssAfter[0])}/${mb(Math.max(...rssAfter))}/${mb(rssAfter[rssAfter.length - 1])}`,
      );
      if (Math.max(...after) !== Math.min(...after) || end !== before) console.log(`  ${method}: TENSOR COUNT NOT FLAT`);
    }
  } finally {
    teacher.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
