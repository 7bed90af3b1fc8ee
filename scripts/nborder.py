#!/usr/bin/python3
"""Run notebook 02's cells out of order, as a researcher does after editing the seeds, and check every label.

First, in the fresh kernel, a late cell runs before the setup cell (as after a restart): its error must say to run
the setup cell.

Usage: nborder.py [NOTEBOOK]   (default notebooks/02-sparse-parity-mlp.ipynb; run with CD_QUICK=1)

Through a Jupyter kernel client (nbclient, kernel "tslab"): run the setup cell and the headline; edit the setup
cell's seeds to a single seed and re-run it; then run the finding, the cost figures and an ablation BEFORE
re-running the headline (they must still say the headline's old seeds: their numbers are the old run's), then the
headline, the curves, another ablation and the finding again (now the new seed). Every output that names seeds
("seeds 0,1,2") must name the seeds of the result it shows, and each ablation table must have a column for exactly
those seeds. Prints one line per step and "ok" at the end; exits 1 at the first wrong label.
"""
import os
import time
import re
import sys

import nbformat
from nbclient import NotebookClient

SEEDS = re.compile(r"seeds ([0-9]+(?:,[0-9]+)*)")
SEED_COLUMN = re.compile(r"<th[^>]*>seed ([0-9]+)</th>")


def texts(cell):
    out = []
    for o in cell.get("outputs", []):
        if o.get("output_type") == "stream":
            out.append(o.get("text", ""))
        elif o.get("output_type") == "error":
            out.append(f"ERROR {o.get('ename')}: {o.get('evalue')}")
        for mime in ("text/plain", "text/html"):
            v = o.get("data", {}).get(mime)
            if v is not None:
                out.append("".join(v) if isinstance(v, list) else v)
        fig = o.get("data", {}).get("application/vnd.plotly.v1+json")
        if fig:
            out.append(str(fig.get("layout", {}).get("title", {}).get("text", "")).replace("<br>", " "))
    return "\n".join(out)


def find(nb, needle):
    for i, c in enumerate(nb.cells):
        if c.cell_type == "code" and needle in c.source:
            return i
    raise SystemExit(f"FAIL: no code cell contains {needle!r}")


def main():
    path = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "notebooks/02-sparse-parity-mlp.ipynb")
    nb = nbformat.read(path, as_version=4)
    setup = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code")
    cells = {
        "headline": find(nb, "const main = await runParity"),
        "curves": find(nb, "show(accuracyCurves(curvesByMethod(main.runs"),
        "finding": find(nb, "const found = runsFrame(main.runs)"),
        "cost": find(nb, "costFigures(main.summary.methods"),
        "sweep": find(nb, "async function sweep"),
        "tap": find(nb, "const tap = await sweep"),
        "ctl": find(nb, "const ctl = await sweep"),
    }
    src = nb.cells[setup].source
    m = re.search(r"maxSamples: 2e5, seeds: \[([0-9, ]+)\]", src)
    if not m:
        raise SystemExit("FAIL: the setup cell's quick-mode seeds (maxSamples: 2e5, seeds: [...]) not found")
    first = ",".join(s.strip() for s in m.group(1).split(","))
    second = first.split(",")[-1]
    edited = src.replace(m.group(0), f"maxSamples: 2e5, seeds: [{second}]")

    client = NotebookClient(nb, timeout=900, startup_timeout=120, kernel_name="tslab",
                            resources={"metadata": {"path": os.path.dirname(path)}})
    problems = []

    def run(name, index, expect, columns=False):
        cell = nb.cells[index]
        try:
            client.execute_cell(cell, index)
        except Exception as e:  # nbclient raises on a cell error; tslab puts the text on stderr
            problems.append(f"{name} (cell {index}) failed: {type(e).__name__}: {texts(cell)[-600:]}")
            print(f"{name:9} cell {index:2}: FAILED")
            return
        text = texts(cell)
        before = len(problems)
        found = sorted(set(SEEDS.findall(text)))
        wrong = [s for s in found if s != expect]
        if not found:
            problems.append(f"{name} (cell {index}): no label with seeds in its output")
        if wrong:
            problems.append(f"{name} (cell {index}) labels seeds {', '.join(wrong)}; its result has seeds {expect}")
        if columns:
            cols = sorted(set(SEED_COLUMN.findall(text)), key=int)
            if ",".join(cols) != expect:
                problems.append(f"{name} (cell {index}): table columns for seeds {','.join(cols)}, expected {expect}")
        print(f"{name:9} cell {index:2}: labels seeds {', '.join(found) or '-'} (expected {expect})" + ("" if len(problems) == before else "  <- WRONG"))

    with client.setup_kernel():
        # A late cell in a fresh kernel (as after a restart): tslab's "Cannot find name" plus the hint to run the
        # setup cell (scripts/tslab-hints.js, loaded by the kernel's launcher).
        late = nb.cells[cells["cost"]]
        try:
            client.execute_cell(late, cells["cost"])
            problems.append("a late cell ran in a fresh kernel without the setup cell")
        except Exception:
            pass
        hint = texts(late)
        if "Cannot find name" not in hint or "setup cell" not in hint:
            problems.append(f"a late cell in a fresh kernel did not say to run the setup cell: {hint[-300:]!r}")
        print(f"restart   cell {cells['cost']:2}: {'hint shown' if 'setup cell' in hint else 'NO HINT'}")
        late.outputs = []
        # Then, in the same kernel, the label checks. tslab drops (as "aborted") every request that reaches it
        # within 200 ms of a failed cell (its execQueue.reset(200)): a person never sends the next cell that
        # fast, a client does, and the cell then shows no output. Wait as a person would.
        time.sleep(0.5)
        client.execute_cell(nb.cells[setup], setup)
        print(f"setup     cell {setup:2}: seeds [{first}]")
        run("headline", cells["headline"], first)
        client.execute_cell(nb.cells[cells["sweep"]], cells["sweep"])
        nb.cells[setup].source = edited
        client.execute_cell(nb.cells[setup], setup)
        print(f"setup     cell {setup:2}: edited to seeds [{second}] and re-run; the headline not yet")
        run("finding", cells["finding"], first)
        run("cost", cells["cost"], first)
        run("tap", cells["tap"], first, columns=True)
        run("headline", cells["headline"], second)
        run("curves", cells["curves"], second)
        run("ctl", cells["ctl"], second, columns=True)
        run("finding", cells["finding"], second)
    if problems:
        print("FAIL:\n  " + "\n  ".join(problems), file=sys.stderr)
        return 1
    print("ok   every output labels the seeds of the result it shows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
