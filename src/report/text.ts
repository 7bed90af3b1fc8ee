/**
 * Plain-text tables for terminals, with no dependency beyond the project (the CLI does not load
 * danfojs to print a table; src/report/tables.ts renders its DataFrames through `alignedTable`).
 */
import { Summary, medianOfReached } from "../experiments/results";
import { fmtSamples } from "../progress";

/** Aligned columns under a dashed rule. `rightAlign[j]` (default: every column but the first). */
export function alignedTable(header: readonly string[], rows: ReadonlyArray<readonly string[]>, rightAlign?: readonly boolean[]): string {
  const w = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const right = (i: number) => (rightAlign ? rightAlign[i] : i > 0);
  const line = (r: readonly string[]) =>
    r
      .map((c, i) => (right(i) ? c.padStart(w[i]) : c.padEnd(w[i])))
      .join("  ")
      .replace(/\s+$/, "");
  return [line(header), w.map((x) => "-".repeat(x)).join("  "), ...rows.map(line)].join("\n");
}

/**
 * Rows of the samples-to-target table: one per method, the median (a miss counted as the cap), a
 * column per seed, and the ratio to one-shot's median. With `target`, the median column says to what.
 */
export function summaryRows(summary: Summary, target?: number): Array<Record<string, string | number>> {
  const seeds = (summary.config.seeds as number[]) ?? [];
  const base = summary.methods.oneshot?.median;
  const taps = Object.values(summary.methods).some((s) => s.tapSteps?.some((x) => x > 0));
  const medianName = target === undefined ? "median" : `median to ${Math.round(target * 100)}%`;
  return Object.entries(summary.methods).map(([m, s]) => {
    const row: Record<string, string | number> = { method: m, [medianName]: fmtSamples(s.median) };
    seeds.forEach((seed, i) => (row[`seed ${seed}`] = s.samplesToTarget[i] === null ? "not reached" : fmtSamples(s.samplesToTarget[i])));
    if (base) row["speed-up vs oneshot"] = `${(base / s.median).toFixed(1)}x`;
    if (taps) row["tap steps"] = String(Math.round(medianOf(s.tapSteps ?? []) ?? 0));
    // Cost to the target, medians over the seeds that reached it (summaries from before cost
    // accounting have no such fields: the columns are left out).
    if (s.storedBytes) {
      row.stored = fmtBytes(medianOf(s.storedBytes));
      row["teacher FLOPs"] = fmtFlops(medianOf(s.teacherFlopsToTarget));
      row["student FLOPs"] = fmtFlops(medianOf(s.studentFlopsToTarget));
      row.seconds = fmtNumber(medianOf(s.secondsToTarget));
    }
    return row;
  });
}

function medianOf(xs: ReadonlyArray<number | null>): number | null {
  const m = medianOfReached(xs);
  return Number.isNaN(m) ? null : m;
}

/** 0 B, 812 kB, 3.4 MB (decimal units, as `ls -h --si`). */
export function fmtBytes(x: number | null): string {
  if (x === null) return "-";
  if (x === 0) return "0 B";
  const units = ["B", "kB", "MB", "GB", "TB"];
  const e = Math.min(units.length - 1, Math.floor(Math.log10(x) / 3));
  const v = x / 1000 ** e;
  return `${v >= 100 || e === 0 ? Math.round(v) : v.toFixed(1)} ${units[e]}`;
}

/** FLOPs as 3.2e12 (0 as 0). */
export function fmtFlops(x: number | null): string {
  if (x === null) return "-";
  return x === 0 ? "0" : x.toExponential(1).replace("e+", "e");
}

function fmtNumber(x: number | null): string {
  return x === null ? "-" : x >= 100 ? String(Math.round(x)) : x.toFixed(1);
}

/** summaryRows as a terminal table. */
export function summaryTable(summary: Summary, target: number): string {
  const rows = summaryRows(summary, target);
  if (rows.length === 0) return "";
  const header = Object.keys(rows[0]);
  return alignedTable(header, rows.map((r) => header.map((h) => String(r[h] ?? ""))));
}
