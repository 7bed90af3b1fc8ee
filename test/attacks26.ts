/**
 * Issue 26's cases, each rerun as the issue writes it (with TINY as its `$T`): every one ends in
 * the uninterrupted run's results or in one line naming the file or value with exit 2 (130 for a
 * saved stop). 1 a copied cache entry; 2 a resume under other kernels; 3 a resume into an --out
 * that now holds another run's results; 4 sweeps and runs on one --out; 5 loose grid files; 6 exit
 * codes (a read-only remount mid-run, symlink loops, CD_BACKEND, the printed resume command from
 * another folder); 7 leftovers and signals (half-published teachers and run folders, SIGHUP and
 * SIGQUIT, a deleted teacher record or finished result). Attacks needing a tmpfs skip without one.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { TINY, cli, cliAsync, copyTree, deadPid, filesBelow, refusedNaming, rewriteRun, sameResults, summaryOf, tinyWith, waitFor } from "./adversary";
import { type Attack, type World, fresh, ok, scratch, show } from "./attacks";

const run = (runs: string, id: string, out: string, ...more: string[]) => [...TINY, "--runs-dir", runs, "--run-id", id, "--out", out, ...more];
const resume = (runs: string, id: string, env?: Record<string, string>) => cli(["parity", "--resume", id, "--runs-dir", runs], { env });
const same = (dir: string, w: World, o: ReturnType<typeof cli>) => ok(o.code === 0 && sameResults(dir, w.finished), show(o));
/** The teacher-cache entries of `cache` (no leftovers). */
const entries = (cache: string) => fs.readdirSync(cache).filter((f) => !f.startsWith("."));
const leftovers = (dir: string) => (fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith(".tmp")) : []);
const keyOf = (entry: string) => JSON.parse(fs.readFileSync(path.join(entry, "teacher.json"), "utf8")).key as { seed: number };

/** A tmpfs at `dir` (null), or why not ("skip: ..."). */
function mountTmpfs(dir: string, size: string): string | null {
  fs.mkdirSync(dir, { recursive: true });
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", `size=${size}`, "tmpfs", dir], { stdio: "ignore" });
    return null;
  } catch {
    return "skip: cannot mount a tmpfs here (not root, or no CAP_SYS_ADMIN)";
  }
}
const umount = (dir: string) => execFileSync("umount", [dir], { stdio: "ignore" });

/** A grid file of the issue's smoke size (oneshot only) with `over` replacing its keys. */
function gridFile(w: World, over: Record<string, unknown> | string): string {
  const g = {
    command: "parity",
    preset: "smoke",
    base: { n: 10, k: 2, teacherWidth: 32, studentWidth: 4, heldout: 128, evalEvery: 25, ckptEvery: 50, maxSamples: 3e4, methods: ["oneshot"] },
    grid: { tau: [1] },
    seeds: [0],
  };
  const f = `${scratch(w, "grid")}.json`;
  fs.writeFileSync(f, typeof over === "string" ? over : JSON.stringify({ ...g, ...over }));
  return f;
}

/** 1: a cache entry copied over another configuration's entry. */
function cacheCases(w: () => World): Attack[] {
  return [
    {
      category: "cache",
      name: "1. seed 1's cache entry copied over seed 0's: a fresh run and a resume are refused naming the entry",
      async run() {
        const root = scratch(w());
        const cache = path.join(root, "cache");
        copyTree(w().cache, cache); // seed 0's entry (the world's cached run)
        const one = cli([...tinyWith({ "--seeds": "1" }), "--cache", cache, "--runs-dir", path.join(root, "runs"), "--run-id", "s1", "--out", path.join(root, "o1")]);
        if (one.code !== 0) return `seed 1: ${show(one)}`;
        const [e0, e1] = entries(cache).sort((a, b) => keyOf(path.join(cache, a)).seed - keyOf(path.join(cache, b)).seed);
        fs.rmSync(path.join(cache, e0), { recursive: true });
        copyTree(path.join(cache, e1), path.join(cache, e0));
        const o = cli(run(path.join(root, "runs"), "s0", path.join(root, "o0"), "--cache", cache));
        if (!(refusedNaming(o, path.join(cache, e0)) && o.stderr.includes(e1))) return `fresh run: ${show(o)}`;
        // The world's cached run, resumed against the swapped entry.
        const [runs, dir] = fresh(w(), w().cached, "cached");
        await rewriteRun(dir, (r) => ({ ...r, args: (r.args as string[]).map((a) => (a === path.join(w().root, "cache") ? cache : a)) }));
        const r = resume(runs, "cached");
        return ok(r.code === 2 && r.stderr.trim().split("\n").length === 1 && r.stderr.includes(e0), `resume: ${show(r)}`);
      },
    },
  ];
}

