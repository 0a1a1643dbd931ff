"""Git hooks: installing them (chaining existing ones) and what each does when git runs it.

- prepare-commit-msg: prefixes the message with the key of the current branch's card
  (`WEB-12: …`) when the message names no key. No network, no cache.
- commit-msg: rejects a message without a card key when `.taskly.toml` sets `require_key = true`;
  a message that is only the prefix prepare-commit-msg added is emptied, so git aborts it as empty.
- post-checkout: switching to a card branch moves a backlog/todo card to in progress, through the
  outbox; a detached `taskly hooks run push` sends it, so a down or hanging server never slows a
  checkout (the write stays queued until a push gets through).

Hooks never block a commit because of Taskly: every error is swallowed (the commit-msg rejection
asked for by the project is the one exception). `main` runs `taskly hooks run HOOK ARGS…`
without importing typer, since git pays the start-up on every commit.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

HOOKS = ("prepare-commit-msg", "commit-msg", "post-checkout")
MARKER = "# taskly-hook"
PUSH_TIMEOUT = 10.0
"""Seconds the background push started by post-checkout may take; past it the move stays queued."""
NO_PUSH_ENV = "TASKLY_HOOKS_NO_PUSH"
"""Set (by `taskly start --offline` for its git commands): post-checkout queues, starts no push."""
NO_MOVE_ENV = "TASKLY_HOOKS_NO_MOVE"
"""Set (by a local `taskly start` for its git commands): start moves the card itself, so
post-checkout does not queue the same move again."""
SKIPPED_SOURCES = {"merge", "squash"}
"""prepare-commit-msg sources whose message git wrote for a reason: left alone."""
AUTOSQUASH_PREFIXES = ("fixup!", "squash!", "amend!")
EXEMPT_PREFIXES = ("Merge ", "Revert ", *AUTOSQUASH_PREFIXES)
REPLAY_MARKERS = ("rebase-merge", "rebase-apply", "CHERRY_PICK_HEAD", "REVERT_HEAD")


# --- install -------------------------------------------------------------------------------------


@dataclass
class Installed:
    hook: str
    path: str
    status: str
    """installed | reinstalled | unchanged"""
    chained: str | None = None
    """The hook that was there, now run first from this path."""


def executable() -> str:
    """The `taskly` the hooks call: this one when it is a file, else the one on PATH."""
    argv0 = Path(sys.argv[0])
    if argv0.name == "taskly" and argv0.exists():
        return str(argv0.resolve())
    return shutil.which("taskly") or "taskly"


def script(hook: str, taskly: str) -> str:
    tail = ('exec "$taskly" hooks run commit-msg "$@"' if hook == "commit-msg"
            else f'"$taskly" hooks run {hook} "$@" || true')
    return f"""#!/bin/sh
{MARKER} ({hook}): installed by `taskly hooks install`; the hook that was here runs first, as {hook}.local
hook_dir=$(dirname "$0")
if [ -x "$hook_dir/{hook}.local" ]; then
    "$hook_dir/{hook}.local" "$@" || exit $?
