/**
 * Curriculum extraction: for each tap pair in order, the student (up to its tapped layer) learns to
 * match a fixed random projection of the final teacher's representation at the paired tap; then it
 * is distilled on the teacher's outputs. Works for any `TappedModel`: the MLP uses one pair
 * (hidden -> hidden), transformers one pair per block.
 */
import * as tf from "@tensorflow/tfjs";
import { TappedModel, uniquePrefix } from "../models/types";
import { Rng } from "../rng";
import { OptimizerSpec } from "../train/optimizers";
import { projectedMse } from "./losses";
import { OutputOptions, outputPhase } from "./outputs";
import { tapStepFlops } from "../cost";
import { AUTO_RULE, plateauRule } from "./autoLength";
import { Batch, MethodPlan, Phase, countedFlops, plan, stackedRows } from "./phases";
import { Projection, layerNormTarget, randomProjection } from "./projection";

export interface TapPair {
  /** Tap of the teacher to match. */
  teacherTap: string;
  /** Tap of the student that matches it. */
  studentTap: string;
  /** Projection dimension; default the student tap's width. When smaller, the student's first
   * `dim` features are matched and the rest are free. */
  dim?: number;
}

export interface CurriculumOptions {
  pairs: readonly TapPair[];
  /**
   * Steps of each tap phase (one number for all, or one per pair), or "auto": each phase ends when
   * its projected MSE stops improving (src/distill/autoLength.ts), at AUTO_RULE.maxSteps at the latest.
   */
  tapSteps: number | readonly number[] | "auto";
  /** Optimiser of the tap phases (a fresh one per phase). */
  tapOptimizer: OptimizerSpec;
  /** Std of the projection's entries; default 1/sqrt(teacher tap width). */
  projScale?: number;
  /** "random": fixed seeded projection of the teacher (the method). "learned": a FitNets-style
   * trainable regressor from the student tap to the teacher tap (an ablation). Default "random". */
  projection?: "random" | "learned";
  /** "none": raw teacher activations; "layernorm": parameter-free LayerNorm of the teacher's tap
   * before projection (for pre-LN transformers, whose residual norm grows with depth). */
  normalize?: "none" | "layernorm";
  /** Whose representation the tap phases match; default the final teacher. The control experiment
   * passes the untrained teacher here. */
  tapSource?: TappedModel;
  /** Output phase after the tap phases. */
  output: OutputOptions;
}

/**
 * Default pairing: student layer l (1-based) matches teacher layer round(l * L_T / L_S), over the
 * taps both models expose as "block1".."blockL"; models without blocks pair their last tap.
 */
export function defaultTapPairs(teacher: TappedModel, student: TappedModel): TapPair[] {
  const blocks = (m: TappedModel) => m.tapNames.filter((t) => /^block\d+$/.test(t));
  const tb = blocks(teacher);
  const sb = blocks(student);
  if (tb.length === 0 || sb.length === 0) {
    const tt = teacher.tapNames[teacher.tapNames.length - 1];
    const st = student.tapNames[student.tapNames.length - 1];
    return [{ teacherTap: tt, studentTap: st }];
  }
  return sb.map((st, i) => {
    const l = i + 1;
    const lt = Math.min(tb.length, Math.max(1, Math.round((l * tb.length) / sb.length)));
    return { teacherTap: `block${lt}`, studentTap: st };
  });
}

