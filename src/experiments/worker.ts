/**
 * Worker thread for parallel experiment runs (see pool.ts): initialises its own backend, then
 * serves jobs. Each job is one teacher or one student run; the teacher is always read from or
 * written to the on-disk cache, which is how student jobs in other workers find it.
 */
import { parentPort, workerData } from "node:worker_threads";
import { initBackend } from "../backend";
import { JobMessage, WorkerReply } from "./pool";
import { ParityMethod } from "./parityConfig";
import { CommonParityConfig, ParityFamily, ProgressEvent, runParityStudent, seedContext, trainParityTeacher } from "./parity";
import { parityFamily } from "./families";

export type ParityJob =
  | { kind: "teacher"; family: ParityFamily<CommonParityConfig>["name"]; cfg: CommonParityConfig; seed: number; cacheDir: string }
  | { kind: "student"; family: ParityFamily<CommonParityConfig>["name"]; cfg: CommonParityConfig; seed: number; method: ParityMethod; cacheDir: string };

async function handle(job: ParityJob, emit: (e: ProgressEvent) => void): Promise<unknown> {
  const family = parityFamily(job.family);
  const teacher = await trainParityTeacher(job.cfg, job.seed, { cacheDir: job.cacheDir, onProgress: emit }, family);
  try {
    if (job.kind === "teacher") return teacher.info;
    return await runParityStudent(seedContext(job.cfg, job.seed, teacher, family), job.method, emit);
  } finally {
    teacher.dispose();
  }
}

if (parentPort) {
  const port = parentPort;
  const ready = initBackend((workerData as { backend: string }).backend);
  port.on("message", async (m: JobMessage<ParityJob>) => {
    const reply = (r: WorkerReply<unknown, ProgressEvent>) => port.postMessage(r);
    try {
      await ready;
      const result = await handle(m.job, (event) => reply({ id: m.id, kind: "event", event }));
      reply({ id: m.id, kind: "done", result });
    } catch (e) {
      const err = e as Error;
      reply({ id: m.id, kind: "error", message: err.message, stack: err.stack });
    }
  });
}
