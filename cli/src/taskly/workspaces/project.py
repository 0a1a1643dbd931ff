"""The repository's `.taskly.toml`: what `taskly init` writes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..core.errors import NotLoggedIn, TasklyError, UsageError

if TYPE_CHECKING:
    from ..core.context import Factory


def init_project(f: Factory, *, force: bool = False) -> dict[str, Any]:
    """Write server, workspace and board (names checked against the cache when logged in)."""
    from ..core import resolve
    from ..core.config import PROJECT_FILE, write_project
    from ..core.git import repository_root

    root = repository_root()
    if root is None:
        raise UsageError("not in a git repository: run `taskly init` inside your repository")
    path = root / PROJECT_FILE
    if path.exists() and not force:
        raise TasklyError(f"{path} already exists: use --force to overwrite it")
    server = f.config.server
    if not server:
        raise UsageError("no server to write: log in first, or pass --server URL")
    workspace, board = f.config.workspace, f.config.board
    try:
        logged_in = bool(f.account)
    except NotLoggedIn:  # not logged in: write the names as given
        logged_in = False
    if logged_in:
        resolve.fresh(f, note_stale=False)
        try:
            chosen = resolve.workspace(f)
            workspace = chosen.name
            board = resolve.board(f).key
        except UsageError:  # no workspace or board chosen yet: leave it out
            pass
    values = {"server": server, "workspace": workspace, "board": board}
    write_project(root, values)
    return {"path": str(path), **values}
