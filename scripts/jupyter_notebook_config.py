"""Jupyter server config used by `npm run jupyter` (scripts/jupyter.sh): after every save, a notebook that differs
from git's index only in what the nbstrip filter removes (outputs, execution counts, kernel metadata) is re-added,
which stores the same content and records the file's new size, so `git status` shows it unchanged.

Why: git decides a file is modified from its size before it looks at its content, so a notebook saved with its
outputs (larger than the stripped copy in the index) stays "modified" in `git status` although `git diff` (which
runs the clean filter) is empty. Re-adding identical content changes nothing in the index but that size. A notebook
whose sources changed is left alone.
"""
import os
import subprocess


def refresh_git_index(model=None, os_path=None, contents_manager=None, **kwargs):
    if not os_path or not os_path.endswith(".ipynb") or (model and model.get("type") != "notebook"):
        return
    d = os.path.dirname(os_path)
    git = ["git", "-C", d]
    try:
        tracked = subprocess.run(git + ["ls-files", "--error-unmatch", "--", os_path], capture_output=True).returncode == 0
        if tracked and subprocess.run(git + ["diff", "--quiet", "--", os_path], capture_output=True).returncode == 0:
            subprocess.run(git + ["add", "--", os_path], capture_output=True)
    except OSError:
        pass  # no git: nothing to keep in step


try:
    c.FileContentsManager.post_save_hook = refresh_git_index  # noqa: F821 (c: Jupyter's config object)
except NameError:
    pass  # imported as a module (tests)
