/** The self-contained HTML report of a parity run (offline: plotly inlined once). */
import { StudentRun, Summary } from "../experiments/results";
import { fmtSamples } from "../progress";
import { reportHtml, writeReport } from "./html";
import { Curve, accuracyCurves, samplesToTargetBars } from "./plots";
import { tableHtml } from "./tables";

/** Curves per method (one per seed), in method order. */
export function curvesByMethod(runs: readonly StudentRun[], methods: readonly string[]): Record<string, Curve[]> {
  const out: Record<string, Curve[]> = {};
  for (const m of methods) {
    const rs = runs.filter((r) => r.method === m);
    if (rs.length) out[m] = rs.map((r) => ({ samples: r.curve.map((c) => c.samples), accuracy: r.curve.map((c) => c.accuracy), loss: r.curve.map((c) => c.loss) }));
  }
  return out;
}

/** Rows of the samples-to-target table: one per method, a column per seed. */
export function summaryRows(summary: Summary): Array<Record<string, string | number>> {
  const seeds = (summary.config.seeds as number[]) ?? [];
  const base = summary.methods.oneshot?.median;
  return Object.entries(summary.methods).map(([m, s]) => {
    const row: Record<string, string | number> = { method: m, median: fmtSamples(s.median) };
    seeds.forEach((seed, i) => (row[`seed ${seed}`] = s.samplesToTarget[i] === null ? "not reached" : fmtSamples(s.samplesToTarget[i])));
    if (base) row["speed-up vs oneshot"] = `${(base / s.median).toFixed(1)}x`;
    return row;
  });
}

export function parityReportHtml(result: { runs: readonly StudentRun[]; config: { methods: readonly string[]; targetAccuracy: number; maxSamples: number } }, summary: Summary): string {
  const methods = result.config.methods;
  const target = result.config.targetAccuracy;
  const cfg = summary.config;
  return reportHtml(
    `Sparse parity (n=${cfg.n}, k=${cfg.k}): curriculum extraction vs one-shot, progressive and scratch`,
    [
      {
        text:
          `Config: ${Object.entries(cfg)
            .filter(([, v]) => typeof v !== "object")
            .map(([k, v]) => `${k}=${v}`)
            .join(", ")}; seeds ${(cfg.seeds as number[]).join(", ")}; backend ${summary.backend}. ` +
          `Samples to ${Math.round(target * 100)}% held-out accuracy count every phase (curriculum extraction's phase 1 included); ` +
          `a run that did not reach the target counts as the cap (${fmtSamples(result.config.maxSamples)}) in the median.`,
      },
      { heading: `Samples to ${Math.round(target * 100)}%`, html: tableHtml(summaryRows(summary)) },
      {
        heading: "Held-out accuracy against samples seen",
        figures: [
          accuracyCurves(curvesByMethod(result.runs, methods), { perSeed: true, target, title: "accuracy vs samples (mean over seeds, seeds faint)" }),
          samplesToTargetBars(
            methods.filter((m) => summary.methods[m]).map((m) => ({ method: m, samples: summary.methods[m].samplesToTarget })),
            { target },
          ),
        ],
      },
    ],
    { generated: `generated ${new Date().toISOString()} by curriculum-distill` },
  );
}

export function writeParityReport(file: string, result: Parameters<typeof parityReportHtml>[0], summary: Summary): void {
  writeReport(file, parityReportHtml(result, summary));
}
