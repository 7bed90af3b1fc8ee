/**
 * Issue 14's attacks, each returning whether it was handled: the uninterrupted run's results, or
 * one line naming the file or path with exit 2, nothing finished lost. Categories: bad input,
 * corruption (every file kind of a run folder, an interrupted run and the cache: truncate, bit
 * flip, one-digit edit of a number, delete), kills at exact points between two writes (the folder
 * states such a kill leaves), concurrency, disk faults (a small tmpfs, where mounting is allowed).
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { CORRUPTIONS, TINY, cli, cliAsync, copyTree, corrupt, filesBelow, refusedNaming, rewriteRun, sameResults, summaryOf, tmp } from "./adversary";
import { issue26Attacks } from "./attacks26";

export interface Attack {
  category: "input" | "corruption" | "kill" | "concurrency" | "disk" | "cache" | "identity" | "ownership" | "locks" | "grid" | "exit" | "signal" | "leftovers";
  name: string;
  run(): Promise<string | null>; // null = handled, else what went wrong
}

export const ok = (cond: boolean, what: string) => (cond ? null : what);
export const show = (o: { code: number | null; stderr: string }) => `exit ${o.code}: ${o.stderr.trim().split("\n").slice(-3).join(" | ")}`;

export interface World {
  root: string;
  /** A finished run (no shared cache) and a run killed mid-way, pristine. */
  finished: string;
  interrupted: string;
  /** A finished run that used a shared cache, and that cache, pristine. */
  cached: string;
  cache: string;
}

async function makeWorld(): Promise<World> {
  const root = tmp();
  const runs = path.join(root, "runs");
  const base = cli([...TINY, "--no-cache", "--runs-dir", runs, "--run-id", "full", "--out", path.join(root, "out-full")]);
  if (base.code !== 0) throw new Error(`baseline: ${show(base)}`);
  const cache = path.join(root, "cache");
  const c = cli([...TINY, "--cache", cache, "--runs-dir", runs, "--run-id", "cached", "--out", path.join(root, "out-cached")]);
  if (c.code !== 0) throw new Error(`cached: ${show(c)}`);
  // Killed (SIGKILL) once the cx student has saved a state.
  const p = cliAsync([...TINY, "--no-cache", "--runs-dir", runs, "--run-id", "part", "--save-every", "1", "--out", path.join(root, "out-part")]);
  const want = path.join(runs, "part", "students", "seed0-cx.json");
  for (let t = 0; t < 2000 && !fs.existsSync(want); t++) await new Promise((r) => setTimeout(r, 10));
  p.kill("SIGKILL");
  await p.done;
  const pristine = (n: string) => {
    const d = path.join(root, "pristine", n);
    copyTree(path.join(runs, n), d);
    return d;
  };
  const cachePristine = path.join(root, "pristine", "cache");
  copyTree(cache, cachePristine);
  return { root, finished: pristine("full"), interrupted: pristine("part"), cached: pristine("cached"), cache: cachePristine };
}

let n = 0;
/** A fresh path under the world's root (not created). */
export const scratch = (w: World, name = "attack") => path.join(w.root, `${name}-${++n}`);

/** A copy of a pristine run folder under a fresh runs dir; returns [runsDir, runDir]. */
export function fresh(w: World, from: string, id: string): [string, string] {
  const runs = path.join(w.root, `attack-${++n}`);
  copyTree(from, path.join(runs, id));
  return [runs, path.join(runs, id)];
}

