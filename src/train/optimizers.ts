/**
 * Optimisers written out by hand (SGD, Adam, AdamW with an optional schedule), so that their state
 * is plain named tensors that a checkpoint can save and a resumed run can restore exactly.
 */
import * as tf from "@tensorflow/tfjs";
import { shortName } from "../models/types";
import { fusedKernel } from "../kernels";
import { adamUpdate, sgdUpdate } from "../ops/fused";

export type Schedule =
  | { kind: "constant" }
  /** Linear warmup over `warmupSteps`, then cosine decay to `minFactor` of the peak at `totalSteps`. */
  | { kind: "warmupCosine"; warmupSteps: number; totalSteps: number; minFactor?: number };

export type OptimizerSpec =
  | {
      kind: "sgd";
      lr: number;
      /** Scale all gradients by min(1, clipNorm / global norm) first (torch's clip_grad_norm_); 0 or absent = off. */ clipNorm?: number;
    }
  | {
      kind: "adam";
      lr: number;
      /** Default 0.9. */ beta1?: number;
      /** Default 0.999. */ beta2?: number;
      /** Default 1e-8. */ eps?: number;
      /** Decoupled weight decay (AdamW) on matrices (rank >= 2) only. Default 0. */ weightDecay?: number;
      /** Default constant. */ schedule?: Schedule;
      /** Global gradient-norm clipping, as for SGD. Default off. */ clipNorm?: number;
    };

export interface Optimizer {
  readonly spec: OptimizerSpec;
  /** Steps taken so far. */
  readonly step: number;
  /** Apply one update from gradients keyed by variable name. Call inside tf.tidy. */
  apply(vars: readonly tf.Variable[], grads: Record<string, tf.Tensor>): void;
  /**
   * Plain SGD (no clipping) only: run `step(lr)`, a fused step that applies p -= lr g itself, and
   * count it as this optimiser's step. Returns its loss, or null (nothing done, not counted) when
   * this optimiser is anything else or `step` declines.
   */
  fused(step: (lr: number) => tf.Scalar | null): tf.Scalar | null;
  /** Optimiser state (moments), keyed by short variable name, for checkpoints. */
  state(): Record<string, tf.Tensor>;
  /**
   * Continue from a saved `step` and `state()` (moments keyed "m/<name>", "v/<name>" by short
   * variable name); the tensors stay the caller's to dispose. Throws naming a moment that fits no variable.
   */
  restore(vars: readonly tf.Variable[], step: number, state: Record<string, tf.Tensor>): void;
  dispose(): void;
}

export function scheduleFactor(s: Schedule | undefined, step: number): number {
  if (!s || s.kind === "constant") return 1;
  const min = s.minFactor ?? 0;
  if (step < s.warmupSteps) return (step + 1) / s.warmupSteps;
  const t = Math.min(1, (step - s.warmupSteps) / Math.max(1, s.totalSteps - s.warmupSteps));
  return min + (1 - min) * 0.5 * (1 + Math.cos(Math.PI * t));
}

/**
 * Gradients scaled by min(1, clipNorm / ||g||), ||g|| the global L2 norm over all of them, exactly
 * as torch.nn.utils.clip_grad_norm_ (clipNorm / (||g|| + 1e-6) when clipping) and the native kernel.
 * Stays on the device (no host read). Call inside tf.tidy.
 */
export function clipByGlobalNorm(grads: readonly tf.Tensor[], clipNorm: number): tf.Tensor[] {
  if (!(clipNorm > 0) || grads.length === 0) return grads.slice();
  const norm = tf.sqrt(sumInGroups(grads.map((g) => tf.sum(tf.square(g)))));
  const scale = tf.where(tf.greater(norm, clipNorm), tf.div(clipNorm, tf.add(norm, 1e-6)), tf.onesLike(norm));
  return grads.map((g) => tf.mul(g, scale));
}

/**
 * The sum of same-shaped tensors, added at most 4 at a time: one tf.addN over every variable's
 * squared norm (70 inputs for the masked-LM teacher) is a single WebGPU kernel with one storage
 * buffer per input, which Dawn rejects on NVIDIA (16 per stage; SwiftShader allows 8 to 12).
 */
export function sumInGroups(xs: readonly tf.Tensor[]): tf.Tensor {
  let level = xs.slice();
  while (level.length > 1) {
    const next: tf.Tensor[] = [];
    for (let i = 0; i < level.length; i += 4) {
      const group = level.slice(i, i + 4);
      next.push(group.length === 1 ? group[0] : tf.addN(group));
    }
    level = next;
  }
  return level[0];
}

