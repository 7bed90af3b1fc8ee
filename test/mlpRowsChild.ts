/**
 * Child of the "four rows per sweep" test (test/kernels.mlp.test.ts): batch-1 steps of every kind
 * on odd shapes through the model, then the one-pass forward and the tap projection; prints one
 * JSON line of losses, outputs and every weight's bits (hex). Run with CD_MLP_ROWS=1 and without.
 */
import { createHash } from "node:crypto";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../src/backend";
import { createMlp } from "../src/models/mlp";
import { Rng } from "../src/rng";

async function main() {
  await initBackend("wasm");
  const out: Record<string, unknown> = {};
  // n 50 leaves a tail of 2 after the 4-wide sweep; widths that are not multiples of 4 leave rows
  // for the row-at-a-time loop at every block's end; 4099 x 50 takes the multi-threaded path.
  for (const [n, H, C] of [[50, 23, 2], [50, 4099, 2], [9, 13, 3]]) {
    const m = createMlp({ inputDim: n, width: H, outputDim: C }, new Rng(`rows-${n}-${H}`));
    const r = new Rng(`rows-data-${n}-${H}`);
    const bits = () => tf.tensor2d(Float32Array.from({ length: n }, () => (r.next() < 0.5 ? -1 : 1)), [1, n]);
    const losses: number[] = [];
    const kinds: Array<{ tap?: string; dim?: number; labels?: boolean }> = [{ labels: true }, {}, { tap: "hidden", dim: 7 }, { tap: "hiddenPre", dim: 6 }, { tap: "hidden" }, { labels: true }];
    for (let s = 0; s < 24; s++) {
      const what = kinds[Math.floor(s / 4)];
      const x = bits();
      const cols = what.tap ? (what.dim ?? H) : C;
      const t = what.labels
        ? tf.tensor1d([Math.floor(r.next() * C)], "int32")
        : tf.tensor2d(Float32Array.from({ length: cols }, () => (what.tap ? 2 * r.next() - 0.5 : 1 / C)), [1, cols]);
      const loss = tf.tidy(() => m.sgdStep!(x, t, 0.05, what)!);
      losses.push((await loss.data())[0]);
      tf.dispose([x, t, loss]);
    }
    const x = bits();
    const logits = tf.tidy(() => m.forward(x).logits);
    const P = tf.tensor2d(Float32Array.from({ length: H * 5 }, () => r.next() - 0.5), [H, 5]);
    const proj = m.projectTap!(x, "hidden", P)!;
    const hash = createHash("sha256");
    for (const v of m.variables) hash.update(Buffer.from(((await v.data()) as Float32Array).buffer));
    out[`${n}x${H}x${C}`] = { losses, logits: Array.from(await logits.data()), proj: Array.from(await proj.data()), weights: hash.digest("hex") };
    tf.dispose([x, logits, P, proj]);
    m.dispose();
  }
  process.stdout.write(JSON.stringify(out) + "\n");
}
main();