/** 2: a resume under other kernels (another native build, or native off). */
function identityCases(w: () => World): Attack[] {
  const recorded = () => JSON.parse(fs.readFileSync(path.join(w().interrupted, "run.json"), "utf8")).identity as { key: string; native: string | null } | undefined;
  return [
    {
      category: "identity",
      name: "2. killed with native kernels, resumed with CD_NATIVE=0: refused naming both backends; resumed as made: the uninterrupted results",
      async run() {
        const id = recorded();
        if (!id) return "run.json records no backend identity";
        if (id.native === null) return "skip: no native kernels here (the world's runs used plain wasm)";
        const [runs, dir] = fresh(w(), w().interrupted, "part");
        const o = resume(runs, "part", { CD_NATIVE: "0" });
        if (!(refusedNaming(o, "--resume") && o.stderr.includes(id.key) && /native kernels off/.test(o.stderr))) return `CD_NATIVE=0: ${show(o)}`;
        return same(dir, w(), resume(runs, "part"));
      },
    },
    {
      category: "identity",
      name: "2. a run recorded under another native build, resumed here (its teacher finished): refused naming both builds and why",
      async run() {
        const id = recorded();
        if (!id) return "run.json records no backend identity";
        const [runs] = fresh(w(), w().interrupted, "part");
        const other = { key: "wasm+native@000000000000", description: "wasm + native kernels (a build of another machine)", native: "OpenBLAS other #000000000000" };
        await rewriteRun(path.join(runs, "part"), (r) => ({ ...r, identity: other }));
        const o = resume(runs, "part");
        return ok(refusedNaming(o, "--resume") && o.stderr.includes(other.key) && o.stderr.includes(id.key) && /mix/.test(o.stderr), show(o));
      },
    },
  ];
}

/** 3: a resume whose --out now holds another run's results. */
function ownershipCases(w: () => World): Attack[] {
  return [
    {
      category: "ownership",
      name: "3. run a stopped (Ctrl-C), run b finishes into the same --out, resume a: refused naming --out; b's results kept",
      async run() {
        const root = scratch(w());
        const [runs, out] = [path.join(root, "runs"), path.join(root, "O")];
        const a = cliAsync(run(runs, "a", out, "--no-cache", "--save-every", "1"));
        await waitFor(path.join(runs, "a", "run.json"));
        a.kill("SIGINT");
        const ra = await a.done;
        if (ra.code !== 130) return `a: ${show(ra)}`;
        const b = cli(run(runs, "b", out, "--no-cache"));
        if (b.code !== 0) return `b: ${show(b)}`;
        const before = fs.readFileSync(path.join(out, "summary.json"), "utf8");
        const r = resume(runs, "a");
        return ok(refusedNaming(r, out) && /run b/.test(r.stderr), show(r)) ?? ok(fs.readFileSync(path.join(out, "summary.json"), "utf8") === before, "b's results changed");
      },
    },
  ];
}

