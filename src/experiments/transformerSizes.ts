/** Teacher and student transformer sizes: fields, schema and checks shared by the transformer experiments. */
import { ConfigError, Schema } from "../config";

export interface TransformerSizes {
  /** Teacher width of the residual stream. */
  teacherDModel: number;
  /** Teacher attention heads (must divide teacherDModel). */
  teacherHeads: number;
  /** Teacher blocks. */
  teacherLayers: number;
  /** Student width of the residual stream. */
  studentDModel: number;
  /** Student attention heads (must divide studentDModel). */
  studentHeads: number;
  /** Student blocks (one curriculum phase per block). */
  studentLayers: number;
}

export const TRANSFORMER_SIZES_SCHEMA: Schema<TransformerSizes> = {
  teacherDModel: { kind: "int", min: 1, max: 4096, doc: "teacher d_model" },
  teacherHeads: { kind: "int", min: 1, max: 256, doc: "teacher heads" },
  teacherLayers: { kind: "int", min: 1, max: 64, doc: "teacher blocks" },
  studentDModel: { kind: "int", min: 1, max: 4096, doc: "student d_model" },
  studentHeads: { kind: "int", min: 1, max: 256, doc: "student heads" },
  studentLayers: { kind: "int", min: 1, max: 64, doc: "student blocks" },
};

/** Heads must divide d_model, for the teacher and the student. */
export function checkTransformerSizes(cfg: Readonly<TransformerSizes>): void {
  if (cfg.teacherDModel % cfg.teacherHeads) throw new ConfigError("teacherHeads", cfg.teacherHeads, `must divide teacherDModel (${cfg.teacherDModel})`);
  if (cfg.studentDModel % cfg.studentHeads) throw new ConfigError("studentHeads", cfg.studentHeads, `must divide studentDModel (${cfg.studentDModel})`);
}
