/**
 * Runs the live page to the end in headless Chromium (Debian's, through playwright-core), prints the
 * wall times and saves a screenshot: the README's docs/demo.png is a main-preset run.
 *
 *   npx tsx scripts/demo-screenshot.ts [--preset main|quick] [--backend auto|webgpu|webgl|wasm] [--png FILE]
 *
 * Defaults: main, auto, docs/demo.png. Builds the page into a temporary folder and serves it on a
 * free port; a fresh browser profile, so the teacher is trained (not taken from a cache).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { chromium } from "playwright-core";
import { buildDemo } from "../demo/build";
import { serveDir } from "../demo/serve";

function args(argv: string[]): { preset: string; backend: string; png: string } {
  const o = { preset: "main", backend: "auto", png: path.join(__dirname, "..", "docs", "demo.png") };
  for (let i = 0; i < argv.length; i++) {
    const v = argv[i + 1];
    if (argv[i] === "--preset" && (v === "main" || v === "quick")) o.preset = argv[++i];
    else if (argv[i] === "--backend" && v !== undefined) o.backend = argv[++i];
    else if (argv[i] === "--png" && v !== undefined) o.png = path.resolve(argv[++i]);
    else throw new Error(`demo-screenshot: unexpected argument "${argv[i]}"`);
  }
  return o;
}

async function main(): Promise<void> {
  const o = args(process.argv.slice(2));
  const out = fs.mkdtempSync(path.join(os.tmpdir(), "cd-demo-shot-"));
  await buildDemo(out);
  const server = await serveDir(out);
  const browser = await chromium.launch({ executablePath: process.env.CD_CHROMIUM ?? "/usr/bin/chromium", headless: true });
  try {
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    page.on("console", (m) => {
      if (m.type() === "error") console.error(`page console error: ${m.text()}`);
    });
    await page.goto(`http://127.0.0.1:${(server.address() as { port: number }).port}/`);
    await page.click(`[data-preset=${o.preset}]`);
    await page.selectOption("#backend", o.backend);
    const t0 = Date.now();
    await page.click("#start");
    let last = "";
    for (;;) {
      await new Promise((r) => setTimeout(r, 5000));
      const st = await page.evaluate(() => ({ state: (window as unknown as { cdDemo: { state: string } }).cdDemo.state, status: document.getElementById("status")?.textContent ?? "" }));
      const line = st.status.replace(/[\d.]+k samples\/s/, "").split(":")[0];
      if (line !== last) console.error(`${((Date.now() - t0) / 1000).toFixed(0)} s: ${st.status}`);
      last = line;
      if (st.state !== "running") break;
    }
    const s = await page.evaluate(() => (window as unknown as { cdDemo: unknown }).cdDemo);
    const d = s as { state: string; backend: string; wallSeconds: number; teacher: { seconds: number; samplesToTarget: number; samples: number; stepsPerSecond: number }; runs: Array<{ method: string; samplesToTarget: number | null; seconds: number; stepsPerSecond: number }>; error: string | null };
    if (d.state !== "done") throw new Error(`the run ended in state ${d.state}: ${d.error}`);
    await page.evaluate(() => window.scrollTo(0, 0));
    fs.mkdirSync(path.dirname(o.png), { recursive: true });
    await page.screenshot({ path: o.png, fullPage: true });
    console.log(`preset ${o.preset}, backend ${await page.textContent("#backendLine")}`);
    console.log(`wall ${d.wallSeconds.toFixed(1)} s; teacher ${d.teacher.seconds.toFixed(1)} s (${d.teacher.samplesToTarget} samples to its target, ${d.teacher.samples} in all, ${d.teacher.stepsPerSecond.toFixed(0)} steps/s)`);
    for (const r of d.runs) console.log(`${r.method}: ${r.samplesToTarget ?? "not reached"} samples to target, ${r.seconds.toFixed(1)} s (${r.stepsPerSecond.toFixed(0)} steps/s)`);
    console.log(`screenshot: ${path.relative(process.cwd(), o.png)}`);
  } finally {
    await browser.close();
    server.close();
    fs.rmSync(out, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
