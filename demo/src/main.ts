/**
 * The live page: controls, the chart and the results table around session.ts. The figure is the
 * library's own (src/report/plots.ts accuracyCurves, as in the HTML reports), redrawn with Plotly as
 * evaluations arrive; the table's numbers come from the library's summarize (src/experiments/summary.ts).
 *
 * State for scripts and the browser test: `window.cdDemo` (see DemoState).
 */
import Plotly from "plotly.js-basic-dist-min";
import { METHODS, METHOD_NAMES, MethodName, methodLabel } from "../../src/distill/methods";
import { TeacherInfo } from "../../src/experiments/experiment";
import { PARITY, ParityConfig } from "../../src/experiments/parityExperiment";
import { resolveExperiment } from "../../src/experiments/experiment";
import { StudentRun, summarize } from "../../src/experiments/summary";
import { fmtDuration, fmtSamples } from "../../src/format";
import { Curve, accuracyCurves } from "../../src/report/plots";
import { BackendChoice, BackendRequest, chooseBackend, describeChoice } from "./backend";
import { PAGE_PRESETS, PagePresetName, presetValues } from "./presets";
import { SessionHooks, Stopped, liveTensors, obtainTeacher, trainStudent } from "./session";
import { clearTeachers, storeAvailable } from "./teacherStore";

// The training loop lets events through with setImmediate (Node); a browser has none. A
// MessageChannel task is the browser's closest equivalent (no 4 ms clamp, unlike setTimeout).
if (typeof (globalThis as { setImmediate?: unknown }).setImmediate !== "function") {
  const channel = new MessageChannel();
  const queue: Array<() => void> = [];
  channel.port1.onmessage = () => queue.shift()?.();
  (globalThis as { setImmediate?: unknown }).setImmediate = (fn: () => void) => {
    queue.push(fn);
    channel.port2.postMessage(0);
  };
}

/** What the page exposes on `window.cdDemo`. */
export interface DemoState {
  state: "idle" | "running" | "done" | "stopped" | "error";
  backend: string | null;
  config: Readonly<ParityConfig> | null;
  teacher: (TeacherInfo & { cached: boolean }) | null;
  runs: StudentRun[];
  /** Wall time of the last run, seconds (teacher included). */
  wallSeconds: number | null;
  /** Milliseconds from a Stop click to the run's end. */
  stopLatencyMs: number | null;
  /** Milliseconds between the browser receiving the latest click and the page handling it (input delay). */
  clickDelayMs: number | null;
  error: string | null;
}

/** The methods the page offers (checkboxes `m-<name>` in index.html); labels and colours are the methods' own (src/distill/methods.ts). */
const METHOD_ORDER: MethodName[] = ["cx", "oneshot", "progressive", "scratch"];
const COLORS: Record<string, string> = { teacher: "#7f7f7f", ...Object.fromEntries(METHOD_NAMES.map((m) => [m, METHODS[m].color])) };

const state: DemoState = { state: "idle", backend: null, config: null, teacher: null, runs: [], wallSeconds: null, stopLatencyMs: null, clickDelayMs: null, error: null };
(window as unknown as { cdDemo: DemoState }).cdDemo = state;

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const input = (id: string) => $<HTMLInputElement>(id);

let presetName: PagePresetName = "quick";
let backendChoice: BackendChoice | null = null;
let stopAt: number | null = null;
const curves: Record<string, Curve> = {};

function setStatus(text: string): void {
  $("status").textContent = text;
}

function fillPreset(name: PagePresetName): void {
  presetName = name;
  const v = presetValues(name);
  const d = resolveExperiment(PARITY, PAGE_PRESETS[name].base, PAGE_PRESETS[name].overrides);
  input("n").value = String(v.n ?? d.n);
  input("k").value = String(v.k ?? d.k);
  input("teacherWidth").value = String(v.teacherWidth ?? d.teacherWidth);
  input("studentWidth").value = String(v.studentWidth ?? d.studentWidth);
  input("tapSteps").value = String(v.tapSteps ?? d.tapSteps);
  $("presetAbout").textContent = `${name}: ${PAGE_PRESETS[name].about}; student cap ${fmtSamples(d.maxSamples)} samples, target ${d.targetAccuracy}.`;
  for (const b of Array.from(document.querySelectorAll<HTMLButtonElement>("[data-preset]"))) b.classList.toggle("active", b.dataset.preset === name);
}

