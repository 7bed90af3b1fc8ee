#!/usr/bin/python3
"""Check that every plotly figure in exported HTML pages rendered, in headless Chromium.

Usage: check-reports.py [PAGE.html | URL ...]     (default: reports/*.html)

Each page is loaded in headless Chromium (Debian `chromium`) with a virtual time budget and its DOM is
dumped (--dump-dom). Every figure written by figureHtml/reportHtml is a
`<div class="cd-figure" data-expected-traces="N">`; after plotly rendered it holds an <svg class="main-svg">
and one `g.trace` (`g.hm` for heatmaps) per drawn trace. A figure fails when it has no svg, carries a
data-error attribute (plotly missing or newPlot rejected), or shows a different number of traces than N.

When reports/<name>.ipynb (the executed notebook) sits next to the page, two more checks:
  - the page has as many figures as the notebook's outputs contain;
  - the notebook's metadata.curriculum_distill.expected_figures, if set, equals that number
    (catches a figure cell that silently displayed nothing).

Exits 1 with one line per problem. Env: CHROMIUM (binary, default chromium), CD_CHROMIUM_BUDGET
(virtual time budget in ms, default 15000).
"""
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
from html.parser import HTMLParser

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source", "track", "wbr"}
TRACE_CLASSES = {"trace", "hm"}


class FigureScanner(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.depth = 0
        self.figures = []
        self.current = None
        self.current_depth = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        classes = set((a.get("class") or "").split())
        if self.current is None and tag == "div" and "cd-figure" in classes:
            self.current = {
                "id": a.get("id", "?"),
                "expected": a.get("data-expected-traces"),
                "error": a.get("data-error"),
                "svg": 0,
                "traces": 0,
                "untrusted": 0,
            }
            self.figures.append(self.current)
            self.current_depth = self.depth
        elif self.current is not None:
            if tag == "svg" and "main-svg" in classes:
                self.current["svg"] += 1
            if tag == "p" and "cd-untrusted" in classes:
                self.current["untrusted"] += 1
            if tag == "g" and classes & TRACE_CLASSES:
                self.current["traces"] += 1
        if tag not in VOID:
            self.depth += 1

    def handle_startendtag(self, tag, attrs):
        # <x/>: counts like a start tag but opens nothing.
        if self.current is not None:
            classes = set((dict(attrs).get("class") or "").split())
            if tag == "g" and classes & TRACE_CLASSES:
                self.current["traces"] += 1

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        self.depth -= 1
        if self.current is not None and self.depth == self.current_depth:
            self.current = None
            self.current_depth = None


def dump_dom(page, chromium, budget):
    profile = tempfile.mkdtemp(prefix="cd-chromium-")
    try:
        cmd = [
            chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--no-first-run", "--mute-audio", f"--user-data-dir={profile}",
            f"--virtual-time-budget={budget}", "--dump-dom",
            page if page.startswith(("http://", "https://")) else "file://" + os.path.abspath(page),
        ]
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=180)
        return r.returncode, r.stdout.decode("utf-8", "replace"), r.stderr.decode("utf-8", "replace")
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def notebook_expectations(page):
    if page.startswith(("http://", "https://")):
        return None, None
    nb_path = os.path.splitext(page)[0] + ".ipynb"
    if not os.path.exists(nb_path):
        return None, None
    with open(nb_path, encoding="utf-8") as f:
        nb = json.load(f)
    in_outputs = 0
    for cell in nb.get("cells", []):
        for out in cell.get("outputs", []):
            html = out.get("data", {}).get("text/html")
            if html is None:
                continue
            text = "".join(html) if isinstance(html, list) else html
            in_outputs += text.count('class="cd-figure"')
    declared = nb.get("metadata", {}).get("curriculum_distill", {}).get("expected_figures")
    return in_outputs, declared


def check(page, chromium, budget):
    problems = []
    rc, dom, err = dump_dom(page, chromium, budget)
    if rc != 0 or "<html" not in dom.lower():
        tail = "\n".join(err.strip().splitlines()[-5:])
        return [f"chromium failed on the page (exit {rc}): {tail}"], []
    scanner = FigureScanner()
    scanner.feed(dom)
    scanner.close()
    figs = scanner.figures
    for i, f in enumerate(figs):
        label = f"figure {i + 1} (#{f['id']})"
        try:
            expected = int(f["expected"]) if f["expected"] is not None else None
        except ValueError:
            expected = None
        if f["error"]:
            problems.append(f"{label} did not render: {f['error']}")
        elif f["svg"] == 0:
            problems.append(f"{label} did not render: no plotly svg in its container" +
                            (" (it shows the untrusted-notebook note: its script never ran)" if f["untrusted"] else ""))
        elif f["untrusted"]:
            problems.append(f"{label} rendered but still shows the untrusted-notebook note")
        elif expected is not None and f["traces"] != expected:
            problems.append(f"{label} rendered {f['traces']} traces, expected {expected}")
    in_outputs, declared = notebook_expectations(page)
    if in_outputs is not None and in_outputs != len(figs):
        problems.append(f"the executed notebook has {in_outputs} figures in its outputs but the page shows {len(figs)}")
    if declared is not None and in_outputs is not None and declared != in_outputs:
        problems.append(
            f"the notebook declares expected_figures={declared} (metadata.curriculum_distill) but its outputs hold {in_outputs}"
        )
    return problems, figs


def main(argv):
    pages = argv or sorted(glob.glob("reports/*.html"))
    if not pages:
        print("check-reports: no pages (run `npm run notebooks` first)", file=sys.stderr)
        return 1
    chromium = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        print("check-reports: chromium not found (apt-get install chromium, or run `npm run notebooks:setup` as root)", file=sys.stderr)
        return 1
    budget = int(os.environ.get("CD_CHROMIUM_BUDGET", "15000"))
    failed = 0
    for page in pages:
        if not page.startswith(("http://", "https://")) and not os.path.exists(page):
            print(f"FAIL {page}: no such file", file=sys.stderr)
            failed += 1
            continue
        problems, figs = check(page, chromium, budget)
        if problems:
            failed += 1
            print(f"FAIL {page}", file=sys.stderr)
            for p in problems:
                print(f"  - {p}", file=sys.stderr)
        else:
            traces = sum(f["traces"] for f in figs)
            print(f"ok   {page}: {len(figs)} figures, {traces} traces rendered")
    if failed:
        print(f"check-reports: {failed} of {len(pages)} pages failed", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
