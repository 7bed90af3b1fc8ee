/**
 * Tap phases that end by themselves (`tapSteps: "auto"`): a phase stops when its projected MSE has
 * stopped improving, with one rule and one set of constants for every model and experiment.
 *
 * The rule: every CHECK_EVERY steps read the phase's training loss (one host read per 10 steps) and
 * update an exponential moving average of it (weight SMOOTHING = 0.3 per reading, so about 3 readings =
 * 30 steps of memory: the loss of one batch is noisy, by 5-20% here, and a longer memory lags a
 * falling loss by hundreds of steps). The phase ends when that
 * average has not improved on its best value by more than MIN_IMPROVEMENT (1%, relative: the rule
 * needs no unit or width) for PATIENCE readings in a row (50 steps), after at least MIN_STEPS steps
 * (the average must settle first), and at MAX_STEPS at the latest.
 *
 * Why this rule: a tap phase's job is to move the student's features towards the projected teacher
 * features; once the matching loss is flat, further steps cost budget and buy nothing (the ablation
 * of fixed lengths in notebook 02 is flat between 100 and 1000 steps once the loss has converged). A
 * relative threshold on a smoothed loss is scale-free, and a patience measured in steps suits both
 * fast (MLP, ~100 steps) and slow (transformer, hundreds) phases.
 */
export const AUTO_RULE = {
  checkEvery: 10,
  smoothing: 0.3,
  minImprovement: 0.01,
  patience: 5,
  minSteps: 50,
  maxSteps: 2000,
} as const;

/** The rule's state (saved with a run's position, so that a resumed phase ends where it would have). */
export interface PlateauState {
  /** The smoothed loss (null before the first reading). */
  ema: number | null;
  /** Its best value so far (null before the first reading). */
  best: number | null;
  sinceBest: number;
}

export interface StopRule {
  /** Read the loss every this many steps of the phase. */
  readonly every: number;
  /** The loss after `stepInPhase` steps; true = end the phase now. */
  observe(loss: number, stepInPhase: number): boolean;
  state(): PlateauState;
  restore(s: PlateauState): void;
}

/** The plateau rule above (a fresh one per phase). */
export function plateauRule(r = AUTO_RULE): StopRule {
  let s: PlateauState = { ema: null, best: null, sinceBest: 0 };
  return {
    every: r.checkEvery,
    observe(loss, stepInPhase) {
      if (!Number.isFinite(loss)) return false; // a diverged reading says nothing about a plateau
      const ema = s.ema === null ? loss : (1 - r.smoothing) * s.ema + r.smoothing * loss;
      if (s.best === null || ema < s.best * (1 - r.minImprovement)) s = { ema, best: ema, sinceBest: 0 };
      else s = { ...s, ema, sinceBest: s.sinceBest + 1 };
      return (stepInPhase >= r.minSteps && s.sinceBest >= r.patience) || stepInPhase >= r.maxSteps;
    },
    state: () => ({ ...s }),
    restore(x) {
      s = { ...x };
    },
  };
}
