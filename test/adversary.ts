/**
 * The adversarial user of issue 14, as code: every attack ends either in the results of an
 * uninterrupted run (timings aside) or in one line naming the file or path with exit code 2, with
 * nothing finished lost. Used by test/store.test.ts and by `npx tsx scripts/adversarial.ts`, which
 * prints the counts (tried / handled) per category.
 */
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

export const BIN = path.join(__dirname, "..", "bin", "curriculum-distill.js");
export const TINY = [
  "parity",
  "--preset",
  "smoke",
  "--n",
  "10",
  "--k",
  "2",
  "--teacher-width",
  "32",
  "--student-width",
  "4",
  "--seeds",
  "0",
  "--methods",
  "cx,oneshot",
  "--heldout",
  "128",
  "--eval-every",
  "25",
  "--ckpt-every",
  "50",
  "--max-samples",
  "3e4",
  "--run-to-cap",
  "true",
  "--quiet",
  "--json",
  "--workers",
  "1",
];

export interface Outcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function cli(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): Outcome {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", timeout: 300_000, cwd: opts.cwd, env: { ...process.env, ...opts.env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

export function cliAsync(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): { done: Promise<Outcome>; kill(sig: NodeJS.Signals): void; pid: number } {
  const child = spawn(process.execPath, [BIN, ...args], { stdio: ["ignore", "pipe", "pipe"], cwd: opts.cwd, env: { ...process.env, ...opts.env } });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => (stdout += d));
  child.stderr.on("data", (d) => (stderr += d));
  // "close", not "exit": the exit can be seen before the last of stderr is read.
  const done = new Promise<Outcome>((r) => child.on("close", (code, sig) => r({ code: code ?? (sig ? -1 : null), stdout, stderr })));
  return { done, kill: (s) => child.kill(s), pid: child.pid! };
}

export const tmp = (p = "cd-adv-") => fs.mkdtempSync(path.join(os.tmpdir(), p));

/** summary.json without timings. */
export function summaryOf(dir: string): unknown {
  const s = JSON.parse(fs.readFileSync(path.join(dir, "summary.json"), "utf8"));
  delete s.wallSeconds;
  for (const m of Object.values<Record<string, unknown>>(s.methods)) delete m.seconds, delete m.stepsPerSecond, delete m.secondsToTarget;
  for (const t of Object.values<Record<string, unknown>>(s.teachers ?? {})) delete t.seconds, delete t.stepsPerSecond, delete t.msPerStep;
  return s;
}

/** curves.csv without the seconds column. */
export function curvesOf(dir: string): string[] {
  return fs
    .readFileSync(path.join(dir, "curves.csv"), "utf8")
    .trim()
    .split("\n")
    .map((l) => l.split(",").slice(0, 8).join(","));
}

/** run.json without timings, ids and checksums (what must equal an uninterrupted run's). */
export function recordOf(dir: string): unknown {
  const r = JSON.parse(fs.readFileSync(path.join(dir, "run.json"), "utf8"));
  for (const k of ["elapsedSeconds", "created", "checksum", "runId", "args"]) delete r[k];
  delete r.files["summary.json"];
  delete r.files["curves.csv"];
  return r;
}

/** One line, exit 2, no stack trace, naming `what` (a path or a field). */
export function refusedNaming(o: Outcome, what: string | RegExp): boolean {
  const lines = o.stderr
    .trim()
    .split("\n")
    .filter((l) => !/^warning: /.test(l));
  const named = typeof what === "string" ? lines[0]?.includes(what) : what.test(lines[0] ?? "");
  return o.code === 2 && lines.length === 1 && Boolean(named) && !/\n\s+at .*:\d+:\d+/.test(o.stderr);
}

/** Equal to the baseline run's results (timings aside), run record included. */
export function sameResults(dir: string, baseline: string): boolean {
  try {
    return (
      JSON.stringify(summaryOf(dir)) === JSON.stringify(summaryOf(baseline)) &&
      JSON.stringify(curvesOf(dir)) === JSON.stringify(curvesOf(baseline)) &&
      JSON.stringify(recordOf(dir)) === JSON.stringify(recordOf(baseline))
    );
  } catch {
    return false;
  }
}

/** Every file below `dir`, relative. */
export function filesBelow(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name !== ".lock") out.push(path.relative(dir, p));
    }
  };
  walk(dir);
  return out.sort();
}

export type Corruption = "truncate" | "bitflip" | "edit-number" | "delete";
export const CORRUPTIONS: Corruption[] = ["truncate", "bitflip", "edit-number", "delete"];

/** Damage a file; false when the corruption does not apply (no number to edit, empty file). */
export function corrupt(file: string, how: Corruption): boolean {
  if (how === "delete") {
    fs.rmSync(file);
    return true;
  }
  const b = fs.readFileSync(file);
  if (b.length === 0) return false;
  if (how === "truncate") fs.writeFileSync(file, b.subarray(0, Math.floor(b.length / 2)));
  else if (how === "bitflip") {
    const c = Buffer.from(b);
    c[Math.floor(c.length / 2)] ^= 0x04;
    fs.writeFileSync(file, c);
  } else {
    const text = b.toString("utf8");
    // The last number of the file (a checkpoint offset, a sample count, an accuracy...), one digit changed.
    const m = [...text.matchAll(/(?<=[:[, ])-?\d+(\.\d+)?(?=[,\n\]}])/g)].pop();
    if (!m || m.index === undefined || file.endsWith(".bin")) return false;
    const i = m.index + m[0].length - 1;
    const d = text[i] === "9" ? "8" : String(Number(text[i]) + 1);
    fs.writeFileSync(file, text.slice(0, i) + d + text.slice(i + 1));
  }
  return true;
}

/** Copy a folder tree. */
export function copyTree(from: string, to: string): void {
  fs.cpSync(from, to, { recursive: true });
}

/** TINY with some flags' values replaced (e.g. { "--seeds": "1" }). */
export function tinyWith(values: Record<string, string>): string[] {
  return TINY.map((a, i) => (i > 0 && values[TINY[i - 1]] !== undefined ? values[TINY[i - 1]] : a));
}

/** Resolves once `file` exists (polling every 10 ms), or after `ms`. */
export async function waitFor(file: string, ms = 20_000): Promise<boolean> {
  for (const t0 = Date.now(); Date.now() - t0 < ms; await new Promise((r) => setTimeout(r, 10))) if (fs.existsSync(file)) return true;
  return false;
}

/** A pid that belonged to a process that has exited. */
export function deadPid(): number {
  return spawnSync(process.execPath, ["-e", ""]).pid!;
}

/** Rewrite a run folder's run.json (its checksum recomputed), as a kill at another point would have left it. */
export async function rewriteRun(dir: string, f: (r: Record<string, unknown>) => Record<string, unknown>): Promise<void> {
  const { writeRecord } = await import("../src/io");
  const { checksum: _c, ...rec } = JSON.parse(fs.readFileSync(path.join(dir, "run.json"), "utf8"));
  writeRecord(path.join(dir, "run.json"), f(rec));
}