function readInt(id: string): number {
  const s = input(id).value.trim();
  return /^-?\d+$/.test(s) ? Number(s) : Number.NaN;
}

/** The run's config: the preset, then the controls; validated by the library (ConfigError on a bad value). */
function readConfig(): Readonly<ParityConfig> {
  const tap = input("tapSteps").value.trim();
  const methods = METHOD_ORDER.filter((m) => input(`m-${m}`).checked);
  return resolveExperiment(PARITY, PAGE_PRESETS[presetName].base, {
    ...PAGE_PRESETS[presetName].overrides,
    n: readInt("n"),
    k: readInt("k"),
    teacherWidth: readInt("teacherWidth"),
    studentWidth: readInt("studentWidth"),
    tapSteps: tap === "auto" ? "auto" : /^\d+$/.test(tap) ? Number(tap) : tap,
    seeds: [readInt("seed")],
    methods,
  });
}

function draw(): void {
  const cfg = state.config;
  if (!cfg) return;
  const spec = accuracyCurves(curves, {
    target: cfg.targetAccuracy,
    logX: input("logX").checked,
    colors: COLORS,
    title: `sparse parity n=${cfg.n}, k=${cfg.k}: teacher ${cfg.teacherWidth} wide, students ${cfg.studentWidth} wide`,
  });
  spec.layout.margin = { t: 50, r: 20, b: 50, l: 60 };
  spec.layout.legend = { orientation: "h", y: -0.2 };
  void Plotly.react($("chart"), spec.data, spec.layout, { displaylogo: false, responsive: true });
}

let drawQueued = false;
function queueDraw(): void {
  if (drawQueued) return;
  drawQueued = true;
  setTimeout(() => {
    drawQueued = false;
    draw();
  }, 0);
}

function addPoint(who: string, samples: number, accuracy: number): void {
  if (!curves[who]) curves[who] = { samples: [], accuracy: [] };
  const c = curves[who];
  c.samples.push(samples);
  c.accuracy.push(accuracy);
  queueDraw();
}

function renderTable(cfg: Readonly<ParityConfig>): void {
  const seed = cfg.seeds[0];
  const methods = cfg.methods.filter((m) => state.runs.some((r) => r.method === m));
  const summary = summarize(state.runs, methods, [seed], cfg.maxSamples);
  const base = summary.oneshot;
  const baseMissed = base !== undefined && base.samplesToTarget[0] === null;
  const rows = methods.map((m) => {
    const s = summary[m];
    const run = state.runs.find((r) => r.method === m)!;
    const hit = s.samplesToTarget[0];
    let speedup = "-";
    if (base !== undefined && !(hit === null && baseMissed)) {
      const x = base.median / s.median;
      // A miss counts as the cap: one-shot missing makes the ratio a lower bound, this method missing an upper one.
      speedup = `${baseMissed ? "≥ " : hit === null ? "≤ " : ""}${x >= 10 ? x.toFixed(0) : x.toFixed(1)}x`;
    }
    return `<tr data-method="${m}"><td>${methodLabel(m)}</td><td class="num">${hit === null ? `not reached by ${fmtSamples(cfg.maxSamples)}` : fmtSamples(hit)}</td><td class="num">${fmtDuration(run.seconds)}</td><td class="num">${speedup}</td></tr>`;
  });
  const t = state.teacher;
  const teacherRow = t
    ? `<tr data-method="teacher"><td>teacher (${t.cached ? "from this browser's cache" : "trained now"})</td><td class="num">${t.samplesToTarget === null ? "not reached" : fmtSamples(t.samplesToTarget)} (to ${cfg.teacherTarget})</td><td class="num">${t.cached ? "-" : fmtDuration(t.seconds)}</td><td class="num"></td></tr>`
    : "";
  $("results").innerHTML = `<table><thead><tr><th>model</th><th>samples to ${cfg.targetAccuracy} held-out accuracy</th><th>wall time</th><th>speed-up vs one-shot</th></tr></thead><tbody>${teacherRow}${rows.join("")}</tbody></table>`;
}

