/**
 * `npm run bench`: per-step milliseconds of the experiments' training steps (src/bench/steps.ts) at
 * the MLP, parity-transformer and masked-LM reference shapes, next to the PyTorch peers' times for the
 * same steps measured in the same run (scripts/peer_bench.py, one thread, where Debian's python3-torch
 * is installed), with the ratios; tensor count and RSS over a run of steps.
 *
 *   npm run bench                          # table on stdout, JSON written to data/bench/
 *   npm run bench -- --json                # one JSON object on stdout (progress on stderr)
 *   npm run bench -- --quick               # shorter timings (--effort 0.3)
 *   npm run bench -- --effort X            # timed duration scale (default 1; 0.05 on a software WebGPU adapter)
 *   npm run bench -- --sections mlp,mlm    # a subset
 *   npm run bench -- --backend webgpu      # any backend (CD_BACKEND too)
 *   npm run bench -- --peer DIR | --no-peer
 *   npm run bench -- --soak N              # N one-shot steps per section for the memory check (default 300; 0 = off)
 *   npm run bench -- --profile             # also where one step's time goes, per kernel (tf.profile)
 *
 * Every section reports `kernelsPerStep` {teacher, oneshot, scratch, tap: [...]}: the kernels one step
 * runs as tf.profile counts them (kernels, custom-gradient scopes and the copies they save), on any backend.
 *   npm run bench -- --kernels             # also the wasm matMul micro-benchmarks (src/bench/kernels.ts)
 *   npm run bench -- --e2e                 # also the MLP main reproduction end to end, ours and PyTorch's
 *
 * Two cores are noisy: compare the ratios measured in one run, not absolute times across runs.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import { backendInfo, describeBackend, initBackend } from "../backend";
import { writeJsonAtomic } from "../io";
import { alignedTable } from "../report/text";
import { KernelCounts, KernelProfile, MemoryReport, SECTIONS, Section, StepTimes, benchSection, kernelCounts, profileSection, soak } from "./steps";

const PYTHON = "/usr/bin/python3"; // Debian's: the default python3 here has no torch

export interface SectionReport extends StepTimes {
  /** The PyTorch peers' times for the same steps, same run; null where PyTorch is not installed. */
  pytorch: StepTimes | null;
  /** ours / PyTorch per key (null without PyTorch). */
  ratio: { teacherStepMs: number; oneshotStepMs: number; scratchStepMs: number; tapStepMs: number[] } | null;
  /** Kernels one step runs, as tf.profile counts them. */
  kernelsPerStep: KernelCounts;
}

function arg(argv: readonly string[], name: string): string | undefined {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
}

/** The peers' step times (scripts/peer_bench.py), or null with the reason. */
export function peerTimes(peerDir: string, sections: readonly Section[], effort: number): { times: Partial<Record<Section, StepTimes>> | null; reason: string } {
  if (!fs.existsSync(peerDir)) return { times: null, reason: `no peer folder ${peerDir}` };
  const probe = spawnSync(PYTHON, ["-c", "import torch"], { encoding: "utf8" });
  if (probe.status !== 0) return { times: null, reason: "Debian's python3-torch is not installed (apt-get install python3-torch libopenblas0-pthread)" };
  const script = path.join(__dirname, "..", "..", "scripts", "peer_bench.py");
  const r = spawnSync(PYTHON, [script, "--peer", peerDir, "--sections", sections.join(","), "--effort", String(effort), "--threads", "1"], { encoding: "utf8", maxBuffer: 1 << 24, env: { ...process.env, OMP_NUM_THREADS: "1" } });
  if (r.status !== 0) return { times: null, reason: `peer_bench.py failed: ${r.stderr.trim().split("\n").slice(-3).join(" | ")}` };
  return { times: JSON.parse(r.stdout.trim().split("\n").pop()!), reason: "" };
}

function ratios(ours: StepTimes, theirs: StepTimes | undefined): SectionReport["ratio"] {
  if (!theirs) return null;
  const r = (a: number, b: number) => Math.round((a / b) * 1000) / 1000;
  return {
    teacherStepMs: r(ours.teacherStepMs, theirs.teacherStepMs),
    oneshotStepMs: r(ours.oneshotStepMs, theirs.oneshotStepMs),
    scratchStepMs: r(ours.scratchStepMs, theirs.scratchStepMs),
    tapStepMs: ours.tapStepMs.map((v, i) => r(v, theirs.tapStepMs[i])),
  };
}

