"""`taskly start` and `taskly done`: a card's branch, created on GitHub by the server, checked out.

    result = start_card(f, "WEB-12", StartOptions(base="develop"), progress=lambda p: print(p.message))
    result.branch, result.mode, result.queued                # "web-12-fix-login", "github", False

The server creates the branch in a job (`POST /cards/{key}/create-branch`); the CLI waits for the
card change it commits (WebSocket, with polling of the job as the fallback and for failures), then
fetches the branch and switches to it with upstream tracking. A card that already records a
branch the remote has is only checked out. Offline, or when the board has no connected repository,
the branch is created locally from the base and the card update (branch, assignee, in progress)
goes through the sync engine's outbox. The TUI's `s` binding uses the same function.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from ..cards import resolve as card_resolve
from ..core import git, resolve
from ..core.errors import ApiError, Conflict, Forbidden, NotFound, Offline, TasklyError, UsageError
from ..core.jobs import wait_for_branch

if TYPE_CHECKING:
    from taskly_shared.models import BoardOut, CardOut, ColumnOut, CreateBranchOut, JobOut

    from ..core.context import Factory
    from ..sync.results import WriteResult

REMOTE = "origin"
DEFAULT_WAIT = 90.0
"""Seconds `start` waits for the job: long enough for its retries with backoff."""


@dataclass
class StartOptions:
    base: str | None = None
    worktree: Path | None = None
    checkout: bool = True
    wait_timeout: float = DEFAULT_WAIT


@dataclass
class Progress:
    """One step of `start`, for a status line: requested, waiting (the job's queued, active and
    retrying), created, fetching, switched, local."""

    stage: str
    message: str


@dataclass
class StartResult:
    card: CardOut
    branch: str
    mode: Literal["github", "existing", "local"]
    """github: created by the server's job; existing: the remote had it; local: created here."""
    repository: str | None = None
    base: str | None = None
    job: JobOut | None = None
    job_id: str | None = None
    queued: bool = False
    """The card update waits in the outbox (offline)."""
    reason: str | None = None
    """Why the branch was created locally."""
    checked_out: bool = False
    worktree: Path | None = None
    upstream: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"card": self.card, "branch": self.branch, "mode": self.mode, "repository": self.repository,
                "base": self.base, "job_id": self.job_id, "job": self.job, "queued": self.queued,
                "reason": self.reason, "checked_out": self.checked_out,
                "worktree": str(self.worktree) if self.worktree else None, "upstream": self.upstream}


Report = Callable[[Progress], None]


def _quiet(progress: Progress) -> None:
    return None


# --- start ------------------------------------------------------------------------------------------


def start_card(f: Factory, ref: str, options: StartOptions | None = None,
               progress: Report = _quiet) -> StartResult:
    """Create (or find) the card's branch and check it out; see the module docstring."""
    options = options or StartOptions()
    resolve.fresh(f, note_stale=False)
    card = card_resolve.card(f, ref)
    if not card.key:
        raise UsageError("this card was created offline and has no key yet: run `taskly sync` first")
    board = f.store.board(str(card.board_id))
    if board is None:
        raise NotFound(f"the board of {card.key} is not in the local cache: run `taskly sync`")
    root = git.repository_root()
    if root is None and (options.checkout or options.worktree):
        raise UsageError("not in a git repository: run `taskly start` in a clone of the card's repository "
                         "(or pass --no-checkout to only create the branch)")
    if root is not None and options.worktree is not None:
        _check_worktree_target(root, options.worktree)  # before anything changes on GitHub or the server
    local_name = local_repository(f, root)
    connected = board_repository(f, board)
    if connected and local_name and connected.lower() != local_name.lower():
        raise TasklyError(f"{card.key} belongs to {connected}, but this repository is {local_name}: "
                          f"run `taskly start {card.key}` in a clone of {connected}")
    if root is not None and card.branch and not f.globals.offline and git.remote_url(REMOTE, cwd=root):
        existing = _existing_remote_branch(root, card.branch)
        if existing:
            progress(Progress("fetching", f"{card.branch} exists on {REMOTE}: switching to it"))
            result = StartResult(card, card.branch, "existing", repository=connected or local_name)
            return _check_out_remote(root, result, options, progress)
    if f.globals.offline:
        return start_locally(f, card, board, root, options, "offline mode", progress)
    try:
        accepted = f.api.create_branch(card.key, base=options.base)
    except Offline as exc:
        return start_locally(f, card, board, root, options, f"offline ({exc})", progress)
    except Conflict as exc:
        if exc.code == "no_repository":
            return start_locally(f, card, board, root, options,
                                 f"board {board.key} has no connected repository", progress)
        if exc.code == "github_not_linked":
            raise Forbidden(f"{exc.detail} (or connect no repository to board {board.key} and `taskly "
                            "start` creates branches locally)", status=exc.status, code=exc.code) from None
        raise
    if local_name and accepted.repository.lower() != local_name.lower():
        raise TasklyError(f"{card.key} belongs to {accepted.repository}, but this repository is "
                          f"{local_name}: run `taskly start {card.key}` in a clone of {accepted.repository}")
    return _start_on_github(f, card, root, accepted, options, progress)


