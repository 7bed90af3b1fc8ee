/**
 * The public surface of curriculum-distill, for notebooks (import from "../dist/index") and for
 * programs. Keep this file within TypeScript 5.0 syntax: tslab compiles notebooks against its .d.ts.
 */
export * from "./backend";
export * from "./config";
export * from "./rng";
export * from "./io";
export * from "./data/sparseParity";
export * from "./models/types";
export * from "./models/mlp";
export * from "./distill/losses";
export * from "./distill/projection";
export * from "./distill/phases";
export * from "./distill/outputs";
export * from "./distill/curriculumExtraction";
export * from "./train/optimizers";
export * from "./train/loop";
export * from "./train/checkpoints";
export * from "./experiments/parityConfig";
export * from "./experiments/parityTask";
export * from "./experiments/parity";
export * from "./experiments/results";
export * from "./experiments/teacher";
export * from "./report/plots";
export * from "./report/html";
export * from "./report/tables";
export * from "./report/parityReport";
export * from "./report/ablation";
export { summaryTable } from "./report/text";
export { fmtSamples, fmtDuration } from "./progress";
export * from "./theory/fourier";
export * from "./experiments/parityTransformerConfig";
export * from "./experiments/families";
export * from "./models/transformer";
export * from "./report/phaseCurves";
export * from "./experiments/languageModelConfig";
export * from "./experiments/languageModel";
