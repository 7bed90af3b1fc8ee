/**
 * Result objects and their files: config.json (the resolved config), curves.csv (one row per
 * evaluation), summary.json (per method and seed, timings, the backend). All files are written
 * atomically; `writeResults` returns each file's SHA-256, which the run record (run.json) keeps, so
 * that a result read back (merge, resume) is verified.
 */
import * as path from "node:path";
import { stringify } from "csv-stringify/sync";
import { configToJson } from "../config";
import { sha256, writeFileAtomic } from "../io";
import { StudentRun, SummaryBase } from "./summary";

export * from "./summary";

/** CSV text through csv-stringify: fields with commas, quotes or newlines (a list as JSON) are quoted. */
export function csvText(header: readonly string[], rows: ReadonlyArray<ReadonlyArray<string | number>>): string {
  return stringify([header.slice(), ...rows.map((r) => r.slice())]);
}

export function curvesCsv(runs: readonly StudentRun[]): string {
  const head = ["seed", "method", "step", "samples", "phase", "accuracy", "loss", "trainLoss", "seconds", "teacherFlops", "studentFlops"];
  const rows = runs.flatMap((r) =>
    r.curve.map((c) => [
      r.seed,
      r.method,
      c.step,
      c.samples,
      c.phase,
      c.accuracy.toFixed(5),
      c.loss.toFixed(5),
      Number.isFinite(c.trainLoss) ? c.trainLoss.toFixed(5) : "",
      c.seconds.toFixed(2),
      c.teacherFlops,
      c.studentFlops,
    ]),
  );
  return csvText(head, rows);
}

/** Write config.json, curves.csv, summary.json and any extra JSON files; returns name -> SHA-256. */
export function writeResults(dir: string, config: object, summary: SummaryBase, runs: readonly StudentRun[], extra: Record<string, unknown> = {}): Record<string, string> {
  const files: Record<string, string> = {
    "config.json": JSON.stringify(configToJson(config), null, 2) + "\n",
    "curves.csv": curvesCsv(runs),
    "summary.json": JSON.stringify(summary, null, 2) + "\n",
  };
  for (const [name, v] of Object.entries(extra)) files[name] = JSON.stringify(v, null, 2) + "\n";
  const sums: Record<string, string> = {};
  for (const [name, text] of Object.entries(files)) {
    writeFileAtomic(path.join(dir, name), text);
    sums[name] = sha256(text);
  }
  return sums;
}