function corruptionAttacks(w: () => World, which: "finished" | "interrupted", id: string): Attack[] {
  const out: Attack[] = [];
  const src = () => (which === "finished" ? w().finished : w().interrupted);
  const files = () => filesBelow(src());
  // The file list is only known once the world exists: one attack per (kind of file, corruption).
  const KINDS = [
    "run.json",
    "config.json",
    "summary.json",
    "curves.csv",
    "teachers/seed0.json",
    "teachers/cache/*/teacher.json",
    "teachers/cache/*/init.json",
    "teachers/cache/*/init.bin",
    "teachers/cache/*/ckpt-*.json",
    "teachers/cache/*/ckpt-*.bin",
    "students/seed0-cx.result.json",
    "students/seed0-oneshot.result.json",
    "students/seed0-cx.json",
    "students/seed0-cx.w*.json",
    "students/seed0-cx.w*.bin",
    "teachers/seed0-attempt0/state.json",
    "teachers/seed0-attempt0/ckpt-*.bin",
  ];
  const re = (k: string) => new RegExp(`^${k.replace(/[.]/g, "\\.").replace(/\*/g, "[^/]*")}$`);
  for (const kind of KINDS) {
    for (const how of CORRUPTIONS) {
      out.push({
        category: "corruption",
        name: `${which} run: ${how} ${kind}`,
        async run() {
          const rel = files().find((f) => re(kind).test(f));
          if (!rel) return "skip";
          const [runs, dir] = fresh(w(), src(), id);
          const file = path.join(dir, rel);
          if (!corrupt(file, how)) return "skip";
          const before = new Map(
            filesBelow(dir)
              .filter((f) => f.endsWith(".result.json"))
              .map((f) => [f, fs.readFileSync(path.join(dir, f), "utf8")]),
          );
          const o = cli(["parity", "--resume", id, "--runs-dir", runs]);
          if (o.code === 0) return ok(sameResults(dir, w().finished), `resumed, but results differ (${rel})`);
          const kept = [...before].every(([f, t]) => f === rel || (fs.existsSync(path.join(dir, f)) && fs.readFileSync(path.join(dir, f), "utf8") === t));
          return ok(refusedNaming(o, path.basename(rel)) || refusedNaming(o, path.dirname(file)) || refusedNaming(o, dir), show(o)) ?? ok(kept, "a finished result was lost");
        },
      });
    }
  }
  return out;
}

function cacheAttacks(w: () => World): Attack[] {
  const out: Attack[] = [];
  for (const kind of ["teacher.json", "init.json", "init.bin", "ckpt.json", "ckpt.bin"]) {
    for (const how of CORRUPTIONS) {
      out.push({
        category: "corruption",
        name: `shared cache: ${how} ${kind}, then a fresh run and a resume`,
        async run() {
          const cache = path.join(w().root, `cache-${++n}`);
          copyTree(w().cache, cache);
          const entry = path.join(cache, fs.readdirSync(cache).find((f) => !f.startsWith("."))!);
          const name = kind.startsWith("ckpt") ? fs.readdirSync(entry).find((f) => f.startsWith("ckpt-") && f.endsWith(kind.slice(4)))! : kind;
          if (!corrupt(path.join(entry, name), how)) return "skip";
          const runs = path.join(w().root, `attack-${++n}`);
          const o = cli([...TINY, "--cache", cache, "--runs-dir", runs, "--run-id", "x", "--out", path.join(runs, "out")]);
          const fine = (r: typeof o, dir: string) =>
            (r.code === 0 && JSON.stringify(strip(summaryOf(dir))) === JSON.stringify(strip(summaryOf(w().finished)))) || refusedNaming(r, name) || refusedNaming(r, entry);
          if (!fine(o, path.join(runs, "x"))) return `fresh run: ${show(o)}`;
          // The run that made the entry, resumed against the damaged cache.
          const [runs2, dir2] = fresh(w(), w().cached, "cached");
          const args = JSON.parse(fs.readFileSync(path.join(dir2, "run.json"), "utf8")).args as string[];
          const rec = JSON.parse(fs.readFileSync(path.join(dir2, "run.json"), "utf8"));
          // Point the copied run at the damaged cache (its record is rewritten with a valid checksum).
          const { writeRecord } = await import("../src/io");
          const { checksum: _c, ...body } = rec;
          writeRecord(path.join(dir2, "run.json"), { ...body, args: args.map((a) => (a === path.join(w().root, "cache") ? cache : a)) });
          const r = cli(["parity", "--resume", "cached", "--runs-dir", runs2]);
          return ok(fine(r, dir2), `resume: ${show(r)}`);
        },
      });
    }
  }
  return out;
}