def local_repository(f: Factory, root: Path | None) -> str | None:
    """`owner/name` of this clone: `repository` in .taskly.toml, else the origin URL's."""
    configured = f.config.project.get("repository")
    if configured:
        return str(configured).strip()
    return git.github_name(git.remote_url(REMOTE, cwd=root)) if root else None


def board_repository(f: Factory, board: BoardOut) -> str | None:
    """`owner/name` of the board's default repository (None: none, or unknown while offline)."""
    if board.default_repository_id is None:
        return None
    wanted = str(board.default_repository_id)
    for cached in f.store.entities("repository", str(board.workspace_id)):
        if str(cached.get("id")) == wanted and cached.get("active", True):
            return cached.get("full_name")
    if f.globals.offline:
        return None
    try:
        repositories = f.api.list_repositories(str(board.workspace_id), timeout=resolve.READ_TIMEOUT)
    except Offline:
        return None
    return next((r.full_name for r in repositories if str(r.id) == wanted), None)


def _existing_remote_branch(root: Path, branch: str) -> bool:
    """Whether the remote has `branch` (fetched into origin/BRANCH); False when it cannot tell."""
    try:
        return git.fetch_branch(branch, REMOTE, cwd=root)
    except git.GitError:
        return False


def _start_on_github(f: Factory, card: CardOut, root: Path | None, accepted: CreateBranchOut,
                     options: StartOptions, progress: Report) -> StartResult:
    progress(Progress("requested", f"Creating branch {accepted.branch} in {accepted.repository} "
                                   f"from {accepted.base or 'its default branch'}"))
    job = wait_for_branch(f, accepted, str(card.workspace_id), options.wait_timeout,
                          lambda message: progress(Progress("waiting", message)))
    progress(Progress("created", f"Branch {accepted.branch} created on GitHub"))
    cached = f.store.card(str(card.id))
    if cached is None or cached.branch != accepted.branch:  # polling saw it first: pull the change
        f.engine.pull(timeout=resolve.READ_TIMEOUT, workspace_ids=[str(card.workspace_id)])
        cached = f.store.card(str(card.id))
    updated = cached or card
    result = StartResult(updated, accepted.branch, "github", repository=accepted.repository,
                         base=accepted.base, job=job, job_id=accepted.job_id)
    if root is None:
        return result
    progress(Progress("fetching", f"Fetching {accepted.branch} from {REMOTE}"))
    if not git.fetch_branch(accepted.branch, REMOTE, cwd=root):
        raise git.GitError(f"{REMOTE} has no branch {accepted.branch} although GitHub created it in "
                           f"{accepted.repository}: is {REMOTE} that repository?")
    return _check_out_remote(root, result, options, progress)


# --- checking out -----------------------------------------------------------------------------------


def _check_out_remote(root: Path, result: StartResult, options: StartOptions,
                      progress: Report) -> StartResult:
    """Switch to (or add a worktree of) the branch, tracking origin/BRANCH (already fetched)."""
    branch, upstream = result.branch, f"{REMOTE}/{result.branch}"
    if not options.checkout and options.worktree is None:
        return result
    if options.worktree is not None:
        result.worktree = _add_worktree(root, branch, options.worktree, start=upstream, track=True)
        where = result.worktree
    else:
        already = git.current_branch(root) == branch
        if not already and git.branch_exists(branch, cwd=root):
            git.switch(branch, cwd=root)
        elif not already:
            git.switch_new(branch, upstream, track=True, cwd=root)
        where = root
    if git.upstream(branch, cwd=where) is None:
        git.set_upstream(branch, upstream, cwd=where)
    result.checked_out, result.upstream = True, git.upstream(branch, cwd=where)
    verb = "On" if options.worktree is None and already else "Switched to"
    progress(Progress("switched", f"{verb} {branch}, tracking {result.upstream}"
                                  + (f", in {where}" if options.worktree else "")))
    return result


def _check_worktree_target(root: Path, path: Path) -> None:
    """UsageError when `path` is a non-empty folder that is not already one of this clone's worktrees."""
    path = path.expanduser().resolve()
    if not path.is_dir() or not any(path.iterdir()):
        return
    if any(worktree.path.resolve() == path for worktree in git.worktrees(root)):
        return  # `_add_worktree` reuses it when it has the card's branch, else says which it has
    raise UsageError(f"--worktree {path}: the folder exists and is not empty")


def _add_worktree(root: Path, branch: str, path: Path, *, start: str | None, track: bool) -> Path:
    """A worktree of `branch` at `path`; one that has it there already is reused."""
    path = path.expanduser().resolve()
    for worktree in git.worktrees(root):
        if worktree.branch == branch:
            if worktree.path.resolve() == path:
                return path
            raise UsageError(f"{branch} is checked out in {worktree.path} already: use that worktree, "
                             "or start without --worktree there")
    if path.exists() and any(path.iterdir()):
        raise UsageError(f"--worktree {path}: the folder exists and is not empty")
    if git.branch_exists(branch, cwd=root):
        git.worktree_add(path, branch, cwd=root)
    else:
        git.worktree_add(path, branch, start=start, track=track, cwd=root)
    return path


