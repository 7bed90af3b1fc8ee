#!/usr/bin/python3
"""Use a notebook the way a researcher does, then export it the way Jupyter does, and check the result.

Usage: nbreplay.py NOTEBOOK --out-dir DIR [--rerun CELL] [--max-bytes 1000000] [--timeout 900]

1. Execute every cell through a Jupyter kernel client (nbclient, kernel "tslab", in the notebook's folder).
2. Re-run one plotting cell in the same kernel (default: the first code cell whose output holds a figure):
   the step that used to remove plotly from the notebook.
3. Save the notebook as the notebook UI does: the server's FileContentsManager.save (what "Save" sends
   through PUT /api/contents), into DIR.
4. Export the saved file with the real command line, `jupyter nbconvert --to html`.
5. Render the page in headless Chromium (scripts/check-reports.py): every figure must draw its traces, and
   the page must show as many figures as the saved notebook holds.
6. The saved notebook must be smaller than --max-bytes (default 1,000,000).
7. Reopen the saved notebook in the classic notebook UI (a `jupyter notebook` server started on a free port,
   the notebook signed as trusted, as the UI signs what its user saved) and check in Chromium that every figure
   draws there too.
8. Open it again as a notebook received from someone else (not signed, so not trusted: Jupyter runs none of its
   output scripts): every figure's place must say why it is blank and how to trust the notebook.

Prints one line per step; exits 1 on the first failure. Run with Debian's /usr/bin/python3.
"""
import argparse
import importlib.util
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import nbformat
from nbclient import NotebookClient


def figure_count(cell):
    n = 0
    for out in cell.get("outputs", []):
        html = out.get("data", {}).get("text/html")
        if html is not None:
            n += ("".join(html) if isinstance(html, list) else html).count('class="cd-figure"')
    return n