const strip = (s: unknown) => {
  const o = JSON.parse(JSON.stringify(s));
  for (const t of Object.values<Record<string, unknown>>(o.teachers)) delete t.cached;
  return o;
};

function killAttacks(w: () => World): Attack[] {
  const resume = (runs: string, id: string) => cli(["parity", "--resume", id, "--runs-dir", runs]);
  const same = (dir: string, o: ReturnType<typeof cli>) => ok(o.code === 0 && sameResults(dir, w().finished), show(o));
  return [
    {
      category: "kill",
      name: "killed mid-write: *.tmp files left in the run folder",
      async run() {
        const [runs, dir] = fresh(w(), w().interrupted, "part");
        fs.writeFileSync(path.join(dir, "students", "seed0-cx.json.123.4.tmp"), '{"half');
        const o = resume(runs, "part");
        return same(dir, o) ?? ok(!filesBelow(dir).some((f) => f.endsWith(".tmp")), "tmp files stayed");
      },
    },
    {
      category: "kill",
      name: "killed between a state's weights and its JSON (an orphan newer weight file)",
      async run() {
        const [runs, dir] = fresh(w(), w().interrupted, "part");
        const s = path.join(dir, "students");
        const wf = fs.readdirSync(s).find((f) => /seed0-cx\.w\d+\.bin$/.test(f))!;
        fs.copyFileSync(path.join(s, wf), path.join(s, "seed0-cx.w999.bin"));
        return same(dir, resume(runs, "part"));
      },
    },
    {
      category: "kill",
      name: "killed between a student's result and the removal of its state",
      async run() {
        const [runs, dir] = fresh(w(), w().finished, "full");
        const part = path.join(w().interrupted, "students");
        for (const f of fs.readdirSync(part).filter((x) => x.startsWith("seed0-cx.") && !x.includes("result"))) fs.copyFileSync(path.join(part, f), path.join(dir, "students", f));
        return same(dir, resume(runs, "full"));
      },
    },
    {
      category: "kill",
      name: "killed between publishing the teacher and writing the run's teacher record (cached stays false)",
      async run() {
        const [runs, dir] = fresh(w(), w().finished, "full");
        fs.rmSync(path.join(dir, "teachers", "seed0.json"));
        fs.mkdirSync(path.join(dir, "teachers", "seed0-attempt0"));
        // At that point run.json did not list the teacher record as finished yet.
        await rewriteRun(dir, (r) => ({ ...r, status: "running", finished: (r.finished as string[]).filter((f) => !f.startsWith("teachers/")) }));
        return same(dir, resume(runs, "full"));
      },
    },
    {
      category: "kill",
      name: "killed while creating the run folder (a leftover temporary folder)",
      async run() {
        const runs = path.join(w().root, `attack-${++n}`);
        fs.mkdirSync(path.join(runs, ".full.99999.tmp"), { recursive: true });
        fs.writeFileSync(path.join(runs, ".full.99999.tmp", "config.json"), "{");
        const o = cli([...TINY, "--no-cache", "--runs-dir", runs, "--run-id", "full", "--out", path.join(runs, "out")]);
        return same(path.join(runs, "full"), o);
      },
    },
    {
      category: "kill",
      name: "killed after the results, before run.json said done",
      async run() {
        const [runs, dir] = fresh(w(), w().finished, "full");
        const { writeRecord } = await import("../src/io");
        const { checksum: _c, ...rec } = JSON.parse(fs.readFileSync(path.join(dir, "run.json"), "utf8"));
        writeRecord(path.join(dir, "run.json"), { ...rec, status: "running", files: { "config.json": rec.files["config.json"] } });
        return same(dir, resume(runs, "full"));
      },
    },
    {
      category: "kill",
      name: "SIGKILL at a random time, then resume",
      async run() {
        const runs = path.join(w().root, `attack-${++n}`);
        const p = cliAsync([...TINY, "--no-cache", "--runs-dir", runs, "--run-id", "k", "--save-every", "1", "--out", path.join(runs, "out")]);
        await new Promise((r) => setTimeout(r, 900 + Math.random() * 900));
        p.kill("SIGKILL");
        await p.done;
        if (!fs.existsSync(path.join(runs, "k", "run.json"))) return ok(!fs.existsSync(path.join(runs, "k")), "a partial run folder");
        return same(path.join(runs, "k"), resume(runs, "k"));
      },
    },
  ];
}