export function createOptimizer(spec: OptimizerSpec): Optimizer {
  if (!(spec.lr >= 0) || !Number.isFinite(spec.lr)) throw new Error(`optimizer: lr must be a finite number >= 0, got ${spec.lr}`);
  const clip = spec.clipNorm ?? 0;
  if (!(clip >= 0) || !Number.isFinite(clip)) throw new Error(`optimizer: clipNorm must be a finite number >= 0, got ${spec.clipNorm}`);
  let step = 0;
  if (spec.kind === "sgd") {
    const lr = tf.scalar(spec.lr); // made once, not one scalar upload per variable per step
    return {
      spec,
      get step() {
        return step;
      },
      apply(vars, grads) {
        const live = vars.filter((v) => grads[v.name] !== undefined);
        const g = clipByGlobalNorm(live.map((v) => grads[v.name]), clip);
        if (fusedKernel("CdSgd")) sgdUpdate(live, g, spec.lr); // one kernel for all
        else live.forEach((v, i) => v.assign(tf.sub(v, tf.mul(g[i], lr))));
        step++;
      },
      fused(f) {
        if (clip > 0) return null;
        const loss = f(spec.lr);
        if (loss !== null) step++;
        return loss;
      },
      state: () => ({}),
      restore(_vars, s, state) {
        const extra = Object.keys(state);
        if (extra.length) throw new Error(`optimizer: SGD has no state, got "${extra[0]}"`);
        step = s;
      },
      dispose() {
        lr.dispose();
      },
    };
  }
  const b1 = spec.beta1 ?? 0.9;
  const b2 = spec.beta2 ?? 0.999;
  const eps = spec.eps ?? 1e-8;
  const wd = spec.weightDecay ?? 0;
  const m = new Map<tf.Variable, tf.Variable>();
  const v2 = new Map<tf.Variable, tf.Variable>();
  return {
    spec,
    get step() {
      return step;
    },
    apply(vars, grads) {
      step++;
      const lr = spec.lr * scheduleFactor(spec.schedule, step - 1);
      const c1 = 1 - Math.pow(b1, step);
      const c2 = 1 - Math.pow(b2, step);
      const live = vars.filter((v) => grads[v.name] !== undefined);
      for (const v of live) {
        if (!m.has(v)) {
          m.set(v, tf.variable(tf.zerosLike(v), false));
          v2.set(v, tf.variable(tf.zerosLike(v), false));
        }
      }
      if (fusedKernel("CdAdam")) {
        // One fused kernel for every variable instead of ~15 kernels each (same formula; test/ops.test.ts).
        const hyper = { lr, beta1: b1, beta2: b2, eps, c1, c2, weightDecay: wd, clipNorm: clip };
        adamUpdate(live, live.map((v) => grads[v.name]), live.map((v) => m.get(v)!), live.map((v) => v2.get(v)!), live.map((v) => v.rank >= 2), hyper).dispose();
        return;
      }
      const clipped = clipByGlobalNorm(live.map((v) => grads[v.name]), clip);
      live.forEach((v, i) => {
        const g = clipped[i];
        const mv = m.get(v)!;
        const vv = v2.get(v)!;
        mv.assign(tf.add(tf.mul(mv, b1), tf.mul(g, 1 - b1)));
        vv.assign(tf.add(tf.mul(vv, b2), tf.mul(tf.square(g), 1 - b2)));
        let upd = tf.div(tf.div(mv, c1), tf.add(tf.sqrt(tf.div(vv, c2)), eps));
        if (wd > 0 && v.rank >= 2) upd = tf.add(upd, tf.mul(v, wd));
        v.assign(tf.sub(v, tf.mul(upd, lr)));
      });
    },
    fused: () => null,
    state() {
      const out: Record<string, tf.Tensor> = {};
      for (const [v, mv] of m) {
        out[`m/${shortName(v)}`] = mv;
        out[`v/${shortName(v)}`] = v2.get(v)!;
      }
      return out;
    },
    restore(vars, s, state) {
      if (!Number.isInteger(s) || s < 0) throw new Error(`optimizer: step must be an integer >= 0, got ${s}`);
      const byName = new Map(vars.map((v) => [shortName(v), v] as const));
      for (const key of Object.keys(state)) {
        const [kind, ...rest] = key.split("/");
        const v = byName.get(rest.join("/"));
        if ((kind !== "m" && kind !== "v") || !v) throw new Error(`optimizer: moment "${key}" fits no trainable variable`);
        if (state[key].shape.join(",") !== v.shape.join(",")) throw new Error(`optimizer: moment "${key}" has shape [${state[key].shape}], variable [${v.shape}]`);
        if (!state[`m/${rest.join("/")}`] || !state[`v/${rest.join("/")}`]) throw new Error(`optimizer: moment "${key}" lacks its pair`);
      }
      this.dispose();
      for (const [name, v] of byName) {
        const mm = state[`m/${name}`];
        if (!mm) continue;
        m.set(v, tf.variable(mm, false)); // shares the data (ref-counted): the caller may dispose `state`
        v2.set(v, tf.variable(state[`v/${name}`], false));
      }
      step = s;
    },
    dispose() {
      for (const t of [...m.values(), ...v2.values()]) t.dispose();
      m.clear();
      v2.clear();
    },
  };
}
