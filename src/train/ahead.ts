/**
 * Targets ahead: a frozen teacher's targets for several upcoming batches in one call.
 *
 * At batch 1 with the papers' 50,000-wide teacher, a distillation step is the teacher's forward: one
 * row of input against a 20 MB first layer (and, in a tap phase, a 20 MB projection), far more than
 * the caches hold, so the step costs the memory traffic of reading them. The teacher is frozen and the
 * data stream does not depend on the student, so the targets of the next `ahead` batches can be
 * computed now, reading the teacher once for all of them; the student still takes one step per batch.
 *
 * Nothing changes in value: the task hands out the same batches in the same order (`Task.peek`; its
 * saved position does not count batches drawn ahead, so a resume draws them again), and the phase's
 * `targetsAhead` gives each batch bit for bit the target `target` gives it alone (the one-pass kernels
 * compute each row on its own: TappedModel.rowsAhead). A run's curve is the same with or without it,
 * and across a resume inside a window (test/ahead.test.ts). Where the task cannot peek or the phase
 * (model, backend, batch shape) has no such path, every batch's target is computed alone, as before.
 */
import * as tf from "@tensorflow/tfjs";
import { Batch, Phase, Task } from "../distill/phases";

/**
 * Batches whose targets one call computes. Measured here through the addon at the papers' scale (one
 * thread): a tap target took 1.9 ms for one row and 0.60-0.64 ms a row for 8 to 32 rows, flat from about
 * 8 (the products dominate once the teacher is read for several rows); 32 leaves margin and keeps a
 * window's tensors small (32 batches and their targets).
 */
export const TARGETS_AHEAD = 32;

export interface FedBatch {
  batch: Batch;
  /** The phase's target for `batch`, computed ahead (the caller disposes it); absent: compute it now. */
  target?: tf.Tensor;
}

/** Where the loop takes its batches (and, when it can, their targets computed ahead) from. */
export class StepFeed {
  private phase: Phase | null = null;
  private unsupported = false;
  private readonly targets = new Map<Batch, tf.Tensor>();

  constructor(
    private readonly task: Task,
    /** Batches per window; 1 turns targets ahead off. */
    private readonly ahead = TARGETS_AHEAD,
  ) {}

  /**
   * The next batch of `phase`, with its target when computed ahead. `stepsLeft` (steps this phase may
   * still take) and `samplesLeft` (of the sample budget) bound a window: batches are not drawn ahead
   * past the end of the phase or of the budget.
   */
  async next(phase: Phase, stepsLeft: number, samplesLeft: number): Promise<FedBatch> {
    if (phase !== this.phase) {
      this.dropTargets(); // a new phase: another target (the next checkpoint, the output after a tap)
      this.phase = phase;
      this.unsupported = !phase.targetsAhead || !this.task.peek || this.ahead <= 1;
    }
    const batch = await this.task.nextBatch();
    const ready = this.targets.get(batch);
    if (ready !== undefined) {
      this.targets.delete(batch);
      return { batch, target: ready };
    }
    const count = Math.min(this.ahead, stepsLeft, Math.ceil(samplesLeft / batch.size));
    if (this.unsupported || count <= 1) return { batch };
    const later = await this.task.peek!(count - 1);
    const all = phase.targetsAhead!([batch, ...later]);
    if (all === null) {
      this.unsupported = true; // the same model, backend and batch shape for the rest of the phase
      return { batch };
    }
    later.forEach((b, i) => this.targets.set(b, all[i + 1]));
    return { batch, target: all[0] };
  }

  /** Free the targets computed ahead (their batches stay with the task, drawn again after a resume). */
  dispose(): void {
    this.dropTargets();
    this.phase = null;
  }

  private dropTargets(): void {
    for (const t of this.targets.values()) t.dispose();
    this.targets.clear();
  }
}
