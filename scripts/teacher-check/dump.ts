/**
 * Side-by-side check of the parity-transformer teacher against the PyTorch peer
 * (../shared/peer/torch_transformer_parity.py): writes the teacher's initial weights (in the peer's
 * state_dict names and layouts), the first `steps` training batches of our stream, and our loss and
 * gradient norm at every one of those steps, as the engine trains it (labelsPhase, our Adam).
 * scripts/teacher-check/peer_steps.py loads the file into the peer's model and replays the batches.
 *
 *   npx tsx scripts/teacher-check/dump.ts --seed 0 --steps 200 --out /tmp/tcheck.json [--scale 4] [--n 20 --k 3 ...]
 */
import * as fs from "node:fs";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../src/backend";
import { labelsPhase } from "../../src/distill/outputs";
import { plan } from "../../src/distill/phases";
import { PARITY_TRANSFORMER, resolveParityTransformerConfig } from "../../src/experiments/parityTransformer";
import { TransformerModel } from "../../src/models/transformer";
import { shortName } from "../../src/models/types";
import { trainStep } from "../../src/train/loop";
import { createOptimizer } from "../../src/train/optimizers";

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : dflt;
}

/** Our variables as the peer's state_dict: Linear weights [out, in], q/k/v stacked into qkv. */
function peerStateDict(model: TransformerModel): Record<string, { shape: number[]; data: number[] }> {
  const byName = new Map(model.variables.map((v) => [shortName(v), v] as const));
  const get = (n: string) => byName.get(n)!;
  const out: Record<string, { shape: number[]; data: number[] }> = {};
  const put = (name: string, t: tf.Tensor) => {
    out[name] = { shape: t.shape, data: Array.from(t.dataSync()) };
  };
  put("tok.weight", get("tokEmb"));
  put("pos", get("posEmb"));
  for (let l = 1; l <= model.config.nLayers; l++) {
    const p = `block${l}`;
    const q = `blocks.${l - 1}`;
    put(`${q}.ln1.weight`, get(`${p}/ln1/gamma`));
    put(`${q}.ln1.bias`, get(`${p}/ln1/beta`));
    put(`${q}.ln2.weight`, get(`${p}/ln2/gamma`));
    put(`${q}.ln2.bias`, get(`${p}/ln2/beta`));
    tf.tidy(() => {
      put(`${q}.qkv.weight`, tf.concat(["q", "k", "v"].map((s) => tf.transpose(get(`${p}/attn/${s}/w`))), 0));
      put(`${q}.qkv.bias`, tf.concat(["q", "k", "v"].map((s) => get(`${p}/attn/${s}/b`)), 0));
      put(`${q}.o.weight`, tf.transpose(get(`${p}/attn/o/w`)));
      put(`${q}.fc1.weight`, tf.transpose(get(`${p}/mlp/fc1/w`)));
      put(`${q}.fc2.weight`, tf.transpose(get(`${p}/mlp/fc2/w`)));
    });
    put(`${q}.o.bias`, get(`${p}/attn/o/b`));
    put(`${q}.fc1.bias`, get(`${p}/mlp/fc1/b`));
    put(`${q}.fc2.bias`, get(`${p}/mlp/fc2/b`));
  }
  put("lnf.weight", get("lnF/gamma"));
  put("lnf.bias", get("lnF/beta"));
  tf.tidy(() => put("head.weight", tf.transpose(get("head/w"))));
  put("head.bias", get("head/b"));
  return out;
}

async function main() {
  await initBackend(process.env.CD_BACKEND);
  const seed = Number(arg("seed", "0"));
  const steps = Number(arg("steps", "200"));
  const outFile = arg("out", "/tmp/tcheck.json");
  const overrides: Record<string, unknown> = {};
  for (const k of ["n", "k", "teacherDModel", "teacherHeads", "teacherLayers"]) {
    const flag = k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
    if (process.argv.includes(`--${flag}`)) overrides[k] = Number(arg(flag, ""));
  }
  const cfg = resolveParityTransformerConfig(arg("preset", "main"), overrides);
  const tp = PARITY_TRANSFORMER.teacher(cfg, seed, null, 0);
  const model = tp.create() as TransformerModel;
  // --scale s: every weight matrix times s (attention logits s^2 sharper), a stress test away from the init.
  const scale = Number(arg("scale", "1"));
  if (scale !== 1) for (const v of model.variables) if (v.rank === 2) v.assign(tf.mul(v, scale));
  const init = peerStateDict(model);
  const phase = plan("teacher", [labelsPhase(tp.task, model, Infinity, tp.optimizer)]).phases[0];
  const opt = createOptimizer(tp.optimizer);
  const batches: { tok: number[]; y: number[] }[] = [];
  const losses: number[] = [];
  for (let s = 0; s < steps; s++) {
    const b = await tp.task.nextBatch();
    batches.push({ tok: Array.from(b.x.dataSync()), y: Array.from((b.y as tf.Tensor).dataSync()) });
    const loss = trainStep(model, phase, b, opt);
    losses.push(loss.dataSync()[0]);
    loss.dispose();
    b.x.dispose();
    (b.y as tf.Tensor).dispose();
  }
  const ev = await tp.task.evaluate(model);
  fs.writeFileSync(
    outFile,
    JSON.stringify({ config: { n: cfg.n, k: cfg.k, d: cfg.teacherDModel, h: cfg.teacherHeads, L: cfg.teacherLayers, ratio: cfg.mlpRatio, batch: cfg.teacherBatch, lr: cfg.teacherLr, activation: model.config.activation }, init, batches, losses, heldoutAfter: ev }),
  );
  process.stdout.write(`backend ${tf.getBackend()}: wrote ${outFile}; loss[0] ${losses[0].toFixed(6)} loss[${steps - 1}] ${losses[steps - 1].toFixed(6)}\n`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
