/**
 * Labels for what a result shows, taken from the result itself (results carry their config), never from
 * the notebook's current variables: after a config cell is edited and re-run, an older result keeps
 * its own label, so no table, finding or chart can put one configuration's name on another's numbers.
 *
 *   const main = await runParity(cfg, ...);
 *   const HEAD = parityRunLabel(main.config, { quick: nb.quick });   // "QUICK MODE, preset smoke: n=20, ..."
 *
 * Keep this file within TypeScript 5.0 syntax: notebooks compile against its .d.ts with tslab's TS 5.0.4.
 */
import { fmtSamples } from "../format";

/** The fields a parity config (MLP or transformer) has that a label names. */
export interface ParityLabelConfig {
  preset: string;
  n: number;
  k: number;
  seeds: readonly number[];
  maxSamples: number;
  teacherWidth?: number;
  studentWidth?: number;
  teacherLayers?: number;
  teacherDModel?: number;
  teacherHeads?: number;
  studentLayers?: number;
  studentDModel?: number;
  studentHeads?: number;
}

export interface LabelOpts {
  /** Prefix "QUICK MODE, " (the notebook's quick mode: tiny configurations). */
  quick?: boolean;
  /** Seeds to name instead of the config's (an ablation that ran on a subset). */
  seeds?: readonly number[];
  /** A method the label is about (ablations: "cx"). */
  method?: string;
}

const quickPrefix = (o: LabelOpts) => (o.quick ? "QUICK MODE, " : "");

/** "QUICK MODE, preset smoke: n=20, k=3, teacher 128, student 16, seeds 0,1,2, cap 200k" (transformers: "LxD/Hh"). */
export function parityRunLabel(c: Readonly<ParityLabelConfig>, opts: LabelOpts = {}): string {
  const seeds = opts.seeds ?? c.seeds;
  const models =
    c.teacherDModel !== undefined
      ? `transformers, teacher ${c.teacherLayers}x${c.teacherDModel}/${c.teacherHeads}h, student ${c.studentLayers}x${c.studentDModel}/${c.studentHeads}h`
      : `teacher ${c.teacherWidth}, student ${c.studentWidth}`;
  return `${quickPrefix(opts)}${opts.method ? `${opts.method}, ` : ""}preset ${c.preset}: n=${c.n}, k=${c.k}, ${models}, seeds ${seeds.join(",")}, cap ${fmtSamples(c.maxSamples)}`;
}

/** The fields of a masked-LM config a label names. */
export interface MlmLabelConfig {
  corpus: string;
  preset: string;
  seeds: readonly number[];
  teacherLayers: number;
  teacherDModel: number;
  teacherSteps: number;
  studentLayers: number;
  studentDModel: number;
  studentSteps: number;
}

/** "QUICK MODE, brown, preset smoke: teacher 2x32, 60 steps; student 2x16, 40 steps; seeds 0". */
export function mlmRunLabel(c: Readonly<MlmLabelConfig>, opts: LabelOpts = {}): string {
  return (
    `${quickPrefix(opts)}${c.corpus}, preset ${c.preset}: teacher ${c.teacherLayers}x${c.teacherDModel}, ${c.teacherSteps} steps; ` +
    `student ${c.studentLayers}x${c.studentDModel}, ${c.studentSteps} steps; seeds ${(opts.seeds ?? c.seeds).join(",")}`
  );
}
