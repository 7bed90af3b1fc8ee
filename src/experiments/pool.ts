/**
 * Parallel workers for independent runs. Each worker is a worker thread with its own tfjs and
 * backend; jobs are plain JSON (a config, a seed, a method) and results come back as JSON, so a
 * parallel run gives exactly the results of a sequential one (every job's random streams depend
 * only on its seed and method). Progress events are forwarded to the caller as they happen.
 */
import * as os from "node:os";
import * as path from "node:path";
import { Worker } from "node:worker_threads";

export interface JobMessage<J> {
  id: number;
  job: J;
}

export type WorkerReply<R, E> = { id: number; kind: "event"; event: E } | { id: number; kind: "done"; result: R } | { id: number; kind: "error"; message: string; stack?: string };

/** Default worker count: the machine's cores. */
export function defaultWorkers(): number {
  return Math.max(1, os.availableParallelism ? os.availableParallelism() : os.cpus().length);
}

/**
 * Run `jobs` on `workers` threads of `script` (a compiled .js file that uses `serveJobs`). Results
 * are returned in job order whatever order they finish in.
 */
export async function runPool<J, R, E>(script: string, jobs: readonly J[], workers: number, workerData: unknown, onEvent?: (e: E) => void): Promise<R[]> {
  const results: R[] = new Array(jobs.length);
  let next = 0;
  const n = Math.max(1, Math.min(workers, jobs.length));
  const pool: Worker[] = [];
  try {
    await Promise.all(
      Array.from({ length: n }, async () => {
        const w = new Worker(path.resolve(script), { workerData });
        pool.push(w);
        while (next < jobs.length) {
          const id = next++;
          results[id] = await new Promise<R>((resolve, reject) => {
            const onMessage = (m: WorkerReply<R, E>) => {
              if (m.id !== id) return;
              if (m.kind === "event") onEvent?.(m.event);
              else {
                w.off("message", onMessage);
                w.off("error", onError);
                if (m.kind === "done") resolve(m.result);
                else reject(Object.assign(new Error(m.message), { stack: m.stack }));
              }
            };
            const onError = (e: Error) => reject(e);
            w.on("message", onMessage);
            w.once("error", onError);
            w.postMessage({ id, job: jobs[id] } satisfies JobMessage<J>);
          });
        }
      }),
    );
  } finally {
    await Promise.all(pool.map((w) => w.terminate()));
  }
  return results;
}