function table(report: Record<string, unknown>, sections: readonly Section[]): string {
  const rows: string[][] = [];
  const f = (v: number | undefined) => (v === undefined ? "" : v < 10 ? v.toFixed(3) : v.toFixed(1));
  for (const s of sections) {
    const r = report[s] as SectionReport;
    const k = r.kernelsPerStep;
    const line = (name: string, kernels: number, ours: number, theirs?: number, ratio?: number) => rows.push([s, name, String(kernels), f(ours), f(theirs), ratio === undefined ? "" : ratio.toFixed(2)]);
    line("teacher step", k.teacher, r.teacherStepMs, r.pytorch?.teacherStepMs, r.ratio?.teacherStepMs);
    line("one-shot step (teacher forward included)", k.oneshot, r.oneshotStepMs, r.pytorch?.oneshotStepMs, r.ratio?.oneshotStepMs);
    line("scratch step", k.scratch, r.scratchStepMs, r.pytorch?.scratchStepMs, r.ratio?.scratchStepMs);
    r.tapStepMs.forEach((v, i) => line(`cx tap step, phase ${i + 1}`, k.tap[i], v, r.pytorch?.tapStepMs[i], r.ratio?.tapStepMs[i]));
    if (r.alone) {
      // The same steps with each batch's teacher targets computed alone (the lines above: TARGETS_AHEAD at a time, as the loop does).
      const them = r.pytorch?.alone;
      line("one-shot step, teacher targets one batch at a time", k.oneshot, r.alone.oneshotStepMs, them?.oneshotStepMs, them ? r.alone.oneshotStepMs / them.oneshotStepMs : undefined);
      r.alone.tapStepMs.forEach((v, i) => line(`cx tap step, phase ${i + 1}, teacher targets one batch at a time`, k.tap[i], v, them?.tapStepMs[i], them ? v / them.tapStepMs[i] : undefined));
    }
  }
  return alignedTable(["shapes", "step", "kernels", "ours ms", "PyTorch ms", "ours / PyTorch"], rows);
}