function concurrencyAttacks(w: () => World): Attack[] {
  return [
    {
      category: "concurrency",
      name: "two runs, one --out, started 0.3 s apart: the second is refused, the first completes",
      async run() {
        const root = path.join(w().root, `attack-${++n}`);
        const out = path.join(root, "out");
        const a = cliAsync([...TINY, "--no-cache", "--runs-dir", root, "--run-id", "a", "--out", out]);
        await new Promise((r) => setTimeout(r, 300));
        const b = cli([...TINY, "--no-cache", "--runs-dir", root, "--run-id", "b", "--out", out]);
        const ra = await a.done;
        return ok(refusedNaming(b, out), `second: ${show(b)}`) ?? ok(ra.code === 0 && sameResults(path.join(root, "a"), w().finished), `first: ${show(ra)}`);
      },
    },
    {
      category: "concurrency",
      name: "two runs, one --run-id, started 20 ms apart: exactly one runs",
      async run() {
        const root = path.join(w().root, `attack-${++n}`);
        const a = cliAsync([...TINY, "--no-cache", "--runs-dir", root, "--run-id", "r", "--out", path.join(root, "oa")]);
        await new Promise((r) => setTimeout(r, 20));
        const b = cliAsync([...TINY, "--no-cache", "--runs-dir", root, "--run-id", "r", "--out", path.join(root, "ob")]);
        const [ra, rb] = [await a.done, await b.done];
        const codes = [ra.code, rb.code].sort();
        return ok(codes[0] === 0 && codes[1] === 2 && sameResults(path.join(root, "r"), w().finished), `${show(ra)} / ${show(rb)}`);
      },
    },
    {
      category: "concurrency",
      name: "two resumes of one run at once: the second is refused, the first completes",
      async run() {
        const [runs, dir] = fresh(w(), w().interrupted, "part");
        const a = cliAsync(["parity", "--resume", "part", "--runs-dir", runs]);
        await new Promise((r) => setTimeout(r, 400));
        const b = cli(["parity", "--resume", "part", "--runs-dir", runs]);
        const ra = await a.done;
        return ok(refusedNaming(b, dir), `second: ${show(b)}`) ?? ok(ra.code === 0 && sameResults(dir, w().finished), `first: ${show(ra)}`);
      },
    },
    {
      category: "concurrency",
      name: "two runs train the same teacher into one fresh cache: both finish, both resume",
      async run() {
        const root = path.join(w().root, `attack-${++n}`);
        const cache = path.join(root, "cache");
        const a = cliAsync([...TINY, "--cache", cache, "--runs-dir", root, "--run-id", "a", "--out", path.join(root, "oa")]);
        const b = cliAsync([...TINY, "--cache", cache, "--runs-dir", root, "--run-id", "b", "--out", path.join(root, "ob")]);
        const [ra, rb] = [await a.done, await b.done];
        if (ra.code !== 0 || rb.code !== 0) return `${show(ra)} / ${show(rb)}`;
        const again = ["a", "b"].map((id) => cli(["parity", "--resume", id, "--runs-dir", root]));
        return ok(
          again.every((o) => o.code === 0),
          again.map(show).join(" / "),
        );
      },
    },
    {
      category: "concurrency",
      name: "--workers 2 with a shared cache: the run resumes (records match the cache)",
      async run() {
        const root = path.join(w().root, `attack-${++n}`);
        const args = [
          ...TINY.filter((a, i) => !(a === "--workers" || TINY[i - 1] === "--workers")),
          "--workers",
          "2",
          "--cache",
          path.join(root, "cache"),
          "--runs-dir",
          root,
          "--run-id",
          "w",
          "--out",
          path.join(root, "o"),
        ];
        const first = cli(args);
        const again = cli(["parity", "--resume", "w", "--runs-dir", root]);
        return ok(first.code === 0 && again.code === 0 && sameResults(path.join(root, "w"), path.join(w().cached)), `${show(first)} / ${show(again)}`);
      },
    },
  ];
}

