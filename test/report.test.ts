import { test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as zlib from "node:zlib";

import { accuracyCurves, barChart, lineChart, meanCurve, samplesToTargetBars, interpolate, Curve } from "../src/report/plots";
import {
  figureHtml,
  plotlyBundle,
  plotlyLoaderHtml,
  reportHtml,
  escapeHtml,
  scriptJson,
  writeReport,
} from "../src/report/html";
import { tableHtml, textTable, toDataFrame, formatCell } from "../src/report/tables";

const c1: Curve = { samples: [0, 100, 200], accuracy: [0.5, 0.7, 0.9], loss: [0.7, 0.5, 0.2] };
const c2: Curve = { samples: [0, 100, 200], accuracy: [0.5, 0.8, 1.0], loss: [0.7, 0.4, 0.1] };

test("accuracyCurves: one trace per method, samples on x, accuracy on y", () => {
  const fig = accuracyCurves({ cx: c1, scratch: c2 }, { title: "t" });
  assert.equal(fig.data.length, 2);
  assert.deepEqual(
    fig.data.map((t) => t.name),
    ["cx", "scratch"],
  );
  assert.deepEqual(fig.data[0].x, [0, 100, 200]);
  assert.deepEqual(fig.data[0].y, [0.5, 0.7, 0.9]);
  assert.equal(fig.data[0].type, "scatter");
  assert.equal(fig.layout.xaxis.title?.text, "samples seen");
  assert.equal(fig.layout.yaxis.title?.text, "held-out accuracy");
  // y range fitted to the values (0.5..1.0, padded by 5% of the span), not fixed to 0..1
  assert.deepEqual(fig.layout.yaxis.range, [0.475, 1.02]);
  assert.equal(fig.layout.title?.text, "t");
  assert.notEqual((fig.data[0].line as { color: string }).color, (fig.data[1].line as { color: string }).color);
  // plain JSON
  assert.deepEqual(JSON.parse(JSON.stringify(fig)), fig);
});

test("accuracyCurves: seeds averaged, per-seed traces optional, target line, loss metric", () => {
  const mean = accuracyCurves({ cx: [c1, c2] });
  assert.equal(mean.data.length, 1);
  assert.equal(mean.data[0].name, "cx (mean of 2)");
  assert.deepEqual(mean.data[0].y.map((v) => Math.round(v * 1000) / 1000), [0.5, 0.75, 0.95]);

  const seeds = accuracyCurves({ cx: [c1, c2], scratch: c1 }, { perSeed: true, target: 0.9, logX: true });
  // 2 seed traces + mean for cx, 1 for scratch, 1 target line
  assert.equal(seeds.data.length, 5);
  assert.deepEqual(
    seeds.data.map((t) => t.showlegend === false),
    [true, true, false, false, false],
  );
  assert.equal(seeds.data[4].name, "target 0.9");
  assert.deepEqual(seeds.data[4].x, [0, 200]);
  assert.deepEqual(seeds.data[4].y, [0.9, 0.9]);
  assert.equal(seeds.layout.xaxis.type, "log");

  const loss = accuracyCurves({ cx: c1 }, { metric: "loss" });
  assert.deepEqual(loss.data[0].y, [0.7, 0.5, 0.2]);
  assert.equal(loss.layout.yaxis.title?.text, "loss");
  assert.equal(loss.layout.yaxis.range, undefined);

  assert.throws(() => accuracyCurves({ bad: { samples: [1, 2], accuracy: [0.1] } }), /x has 2 points but y has 1/);
});

test("meanCurve interpolates curves on different grids", () => {
  const a: Curve = { samples: [0, 10, 20], accuracy: [0, 1, 2] };
  const b: Curve = { samples: [0, 20], accuracy: [0, 4] };
  const m = meanCurve([a, b]);
  assert.deepEqual(m.x, [0, 10, 20]);
  assert.deepEqual(m.y, [0, 1.5, 3]);
  assert.equal(interpolate([0, 10], [0, 1], 5), 0.5);
  assert.equal(interpolate([0, 10], [0, 1], 50), 1);
});

test("lineChart and barChart: traces, axes, error bars", () => {
  const line = lineChart(
    [
      { name: "a", x: [1, 2], y: [3, 4] },
      { name: "b", x: [1, 2], y: [5, 6], dash: "dot", markers: true },
    ],
    { xTitle: "step", yTitle: "value", logY: true },
  );
  assert.equal(line.data.length, 2);
  assert.equal(line.data[1].mode, "lines+markers");
  assert.equal((line.data[1].line as { dash: string }).dash, "dot");
  assert.equal(line.layout.xaxis.title?.text, "step");
  assert.equal(line.layout.yaxis.type, "log");

  const bars = barChart(["x", "y", "z"], [
    { name: "s1", values: [1, 2, 3], error: [0.1, 0.2, 0.3] },
    { name: "s2", values: [4, 5, 6] },
  ]);
  assert.equal(bars.data.length, 2);
  assert.equal(bars.data[0].type, "bar");
  assert.deepEqual(bars.data[0].x, ["x", "y", "z"]);
  assert.deepEqual((bars.data[0].error_y as { array: number[] }).array, [0.1, 0.2, 0.3]);
  assert.equal(bars.data[1].error_y, undefined);
  assert.equal(bars.layout.barmode, "group");
  assert.equal(bars.layout.xaxis.type, "category");

  const h = barChart(["x"], [{ name: "s", values: [1] }], { horizontal: true, barmode: "stack" });
  assert.equal(h.data[0].orientation, "h");
  assert.deepEqual(h.data[0].y, ["x"]);
  assert.deepEqual(h.data[0].x, [1]);
  assert.equal(h.layout.yaxis.type, "category");
  assert.throws(() => barChart(["x", "y"], [{ name: "s", values: [1] }]));
});

test("samplesToTargetBars: median bars from zero on a linear axis, a marker per seed, misses at the cap", () => {
  const fig = samplesToTargetBars(
    [
      { method: "cx", samples: [100, 200, 300] },
      { method: "scratch", samples: [1000, null, 3000] },
      { method: "never", samples: [null, null] },
      { method: "single", samples: 50 },
    ],
    { target: 0.95, cap: 5000 },
  );
  assert.equal(fig.data.length, 2, "bars + seed markers");
  const [bars, seeds] = fig.data;
  assert.deepEqual(bars.x, ["cx", "scratch", "never", "single"]);
  // medians, a miss counted as the cap (as in the tables)
  assert.deepEqual(bars.y, [200, 3000, 5000, 50]);
  assert.deepEqual(bars.text, ["200", "3k (1/3 not reached)", "≥ 5k (2/2 not reached)", "50"]);
  assert.deepEqual(seeds.y, [100, 200, 300, 1000, 5000, 3000, 5000, 5000, 50]);
  const symbols = (seeds.marker as { symbol: string[] }).symbol;
  assert.deepEqual(symbols.map((x, i) => [x, seeds.y[i]]).filter(([x]) => x === "x"), [["x", 5000], ["x", 5000], ["x", 5000]], "every miss is a cross at the cap");
  assert.equal(fig.layout.yaxis.type, undefined, "linear");
  assert.equal(fig.layout.yaxis.rangemode, "tozero");
  assert.equal((fig.layout.shapes as Array<{ y0: number }>)[0].y0, 5000, "the cap is drawn");
  assert.throws(() => samplesToTargetBars([{ method: "a", samples: [null] }]), /pass opts\.cap/);
  // No miss: no cap line (it would flatten the bars).
  assert.equal(samplesToTargetBars([{ method: "a", samples: [10, 20] }], { cap: 1e6 }).layout.shapes, undefined);
});

test("figures carry no bundle; the loader carries plotly's basic bundle gzip+base64, once", () => {
  const bundle = plotlyBundle();
  assert.ok(bundle.length > 1_000_000, "plotly bundle read from node_modules");
  const fig = lineChart([{ name: "a", x: [1], y: [2] }, { name: "b", x: [1], y: [3] }]);
  const first = figureHtml(fig, { id: "f1" });
  assert.ok(first.length < 5000, "a figure is small");
  assert.match(first, /<div id="f1" class="cd-figure" data-expected-traces="2"/);
  assert.match(first, /P\.newPlot\(el,/);
  assert.match(first, /window\.Plotly\?Promise\.resolve\(window\.Plotly\):window\.cdPlotly/, "waits for the loader");
  assert.match(figureHtml(fig, { expectedTraces: 7 }), /data-expected-traces="7"/);
  // Where the script never runs (an untrusted notebook), the figure says why it is blank and how to trust it;
  // the script removes the note before drawing.
  assert.match(first, /<p class="cd-untrusted"[^>]*>Figure not drawn: .*not trusted.*File &gt; Trust Notebook.*jupyter trust/);
  assert.ok(first.indexOf('el.removeChild(note)') < first.indexOf("P.newPlot"), "the note goes before plotly draws");
  const ids = [figureHtml(fig), figureHtml(fig)].map((h) => /id="([^"]+)"/.exec(h)?.[1]);
  assert.notEqual(ids[0], ids[1], "generated ids are unique");

  const loader = plotlyLoaderHtml();
  assert.ok(loader.length < 520_000, `loader ${loader.length} bytes`);
  const b64 = /var b64="([^"]+)"/.exec(loader)?.[1];
  assert.ok(b64, "the loader embeds the bundle");
  assert.equal(zlib.gunzipSync(Buffer.from(b64, "base64")).toString("utf8"), bundle, "it unpacks to the bundle, byte for byte");
  // UMD guard: define/exports/module hidden so require.js pages still get window.Plotly
  assert.ok(loader.includes("(function(define,exports,module){"));
  assert.match(loader, /if\(window\.cdPlotly\)return;/, "a second copy does nothing");
});