fi
taskly={shlex.quote(taskly)}
[ -x "$taskly" ] || taskly=$(command -v taskly) || exit 0
{tail}
"""


def is_ours(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            return MARKER.encode() in handle.read(4096)
    except OSError:
        return False


def install(force: bool = False) -> list[Installed]:
    """Install the hooks in the current repository; existing hooks become `<hook>.local` and run first."""
    from ..core import git
    from ..core.errors import UsageError

    if git.repository_root() is None:
        raise UsageError("not in a git repository")
    folder = git.hooks_dir()
    folder.mkdir(parents=True, exist_ok=True)
    taskly = executable()
    done: list[Installed] = []
    for hook in HOOKS:
        path, local = folder / hook, folder / f"{hook}.local"
        chained, status = None, "installed"
        if path.exists() or path.is_symlink():
            if is_ours(path):
                if not force:
                    done.append(Installed(hook, str(path), "unchanged", str(local) if local.exists() else None))
                    continue
                status = "reinstalled"
            elif local.exists():
                raise UsageError(f"{path} exists and so does {local.name}: merge them by hand (or remove "
                                 f"{local.name}), then run `taskly hooks install` again")
            else:
                path.rename(local)
                chained = str(local)
        path.write_text(script(hook, taskly))
        path.chmod(0o755)
        done.append(Installed(hook, str(path), status, chained or (str(local) if local.exists() else None)))
    return done


# --- run -----------------------------------------------------------------------------------------


def run(args: list[str]) -> int:
    """`taskly hooks run HOOK ARGS…`: what git runs. Returns the exit code; never raises."""
    if not args:
        sys.stderr.write("usage: taskly hooks run HOOK [ARGS...]\n")
        return 2
    hook, rest = args[0], args[1:]
    try:
        if hook == "prepare-commit-msg":
            prepare_commit_msg(*rest[:3])
        elif hook == "commit-msg":
            return commit_msg(*rest[:1])
        elif hook == "post-checkout":
            post_checkout(*rest[:3])
        elif hook == "push":
            push()
        else:
            sys.stderr.write(f"taskly: unknown hook {hook!r} (known: {', '.join(HOOKS)})\n")
            return 2
    except Exception as exc:  # a hook never blocks git because of Taskly
        if os.environ.get("TASKLY_DEBUG"):
            raise
        from ..core.output import printable

        sys.stderr.write(f"taskly {hook}: {printable(exc)} (ignored)\n")
    return 0


def branch_key() -> str | None:
    """The card key the current branch starts with (`web-12-fix` → WEB-12)."""
    from taskly_shared.keys import format_card_key, key_from_branch

    from ..core.git import current_branch

    branch = current_branch()
    parsed = key_from_branch(branch) if branch else None
    return format_card_key(*parsed) if parsed else None


def _comment_char() -> str:
    from ..core.git import query

    value = query("config", "core.commentChar")
    return value if value and len(value) == 1 else "#"


def _content(text: str, comment: str) -> str:
    """The message as git will keep it: without comment lines and the diff of `commit -v`."""
    kept = []
    for line in text.splitlines():
        if line.startswith(f"{comment} ------------------------ >8 ------------------------"):
            break
        if not line.startswith(comment):
            kept.append(line)
    return "\n".join(kept).strip()


def _has_key(text: str) -> bool:
    from taskly_shared.keys import mentioned_keys

    return bool(mentioned_keys(text))


def _replaying() -> bool:
    """Whether git is replaying commits (rebase, cherry-pick, revert): their messages stay as they are."""
    from ..core.git import query

    git_dir = query("rev-parse", "--git-dir")
    if git_dir is None:
        return False
    folder = Path(git_dir)
    return any((folder / name).exists() for name in REPLAY_MARKERS)


def prepare_commit_msg(path: str, source: str = "", sha: str = "") -> None:
    if source in SKIPPED_SOURCES or _replaying():
        return
    key = branch_key()
    if key is None:
        return
    message = Path(path)
    text = message.read_text(encoding="utf-8", errors="surrogateescape")
    content = _content(text, _comment_char())
    if content.startswith(AUTOSQUASH_PREFIXES) or _has_key(content):  # `rebase --autosquash` matches the subject
        return
    message.write_text(f"{key}: {text}", encoding="utf-8", errors="surrogateescape")


def commit_msg(path: str) -> int:
    from ..core.config import PROJECT_FILE, find_project_root, read_toml

    message = Path(path)
    text = message.read_text(encoding="utf-8", errors="surrogateescape")
    content = _content(text, _comment_char())
    key = branch_key()
    if key is not None and content.rstrip(":").strip() == key:  # only our prefix: nothing was written
        message.write_text("", encoding="utf-8")
        return 0
    root = find_project_root()
    project = read_toml(root / PROJECT_FILE) if root else {}
    if not project.get("require_key") or not content or content.startswith(EXEMPT_PREFIXES):
        return 0
    if _has_key(content):
        return 0
    example = key or "WEB-12"
    sys.stderr.write(f"taskly: the commit message names no card key (like {example}); this repository's "
                     f"{PROJECT_FILE} requires one (require_key). Add the key, or commit from a card "
                     "branch with `taskly hooks install` to get it added.\n")
    return 1


def post_checkout(previous: str = "", new: str = "", branch_flag: str = "0") -> None:
    """A branch checkout onto a card branch: the card goes from backlog/todo to in progress."""
    if branch_flag != "1" or os.environ.get(NO_MOVE_ENV):
        return
    key = branch_key()
    if key is None:
        return
    from ..core.context import Factory
    from ..core.errors import NotLoggedIn
    from ..sync.engine import SyncEngine

    f = Factory()
    if not f.config.server:
        return
    try:
        store = f.store
    except NotLoggedIn:
        return
    card = store.card(key)
    if card is None or card.column_kind.value not in ("backlog", "todo"):
        return
    board = store.board(str(card.board_id))
    target = next((c for c in (board.columns if board else []) if c.kind.value == "in_progress"), None)
    if target is None:
        return
    SyncEngine(f.server, None, store, offline=True).move_card(str(card.id), str(target.id))
    offline = bool(os.environ.get(NO_PUSH_ENV))
    if not offline:
        push_in_background()
    from ..core.output import printable

    sys.stderr.write(f"taskly: {key} moved to {printable(target.name)} "
                     f"({'queued' if offline else 'queued; pushing in the background'})\n")


def push_in_background() -> None:
    """A detached `taskly hooks run push`: git does not wait for it."""
    import subprocess

    subprocess.Popen([executable(), "hooks", "run", "push"], stdin=subprocess.DEVNULL,
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


def push() -> None:
    """Send the queued writes (what post-checkout starts in the background)."""
    from ..core.context import Factory

    f = Factory()
    if not f.config.server:
        return
    f.engine.push(timeout=PUSH_TIMEOUT)
    f.close()
