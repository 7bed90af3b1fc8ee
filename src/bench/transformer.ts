/**
 * Transformer training-step benchmark: one forward + backward + Adam update, ms per step, for the
 * parity and masked-LM configs of PAPER.md, on each backend.
 *
 *   npx tsx src/bench/transformer.ts            (wasm and cpu)
 *   CD_BENCH_BACKENDS=wasm npx tsx src/bench/transformer.ts
 *
 * PyTorch reference (one thread, same machine): parity teacher 18 ms, student 5 ms; MLM teacher 276 ms,
 * student 53 ms.
 */
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../backend";
import { createTransformer, parameterCount, TransformerConfig } from "../models/transformer";
import { Rng } from "../rng";

interface BenchCase {
  name: string;
  cfg: TransformerConfig;
  batch: number;
  /** PyTorch one-thread reference, ms per step. */
  torchMs: number;
}

const PARITY = { vocabSize: 2, seqLen: 20, nLayers: 2, head: "classify", numClasses: 2 } as const;
const MLM = { vocabSize: 8000, seqLen: 64, nLayers: 4, head: "lm", tiedEmbeddings: true } as const;

export const BENCH_CASES: readonly BenchCase[] = [
  { name: "parity teacher (64/8h x2)", cfg: { ...PARITY, dModel: 64, nHeads: 8 }, batch: 64, torchMs: 18 },
  { name: "parity student (16/2h x2)", cfg: { ...PARITY, dModel: 16, nHeads: 2 }, batch: 64, torchMs: 5 },
  { name: "MLM teacher (128/4h x4)", cfg: { ...MLM, dModel: 128, nHeads: 4 }, batch: 64, torchMs: 276 },
  { name: "MLM student (32/2h x4)", cfg: { ...MLM, dModel: 32, nHeads: 2 }, batch: 64, torchMs: 53 },
];

/** Time `steps` Adam steps (after `warmup`) and return ms per step. */
function timeCase(c: BenchCase, rng: Rng, warmup: number, steps: number): { msPerStep: number; params: number; loss: number } {
  const model = createTransformer(c.cfg, rng.derive(c.name));
  const opt = tf.train.adam(1e-3);
  const { batch } = c;
  const seq = c.cfg.seqLen;
  const V = c.cfg.vocabSize;
  const ids = Int32Array.from({ length: batch * seq }, () => rng.int(V));
  const x = tf.tensor2d(ids, [batch, seq], "int32");
  let lossFn: () => tf.Scalar;
  let extra: tf.Tensor[] = [];
  if (c.cfg.head === "classify") {
    const labels = tf.oneHot(tf.tensor1d(Array.from({ length: batch }, () => rng.int(2)), "int32"), 2);
    extra = [labels];
    lossFn = () => tf.losses.softmaxCrossEntropy(labels, model.forward(x).logits) as tf.Scalar;
  } else {
    // Masked LM: cross-entropy at ~15% of positions; the head runs only there (`logitPositions`).
    const pos = Array.from({ length: batch * seq }, (_, i) => i).filter(() => rng.next() < 0.15);
    const at = tf.tensor1d(pos, "int32");
    const targets = tf.oneHot(tf.tensor1d(pos.map((p) => ids[p]), "int32"), V);
    extra = [at, targets];
    lossFn = () => tf.losses.softmaxCrossEntropy(targets, model.forward(x, { logitPositions: at }).logits) as tf.Scalar;
  }
  const step = (): number => {
    const loss = opt.minimize(lossFn, true, [...model.variables]) as tf.Scalar;
    const v = loss.dataSync()[0];
    loss.dispose();
    return v;
  };
  for (let i = 0; i < warmup; i++) step();
  const t0 = performance.now();
  let loss = NaN;
  for (let i = 0; i < steps; i++) loss = step();
  const msPerStep = (performance.now() - t0) / steps;
  const params = parameterCount(model);
  opt.dispose();
  model.dispose();
  x.dispose();
  extra.forEach((t) => t.dispose());
  return { msPerStep, params, loss };
}

export interface BenchRow {
  backend: string;
  case: string;
  params: number;
  msPerStep: number;
  torchMs: number;
}

export async function benchTransformer(
  backends: readonly string[] = (process.env.CD_BENCH_BACKENDS ?? "wasm,cpu").split(","),
): Promise<{ rows: BenchRow[] }> {
  const rows: BenchRow[] = [];
  for (const b of backends) {
    await initBackend(b);
    for (const c of BENCH_CASES) {
      const big = c.cfg.vocabSize > 100;
      // The cpu backend runs ~1 GFLOP/s: one timed step of the MLM configs is plenty.
      const [warmup, steps] = big ? (b === "cpu" ? [1, 1] : [2, 5]) : [3, 20];
      const r = timeCase(c, new Rng(`bench/${b}`), warmup, steps);
      rows.push({ backend: b, case: c.name, params: r.params, msPerStep: Math.round(r.msPerStep * 10) / 10, torchMs: c.torchMs });
      console.log(`${b.padEnd(5)} ${c.name.padEnd(28)} params ${String(r.params).padStart(8)}  ${r.msPerStep.toFixed(1).padStart(8)} ms/step  (PyTorch ${c.torchMs} ms)`);
    }
  }
  return { rows };
}

if (require.main === module) {
  benchTransformer().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
