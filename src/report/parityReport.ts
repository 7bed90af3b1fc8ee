/** The self-contained HTML report of a parity run (offline: plotly inlined once). */
import { StudentRun, Summary } from "../experiments/results";
import { fmtSamples } from "../progress";
import { reportHtml, writeReport } from "./html";
import { runsFrame } from "./frames";
import { Curve, accuracyCurves, samplesToTargetBars } from "./plots";
import { methodTable } from "./resultTables";
import { frameHtml } from "./tables";

/** Curves per method (one per seed), in method order. */
export function curvesByMethod(runs: readonly StudentRun[], methods: readonly string[]): Record<string, Curve[]> {
  const out: Record<string, Curve[]> = {};
  for (const m of methods) {
    const rs = runs.filter((r) => r.method === m);
    if (rs.length) out[m] = rs.map((r) => ({ samples: r.curve.map((c) => c.samples), accuracy: r.curve.map((c) => c.accuracy), loss: r.curve.map((c) => c.loss) }));
  }
  return out;
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
      {
        heading: `Samples to ${Math.round(target * 100)}%`,
        html: frameHtml(methodTable(runsFrame(result.runs), { cap: result.config.maxSamples, order: methods, target })),
      },
      {
        heading: "Held-out accuracy against samples seen",
        figures: [
          accuracyCurves(curvesByMethod(result.runs, methods), { perSeed: true, target, title: "accuracy vs samples (mean over seeds, seeds faint)" }),
          samplesToTargetBars(
            methods.filter((m) => summary.methods[m]).map((m) => ({ method: m, samples: summary.methods[m].samplesToTarget })),
            { target, cap: result.config.maxSamples },
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
