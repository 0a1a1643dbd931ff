"""Every call to the git binary (and the few facts the CLI reads from a repository)."""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from .errors import TasklyError

TIMEOUT = 30.0
FETCH_TIMEOUT = 300.0


class GitError(TasklyError):
    """A git command failed; the message is git's own last line."""


def repository_root(start: Path | None = None) -> Path | None:
    """The nearest folder holding `.git` (a directory, or a file in worktrees), walking up."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / ".git").exists():
            return folder
    return None


def run(*args: str, cwd: Path | None = None, timeout: float = TIMEOUT, check: bool = True,
        prompt: bool = False) -> subprocess.CompletedProcess[str]:
    """`git ARGS…`; a non-zero exit raises GitError with git's message (unless `check` is False).

    Git never prompts for credentials unless `prompt`: a script must not hang on a password.
    """
    env = None if prompt else {**os.environ, "GIT_TERMINAL_PROMPT": "0"}
    try:
        completed = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True,
                                   timeout=timeout, env=env, stdin=subprocess.DEVNULL)
    except FileNotFoundError:
        raise GitError("git is not installed (or not on PATH)") from None
    except subprocess.TimeoutExpired:
        raise GitError(f"git {args[0]} did not finish within {timeout:g} s") from None
    if check and completed.returncode != 0:
        raise GitError(f"git {' '.join(args[:2])} failed: {_message(completed)}")
    return completed


def _message(completed: subprocess.CompletedProcess[str]) -> str:
    lines = [line.strip() for line in (completed.stderr or completed.stdout).splitlines() if line.strip()]
    fatal = [line for line in lines if line.startswith(("fatal:", "error:"))]
    return (fatal or lines or [f"exit {completed.returncode}"])[-1]


def query(*args: str, cwd: Path | None = None) -> str | None:
    """stdout of a query that may fail (None then)."""
    try:
        completed = run(*args, cwd=cwd, check=False, timeout=10)
    except GitError:
        return None
    text = completed.stdout.strip()
    return text if completed.returncode == 0 and text else None


# --- reading a repository ----------------------------------------------------------------------


def current_branch(cwd: Path | None = None) -> str | None:
    """The checked-out branch (also before the first commit); None outside a repository or detached."""
    branch = query("symbolic-ref", "--short", "-q", "HEAD", cwd=cwd)
    return None if branch in (None, "HEAD") else branch


def remote_url(remote: str = "origin", cwd: Path | None = None) -> str | None:
    return query("remote", "get-url", remote, cwd=cwd)


_SCP_LIKE = re.compile(r"^(?:[^@/]+@)?[^/:]+:(?P<path>[^/].*)$")


def github_name(url: str | None) -> str | None:
    """`owner/name` from a remote URL: https, ssh, scp-like (`git@host:owner/name.git`) or file."""
    if not url:
        return None
    url = url.strip()
    if "://" in url:
        path = url.split("://", 1)[1]
        path = path.split("/", 1)[1] if not url.startswith("file://") and "/" in path else path
    else:
        match = _SCP_LIKE.match(url)
        path = match["path"] if match and not url.startswith(("/", ".")) else url
    parts = [part for part in path.replace("\\", "/").split("/") if part]
    if len(parts) < 2:
        return None
    owner, name = parts[-2], parts[-1].removesuffix(".git")
    return f"{owner}/{name}" if owner not in (".", "..") and name else None


def branch_exists(branch: str, cwd: Path | None = None) -> bool:
    return query("rev-parse", "--verify", "-q", f"refs/heads/{branch}", cwd=cwd) is not None


def ref_exists(ref: str, cwd: Path | None = None) -> bool:
    return query("rev-parse", "--verify", "-q", f"{ref}^{{commit}}", cwd=cwd) is not None


def upstream(branch: str, cwd: Path | None = None) -> str | None:
    """What `branch` tracks, e.g. `origin/web-1-fix` (None when nothing)."""
    return query("rev-parse", "--abbrev-ref", "--symbolic-full-name", f"{branch}@{{upstream}}", cwd=cwd)


def remote_default_branch(remote: str = "origin", cwd: Path | None = None) -> str | None:
    """The remote's default branch as the clone recorded it (`refs/remotes/origin/HEAD`)."""
    ref = query("symbolic-ref", "-q", f"refs/remotes/{remote}/HEAD", cwd=cwd)
    prefix = f"refs/remotes/{remote}/"
    return ref[len(prefix):] if ref and ref.startswith(prefix) else None


def hooks_dir(cwd: Path | None = None) -> Path:
    """Where git looks for hooks (honours core.hooksPath and worktrees)."""
    path = query("rev-parse", "--git-path", "hooks", cwd=cwd)
    if path is None:
        raise GitError("not in a git repository")
    hooks = Path(path)
    return hooks if hooks.is_absolute() else (cwd or Path.cwd()) / hooks


@dataclass
class Worktree:
    path: Path
    branch: str | None


def worktrees(cwd: Path | None = None) -> list[Worktree]:
    text = query("worktree", "list", "--porcelain", cwd=cwd) or ""
    found: list[Worktree] = []
    for block in text.split("\n\n"):
        fields = dict(line.split(" ", 1) for line in block.splitlines() if " " in line)
        if "worktree" in fields:
            branch = fields.get("branch", "").removeprefix("refs/heads/") or None
            found.append(Worktree(Path(fields["worktree"]), branch))
    return found


# --- changing a repository ---------------------------------------------------------------------


def fetch_branch(branch: str, remote: str = "origin", cwd: Path | None = None) -> bool:
    """Fetch one branch into `refs/remotes/REMOTE/BRANCH`; False when the remote has no such branch."""
    completed = run("fetch", "--quiet", "--no-tags", remote,
                    f"+refs/heads/{branch}:refs/remotes/{remote}/{branch}",
                    cwd=cwd, timeout=FETCH_TIMEOUT, check=False)
    if completed.returncode == 0:
        return True
    message = _message(completed)
    if "couldn't find remote ref" in message.lower() or "no such ref" in message.lower():
        return False
    raise GitError(f"git fetch {remote} {branch} failed: {message}")


def switch(branch: str, cwd: Path | None = None) -> None:
    run("switch", "--quiet", branch, cwd=cwd)


def switch_new(branch: str, start: str, *, track: bool, cwd: Path | None = None) -> None:
    """Create `branch` at `start` and switch to it (tracking `start` when it is a remote branch)."""
    run("switch", "--quiet", "--create", branch, *(["--track"] if track else ["--no-track"]), start, cwd=cwd)


def set_upstream(branch: str, upstream_ref: str, cwd: Path | None = None) -> None:
    run("branch", "--quiet", f"--set-upstream-to={upstream_ref}", branch, cwd=cwd)


def worktree_add(path: Path, branch: str, *, start: str | None = None, track: bool = False,
                 cwd: Path | None = None) -> None:
    """Check `branch` out in a new worktree at `path` (creating it at `start` when given)."""
    if start is None:
        run("worktree", "add", "--quiet", str(path), branch, cwd=cwd)
    else:
        run("worktree", "add", "--quiet", *(["--track"] if track else ["--no-track"]), "-b", branch,
            str(path), start, cwd=cwd)
