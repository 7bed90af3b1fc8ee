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
export * from "./distill/methods";
export * from "./train/optimizers";
export * from "./train/loop";
export * from "./train/checkpoints";
export * from "./train/run";
export * from "./experiments/experiment";
export * from "./experiments/engine";
export * from "./experiments/registry";
export * from "./experiments/fields";
export * from "./experiments/parity";
export * from "./experiments/parityTask";
export * from "./experiments/parityTransformer";
export * from "./experiments/results";
export * from "./report/plots";
export { CostFigures, costFigures } from "./report/costFigures";
export { MlmResult, accuracyVsCompute, comparisonRows, mlmResultOf, readMlmResult } from "./report/lmResults";
export * from "./report/html";
export * from "./report/tables";
export * from "./report/parityReport";
export * from "./report/ablation";
export { summaryTable } from "./report/text";
export { fmtSamples, fmtDuration, progressPrinter, ProgressSink } from "./progress";
export * from "./theory/fourier";
export * from "./models/transformer";
export * from "./report/phaseCurves";
export * from "./report/axes";
export * from "./report/frames";
export * from "./report/resultTables";
export * from "./report/notebook";
export * from "./report/live";
export * from "./report/labels";
export * from "./report/references";
export { pairedDifference, PairedDifference } from "./stats";
export * from "./experiments/languageModel";
export * from "./models/layers";
export * from "./models/mlpLayers";
export * from "./data/parityDataset";
export * from "./data/shapes";
export * from "./models/convnets";
export * from "./experiments/convnet";
export * from "./api";
export { TeacherFailed, drive, studentPolicy, teacherPolicy, teacherShortfall, untilPolicy } from "./train/driver";
export type { DriveCallbacks, DriveOptions, DriveResult, PhaseEndEvent, Policy, StudentRule, TeacherRequirement, TeacherRule } from "./train/driver";
export * from "./cost";
export * from "./stats";
export { fileHandler, registerFileIo } from "./models/layersIo";
export { MissingPackageError } from "./optional";

// file:// saving and loading for layers models in Node (tfjs-node, which normally provides it, cannot
// install here): `await student.save("file://./student")` works once the library is imported.
import { registerFileIo } from "./models/layersIo";
registerFileIo();
