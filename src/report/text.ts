/** Plain-text tables for terminals. */
import { Summary } from "../experiments/results";
import { fmtSamples } from "../progress";

export function textTable(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const w = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: readonly string[]) => r.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join("  ");
  return [line(header), w.map((x) => "-".repeat(x)).join("  "), ...rows.map(line)].join("\n");
}

/** Median and per-seed samples to target per method, and each method's ratio to one-shot. */
export function summaryTable(summary: Summary, target: number): string {
  const methods = Object.keys(summary.methods);
  const seeds = (summary.config.seeds as number[]) ?? [];
  const base = summary.methods.oneshot?.median;
  const rows = methods.map((m) => {
    const s = summary.methods[m];
    return [
      m,
      fmtSamples(s.median),
      ...s.samplesToTarget.map((x) => (x === null ? "not reached" : fmtSamples(x))),
      base ? `${(base / s.median).toFixed(1)}x` : "",
    ];
  });
  const head = ["method", `median to ${Math.round(target * 100)}%`, ...seeds.map((s) => `seed ${s}`), "speed-up vs oneshot"];
  return textTable(head, rows);
}