function setRunning(running: boolean): void {
  $<HTMLButtonElement>("start").disabled = running;
  $<HTMLButtonElement>("stop").disabled = !running;
  for (const el of Array.from(document.querySelectorAll<HTMLInputElement | HTMLSelectElement | HTMLButtonElement>("#controls input, #controls select, #controls button[data-preset], #clearCache"))) {
    if (el.id !== "logX") el.disabled = running;
  }
}

async function start(): Promise<void> {
  if (state.state === "running") return;
  let cfg: Readonly<ParityConfig>;
  try {
    cfg = readConfig();
    if (cfg.methods.length === 0) throw new Error("choose at least one method");
  } catch (e) {
    setStatus(e instanceof Error ? e.message : String(e)); // a ConfigError names the field and the value
    return;
  }
  Object.assign(state, { state: "running", config: cfg, teacher: null, runs: [], wallSeconds: null, stopLatencyMs: null, error: null });
  stopAt = null;
  for (const k of Object.keys(curves)) delete curves[k];
  $("results").innerHTML = "";
  setRunning(true);
  draw();
  const t0 = performance.now();
  const hooks: SessionHooks = {
    status: setStatus,
    point: addPoint,
    shouldStop: () => stopAt !== null,
    teacherReady: (info, cached) => {
      state.teacher = { ...info, cached };
      setStatus(`teacher ${cached ? "loaded from this browser's cache" : "trained"}: ${info.samplesToTarget === null ? "missed its target" : `${fmtSamples(info.samplesToTarget)} samples to ${cfg.teacherTarget}`}`);
    },
    studentDone: (run) => {
      state.runs.push(run);
      renderTable(cfg);
    },
  };
  try {
    const request = $<HTMLSelectElement>("backend").value as BackendRequest;
    if (backendChoice === null || (request !== "auto" && request !== backendChoice.backend)) backendChoice = await chooseBackend(request);
    state.backend = backendChoice.backend;
    $("backendLine").textContent = `backend: ${describeChoice(backendChoice)}${backendChoice.skipped.length ? ` (passed over: ${backendChoice.skipped.join("; ")})` : ""}`;
    const backendKey = `${backendChoice.backend}:${backendChoice.detail}`;
    const teacher = await obtainTeacher(cfg, cfg.seeds[0], backendKey, hooks);
    try {
      for (const m of cfg.methods) await trainStudent(cfg, cfg.seeds[0], m, teacher, hooks);
    } finally {
      teacher.dispose();
    }
    state.state = "done";
    state.wallSeconds = (performance.now() - t0) / 1000;
    setStatus(`done in ${fmtDuration(state.wallSeconds)} on ${state.backend} (${liveTensors()} tensors alive)`);
  } catch (e) {
    state.wallSeconds = (performance.now() - t0) / 1000;
    if (e instanceof Stopped) {
      state.state = "stopped";
      state.stopLatencyMs = stopAt === null ? null : performance.now() - stopAt;
      setStatus(`stopped (${Math.round(state.stopLatencyMs ?? 0)} ms after the click)`);
    } else {
      state.state = "error";
      state.error = e instanceof Error ? e.message : String(e);
      setStatus(`error: ${state.error}`);
      console.error(e);
    }
  } finally {
    setRunning(false);
    draw();
    if (state.runs.length) renderTable(cfg);
  }
}

function init(): void {
  // Input delay: an event's timeStamp is when the browser received it; training must let it through quickly.
  document.addEventListener(
    "click",
    (e) => {
      state.clickDelayMs = performance.now() - e.timeStamp;
    },
    true,
  );
  for (const b of Array.from(document.querySelectorAll<HTMLButtonElement>("[data-preset]"))) b.addEventListener("click", () => fillPreset(b.dataset.preset as PagePresetName));
  $("start").addEventListener("click", () => void start());
  $("stop").addEventListener("click", () => {
    if (state.state === "running" && stopAt === null) stopAt = performance.now();
  });
  input("logX").addEventListener("change", draw);
  $("clearCache").addEventListener("click", () => void clearTeachers().then(() => setStatus("cached teachers forgotten")));
  fillPreset("quick");
  setRunning(false);
  void storeAvailable().then((ok) => {
    $("cacheLine").textContent = ok ? "Teachers are cached in this browser (IndexedDB), per configuration and backend." : "This browser offers no IndexedDB here: the teacher is trained on every run.";
  });
  setStatus("ready: choose a preset or set the values, then Start");
}

init();
