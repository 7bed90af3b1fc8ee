/**
 * What a training step costs, in floating-point operations, from the models' shapes
 * (`TappedModel.forwardFlops`: 2 per multiply-add of every matrix product; element-wise work is not
 * counted). A step's backward pass costs twice its forward pass (the gradients with respect to the
 * activations and to the weights: the usual 6-FLOPs-per-parameter-per-token rule), so a trained part
 * costs 3x its forward. Teacher work is counted apart from student work: curriculum extraction's
 * tap phases run the teacher only up to the tapped layer, which is the point of counting it.
 */
import { FlopShape, TappedModel } from "./models/types";

export interface StepFlops {
  /** Forward passes of the teacher (and the projection of its tap), per step. */
  teacher: number;
  /** The student's forward and backward passes, per step. */
  student: number;
}

function flops(model: TappedModel, shape: FlopShape): number {
  if (!model.forwardFlops) throw new Error(`cost: model "${model.kind}" does not count its FLOPs (no forwardFlops)`);
  return model.forwardFlops(shape);
}

/** Rows of a tap (one per position for sequence models). */
function tapRows(shape: FlopShape, model: TappedModel): number {
  return model.kind === "transformer" ? shape.batch * (shape.seq ?? 1) : shape.batch;
}

/** A step on labels (scratch, or training the teacher itself). */
export function labelsStepFlops(model: TappedModel, shape: FlopShape): StepFlops {
  return { teacher: 0, student: 3 * flops(model, shape) };
}

/** A step on a teacher's outputs (one-shot, progressive, two-shot): its whole forward, then the student's step. */
export function outputStepFlops(student: TappedModel, teacher: TappedModel, shape: FlopShape): StepFlops {
  return { teacher: flops(teacher, shape), student: 3 * flops(student, shape) };
}

/**
 * A curriculum-extraction tap step: the teacher up to `teacherTap`, the projection of its tap to
 * `dim` features, then the student's forward and backward up to `studentTap`.
 */
export function tapStepFlops(student: TappedModel, studentTap: string, teacher: TappedModel, teacherTap: string, dim: number, shape: FlopShape): StepFlops {
  const projection = 2 * tapRows(shape, teacher) * teacher.tapDim(teacherTap) * dim;
  return {
    teacher: flops(teacher, { ...shape, upTo: teacherTap }) + projection,
    student: 3 * flops(student, { ...shape, upTo: studentTap }),
  };
}
