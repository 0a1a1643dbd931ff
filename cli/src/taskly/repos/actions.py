"""Connected GitHub repositories: connect (a server job), list, disconnect, a board's default.

Connecting runs in a job on the server (access check, storing, webhook registration); the CLI
polls the job and shows its result once, including the webhook secret when the webhook must be
added by hand. Every operation needs the server (`Offline`, exit 6, without it), except `ls`,
which falls back to the repositories the cache learned from the change feed. Connecting needs the
user's own GitHub sign-in: without one it is refused as `Forbidden` (exit 4) saying how to sign in.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..core import resolve
from ..core.errors import Conflict, Forbidden, NotFound, Offline, TasklyError, UsageError
from ..core.jobs import poll_job
from ..core.output import printable

if TYPE_CHECKING:
    from taskly_shared.models import BoardOut, GitHubRepositoryOut, RepositoryOut, RepositoryStatus

    from ..core.context import Factory

FULL_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$")
DEFAULT_WAIT = 60.0


def full_name(text: str) -> str:
    """`owner/name` as GitHub spells repositories (a GitHub URL is accepted too)."""
    from ..core.git import github_name

    value = text.strip()
    if "://" in value or value.startswith("git@"):
        value = github_name(value) or value
    value = value.removesuffix(".git")
    if not FULL_NAME.match(value):
        raise UsageError(f"{text!r} is not a GitHub repository: use OWNER/NAME, e.g. acme/web")
    return value


@dataclass
class Connected:
    """What `repo connect` did: the job's result, with the board it concerned."""

    result: dict[str, Any]
    board: BoardOut | None

    @property
    def repository(self) -> dict[str, Any]:
        return self.result.get("repository") or {}


def connect(f: Factory, name: str, wait_timeout: float = DEFAULT_WAIT,
            progress: Callable[[str], None] = lambda message: None) -> Connected:
    """Connect `owner/name` to the current workspace; the current board gets it as its default
    repository when it has none."""
    wanted = full_name(name)
    with resolve.needs_server(f, "connect a repository"):
        resolve.fresh(f, note_stale=False)
        workspace = resolve.workspace(f)
        board = _current_board(f, str(workspace.id))
        with _github_needed(f, f"connect {wanted}"):
            accepted = f.api.connect_repository(str(workspace.id), wanted,
                                                board_id=str(board.id) if board else None)
        progress(f"Connecting {accepted.full_name}...")
        job = poll_job(f, accepted.job_id, wait_timeout, f"connect {accepted.full_name}", progress,
                       working="GitHub: checking access and registering the webhook...")
        resolve.settle(f)
    return Connected(job.result if isinstance(job.result, dict) else {}, board)


@contextmanager
def _github_needed(f: Factory, action: str) -> Iterator[None]:
    """The server's 409 `github_not_linked` / `github_sign_in_required` as `Forbidden` (exit 4),
    saying how to sign in."""
    try:
        yield
    except Conflict as exc:
        if exc.code == "github_sign_in_required":  # GitHub refused the token it had
            raise Forbidden(f"cannot {action}: {exc.message}", status=exc.status, code=exc.code) from None
        if exc.code != "github_not_linked":
            raise
        raise Forbidden(f"cannot {action}: you have not signed in with GitHub (Taskly uses your "
                        f"own GitHub access); sign in with `taskly login --server {f.server}` "
                        "(GitHub is the default), then run this again", status=exc.status,
                        code=exc.code) from None


def available(f: Factory) -> list[GitHubRepositoryOut]:
    """The repositories you can administer on GitHub (so connect), by name (needs the server)."""
    with resolve.needs_server(f, "list your GitHub repositories"), \
            _github_needed(f, "list your GitHub repositories"):
        return f.api.available_repositories(admin=True, timeout=resolve.READ_TIMEOUT * 3)


def connected_names(f: Factory) -> set[str]:
    """`owner/name` (lower case) of the current workspace's connected repositories, as cached."""
    try:
        workspace_id = str(resolve.workspace(f).id)
    except TasklyError:
        return set()
    return {str(data.get("full_name", "")).lower() for data in f.store.entities("repository", workspace_id)
            if data.get("active", True)}


