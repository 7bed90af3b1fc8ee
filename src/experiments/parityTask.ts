/**
 * Sparse parity as a `Task` for the training loop: online batches from a seeded stream and a fixed
 * held-out set. Inputs are +-1 floats for MLPs or bit tokens (+1 -> 0, -1 -> 1) for transformers.
 */
import * as tf from "@tensorflow/tfjs";
import { ParityBatch, ParityTask, bitsToTokens, sampleParity } from "../data/sparseParity";
import { accuracy, oneHotTargets, softCrossEntropy } from "../distill/losses";
import { Batch, Task, disposeBatch } from "../distill/phases";
import { TappedModel } from "../models/types";
import { Rng, RngState } from "../rng";

export type ParityInput = "bits" | "tokens";

/** Where the training stream is: its data Rng, and whether the pre-drawn first batch is unused. */
export interface StreamPosition {
  rng: RngState;
  fresh: boolean;
}

export interface ParityStream extends Task {
  readonly heldout: { x: tf.Tensor; y: tf.Tensor };
  /** The position of the training stream (plain JSON), for resuming. */
  position(): StreamPosition;
  /** Continue from a saved position of the same stream. */
  restore(p: StreamPosition): void;
  dispose(): void;
}

function toInput(b: ParityBatch, n: number, input: ParityInput): tf.Tensor {
  return input === "bits" ? tf.tensor2d(b.x, [b.batch, n]) : tf.tensor2d(bitsToTokens(b.x), [b.batch, n], "int32");
}

/** Activations one evaluation chunk may hold (floats per hidden layer): 64 MB. */
const EVAL_FLOATS = 2 ** 24;

/**
 * `dataRng` feeds the training stream; `heldoutRng` draws the held-out set once. Evaluation is one
 * product per layer on chunks of at most `evalChunk` rows, fewer for wide models so that a chunk's
 * activations stay within EVAL_FLOATS (the papers' 50,000-wide teacher: 335 rows, not 4096 rows =
 * 819 MB of hidden layer on a wasm heap capped at 4 GB).
 */
export function parityStream(task: ParityTask, dataRng: Rng, heldoutRng: Rng, batchSize: number, heldoutSize: number, input: ParityInput = "bits", maxChunk = 4096): ParityStream {
  const hb = sampleParity(task, heldoutRng, heldoutSize);
  const heldout = { x: tf.keep(toInput(hb, task.n, input)), y: tf.keep(tf.tensor1d(hb.y, "int32")) };
  const buf = sampleParity(task, dataRng, batchSize); // the first batch, handed out by the first draw
  let first = true;
  // Batches drawn ahead by `peek`, each with the stream's position before it: the saved position is
  // the first one's until nextBatch hands it out, so a resume draws them again (the same batches).
  const queue: Array<{ batch: Batch; before: StreamPosition }> = [];
  const draw = (): { batch: Batch; before: StreamPosition } => {
    const before = { rng: dataRng.state(), fresh: first };
    // Fresh arrays per batch: the cpu backend keeps the array a tensor is made from, and batches drawn
    // ahead live side by side.
    const b = first ? buf : sampleParity(task, dataRng, batchSize);
    first = false;
    return { batch: { x: toInput(b, task.n, input), y: tf.tensor1d(b.y, "int32"), size: batchSize }, before };
  };
  const drop = () => {
    for (const q of queue.splice(0)) disposeBatch(q.batch);
  };
  return {
    classes: 2,
    heldout,
    nextBatch: (): Batch => (queue.shift() ?? draw()).batch,
    peek(count: number): Batch[] {
      while (queue.length < count) queue.push(draw());
      return queue.slice(0, count).map((q) => q.batch);
    },
    position: () => (queue.length > 0 ? { ...queue[0].before } : { rng: dataRng.state(), fresh: first }),
    restore(p: StreamPosition) {
      if (typeof p?.fresh !== "boolean") throw new Error("parityStream: malformed stream position");
      drop();
      dataRng.restore(p.rng);
      first = p.fresh; // a fresh stream's first batch, drawn at construction, is the same batch
    },
    async evaluate(model: TappedModel) {
      let accSum = 0;
      let lossSum = 0;
      const widest = Math.max(1, ...model.tapNames.map((t) => model.tapDim(t)));
      const evalChunk = Math.max(1, Math.min(maxChunk, Math.floor(EVAL_FLOATS / widest)));
      for (let start = 0; start < heldoutSize; start += evalChunk) {
        const size = Math.min(evalChunk, heldoutSize - start);
        const [a, l] = tf.tidy(() => {
          const x = heldoutSize === size ? heldout.x : tf.slice(heldout.x, [start, 0], [size, task.n]);
          const y = heldoutSize === size ? heldout.y : tf.slice(heldout.y, [start], [size]);
          const logits = model.forward(x).logits;
          return [tf.mul(accuracy(logits, y), size), tf.mul(softCrossEntropy(logits, oneHotTargets(y, 2)), size)];
        });
        accSum += (await a.data())[0];
        lossSum += (await l.data())[0];
        a.dispose();
        l.dispose();
      }
      return { accuracy: accSum / heldoutSize, loss: lossSum / heldoutSize };
    },
    dispose() {
      drop();
      heldout.x.dispose();
      heldout.y.dispose();
    },
  };
}
