#!/usr/bin/python3
"""An executed notebook saved as Jupyter saves it leaves `git status` clean.

Usage: nbgitstatus.py EXECUTED.ipynb COMMITTED.ipynb

In a new git repository in a temporary folder: the nbstrip filter configured as `npm run notebooks:setup` does,
COMMITTED committed (stripped), then EXECUTED (the same notebook with outputs and the kernel metadata a run adds)
saved over it through the notebook server's FileContentsManager with `npm run jupyter`'s post-save hook
(scripts/jupyter_notebook_config.py). Prints `git status --porcelain` and "clean" or exits 1.
"""
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile

here = os.path.dirname(os.path.abspath(__file__))


def main():
    executed, committed = sys.argv[1], sys.argv[2]
    tmp = tempfile.mkdtemp(prefix="cd-gitstatus-")
    try:
        run = lambda *a: subprocess.run(["git", "-C", tmp, *a], check=True, capture_output=True, text=True).stdout
        run("init", "-q")
        run("config", "user.email", "t@example.com")
        run("config", "user.name", "t")
        run("config", "filter.nbstrip.clean", f"node {os.path.join(here, 'nbstrip.js')}")
        run("config", "filter.nbstrip.smudge", "cat")
        os.makedirs(os.path.join(tmp, "notebooks"))
        with open(os.path.join(tmp, ".gitattributes"), "w") as f:
            f.write("notebooks/*.ipynb filter=nbstrip\n")
        with open(os.path.join(tmp, ".gitignore"), "w") as f:
            f.write(".ipynb_checkpoints/\n")  # as the project's .gitignore
        name = os.path.basename(committed)
        shutil.copy(committed, os.path.join(tmp, "notebooks", name))
        run("add", "-A")
        run("commit", "-qm", "stripped")

        spec = importlib.util.spec_from_file_location("cfg", os.path.join(here, "jupyter_notebook_config.py"))
        cfg = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(cfg)
        from notebook.services.contents.filemanager import FileContentsManager

        cm = FileContentsManager(root_dir=os.path.join(tmp, "notebooks"))
        cm.post_save_hook = cfg.refresh_git_index
        with open(executed, encoding="utf-8") as f:
            content = json.load(f)
        cm.save({"type": "notebook", "format": "json", "content": content}, name)
        status = run("status", "--porcelain")
        diff = run("diff", "--stat")
        print(f"git status --porcelain after saving the executed notebook: {status.strip() or '(nothing)'}; git diff: {diff.strip() or '(nothing)'}")
        if status.strip():
            return 1
        print("clean")
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
