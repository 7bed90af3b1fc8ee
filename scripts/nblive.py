#!/usr/bin/python3
"""Check that a notebook's live progress displays update in place while its cells run (liveProgress).

Usage: nblive.py NOTEBOOK [--timeout 900] [--out FILE.ipynb] [--upto CELL]

Executes every cell through a Jupyter kernel client (nbclient, kernel "tslab", in the notebook's folder), as
Jupyter does, and records each display message (display_data, update_display_data) with its display_id and
arrival time. For every code cell that shows a live display (liveProgress, directly or through a function):
  - each of its live displays (the status and the chart, each with a display_id) is shown once as
    display_data and then changed only by update_display_data messages;
  - the status was updated while the cell ran (at least one update 0.5 s or more before the cell finished);
  - the chart was updated while the cell ran in at least one live cell of the notebook (it grows), and once
    more at the end;
  - the executed notebook holds one output per display: its last update (nbclient applies the updates the way
    the notebook UI does), so the chart ends as a static figure (plotly JSON + HTML) or the closing note.
--upto CELL executes cells 0..CELL only (e.g. a full-mode headline cell without the ablations after it).
Prints one line per live cell and a summary; exits 1 on the first failure. Run with Debian's /usr/bin/python3.
The kernel inherits the environment (CD_QUICK, CD_CACHE_DIR, ...).
"""
import argparse
import os
import sys
import time

import nbformat
from nbclient import NotebookClient


class Recording(NotebookClient):
    """An nbclient that notes every display message (type, display_id, time) per cell before handling it."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.events = {}  # cell index -> [(time, msg_type, display_id, mime types)]
        self.finished = {}  # cell index -> time the cell's execution ended

    def process_message(self, msg, cell, cell_index):
        kind = msg["msg_type"]
        if kind in ("display_data", "update_display_data"):
            did = msg["content"].get("transient", {}).get("display_id")
            self.events.setdefault(cell_index, []).append((time.time(), kind, did, sorted(msg["content"].get("data", {}))))
        return super().process_message(msg, cell, cell_index)


def src(cell):
    return "".join(cell.source) if isinstance(cell.source, list) else cell.source


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("notebook")
    ap.add_argument("--timeout", type=int, default=int(os.environ.get("CD_CELL_TIMEOUT", "900")))
    ap.add_argument("--out", help="write the executed notebook here")
    ap.add_argument("--upto", type=int, default=None, help="execute cells 0..UPTO only")
    args = ap.parse_args()
    path = os.path.abspath(args.notebook)
    name = os.path.basename(path)
    nb = nbformat.read(path, as_version=4)
    client = Recording(nb, timeout=args.timeout, startup_timeout=120, kernel_name="tslab", resources={"metadata": {"path": os.path.dirname(path)}})
    t0 = time.time()
    with client.setup_kernel():
        for i, cell in enumerate(nb.cells):
            if args.upto is not None and i > args.upto:
                break
            client.execute_cell(cell, i)
            client.finished[i] = time.time()
    if args.out:
        nbformat.write(nb, args.out)
    # Live cells: those that showed a live status display (liveProgress, called in the cell or in a function it
    # calls, as 04's runCorpus does).
    live = [i for i in sorted(client.finished) if any(did and did.endswith("-status") for _, _, did, _ in client.events.get(i, []))]
    if not live:
        print(f"FAIL {name}: no cell showed a live display (liveProgress)")
        return 1
    failures = []
    chart_grew = False
    status_live = False
    for i in live:
        ev = client.events.get(i, [])
        end = client.finished[i]
        by_id = {}
        for t, kind, did, mimes in ev:
            if did is not None:
                by_id.setdefault(did, []).append((t, kind, mimes))
        status = [d for d in by_id if d.endswith("-status")]
        chart = [d for d in by_id if d.endswith("-chart")]
        problems = []
        if not status or not chart:
            problems.append(f"live displays found: {sorted(by_id)} (want a -status and a -chart display_id)")
        for did, msgs in by_id.items():
            if msgs[0][1] != "display_data" or any(k != "update_display_data" for _, k, _ in msgs[1:]):
                problems.append(f"{did}: shown once then updated? got {[k for _, k, _ in msgs]}")
        mid = lambda did: sum(1 for t, k, _ in by_id.get(did, []) if k == "update_display_data" and t <= end - 0.5)
        s_mid = sum(mid(d) for d in status)
        c_mid = sum(mid(d) for d in chart)
        c_all = sum(1 for d in chart for _, k, _ in by_id[d] if k == "update_display_data")
        # The status redraws at most once a second: a cell that ran for under 3 s may end before its first
        # redraw (quick mode on a fast machine); such a cell is not asked to show one, but some cell of the
        # notebook must (status_live below).
        ran = end - min((t for t, _, _, _ in ev), default=end)
        if s_mid < 1 and ran >= 3:
            problems.append("the status was not updated while the cell ran")
        status_live = status_live or s_mid >= 1
        if c_all < 1:
            problems.append("the chart was never updated")
        chart_grew = chart_grew or c_mid >= 1
        # The saved notebook: one output per display, the last update's content.
        outs = nb.cells[i].outputs
        for did in chart:
            last = by_id[did][-1][2]
            if "application/vnd.plotly.v1+json" in last:
                figs = [o for o in outs if "application/vnd.plotly.v1+json" in o.get("data", {})]
                if len(figs) != 1:
                    problems.append(f"the saved cell holds {len(figs)} figures from the live chart, want 1")
        first = min((t for t, _, _, _ in ev), default=end)
        line = (f"cell {i}: {len(ev)} display messages over {end - first:.1f}s; status updates while running {s_mid}, "
                f"chart updates while running {c_mid} (+{c_all - c_mid} at the end)")
        if problems:
            failures.append(f"cell {i}: " + "; ".join(problems))
            print(f"FAIL {name} {line}: {'; '.join(problems)}")
        else:
            print(f"ok   {name} {line}")
    if not status_live:
        failures.append("no live status was updated while its cell ran")
        print(f"FAIL {name}: no live status was updated while its cell ran")
    if not chart_grew:
        failures.append("no live chart was updated while its cell ran")
        print(f"FAIL {name}: no live chart was updated while its cell ran")
    print(f"{'FAIL' if failures else 'ok'}   {name}: {len(live)} live cell(s), {time.time() - t0:.0f}s")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