export function curriculumExtraction(
  student: TappedModel,
  teacher: TappedModel,
  rng: Rng,
  opts: CurriculumOptions,
): MethodPlan {
  const auto = opts.tapSteps === "auto";
  const fixed = opts.tapSteps === "auto" ? AUTO_RULE.maxSteps : opts.tapSteps;
  const steps = (i: number) => (typeof fixed === "number" ? fixed : fixed[i]);
  if (typeof fixed !== "number" && fixed.length !== opts.pairs.length) {
    throw new Error(`curriculumExtraction: tapSteps has ${fixed.length} entries for ${opts.pairs.length} tap pairs`);
  }
  const source = opts.tapSource ?? teacher;
  const owned: Array<{ dispose(): void }> = [];
  const phases: Phase[] = opts.pairs.map((pair, i) => {
    const M = source.tapDim(pair.teacherTap);
    const m = student.tapDim(pair.studentTap);
    const dim = pair.dim ?? m;
    if (!Number.isInteger(dim) || dim < 1 || dim > m) {
      throw new Error(`curriculumExtraction: projection dim for ${pair.studentTap} must be in [1, ${m}], got ${dim}`);
    }
    // Taps of rank > 2 are matched position by position (a sequence's tokens, an image's pixels).
    const [ts, ss] = [source.tapShape?.(pair.teacherTap), student.tapShape?.(pair.studentTap)];
    if (ts && ss && JSON.stringify(ts.slice(0, -1)) !== JSON.stringify(ss.slice(0, -1))) {
      throw new Error(
        `curriculumExtraction: tap pair ${pair.studentTap} <- ${pair.teacherTap}: the student's positions ${JSON.stringify(ss.slice(0, -1))} differ from the teacher's ${JSON.stringify(ts.slice(0, -1))} (the projection acts on the last axis only; pair taps of the same spatial size)`,
      );
    }
    const prng = rng.derive("projection", i, pair.teacherTap, pair.studentTap);
    const norm = (h: tf.Tensor) => (opts.normalize === "layernorm" ? layerNormTarget(h) : h);
    const teacherTap = (b: Batch) => source.forwardTaps(b.x, [pair.teacherTap], { padMask: b.forward?.padMask })[pair.teacherTap];
    const studentTap = (s: TappedModel, b: Batch) => {
      const h = s.forwardTaps(b.x, [pair.studentTap], { padMask: b.forward?.padMask, training: true })[pair.studentTap];
      return dim === m ? h : tf.slice(h, new Array(h.rank - 1).fill(0).concat([0]), h.shape.slice(0, -1).concat([dim]));
    };
    const base = {
      name: `tap:${pair.studentTap}<-${pair.teacherTap}`,
      kind: "tap" as const,
      steps: steps(i),
      optimizer: opts.tapOptimizer,
      autoStop: auto ? () => plateauRule() : undefined,
      // The teacher up to its tap and the projection, the student up to its tap (a learned
      // regressor's product counts like the projection: it is small either way).
      stepFlops: countedFlops([student, source], (shape) => tapStepFlops(student, pair.studentTap, source, pair.teacherTap, dim, shape)),
    };
    if ((opts.projection ?? "random") === "random") {
      const P: Projection = randomProjection(prng, dim, M, opts.projScale);
      owned.push(P);
      return {
        ...base,
        trainable: student.variablesUpTo(pair.studentTap),
        target: (b) => {
          // The teacher's tap and the projection in one kernel where the model has one (raw targets only).
          const fused = opts.normalize !== "layernorm" && !b.forward ? source.projectTap?.(b.x, pair.teacherTap, P.Pt) : null;
          return fused ?? P.apply(norm(teacherTap(b)));
        },
        targetsAhead:
          opts.normalize !== "layernorm" && source.rowsAhead ? (bs) => stackedRows(bs, (x, rows) => source.rowsAhead!.projectTap(x, pair.teacherTap, P.Pt, rows)) : undefined,
        loss: (s, b, target) => projectedMse(studentTap(s, b), target),
        grads: student.tapGrads ? (s, b, target) => (b.forward ? tf.variableGrads(() => projectedMse(studentTap(s, b), target), student.variablesUpTo(pair.studentTap)) : s.tapGrads!(b.x, pair.studentTap, target, dim)) : undefined,
        sgdStep: student.sgdStep ? (s, b, target, lr) => (b.forward ? null : s.sgdStep!(b.x, target(), lr, { tap: pair.studentTap, dim })) : undefined,
      };
    }
    // Learned regressor Q [dim, M] (FitNets hint layer): student features -> teacher features.
    // The loss is rescaled by dim / M so that its size matches the random projection's.
    const Q = tf.variable(tf.tensor2d(prng.normalArray(dim * M, 1 / Math.sqrt(dim)), [dim, M]), true, `${uniquePrefix("hint")}/Q${i}`);
    owned.push(Q);
    return {
      ...base,
      trainable: [...student.variablesUpTo(pair.studentTap), Q],
      target: (b) => norm(teacherTap(b)),
      loss: (s, b, target) => {
        const h = studentTap(s, b);
        const pred = h.rank === 2 ? tf.matMul(h as tf.Tensor2D, Q) : tf.reshape(tf.matMul(tf.reshape(h, [-1, dim]) as tf.Tensor2D, Q), [...h.shape.slice(0, -1), M]);
        return tf.mul(projectedMse(pred, target), dim / M) as tf.Scalar;
      },
    };
  });
  phases.push(outputPhase("teacher", student, teacher, Infinity, opts.output));
  return plan("cx", phases, owned);
}
