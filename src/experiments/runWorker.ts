/**
 * Worker thread of the parallel parity runner (see pool.ts and runParityParallel): one teacher or
 * one (seed, method) student per job, each saving and resuming its own state in the run folder.
 * A stop request arrives as a shared flag (signals reach the main thread only); an interrupted job
 * or a bad checkpoint comes back as a plain result so the main thread can report it exactly.
 */
import { parentPort, workerData } from "node:worker_threads";
import { initBackend } from "../backend";
import { CheckpointError } from "../train/checkpoints";
import { JobMessage, WorkerReply } from "./pool";
import { ProgressEvent, RunJob, RunJobResult, RunWorkerData, runParityStudent, seedContext, trainParityTeacher } from "./parity";
import { parityFamily } from "./families";
import { Interrupted, RunContext } from "./runState";

async function handle(job: RunJob, stop: Int32Array, emit: (e: ProgressEvent) => void): Promise<RunJobResult<unknown>> {
  const shouldStop = () => Atomics.load(stop, 0) === 1;
  if (shouldStop()) return { interrupted: true };
  const family = parityFamily(job.family);
  const run: RunContext | undefined = job.run ? { ...job.run, shouldStop } : undefined;
  try {
    const teacher = await trainParityTeacher(job.cfg, job.seed, { cacheDir: job.cacheDir, onProgress: emit, run }, family);
    try {
      if (job.kind === "teacher") return { value: teacher.info };
      return { value: await runParityStudent(seedContext(job.cfg, job.seed, teacher, family), job.method, emit, run) };
    } finally {
      teacher.dispose();
    }
  } catch (e) {
    if (e instanceof Interrupted) return { interrupted: true };
    if (e instanceof CheckpointError) return { checkpointError: { file: e.file, reason: e.reason } };
    throw e;
  }
}

if (parentPort) {
  const port = parentPort;
  const data = workerData as RunWorkerData;
  const ready = initBackend(data.backend);
  port.on("message", async (m: JobMessage<RunJob>) => {
    const reply = (r: WorkerReply<unknown, ProgressEvent>) => port.postMessage(r);
    try {
      await ready;
      const result = await handle(m.job, data.stop, (event) => reply({ id: m.id, kind: "event", event }));
      reply({ id: m.id, kind: "done", result });
    } catch (e) {
      const err = e as Error;
      reply({ id: m.id, kind: "error", message: err.message, stack: err.stack });
    }
  });
}
