/**
 * What each method spent to reach the target, side by side: samples, compute (teacher forward and
 * student FLOPs) and storage besides the final teacher. Three bar figures from one parity
 * summary.json (summary.methods[m].teacherFlopsToTarget etc.), all linear from zero; a method that
 * missed the target on some seeds is labelled with how many reached it (its compute median is over
 * those seeds only, so it is a lower bound).
 *
 * Keep this file within TypeScript 5.0 syntax (notebooks compile against its .d.ts).
 */
import { MethodSummary, medianOfReached } from "../experiments/summary";
import { honestAxes, tickLabel } from "./axes";
import { FigureSpec, Trace, colorFor, samplesToTargetBars } from "./plots";

export interface CostFigures {
  samples: FigureSpec;
  compute: FigureSpec;
  storage: FigureSpec;
}


function reachedNote(s: MethodSummary): string {
  const hit = s.samplesToTarget.filter((x) => x !== null).length;
  return hit === s.samplesToTarget.length ? "" : ` (${hit}/${s.samplesToTarget.length} reached)`;
}

export interface CostFigureOpts {
  /** The runs' accuracy target and sample cap. */
  target: number;
  cap: number;
  /** What the figures show, in every title (e.g. parityRunLabel(result.config)): the configuration, QUICK MODE. */
  label?: string;
  height?: number;
}

/**
 * The three figures for `methods` (a parity summary's), target and sample cap as in the run. Every value
 * label uses the axis's own number format (tickLabel: 80M, 9.1G); a method that reached the target on no
 * seed gets a red cross at zero labelled "not reached", never an empty slot.
 */
export function costFigures(methods: Record<string, MethodSummary>, opts: CostFigureOpts): CostFigures {
  const names = Object.keys(methods).filter((m) => methods[m].storedBytes !== undefined);
  if (names.length === 0) throw new Error("costFigures: this summary has no cost fields (made before cost accounting): re-run it");
  const height = opts.height ?? 380;
  const of = opts.label ? ` (${opts.label})` : "";
  const samples = samplesToTargetBars(
    names.map((m) => ({ method: m, samples: methods[m].samplesToTarget.map((x) => x ?? NaN) })),
    { cap: opts.cap, title: `samples to ${Math.round(opts.target * 100)}% (median over seeds)${of}`, height },
  );
  const flopsTrace = (who: "teacher" | "student", i: number): Trace => {
    const y = names.map((m) => medianOfReached(who === "teacher" ? methods[m].teacherFlopsToTarget : methods[m].studentFlopsToTarget));
    return {
      type: "bar",
      name: who === "teacher" ? "teacher forward" : "student (forward + backward)",
      x: names,
      y,
      text: names.map((m, j) => (Number.isFinite(y[j]) ? tickLabel(Number(y[j].toPrecision(2))) + reachedNote(methods[m]) : "")),
      textposition: "outside",
      cliponaxis: false,
      marker: { color: colorFor(i + 3), opacity: 0.8 },
    };
  };
  const never = names.filter((m) => methods[m].samplesToTarget.every((x) => x === null));
  const computeData = [flopsTrace("teacher", 0), flopsTrace("student", 1)];
  if (never.length > 0) {
    computeData.push({
      type: "scatter",
      mode: "text+markers",
      name: "not reached",
      x: never,
      y: never.map(() => 0),
      text: never.map((m) => `not reached by ${tickLabel(opts.cap)} (0/${methods[m].samplesToTarget.length})`),
      textposition: "top center",
      marker: { symbol: "x", color: "#d62728", size: 11 },
      hoverinfo: "text",
    });
  }
  const compute = honestAxes({
    data: computeData,
    layout: {
      title: { text: `FLOPs to ${Math.round(opts.target * 100)}% (median over the seeds that reached it)${of}` },
      barmode: "group",
      xaxis: { type: "category", title: { text: "method" } },
      yaxis: { title: { text: "FLOPs" } },
      legend: { orientation: "h", y: -0.25 },
      height,
    },
  });
  const stored = names.map((m) => medianOfReached(methods[m].storedBytes) / 1e6);
  const storage = honestAxes({
    data: [
      {
        type: "bar",
        name: "stored besides the final teacher",
        x: names,
        y: stored,
        text: stored.map((v) => (v === 0 ? "none" : `${v.toFixed(v >= 10 ? 0 : 2)} MB`)),
        textposition: "outside",
        cliponaxis: false,
        marker: { color: names.map((_, i) => colorFor(i)), opacity: 0.75 },
      },
    ],
    layout: {
      title: { text: `storage besides the final teacher (checkpoints as saved)${of}` },
      xaxis: { type: "category", title: { text: "method" } },
      yaxis: { title: { text: "MB (10^6 bytes)" } },
      showlegend: false,
      height,
    },
  });
  return { samples, compute, storage };
}
