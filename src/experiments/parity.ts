/**
 * Sparse parity's runners: the whole experiment (`runParity`) and one seed's teacher
 * (`trainParityTeacher`), through the engine (files, threads, the teacher cache). The experiments
 * themselves (fields, presets, models) are in parityExperiment.ts, re-exported here.
 */
import { Experiment, TrainedTeacher, configFrom } from "./experiment";
import { ExperimentResult, RunOptions, runExperiment, trainTeacher } from "./engine";
import { PARITY, ParityCommon, ParityConfig } from "./parityExperiment";
import { Summary } from "./summary";

export * from "./parityExperiment";

export type ParityResult<C = ParityConfig> = ExperimentResult<C, Summary>;

/** The whole experiment (the MLP family unless another parity experiment is given). */
export function runParity(cfg: Readonly<ParityConfig>, opts?: RunOptions): Promise<ParityResult<ParityConfig>>;
export function runParity<C extends ParityCommon>(cfg: Readonly<C>, opts: RunOptions, exp: Experiment<C, null, Summary>): Promise<ParityResult<C>>;
export function runParity<C extends ParityCommon>(
  cfg: Readonly<C>,
  opts: RunOptions = {},
  exp?: Experiment<C, null, Summary>,
): Promise<ParityResult<C> | ParityResult<ParityConfig>> {
  return exp ? runExperiment(exp, cfg, opts) : runExperiment(PARITY, configFrom(PARITY, cfg), opts);
}

/** The teacher of `seed` (cached under opts.cacheDir, default data/cache/teachers). Caller disposes. */
export function trainParityTeacher(cfg: Readonly<ParityConfig>, seed: number, opts: RunOptions = {}): Promise<TrainedTeacher> {
  return trainTeacher(PARITY, cfg, seed, opts);
}
