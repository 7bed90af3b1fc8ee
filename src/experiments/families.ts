/** The parity experiment families by name (workers receive the name, not the functions). */
import { defaultTapPairs } from "../distill/curriculumExtraction";
import { createTransformer } from "../models/transformer";
import { CommonParityConfig, MLP_PARITY, ParityFamily } from "./parity";
import { ParityTransformerConfig } from "./parityTransformerConfig";

function transformer(cfg: Readonly<ParityTransformerConfig>, who: "teacher" | "student") {
  const t = who === "teacher";
  return {
    vocabSize: 2,
    seqLen: cfg.n,
    dModel: t ? cfg.teacherDModel : cfg.studentDModel,
    nHeads: t ? cfg.teacherHeads : cfg.studentHeads,
    nLayers: t ? cfg.teacherLayers : cfg.studentLayers,
    mlpRatio: cfg.mlpRatio,
    head: "classify" as const,
    numClasses: 2,
  };
}

/** Transformers on bit tokens: Adam, one tap pair per student block (depths paired by rounding). */
export const TRANSFORMER_PARITY: ParityFamily<ParityTransformerConfig> = {
  name: "parity-transformer",
  input: "tokens",
  teacherKey: (cfg) => ({ kind: "parity-transformer-teacher@1", model: transformer(cfg, "teacher"), lr: cfg.teacherLr }),
  createTeacher: (cfg, rng) => createTransformer(transformer(cfg, "teacher"), rng),
  createStudent: (cfg, rng) => createTransformer(transformer(cfg, "student"), rng),
  teacherOptimizer: (cfg) => ({ kind: "adam", lr: cfg.teacherLr }),
  studentOptimizer: (cfg) => ({ kind: "adam", lr: cfg.lr }),
  curriculum: (cfg, teacher, student) => {
    const pairs = defaultTapPairs(teacher, student);
    return {
      pairs: cfg.tapBlocks === "first" ? pairs.slice(0, 1) : pairs,
      tapSteps: cfg.tapSteps,
      tapOptimizer: { kind: "adam", lr: cfg.tapLr },
      normalize: cfg.normalize,
      projScale: cfg.projScale || undefined,
    };
  },
};

export function parityFamily(name: string): ParityFamily<CommonParityConfig> {
  if (name === "parity") return MLP_PARITY as unknown as ParityFamily<CommonParityConfig>;
  if (name === "parity-transformer") return TRANSFORMER_PARITY as unknown as ParityFamily<CommonParityConfig>;
  throw new Error(`unknown experiment family "${name}"`);
}
