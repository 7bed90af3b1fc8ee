/**
 * A pool of worker threads for independent jobs. Each worker has its own tfjs and backend; jobs
 * and results are plain data, progress events stream back while a job runs, and results come back
 * in job order, so a parallel run gives exactly the results of a sequential one.
 *
 * Hand-written (about 100 lines) rather than a pool library: jobs stream progress events and share
 * a stop flag, which a task-per-call pool (piscina) would need a MessagePort per task for. A worker
 * that crashes or exits mid-job ends the pool with a `WorkerCrashed` naming the job, after the other
 * workers were asked to stop (they save their state) and have answered: nothing finished is lost.
 */
import * as os from "node:os";
import * as path from "node:path";
import { Worker } from "node:worker_threads";

export interface JobMessage<J> {
  id: number;
  job: J;
}

export type WorkerReply<R, E> = { id: number; kind: "event"; event: E } | { id: number; kind: "done"; result: R } | { id: number; kind: "error"; message: string; stack?: string };

/** A worker died, or a job failed with an unexpected error. */
export class WorkerCrashed extends Error {
  constructor(
    readonly job: string,
    readonly detail: string,
  ) {
    super(`worker running ${job} failed: ${detail}`);
    this.name = "WorkerCrashed";
  }
}

/** Default worker count: the machine's cores. */
export function defaultWorkers(): number {
  return Math.max(1, os.availableParallelism ? os.availableParallelism() : os.cpus().length);
}

/**
 * The worker entry (worker.ts). Under tsx (this file is .ts) the worker loads tsx first and runs the
 * source, so an edit of src/ is what runs, never a stale dist/.
 */
export function spawnWorker(workerData: unknown): Worker {
  if (__filename.endsWith(".ts")) {
    const boot = `require(${JSON.stringify(require.resolve("tsx/cjs"))}); require(${JSON.stringify(path.join(__dirname, "worker.ts"))});`;
    return new Worker(boot, { eval: true, workerData });
  }
  return new Worker(path.join(__dirname, "worker.js"), { workerData });
}

/**
 * Run `jobs` on `workers` threads made by `spawn` (spawnWorker for the engine). `label(job)` names a job in errors; `onFailure` is called once
 * when a job fails (to ask the other jobs to stop).
 */
export async function runPool<J, R, E>(
  jobs: readonly J[],
  workers: number,
  spawn: () => Worker,
  onEvent: ((e: E) => void) | undefined,
  label: (j: J) => string,
  onFailure: () => void,
): Promise<R[]> {
  const results: R[] = new Array(jobs.length);
  let next = 0;
  let failure: WorkerCrashed | null = null;
  const fail = (f: WorkerCrashed) => {
    if (failure) return;
    failure = f;
    onFailure();
  };
  const pool: Worker[] = [];
  const lane = async () => {
    const w = spawn();
    pool.push(w);
    while (next < jobs.length && !failure) {
      const id = next++;
      try {
        results[id] = await new Promise<R>((resolve, reject) => {
          const off = () => {
            w.off("message", onMessage);
            w.off("error", onError);
            w.off("exit", onExit);
          };
          const onMessage = (m: WorkerReply<R, E>) => {
            if (m.id !== id) return;
            if (m.kind === "event") return onEvent?.(m.event);
            off();
            if (m.kind === "done") resolve(m.result);
            else reject(new WorkerCrashed(label(jobs[id]), m.message));
          };
          const onError = (e: Error) => (off(), reject(new WorkerCrashed(label(jobs[id]), `crashed (${e.message})`)));
          const onExit = (code: number) => (off(), reject(new WorkerCrashed(label(jobs[id]), `the worker exited with code ${code}`)));
          w.on("message", onMessage);
          w.once("error", onError);
          w.once("exit", onExit);
          w.postMessage({ id, job: jobs[id] } satisfies JobMessage<J>);
        });
      } catch (e) {
        fail(e instanceof WorkerCrashed ? e : new WorkerCrashed(label(jobs[id]), String(e)));
        return;
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.max(1, Math.min(workers, jobs.length)) }, lane));
  } finally {
    await Promise.all(pool.map((w) => w.terminate()));
  }
  if (failure) throw failure;
  return results;
}