/** 4: sweeps and runs on one --out. */
function lockCases(w: () => World): Attack[] {
  const warm = (root: string) => {
    const c = path.join(root, "cache");
    copyTree(w().cache, c); // the grid's teacher is the world's (no training in these attacks)
    return c;
  };
  return [
    {
      category: "locks",
      name: "4. sweep --out S while a run writes S: refused naming S; the run completes",
      async run() {
        const root = scratch(w());
        const [runs, out] = [path.join(root, "runs"), path.join(root, "S")];
        const p = cliAsync(run(runs, "p", out, "--no-cache"));
        await waitFor(path.join(out, ".lock"));
        const s = cli(["sweep", "--grid", gridFile(w(), {}), "--out", out, "--cache", warm(root), "--quiet"]);
        const rp = await p.done;
        return ok(refusedNaming(s, out), `sweep: ${show(s)}`) ?? same(path.join(runs, "p"), w(), rp) ?? ok(!fs.existsSync(path.join(out, "sweep.json")), "sweep.json written");
      },
    },
    {
      category: "locks",
      name: "4. parity --out S --force while a sweep writes S: refused naming S; the sweep completes and merges",
      async run() {
        const root = scratch(w());
        const out = path.join(root, "S");
        const s = cliAsync(["sweep", "--grid", gridFile(w(), {}), "--out", out, "--cache", warm(root), "--quiet"]);
        await waitFor(path.join(out, ".lock"));
        const p = cli(run(path.join(root, "runs"), "p", out, "--no-cache", "--force"));
        const rs = await s.done;
        const m = cli(["merge", "--out", out]);
        return ok(refusedNaming(p, out), `parity: ${show(p)}`) ?? ok(rs.code === 0 && m.code === 0, `sweep / merge: ${show(rs)} / ${show(m)}`);
      },
    },
    {
      category: "locks",
      name: "4. two sweeps of different grids on one empty --out at once (3 tries): one runs, one is refused, no orphaned job",
      async run() {
        const root = scratch(w());
        const cache = warm(root);
        const [g1, g2] = [gridFile(w(), {}), gridFile(w(), { grid: { tau: [2] } })];
        for (let t = 0; t < 3; t++) {
          const out = path.join(root, `S${t}`);
          const a = cliAsync(["sweep", "--grid", g1, "--out", out, "--cache", cache, "--quiet"]);
          const b = cli(["sweep", "--grid", g2, "--out", out, "--cache", cache, "--quiet"]);
          const ra = await a.done;
          const [won, lost] = ra.code === 0 ? [ra, b] : [b, ra];
          if (!(won.code === 0 && refusedNaming(lost, out))) return `try ${t}: ${show(ra)} / ${show(b)}`;
          const jobs = fs.readdirSync(out).filter((f) => f.startsWith("job-"));
          const m = cli(["merge", "--out", out]);
          if (jobs.length !== 1 || m.code !== 0) return `try ${t}: jobs ${jobs.join(",")}; merge ${show(m)}`;
        }
        return null;
      },
    },
  ];
}