test("figureHtml: spec JSON cannot break out of the script element", () => {
  const html = figureHtml(lineChart([{ name: "</script><b>x</b>", x: [1], y: [1] }]), { id: 'a"b' });
  assert.ok(!html.includes("</script><b>"));
  assert.ok(html.includes('id="a&quot;b"'));
  assert.equal(JSON.parse(scriptJson({ s: "</script>&\u2028" })).s, "</script>&\u2028");
  assert.equal(escapeHtml(`<a href="x">'&'</a>`), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
});

test("reportHtml: one loader in <head>, figures, tables, escaped text; writeReport is atomic", () => {
  const loader = plotlyLoaderHtml();
  const fig = lineChart([{ name: "a", x: [1, 2], y: [1, 2] }]);
  const page = reportHtml("Run <1>", [
    { heading: "Curves & more", text: "para one\n\npara <two>", figures: [fig, fig] },
    { heading: "Table", html: tableHtml([{ a: 1 }]) },
  ]);
  assert.equal(page.split(loader).length - 1, 1, "plotly once per page");
  assert.ok(page.indexOf(loader) < page.indexOf("</head>"));
  assert.equal((page.match(/class="cd-figure"/g) ?? []).length, 2);
  assert.ok(page.includes("<title>Run &lt;1&gt;</title>"));
  assert.ok(page.includes("<p>para &lt;two&gt;</p>"));
  assert.ok(page.includes("<h2>Curves &amp; more</h2>"));
  assert.ok(page.includes('<table class="cd-table">'));
  assert.ok(!reportHtml("no figs", [{ text: "x" }]).includes(loader));

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cd-report-"));
  const file = path.join(dir, "sub", "r.html");
  writeReport(file, page);
  assert.equal(fs.readFileSync(file, "utf8"), page);
  assert.deepEqual(fs.readdirSync(path.dirname(file)), ["r.html"]);
  fs.rmSync(dir, { recursive: true });
});

test("tableHtml: renders the right cells through a danfojs DataFrame and escapes HTML", () => {
  const rows = [
    { method: "<script>alert(1)</script>", acc: 0.912345, n: 1000 },
    { method: "a & b", acc: 0.5, extra: true },
  ];
  const df = toDataFrame(rows);
  assert.deepEqual(df.columns, ["method", "acc", "n", "extra"]);
  assert.deepEqual(df.shape, [2, 4]);
  const html = tableHtml(rows);
  assert.ok(!html.includes("<script>alert"), "cell text escaped");
  assert.ok(html.includes("&lt;script&gt;alert(1)&lt;/script&gt;"));
  assert.ok(html.includes("a &amp; b"));
  const header = [...html.matchAll(/<th[^>]*>([^<]*)<\/th>/g)].map((m) => m[1]);
  assert.deepEqual(header, ["method", "acc", "n", "extra"]);
  const tbody = html.slice(html.indexOf("<tbody>"));
  const cells = [...tbody.matchAll(/<tr>(.*?)<\/tr>/g)].map((m) => [...m[1].matchAll(/<td[^>]*>([^<]*)<\/td>/g)].map((c) => c[1]));
  assert.deepEqual(cells, [
    ["&lt;script&gt;alert(1)&lt;/script&gt;", "0.9123", "1000", ""],
    ["a &amp; b", "0.5", "", "true"],
  ]);
  assert.match(html, /<td class="cd-num">0\.9123<\/td>/);
  assert.match(html, /<th class="cd-str">method<\/th>/);

  // column selection and order; header escaping
  const sel = tableHtml([{ "a<b": 1, c: 2 }], ["c", "a<b"], { caption: "cap & x" });
  assert.deepEqual(
    [...sel.matchAll(/<th[^>]*>([^<]*)<\/th>/g)].map((m) => m[1]),
    ["c", "a&lt;b"],
  );
  assert.ok(sel.includes("<caption>cap &amp; x</caption>"));
  // empty
  assert.match(tableHtml([], ["x"]), /<th class="cd-str">x<\/th>/);
});

test("textTable and formatCell", () => {
  const t = textTable([
    { method: "cx", acc: 0.9 },
    { method: "scratch", acc: 0.25 },
  ]);
  assert.equal(t, ["method    acc", "-------  ----", "cx        0.9", "scratch  0.25"].join("\n"));
  assert.equal(formatCell(1 / 3), "0.3333");
  assert.equal(formatCell(1e-9), "1.000e-9");
  assert.equal(formatCell(NaN), "NaN");
  assert.equal(formatCell(Infinity), "inf");
  assert.equal(formatCell(null), "");
  assert.equal(formatCell(12345678), "12345678");
});