def pick(f: Factory, render: Callable[[list[GitHubRepositoryOut]], None]) -> str:
    """`repo connect` without a name: the repositories you can administer, numbered, and the one
    chosen at the prompt; without a terminal (or with --no-input) they are printed with `render`
    and it is a UsageError (exit 2) naming the command to run."""
    import sys

    repositories = available(f)
    if not repositories:
        raise NotFound("you cannot administer any repository on GitHub (connecting one needs admin "
                       "access there): ask an owner of the repository, then run "
                       "`taskly repo connect OWNER/NAME`")
    if f.globals.no_input or f.globals.json or not sys.stdin.isatty():
        f.output.data(repositories, render)
        why = ("--no-input" if f.globals.no_input else "--json" if f.globals.json else "no terminal to ask on")
        raise UsageError(f"which repository? run `taskly repo connect OWNER/NAME` with one of these ({why})")
    import click  # typer's own; only a prompt needs it here

    connected = connected_names(f)
    width = len(str(len(repositories)))
    for number, repository in enumerate(repositories, 1):
        marks = [word for word, on in (("private", repository.private),
                                       ("connected", repository.full_name.lower() in connected)) if on]
        click.echo(f"  {number:>{width}}  {printable(repository.full_name)}"
                   + (f"  ({', '.join(marks)})" if marks else ""), err=True)
    number = click.prompt(f"Connect which repository? [1-{len(repositories)}]", err=True,
                          type=click.IntRange(1, len(repositories)))  # anything else: asked again
    return repositories[number - 1].full_name


def _current_board(f: Factory, workspace_id: str) -> BoardOut | None:
    try:
        board = resolve.board(f)
    except TasklyError:
        return None
    return board if str(board.workspace_id) == workspace_id else None


def listing(f: Factory) -> list[RepositoryOut]:
    """The current workspace's connected repositories (from the cache when the server is away)."""
    from taskly_shared.models import RepositoryOut

    store = resolve.fresh(f, note_stale=False)
    workspace = resolve.workspace(f)
    if not f.globals.offline:
        try:
            return f.api.list_repositories(str(workspace.id), timeout=resolve.READ_TIMEOUT * 2)
        except Offline as exc:
            f.output.note(f"showing cached repositories: {resolve.stale_reason(str(exc), f.server)}")
    cached = [RepositoryOut.model_validate(data) for data in store.entities("repository", str(workspace.id))
              if data.get("active", True)]
    return sorted(cached, key=lambda r: r.full_name.lower())


def find(f: Factory, name: str, workspace_id: str) -> RepositoryOut:
    """A connected repository of the workspace by `owner/name` (any case); NotFound lists them."""
    wanted = full_name(name).lower()
    repositories = f.api.list_repositories(workspace_id)
    for repository in repositories:
        if repository.full_name.lower() == wanted:
            return repository
    raise NotFound(f"{name} is not connected to this workspace"
                   + resolve.choices([r.full_name for r in repositories], "connected"))


def status(f: Factory, name: str) -> RepositoryStatus:
    """Webhook deliveries and the last reconcile of a connected repository (needs the server)."""
    with resolve.needs_server(f, "show a repository's status"):
        resolve.fresh(f, note_stale=False)
        workspace = resolve.workspace(f)
        return f.api.repository_status(str(find(f, name, str(workspace.id)).id))


def disconnect(f: Factory, name: str) -> RepositoryOut:
    with resolve.needs_server(f, "disconnect a repository"):
        resolve.fresh(f, note_stale=False)
        workspace = resolve.workspace(f)
        repository = find(f, name, str(workspace.id))
        removed = f.api.disconnect_repository(str(repository.id))
        resolve.settle(f)
    return removed


def set_default(f: Factory, name: str) -> tuple[BoardOut, RepositoryOut | None]:
    """Make `owner/name` (or `none`) the current board's default repository."""
    with resolve.needs_server(f, "set a board's repository"):
        resolve.fresh(f, note_stale=False)
        board = resolve.board(f)
        repository = None if name.strip().lower() in resolve.CLEAR else find(f, name, str(board.workspace_id))
        updated = f.api.update_board(str(board.id), default_repository_id=str(repository.id) if repository else None)
        resolve.settle(f)
    return f.store.board(str(updated.id)) or updated, repository


def default_of(boards: list[BoardOut]) -> dict[str, list[str]]:
    """Repository id → keys of the boards that use it as their default."""
    found: dict[str, list[str]] = {}
    for board in boards:
        if board.default_repository_id is not None:
            found.setdefault(str(board.default_repository_id), []).append(board.key)
    return found
