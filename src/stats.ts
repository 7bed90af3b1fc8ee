/**
 * Paired comparisons over seeds: the mean of per-seed differences with a Student-t confidence
 * interval (jstat's t quantile). Seeds pair two methods that share the student's initialisation and
 * batches, so the paired difference removes the seed's own luck.
 */
import { jStat } from "jstat";

export interface PairedDifference {
  /** Seeds with both values. */
  n: number;
  /** Mean of a[i] - b[i]. */
  mean: number;
  /** Sample standard deviation of the differences (NaN for n < 2). */
  sd: number;
  /** Confidence interval of the mean difference (NaN bounds for n < 2). */
  lo: number;
  hi: number;
  level: number;
}

/** Mean paired difference a - b with a `level` (default 95%) t interval; pairs with a NaN/null are dropped. */
export function pairedDifference(a: ReadonlyArray<number | null>, b: ReadonlyArray<number | null>, level = 0.95): PairedDifference {
  if (a.length !== b.length) throw new Error(`pairedDifference: ${a.length} values against ${b.length}`);
  if (!(level > 0 && level < 1)) throw new Error(`pairedDifference: level must be in (0, 1), got ${level}`);
  const d: number[] = [];
  a.forEach((x, i) => {
    const y = b[i];
    if (x !== null && y !== null && Number.isFinite(x) && Number.isFinite(y)) d.push(x - y);
  });
  const n = d.length;
  const mean = n ? d.reduce((s, v) => s + v, 0) / n : NaN;
  if (n < 2) return { n, mean, sd: NaN, lo: NaN, hi: NaN, level };
  const sd = Math.sqrt(d.reduce((s, v) => s + (v - mean) ** 2, 0) / (n - 1));
  const half = jStat.studentt.inv(1 - (1 - level) / 2, n - 1) * (sd / Math.sqrt(n));
  return { n, mean, sd, lo: mean - half, hi: mean + half, level };
}