function diskAttacks(w: () => World): Attack[] {
  const mountTmpfs = (dir: string, size: string, ro = false): string | null => {
    fs.mkdirSync(dir, { recursive: true });
    try {
      execFileSync("mount", ["-t", "tmpfs", "-o", `size=${size}${ro ? ",ro" : ""}`, "tmpfs", dir], { stdio: "ignore" });
      return null;
    } catch {
      return "skip: cannot mount a tmpfs here (not root, or no CAP_SYS_ADMIN)";
    }
  };
  const umount = (dir: string) => execFileSync("umount", [dir], { stdio: "ignore" });
  const roAttack = (flag: string): Attack => ({
    category: "disk",
    name: `${flag} on a read-only mount: refused before any work`,
    async run() {
      const root = path.join(w().root, `attack-${++n}`);
      const ro = path.join(root, "ro");
      const skip = mountTmpfs(ro, "1m", true);
      if (skip) return skip;
      try {
        const t0 = Date.now();
        const where = {
          "--out": ["--out", path.join(ro, "o"), "--runs-dir", path.join(root, "runs")],
          "--runs-dir": ["--runs-dir", path.join(ro, "runs"), "--out", path.join(root, "o")],
          "--cache": ["--cache", path.join(ro, "c"), "--runs-dir", path.join(root, "runs"), "--out", path.join(root, "o")],
        }[flag]!;
        const o = cli([...TINY, ...where]);
        return ok(refusedNaming(o, flag) && Date.now() - t0 < 20000 && !fs.existsSync(path.join(root, "runs")), show(o));
      } finally {
        umount(ro);
      }
    },
  });
  return [
    {
      category: "disk",
      name: "the disk fills mid-run: one line with the resume command; after space is freed the resumed run equals an uninterrupted one",
      async run() {
        const root = path.join(w().root, `attack-${++n}`);
        const small = path.join(root, "small");
        const skip = mountTmpfs(small, "48k");
        if (skip) return skip;
        try {
          const o = cli([...TINY, "--no-cache", "--runs-dir", small, "--run-id", "d", "--save-every", "1", "--out", path.join(root, "o")]);
          if (o.code === 0) return "the run fit in 48k: no fault happened";
          if (!(refusedNaming(o, /ENOSPC/) && /resume with: /.test(o.stderr))) return show(o);
          execFileSync("mount", ["-o", "remount,size=64m", small]);
          const r = cli(["parity", "--resume", "d", "--runs-dir", small]);
          return ok(r.code === 0 && sameResults(path.join(small, "d"), w().finished), `resume: ${show(r)}`);
        } finally {
          umount(small);
        }
      },
    },
    roAttack("--out"),
    roAttack("--runs-dir"),
    roAttack("--cache"),
    {
      category: "disk",
      name: "a full disk at the start: --out probe refused before any work",
      async run() {
        const root = path.join(w().root, `attack-${++n}`);
        const full = path.join(root, "full");
        const skip = mountTmpfs(full, "8k");
        if (skip) return skip;
        try {
          try {
            fs.writeFileSync(path.join(full, "filler"), Buffer.alloc(64 * 1024));
          } catch {
            // full now
          }
          const o = cli([...TINY, "--no-cache", "--out", path.join(full, "o"), "--runs-dir", path.join(root, "runs")]);
          return ok(refusedNaming(o, "--out") && !fs.existsSync(path.join(root, "runs")), show(o));
        } finally {
          umount(full);
        }
      },
    },
  ];
}

