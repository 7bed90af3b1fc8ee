#!/usr/bin/python3
"""Execute one notebook headless (nbclient) and export it (nbconvert HTMLExporter).

Usage: nbexec.py NOTEBOOK [--out-dir reports] [--timeout 900] [--kernel tslab] [--startup-timeout 120]

Writes OUT_DIR/<name>.ipynb (the executed notebook) and OUT_DIR/<name>.html (the writeup), also when a
cell fails (then up to and including the failing cell). Stops at the first failing cell (no
--allow-errors: with it, tslab's error replies make nbclient skip the next cell silently). On failure
prints the notebook, the cell index, the head of the cell source and the cell's real error text (tslab
puts it on the cell's stderr; the CellExecutionError message is empty), and exits 1.
The kernel inherits this process's environment (CD_QUICK, CD_BACKEND, ...) and runs in the notebook's folder.
Run it with Debian's /usr/bin/python3 (the default python3 on these machines has no Jupyter).
"""
import argparse
import os
import re
import sys
import time

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def cell_error_text(cell, reply=None):
    parts = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            tb = "\n".join(out.get("traceback") or [])
            parts.append(tb or f"{out.get('ename', '')}: {out.get('evalue', '')}")
        elif out.get("output_type") == "stream" and out.get("name") == "stderr":
            parts.append(out.get("text", ""))
    if reply is not None:
        content = reply.get("content", {}) if isinstance(reply, dict) else {}
        ename, evalue = content.get("ename"), content.get("evalue")
        if (ename or evalue) and not any((evalue or "") in p for p in parts):
            parts.append(f"{ename or ''}: {evalue or ''}")
    text = ANSI.sub("", "\n".join(p.rstrip("\n") for p in parts if p)).strip()
    return text


def write_atomic(path, text):
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("notebook")
    ap.add_argument("--out-dir", default="reports")
    ap.add_argument("--timeout", type=int, default=int(os.environ.get("CD_CELL_TIMEOUT", "900")))
    ap.add_argument("--startup-timeout", type=int, default=60)
    ap.add_argument("--kernel", default="tslab")
    ap.add_argument("--no-html", action="store_true")
    args = ap.parse_args()

    nb_path = os.path.abspath(args.notebook)
    name = os.path.splitext(os.path.basename(nb_path))[0]
    os.makedirs(args.out_dir, exist_ok=True)
    state = {"index": None, "failed": None, "reply": None}

    def on_cell_start(cell, cell_index, **_):
        state["index"] = cell_index

    def on_cell_error(cell, cell_index, execute_reply=None, **_):
        state["failed"] = cell_index
        state["reply"] = execute_reply

    t0 = time.time()
    # A kernel that fails to start (seen here under load: zeromq's "Socket is blocked by a bind or unbind
    # operation" while tslab binds its ports, then "Kernel didn't respond") is retried once, with new ports.
    for attempt in (1, 2):
        nb = nbformat.read(nb_path, as_version=4)
        client = NotebookClient(
            nb,
            timeout=args.timeout,
            startup_timeout=args.startup_timeout,
            kernel_name=args.kernel,
            allow_errors=False,
            record_timing=True,
            resources={"metadata": {"path": os.path.dirname(nb_path)}},
        )
        client.on_cell_start = on_cell_start
        client.on_cell_error = on_cell_error
        problem = None
        try:
            client.execute()
        except CellTimeoutError as e:
            problem = f"cell timed out after {args.timeout}s (set CD_CELL_TIMEOUT to change)"
        except DeadKernelError as e:
            problem = f"the kernel died: {e}"
        except CellExecutionError:
            problem = "cell raised an error"
        except Exception as e:  # kernel start failures and the like
            problem = f"{type(e).__name__}: {e}"
        if problem is not None and state["index"] is None and attempt == 1:
            print(f"note {name}: the kernel did not start ({problem}); retrying once", file=sys.stderr)
            continue
        break
    elapsed = time.time() - t0

    failed = state["failed"] if state["failed"] is not None else (state["index"] if problem else None)
    # Belt and braces: any error output or code cell left unexecuted counts as a failure.
    if problem is None:
        for i, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            if any(o.get("output_type") == "error" for o in cell.get("outputs", [])):
                problem, failed = "cell has an error output", i
                break
            if cell.source.strip() and "execution" not in cell.get("metadata", {}):
                problem, failed = "cell was not executed", i
                break

    out_nb = os.path.join(args.out_dir, f"{name}.ipynb")
    write_atomic(out_nb, nbformat.writes(nb))
    if not args.no_html:
        from nbconvert import HTMLExporter

        body, _ = HTMLExporter().from_notebook_node(nb, resources={"metadata": {"name": name}})
        write_atomic(os.path.join(args.out_dir, f"{name}.html"), body)

    if problem is None:
        print(f"ok   {name} ({elapsed:.1f}s) -> {out_nb}")
        return 0
    print(f"FAIL {name} ({elapsed:.1f}s): {problem}", file=sys.stderr)
    if failed is not None and failed < len(nb.cells):
        cell = nb.cells[failed]
        code_index = sum(1 for c in nb.cells[:failed] if c.cell_type == "code")
        head = "\n".join("    | " + l for l in cell.source.splitlines()[:8])
        print(f"  notebook: {args.notebook}", file=sys.stderr)
        print(f"  cell:     index {failed} (code cell #{code_index + 1})", file=sys.stderr)
        print(f"  source:\n{head}", file=sys.stderr)
        text = cell_error_text(cell, state["reply"]) or "(no error text in the cell's outputs)"
        lines = text.splitlines()
        if len(lines) > 60:
            lines = ["..."] + lines[-60:]
        print("  error:\n" + "\n".join("    " + l for l in lines), file=sys.stderr)
    print(f"  executed notebook: {out_nb}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
