/**
 * Curves of curriculum extraction's tap phases: the training loss (projected MSE against the
 * teacher's projected representation) at each evaluation inside each "tap:" phase.
 *
 * Keep this file within TypeScript 5.0 syntax: notebooks compile against its .d.ts with tslab's TS 5.0.4.
 */
import { StudentRun } from "../experiments/results";
import { FigureSpec, Series, lineChart } from "./plots";

/** One series per (run, tap phase): x = samples seen, y = projected MSE of the latest step. */
export function tapLossSeries(runs: readonly StudentRun[], method = "cx"): Series[] {
  const out: Series[] = [];
  for (const r of runs) {
    if (r.method !== method) continue;
    const phases = Array.from(new Set(r.curve.filter((c) => c.phase.startsWith("tap:")).map((c) => c.phase)));
    for (const p of phases) {
      const pts = r.curve.filter((c) => c.phase === p && Number.isFinite(c.trainLoss));
      out.push({ name: `${p.slice(4)} (seed ${r.seed})`, x: pts.map((c) => c.samples), y: pts.map((c) => c.trainLoss), markers: true });
    }
  }
  return out;
}

export function tapLossFigure(runs: readonly StudentRun[], title = "curriculum extraction: projected MSE in each tap phase"): FigureSpec {
  return lineChart(tapLossSeries(runs), { title, xTitle: "samples seen", yTitle: "projected MSE (training batch)", logY: true });
}