export async function main(argv: string[]): Promise<void> {
  const json = argv.includes("--json");
  const quick = argv.includes("--quick");
  const sections = (arg(argv, "--sections") ?? SECTIONS.join(",")).split(",") as Section[];
  for (const s of sections) if (!SECTIONS.includes(s)) throw new Error(`--sections: unknown section "${s}" (expected ${SECTIONS.join(", ")})`);
  await initBackend(arg(argv, "--backend"));
  const log = (s: string) => process.stderr.write(s + "\n");
  const info = backendInfo();
  // A software WebGPU adapter (SwiftShader) takes seconds per transformer step: time a few steps only.
  const effortArg = arg(argv, "--effort");
  const effort = effortArg !== undefined ? Number(effortArg) : quick ? 0.3 : info.adapter?.software ? 0.05 : 1;
  if (!(effort > 0)) throw new Error(`--effort: expected a number > 0, got "${effortArg}"`);
  log(`bench: ${describeBackend()}${effort !== 1 ? ` (effort ${effort})` : ""}; sections ${sections.join(", ")}`);
  const report: Record<string, unknown> = { backend: info.backend, adapter: info.adapter, native: info.native, node: process.version, cpus: os.cpus().length, date: new Date().toISOString() };

  const ours: Partial<Record<Section, StepTimes>> = {};
  const profiles: Partial<Record<Section, KernelProfile[]>> = {};
  const counts: Partial<Record<Section, KernelCounts>> = {};
  for (const s of sections) {
    ours[s] = await benchSection(s, effort, log);
    profiles[s] = await profileSection(s, 12, true);
    counts[s] = await kernelCounts(s, profiles[s]);
    log(`  ${s} kernels per step: ${JSON.stringify(counts[s])}`);
  }

  const peerDir = arg(argv, "--peer") ?? path.join("..", "shared", "peer");
  let peer: ReturnType<typeof peerTimes> = { times: null, reason: "--no-peer" };
  if (!argv.includes("--no-peer")) {
    log(`PyTorch peers (${peerDir}, one thread), same run...`);
    peer = peerTimes(peerDir, sections, effort);
    if (peer.times === null) log(`  skipped: ${peer.reason}`);
  }
  report.pytorchSkipped = peer.times === null ? peer.reason : null;
  for (const s of sections) {
    const theirs = peer.times?.[s];
    report[s] = { ...ours[s]!, pytorch: theirs ?? null, ratio: ratios(ours[s]!, theirs), kernelsPerStep: counts[s]! } satisfies SectionReport;
  }

  const soakSteps = Number(arg(argv, "--soak") ?? (quick ? 60 : 300));
  if (soakSteps > 0) {
    const memory: MemoryReport[] = [];
    for (const s of sections) {
      const n = s === "mlm" ? Math.ceil(soakSteps / 3) : soakSteps * 10;
      log(`memory: ${n} ${s} one-shot steps...`);
      memory.push(await soak(s, n));
    }
    report.memory = memory;
  }

  if (argv.includes("--profile")) report.profile = profiles;
  if (argv.includes("--kernels")) {
    const { benchKernels } = await import("./kernels");
    report.kernels = await benchKernels({ effort, log });
    await initBackend(info.backend);
  }
  if (argv.includes("--e2e")) report.e2e = endToEnd(path.join(peerDir, "torch_parity.py"), log);

  const file = path.join("data", "bench", `bench-${new Date().toISOString().replace(/[:.]/g, "-")}.json`);
  writeJsonAtomic(file, report);
  if (json) {
    process.stdout.write(JSON.stringify(report) + "\n");
    log(`written: ${file}`);
    return;
  }
  process.stdout.write(`${describeBackend()}\n\n${table(report, sections)}\n`);
  if (peer.times === null) process.stdout.write(`(no PyTorch figures: ${peer.reason})\n`);
  for (const [s, profiles] of Object.entries((report.profile as Record<string, KernelProfile[]> | undefined) ?? {})) {
    for (const p of profiles) {
      process.stdout.write(`\nprofile, ${s} ${p.step} (${p.kernels} kernels; ms include nested kernels):\n`);
      process.stdout.write(alignedTable(["kernel", "ms", "calls"], p.top.map((k) => [k.kernel, k.ms.toFixed(2), String(k.calls)])) + "\n");
    }
  }
  for (const m of (report.memory as MemoryReport[] | undefined) ?? []) {
    process.stdout.write(`memory, ${m.section} ${m.step} x ${m.steps}: tensors ${m.tensorsStart} -> ${m.tensorsEnd}, RSS ${m.rssStartMb.toFixed(0)} -> ${m.rssEndMb.toFixed(0)} MB (max ${m.rssMaxMb.toFixed(0)})\n`);
  }
  process.stdout.write(`written: ${file}\n`);
}

/** The MLP main reproduction end to end (3 seeds, 4 methods, teachers trained), ours and the peer's. */
function endToEnd(peer: string, log: (s: string) => void): Record<string, number> {
  const bin = path.join(__dirname, "..", "..", "bin", "curriculum-distill.js");
  const out = fs.mkdtempSync(path.join(os.tmpdir(), "cd-bench-"));
  const res: Record<string, number> = {};
  for (const workers of [2, 1]) {
    log(`end to end: main reproduction, 3 seeds, 4 methods, --workers ${workers}, teachers not cached...`);
    const t0 = Date.now();
    const r = spawnSync(process.execPath, [bin, "parity", "--preset", "main", "--seeds", "0,1,2", "--quiet", "--no-cache", "--workers", String(workers), "--out", path.join(out, `w${workers}`)], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`reproduction failed: ${r.stderr.slice(-400)}`);
    res[`oursSecondsWorkers${workers}`] = (Date.now() - t0) / 1000;
  }
  if (fs.existsSync(peer) && spawnSync(PYTHON, ["-c", "import torch"]).status === 0) {
    const t0 = Date.now();
    const r = spawnSync(PYTHON, [peer, "--n", "50", "--k", "5", "--seeds", "0,1,2", "--threads", "1"], { encoding: "utf8" });
    if (r.status === 0) res.pytorchSeconds = (Date.now() - t0) / 1000;
  }
  return res;
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((e) => {
    process.stderr.write(`bench: ${e instanceof Error ? e.message : e}\n`);
    process.exit(1);
  });
}