def run_and_rerun(nb, nb_path, args, started):
    """Steps 1 and 2: execute every cell, then re-run one plotting cell in the same kernel. Returns its index."""
    t0 = time.time()
    client = NotebookClient(nb, timeout=args.timeout, startup_timeout=60, kernel_name="tslab",
                            resources={"metadata": {"path": os.path.dirname(nb_path)}})
    with client.setup_kernel():
        for i, cell in enumerate(nb.cells):
            started.append(i)
            client.execute_cell(cell, i)
        print(f"1. executed {len(nb.cells)} cells through the kernel client ({time.time() - t0:.1f}s)")
        index = args.rerun
        if index is None:
            index = next((i for i, c in enumerate(nb.cells) if c.cell_type == "code" and figure_count(c) > 0), None)
        if index is None:
            return None
        before = figure_count(nb.cells[index])
        client.execute_cell(nb.cells[index], index)
        print(f"2. re-ran cell {index} (a plotting cell: {before} figure(s) before, {figure_count(nb.cells[index])} after)")
    return index


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("notebook")
    ap.add_argument("--out-dir", required=True)
    ap.add_argument("--rerun", type=int, default=None, help="cell index to re-run (default: the first plotting cell)")
    ap.add_argument("--max-bytes", type=int, default=1_000_000)
    ap.add_argument("--timeout", type=int, default=int(os.environ.get("CD_CELL_TIMEOUT", "900")))
    args = ap.parse_args()

    here = os.path.dirname(os.path.abspath(__file__))
    nb_path = os.path.abspath(args.notebook)
    name = os.path.basename(nb_path)
    os.makedirs(args.out_dir, exist_ok=True)

    # A kernel that fails to start (zeromq's "Socket is blocked by a bind or unbind operation" under load)
    # is retried once with new ports, as scripts/nbexec.py does.
    for attempt in (1, 2):
        nb = nbformat.read(nb_path, as_version=4)
        started = []
        try:
            index = run_and_rerun(nb, nb_path, args, started)
            break
        except Exception as e:
            if started or attempt == 2:
                raise
            print(f"note: the kernel did not start ({type(e).__name__}: {e}); retrying once", file=sys.stderr)
    if index is None:
        print("FAIL: no cell drew a figure", file=sys.stderr)
        return 1

    # 3. Save as the UI does.
    from notebook.services.contents.filemanager import FileContentsManager

    cm = FileContentsManager(root_dir=os.path.abspath(args.out_dir))
    cm.save({"type": "notebook", "format": "json", "content": json.loads(nbformat.writes(nb))}, name)
    saved = os.path.join(args.out_dir, name)
    size = os.path.getsize(saved)
    print(f"3. saved through FileContentsManager.save: {saved} ({size} bytes)")

    # 4. Export with jupyter nbconvert.
    r = subprocess.run(["/usr/bin/python3", "-m", "jupyter", "nbconvert", "--to", "html", saved, "--output-dir", args.out_dir],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    page = os.path.splitext(saved)[0] + ".html"
    if r.returncode != 0 or not os.path.exists(page):
        print(f"FAIL: jupyter nbconvert --to html exited {r.returncode}:\n{r.stdout}", file=sys.stderr)
        return 1
    print(f"4. jupyter nbconvert --to html -> {page} ({os.path.getsize(page)} bytes)")

    # 5. Chromium renders every figure (and the page shows as many figures as the notebook holds).
    r = subprocess.run(["/usr/bin/python3", os.path.join(here, "check-reports.py"), page],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    print("5. " + r.stdout.strip().replace("\n", "\n   "))
    if r.returncode != 0:
        return 1
    figures = sum(figure_count(c) for c in nb.cells)
    if figures == 0:
        print("FAIL: the saved notebook holds no figure", file=sys.stderr)
        return 1

    # 6. Small enough to commit or mail.
    if size >= args.max_bytes:
        print(f"FAIL: the saved notebook is {size} bytes, not under {args.max_bytes}", file=sys.stderr)
        return 1
    print(f"6. saved notebook {size} bytes < {args.max_bytes}; {figures} figures")

    # 7. Reopened in the classic UI.
    problems = live_ui_check(saved, here, figures)
    if problems:
        print("FAIL: in the notebook UI: " + "; ".join(problems), file=sys.stderr)
        return 1
    print(f"7. reopened in the classic notebook UI: {figures} figures drawn; ok")

    # 8. Untrusted: no figure can draw, and each says why.
    problems, figs = live_ui_check(saved, here, figures, trusted=False, return_figs=True)
    untold = [f for f in figs if not f["untrusted"]]
    if len(figs) != figures or untold:
        print(f"FAIL: untrusted, {len(figs)} figures shown ({figures} expected), {len(untold)} without the untrusted-notebook note", file=sys.stderr)
        return 1
    print(f"8. opened untrusted in the classic notebook UI: {len(figs)} figures, each says it is not drawn because the notebook is not trusted; ok")
    return 0


def live_ui_check(saved, here, figures, trusted=True, return_figs=False):
    """Open `saved` in a fresh `jupyter notebook` server with headless Chromium; problems, or [] when every figure drew."""
    from nbformat.sign import NotebookNotary

    nb = nbformat.read(saved, as_version=4)
    notary = NotebookNotary()
    if trusted:
        notary.sign(nb)  # what the UI does for a notebook its user saved: its outputs run when reopened
    else:
        notary.unsign(nb)  # a notebook received from someone else
    spec = importlib.util.spec_from_file_location("check_reports", os.path.join(here, "check-reports.py"))
    check_reports = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(check_reports)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    token = secrets.token_hex(16)
    cmd = ["/usr/bin/python3", "-m", "notebook", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
           f"--NotebookApp.token={token}", f"--notebook-dir={os.path.dirname(os.path.abspath(saved))}"]
    if os.geteuid() == 0:
        cmd.append("--allow-root")
    server = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api?token={token}", timeout=1)
                break
            except Exception:
                time.sleep(0.5)
        else:
            return ["the notebook server did not start"]
        url = f"http://127.0.0.1:{port}/notebooks/{os.path.basename(saved)}?token={token}"
        chromium = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
        problems, figs = check_reports.check(url, chromium, 30000)
        if len(figs) != figures:
            problems.append(f"the UI shows {len(figs)} figures, the notebook holds {figures}")
        return (problems, figs) if return_figs else problems
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()


if __name__ == "__main__":
    sys.exit(main())