function inputAttacks(w: () => World): Attack[] {
  const refused = (args: string[], what: string | RegExp, also?: () => boolean): Attack => ({
    category: "input",
    name: args.join(" "),
    async run() {
      const cwd = path.join(w().root, `attack-${++n}`);
      fs.mkdirSync(cwd, { recursive: true });
      const o = cli(
        args.map((a) => a.replace("$CWD", cwd)),
        { cwd },
      );
      return ok(refusedNaming(o, what) && filesBelow(cwd).length === 0 && (also?.() ?? true), show(o));
    },
  });
  const grid = (g: unknown) => {
    const f = path.join(w().root, `grid-${++n}.json`);
    fs.writeFileSync(f, typeof g === "string" ? g : JSON.stringify(g));
    return f;
  };
  const G = {
    command: "parity",
    preset: "smoke",
    base: { n: 10, k: 2, teacherWidth: 32, studentWidth: 4, heldout: 128, evalEvery: 25, ckptEvery: 50, maxSamples: 3e4, methods: ["oneshot"] },
    grid: { tau: [1] },
    seeds: [0],
  };
  return [
    refused(["parity", "--out", ""], "--out"),
    refused(["parity", "--cache", ""], "--cache"),
    refused(["parity", "--runs-dir", ""], "--runs-dir"),
    refused(["parity", "--runs-dir", "/proc/x"], "--runs-dir"),
    refused(["parity", "--out", "/proc/x/y"], "--out"),
    refused(["parity", "--out", "/sys/kernel/x"], "--out"),
    refused(["parity", "--cache", "/dev/null"], "--cache"),
    refused(["mlm", "--backend", "gpu"], "--backend"),
    refused(["parity", "--n", "100000", "--teacher-width", "1000000"], "teacherWidth"),
    refused(["mlm", "--teacher-d-model", "4096", "--teacher-layers", "64", "--teacher-heads", "4"], "teacherDModel"),
    refused(["parity", "--workers", "0"], "--workers"),
    refused(["parity", "--save-every", "-3"], "--save-every"),
    refused(["parity", "--resume", "../x"], "--run-id"),
    refused(["parity", "--json=yes"], "--json"),
    refused(["mlm", "--corpus", "wiki"], "corpus"),
    refused(["parity-transformer", "--teacher-heads", "3"], "teacherHeads"),
    {
      category: "input",
      name: "--cache pointing at a file",
      async run() {
        const f = path.join(w().root, `file-${++n}`);
        fs.writeFileSync(f, "x");
        const o = cli(["parity", "--cache", f, "--runs-dir", path.join(w().root, `r${n}`)]);
        return ok(refusedNaming(o, "--cache") && !fs.existsSync(path.join(w().root, `r${n}`)), show(o));
      },
    },
    {
      category: "input",
      name: "sweep --backend gpu: refused before sweep.json is written",
      async run() {
        const out = path.join(w().root, `sweep-${++n}`);
        const o = cli(["sweep", "--grid", grid(G), "--out", out, "--backend", "gpu"]);
        return ok(refusedNaming(o, "--backend") && !fs.existsSync(out), show(o));
      },
    },
    refused(["sweep", "--grid", "$CWD/none.json", "--out", "$CWD/s"], "--grid"),
    {
      category: "input",
      name: 'sweep --out "" and /proc/nope',
      async run() {
        const a = cli(["sweep", "--grid", grid(G), "--out", ""]);
        const b = cli(["sweep", "--grid", grid(G), "--out", "/proc/nope"]);
        return ok(refusedNaming(a, "--out") && refusedNaming(b, "--out"), `${show(a)} / ${show(b)}`);
      },
    },
    {
      category: "input",
      name: "grid: null, garbage grid file",
      async run() {
        const a = cli(["sweep", "--grid", grid({ ...G, grid: null }), "--out", path.join(w().root, `s${++n}`)]);
        const b = cli(["sweep", "--grid", grid("{not json"), "--out", path.join(w().root, `s${++n}`)]);
        return ok(refusedNaming(a, "grid") && refusedNaming(b, "--grid"), `${show(a)} / ${show(b)}`);
      },
    },
    {
      category: "input",
      name: "merge on garbage sweep.json, a truncated job summary (missing + warning, re-run repairs), another grid refused without --force",
      async run() {
        const out = path.join(w().root, `sweep-${++n}`);
        const s = cli(["sweep", "--grid", grid(G), "--out", out, "--cache", path.join(w().root, "sweep-cache"), "--quiet"]);
        if (s.code !== 0) return `sweep: ${show(s)}`;
        const job = fs.readdirSync(out).find((f) => f.startsWith("job-"))!;
        corrupt(path.join(out, job, "summary.json"), "truncate");
        const m = cli(["merge", "--out", out, "--allow-missing"]);
        if (m.code !== 0 || !m.stderr.includes(job)) return `merge with a corrupt job: ${show(m)}`;
        const again = cli(["sweep", "--grid", grid(G), "--out", out, "--cache", path.join(w().root, "sweep-cache"), "--quiet"]);
        const m2 = cli(["merge", "--out", out]);
        if (again.code !== 0 || m2.code !== 0) return `repair: ${show(again)} / ${show(m2)}`;
        const other = cli(["sweep", "--grid", grid({ ...G, grid: { tau: [2] } }), "--out", out, "--quiet"]);
        if (!refusedNaming(other, "--out")) return `another grid: ${show(other)}`;
        fs.writeFileSync(path.join(out, "sweep.json"), "garbage");
        const g = cli(["merge", "--out", out]);
        return ok(refusedNaming(g, "sweep.json"), `garbage sweep.json: ${show(g)}`);
      },
    },
    {
      category: "input",
      name: "resume from another directory: --out and the cache stay where the run put them",
      async run() {
        const root = path.join(w().root, `attack-${++n}`);
        const elsewhere = path.join(root, "elsewhere");
        fs.mkdirSync(elsewhere, { recursive: true });
        const o = cli([...TINY, "--runs-dir", path.join(root, "runs"), "--run-id", "m", "--out", "relative-out", "--cache", "relative-cache"], { cwd: root });
        if (o.code !== 0) return show(o);
        const r = cli(["parity", "--resume", "m", "--runs-dir", path.join(root, "runs")], { cwd: elsewhere });
        const wrong = fs.existsSync(path.join(elsewhere, "relative-out")) || fs.existsSync(path.join(elsewhere, "relative-cache"));
        return ok(r.code === 0 && !wrong && fs.existsSync(path.join(root, "relative-out", "summary.json")), `${show(r)}${wrong ? " (wrote relative to the new cwd)" : ""}`);
      },
    },
  ];
}

/** All attacks; `world()` builds the shared runs once, on first use. */
export function allAttacks(): Attack[] {
  let w: World | null = null;
  let making: Promise<World> | null = null;
  const world = () => w!;
  const lazy = (a: Attack): Attack => ({
    ...a,
    async run() {
      making ??= makeWorld();
      w = await making;
      return a.run();
    },
  });
  return [
    ...inputAttacks(world),
    ...corruptionAttacks(world, "finished", "full"),
    ...corruptionAttacks(world, "interrupted", "part"),
    ...cacheAttacks(world),
    ...killAttacks(world),
    ...concurrencyAttacks(world),
    ...diskAttacks(world),
    ...issue26Attacks(world),
  ].map(lazy);
}
