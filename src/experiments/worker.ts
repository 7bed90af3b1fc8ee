/**
 * A worker thread of the parallel engine (pool.ts, parallel.ts): initialises its own backend, then
 * serves jobs of any registered experiment, looked up by name. A stop request arrives as a shared
 * flag (signals reach the main thread only); an interrupted job or a bad file comes back as a plain
 * result, so the main thread reports it exactly.
 */
import { parentPort, workerData } from "node:worker_threads";
import { initBackend } from "../backend";
import { setKernelThreads } from "../kernels";
import { JobMessage, WorkerReply } from "./pool";
import { Job, JobResult, WorkerData } from "./parallel";
import { ProgressEvent } from "./engine";
import { EXPERIMENTS } from "./registry";

if (parentPort) {
  const port = parentPort;
  const data = workerData as WorkerData;
  const ready = initBackend(data.backend).then(() => setKernelThreads(process.env.CD_THREADS ? undefined : data.kernelThreads));
  const shouldStop = () => Atomics.load(data.stop, 0) === 1;
  port.on("message", async (m: JobMessage<Job>) => {
    const reply = (r: WorkerReply<JobResult, ProgressEvent>) => port.postMessage(r);
    try {
      await ready;
      const result = await EXPERIMENTS[m.job.experiment].runJob(m.job, shouldStop, (event) => reply({ id: m.id, kind: "event", event }));
      reply({ id: m.id, kind: "done", result });
    } catch (e) {
      const err = e as Error;
      reply({ id: m.id, kind: "error", message: err.message, stack: err.stack });
    }
  });
}