/** 5: loose grid files, each refused in one line naming the key, before --out is made. */
function gridCases(w: () => World): Attack[] {
  const refused = (name: string, over: () => Record<string, unknown> | string, what: string | RegExp, seconds = 60): Attack => ({
    category: "grid",
    name: `5. ${name}`,
    async run() {
      const out = scratch(w(), "sweep");
      const t0 = Date.now();
      const o = cli(["sweep", "--grid", gridFile(w(), over()), "--out", out, "--quiet"]);
      return ok(refusedNaming(o, what) && !fs.existsSync(out) && Date.now() - t0 < seconds * 1000, `${show(o)} (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
    },
  });
  const base = { n: 10, k: 2, teacherWidth: 32, studentWidth: 4, heldout: 128, methods: ["oneshot"] };
  return [
    refused('"seeds": [0, 0]', () => ({ seeds: [0, 0] }), "grid.seeds"),
    refused('"grid": {"tau": [1, 1]}', () => ({ grid: { tau: [1, 1] } }), "grid.grid.tau"),
    refused("seeds inside base", () => ({ base: { ...base, seeds: [3] } }), "grid.base.seeds"),
    refused("seeds inside grid", () => ({ grid: { seeds: [1, 2] } }), "grid.grid.seeds"),
    refused("a __proto__ key in base", () => `{"command":"parity","preset":"smoke","base":{"n":10,"__proto__":{"k":3}},"grid":{"tau":[1]},"seeds":[0]}`, "grid.base.__proto__"),
    refused("a __proto__ key at the top", () => `{"command":"parity","__proto__":{"x":1},"preset":"smoke","base":{"n":10},"grid":{"tau":[1]},"seeds":[0]}`, "grid.__proto__"),
    refused('a typo "prest": "smoke" (an unknown top-level key)', () => `{"command":"parity","prest":"smoke","base":{"n":10},"grid":{"tau":[1]},"seeds":[0]}`, /grid.*prest/),
    refused("a grid of 2,000,000 seeds: refused at once, nothing resolved", () => ({ seeds: Array.from({ length: 2_000_000 }, (_, i) => i) }), /2000000 jobs/, 30),
  ];
}

/** 6: exit codes and messages. */
function exitCases(w: () => World): Attack[] {
  return [
    {
      category: "exit",
      name: "6. the run folder remounted read-only mid-run: one line, exit 2; remounted writable, the resume gives the uninterrupted results",
      async run() {
        const root = scratch(w());
        const disk = path.join(root, "disk");
        const skip = mountTmpfs(disk, "64m");
        if (skip) return skip;
        try {
          const p = cliAsync(run(disk, "e", path.join(disk, "o"), "--no-cache", "--save-every", "1"));
          await waitFor(path.join(disk, "e", "students", "seed0-cx.json"));
          execFileSync("mount", ["-o", "remount,ro", disk]);
          const o = await p.done;
          execFileSync("mount", ["-o", "remount,rw", disk]);
          if (o.code === 0) return "the run ended before the remount: no fault happened";
          if (!(refusedNaming(o, /EROFS/) && /resume with: /.test(o.stderr))) return show(o);
          return same(path.join(disk, "e"), w(), resume(disk, "e"));
        } finally {
          umount(disk);
        }
      },
    },
    ...["--out", "--runs-dir", "--cache"].map(
      (flag): Attack => ({
        category: "exit",
        name: `6. a symlink loop as ${flag} (itself and below it): one line naming ${flag}, exit 2`,
        async run() {
          const root = scratch(w());
          fs.mkdirSync(root);
          fs.symlinkSync("l2", path.join(root, "l1"));
          fs.symlinkSync("l1", path.join(root, "l2"));
          const flags = (p: string) => ({ "--out": ["--out", p, "--runs-dir", path.join(root, "r")], "--runs-dir": ["--runs-dir", p, "--out", path.join(root, "o")], "--cache": ["--cache", p, "--runs-dir", path.join(root, "r"), "--out", path.join(root, "o")] })[flag]!;
          const a = cli([...TINY, ...flags(path.join(root, "l1"))]);
          const b = cli([...TINY, ...flags(path.join(root, "l1", "x"))]);
          return ok(refusedNaming(a, flag) && refusedNaming(b, flag) && /ELOOP/.test(a.stderr) && !fs.existsSync(path.join(root, "r")), `${show(a)} / ${show(b)}`);
        },
      }),
    ),
    {
      category: "exit",
      name: "6. CD_BACKEND=foo parity --dry-run: one line naming CD_BACKEND, exit 2",
      async run() {
        const o = cli(["parity", "--dry-run"], { env: { CD_BACKEND: "foo" } });
        return ok(refusedNaming(o, "CD_BACKEND"), show(o));
      },
    },
  ];
}

/** 7: leftovers and signals (the printed resume command is run from another folder: 6's last part). */
function leftoverCases(w: () => World): Attack[] {
  const signal = (sig: NodeJS.Signals): Attack => ({
    category: "signal",
    name: `7. ${sig} mid-run: saved (exit 130, run.json "interrupted"); the printed resume command, run from another folder, gives the uninterrupted results`,
    async run() {
      const root = scratch(w());
      fs.mkdirSync(path.join(root, "elsewhere"), { recursive: true });
      const p = cliAsync([...TINY, "--no-cache", "--runs-dir", "runs", "--run-id", "s", "--save-every", "1", "--out", "o"], { cwd: root });
      await waitFor(path.join(root, "runs", "s", "students", "seed0-cx.json"));
      p.kill(sig);
      const o = await p.done;
      const status = JSON.parse(fs.readFileSync(path.join(root, "runs", "s", "run.json"), "utf8")).status;
      const line = /resume with: (.*)/.exec(o.stderr)?.[1];
      if (o.code !== 130 || status !== "interrupted" || !line) return `${show(o)} (run.json: ${status})`;
      const [, ...args] = line.trim().split(" ");
      const r = cli(args, { cwd: path.join(root, "elsewhere") });
      return same(path.join(root, "runs", "s"), w(), r) ?? ok(filesBelow(path.join(root, "elsewhere")).length === 0, "wrote into the other folder");
    },
  });
  return [
    {
      category: "leftovers",
      name: "7. killed while publishing a teacher (a dead writer's .<key>.<pid>.tmp in the cache): removed at the next start; results unchanged",
      async run() {
        const root = scratch(w());
        const cache = path.join(root, "cache");
        copyTree(w().cache, cache);
        const e = entries(cache)[0];
        const tmp = path.join(cache, `.${e}.${deadPid()}.tmp`);
        copyTree(path.join(cache, e), tmp);
        fs.rmSync(path.join(cache, e), { recursive: true });
        const o = cli(run(path.join(root, "runs"), "x", path.join(root, "o"), "--cache", cache));
        if (o.code !== 0) return show(o);
        const strip = (s: unknown) => JSON.stringify(s, (k, v) => (k === "cached" ? undefined : v));
        return ok(strip(summaryOf(path.join(root, "runs", "x"))) === strip(summaryOf(w().finished)), "results differ") ?? ok(leftovers(cache).length === 0, `left: ${leftovers(cache)}`);
      },
    },
    {
      category: "leftovers",
      name: "7. a full disk while publishing a teacher: one line, exit 2, no temporary folder left in the cache",
      async run() {
        const root = scratch(w());
        const cache = path.join(root, "cache");
        const skip = mountTmpfs(cache, "40k");
        if (skip) return skip;
        try {
          const o = cli(run(path.join(root, "runs"), "x", path.join(root, "o"), "--cache", cache));
          if (o.code === 0) return "the teacher fit in 40k: no fault happened";
          return ok(refusedNaming(o, /ENOSPC/), show(o)) ?? ok(leftovers(cache).length === 0, `left: ${leftovers(cache)}`);
        } finally {
          umount(cache);
        }
      },
    },
    {
      category: "leftovers",
      name: "7. killed while creating a run folder (a dead writer's .<id>.<pid>.tmp): removed at the next start; results unchanged",
      async run() {
        const runs = scratch(w());
        const tmp = path.join(runs, `.full.${deadPid()}.tmp`);
        fs.mkdirSync(tmp, { recursive: true });
        fs.writeFileSync(path.join(tmp, "config.json"), "{");
        const o = cli(run(runs, "full", path.join(runs, "out"), "--no-cache"));
        return same(path.join(runs, "full"), w(), o) ?? ok(leftovers(runs).length === 0, `left: ${leftovers(runs)}`);
      },
    },
    signal("SIGHUP"),
    signal("SIGQUIT"),
    {
      category: "leftovers",
      name: "7. the run's copy of its teacher record deleted (the teacher in the shared cache): the resume is refused naming it (no 'cached: true')",
      async run() {
        const [runs, dir] = fresh(w(), w().cached, "cached");
        fs.rmSync(path.join(dir, "teachers", "seed0.json"));
        const o = resume(runs, "cached");
        return ok(refusedNaming(o, path.join("teachers", "seed0.json")), show(o));
      },
    },
    ...["seed0-cx.result.json", "seed0-oneshot.result.json"].map(
      (f): Attack => ({
        category: "leftovers",
        name: `7. a finished result deleted (${f}): the resume is refused naming it, not retrained silently; the other result kept`,
        async run() {
          const [runs, dir] = fresh(w(), w().finished, "full");
          fs.rmSync(path.join(dir, "students", f));
          const kept = filesBelow(dir).filter((x) => x.endsWith(".result.json"));
          const o = resume(runs, "full");
          return ok(refusedNaming(o, f), show(o)) ?? ok(kept.every((x) => fs.existsSync(path.join(dir, x))), "a result was lost");
        },
      }),
    ),
  ];
}

/** Every case of issue 26 (the kernel registry of its item 8 is tested with the kernels). */
export function issue26Attacks(w: () => World): Attack[] {
  return [...cacheCases(w), ...identityCases(w), ...ownershipCases(w), ...lockCases(w), ...gridCases(w), ...exitCases(w), ...leftoverCases(w)];
}