# --- offline, or no connected repository ------------------------------------------------------------


def start_locally(f: Factory, card: CardOut, board: BoardOut, root: Path | None, options: StartOptions,
                  reason: str, progress: Report) -> StartResult:
    """The branch created here from the base; the card update through the outbox. Outside a git
    repository there is nowhere to create it: UsageError, nothing recorded."""
    from taskly_shared.keys import branch_from_template

    if root is None:
        raise UsageError(f"not in a git repository and the branch cannot be created on GitHub ({reason}): "
                         f"run `taskly start {card.key}` in a clone of the card's repository")
    template = board.branch_template or f.config.project.get("branch_template")
    branch = card.branch or branch_from_template(template, board.key, card.number, card.title)
    result = StartResult(card, branch, "local", reason=reason, repository=local_repository(f, root))
    if root is not None:
        base = None if git.branch_exists(branch, cwd=root) else local_base(root, options.base)
        result.base = base
        if options.worktree is not None:
            with _start_hooks(f.globals.offline):
                result.worktree = _add_worktree(root, branch, options.worktree, start=base, track=False)
            result.checked_out = True
        elif options.checkout:
            if git.current_branch(root) != branch:
                with _start_hooks(f.globals.offline):
                    if base is None:
                        git.switch(branch, cwd=root)
                    else:
                        git.switch_new(branch, base, track=False, cwd=root)
            result.checked_out = True
        elif base is not None:
            git.run("branch", "--no-track", branch, base, cwd=root)
        done = (f"created branch {branch} locally from {base}" if base
                else f"using the existing local branch {branch}")
        progress(Progress("local", f"{reason}: {done}"))
    write = _record_start(f, card, board, branch)
    if write is not None:
        result.card, result.queued = write.entity, write.queued
    return result


@contextmanager
def _start_hooks(offline: bool) -> Iterator[None]:
    """The git commands of a local start tell taskly's post-checkout hook to leave the card alone
    (`_record_start` queues its move, once) and, `--offline`, not to push."""
    import os

    from .hooks import NO_MOVE_ENV, NO_PUSH_ENV

    names = [NO_MOVE_ENV, *([NO_PUSH_ENV] if offline else [])]
    before = {name: os.environ.get(name) for name in names}
    os.environ.update(dict.fromkeys(names, "1"))
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def local_base(root: Path, base: str | None) -> str:
    """The start point of a local branch: `--base` (local, else origin/BASE), else the remote's
    default branch as last fetched, else main or master, else HEAD."""
    if base:
        for ref in (base, f"{REMOTE}/{base}"):
            if git.ref_exists(ref, cwd=root):
                return ref
        raise NotFound(f"no branch {base!r} here nor on {REMOTE} (as last fetched) to start from")
    default = git.remote_default_branch(REMOTE, cwd=root)
    candidates = [f"{REMOTE}/{default}"] if default else []
    for ref in (*candidates, "main", "master", f"{REMOTE}/main", f"{REMOTE}/master"):
        if git.ref_exists(ref, cwd=root):
            return ref
    return "HEAD"


def _record_start(f: Factory, card: CardOut, board: BoardOut, branch: str) -> WriteResult[CardOut] | None:
    """What the server's job would have done: branch, the starter assigned, in progress."""
    fields: dict[str, Any] = {}
    if card.branch != branch:
        fields["branch"] = branch
    try:
        me = resolve.me(f)
    except (TasklyError, ApiError):
        me = None
    if me and me not in card.assignees:
        fields["assignees"] = [*card.assignees, me]
    target = first_column(board, "in_progress")
    if target is not None and card.column_kind != "in_progress":
        fields["column"] = str(target.id)
    if not fields:
        return None
    return f.engine.update_card(str(card.id), **fields)


def first_column(board: BoardOut, kind: str) -> ColumnOut | None:
    return next((column for column in sorted(board.columns, key=lambda c: c.rank) if column.kind == kind),
                None)


# --- done -----------------------------------------------------------------------------------------


def done_card(f: Factory, ref: str | None) -> tuple[CardOut, ColumnOut, WriteResult[CardOut] | None]:
    """Move the card (default: the current branch's) to its board's first done column.

    Returns the card, the column, and the write (None when it was there already).
    """
    resolve.fresh(f, note_stale=False)
    card = card_resolve.card(f, ref)
    board = f.store.board(str(card.board_id))
    if board is None:
        raise NotFound(f"the board of {card.key or card.id} is not in the local cache: run `taskly sync`")
    column = first_column(board, "done")
    if column is None:
        raise NotFound(f"board {board.key} has no column of kind done"
                       + resolve.choices([f"{c.name} ({c.kind})" for c in board.columns], "columns"))
    if card.column_id == column.id:
        return card, column, None
    write = f.engine.move_card(str(card.id), str(column.id))
    return write.entity, column, write
