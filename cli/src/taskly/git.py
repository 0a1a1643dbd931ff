"""Every call to the git binary (and the few facts the CLI reads from a repository)."""

from __future__ import annotations

import subprocess
from pathlib import Path


def repository_root(start: Path | None = None) -> Path | None:
    """The nearest folder holding `.git` (a directory, or a file in worktrees), walking up."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / ".git").exists():
            return folder
    return None


def current_branch(cwd: Path | None = None) -> str | None:
    """The checked-out branch (also before the first commit); None outside a repository or detached."""
    try:
        completed = subprocess.run(["git", "symbolic-ref", "--short", "-q", "HEAD"], cwd=cwd,
                                   capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    branch = completed.stdout.strip()
    if completed.returncode != 0 or not branch or branch == "HEAD":
        return None
    return branch
