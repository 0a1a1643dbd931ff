"""The board's reads from the cache, through the Factory (`BoardContext` reads through these for
the screens; widgets never do), and the choice of a board when none is current (`use_board`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from .views import BoardView, CardView

if TYPE_CHECKING:
    from ..core.context import Factory


def read_board(f: Factory, ref: str | None, *, network: bool = False) -> BoardView:
    """The board `ref` (else the current one) as `resolve.board` finds it, from the cache only
    unless `network` (resolving a workspace that is not cached pulls): the UI thread never waits
    for the server. Named boards are read as JSON, without pydantic."""
    from ..core import resolve
    from ..store.reads import normal_uuid

    if ref and normal_uuid(ref):  # an id names one board, whatever the current workspace (a jump
        found = f.store.board_json(ref)  # from the inbox to a card of another workspace)
        if found is not None:
            return BoardView(found)
    return BoardView(resolve.board_json(f if network else cache_only(f), ref))


def cache_only(f: Factory) -> Factory:
    """The same Factory (same config and cache) in offline mode: names resolve from the cache."""
    from dataclasses import replace

    from ..core.context import Factory

    view = Factory(globals=replace(f.globals, offline=True), environ=f.environ)
    view.__dict__.update(config=f.config, store=f.store)
    return view


class BoardChoice(NamedTuple):
    """A board the user can open when none is current."""

    id: str
    key: str
    name: str
    workspace: str


def board_choices(f: Factory) -> list[BoardChoice]:
    """The cached boards to choose from when none is named or current: the current workspace's
    (configured), else every workspace's, by workspace then key; archived ones are not offered
    (`taskly board use KEY` still opens one, read-only)."""
    store = f.store
    scope = store.workspace_id(f.config.workspace) if f.config.workspace else None
    if f.config.workspace and scope is None:
        return []  # a workspace that does not exist: resolve's error says so
    names = {str(w.id): w.name for w in store.workspaces()}
    boards = [b for b in store.boards(scope) if not b.archived]
    choices = [BoardChoice(str(b.id), b.key, b.name, names.get(str(b.workspace_id), "")) for b in boards]
    return sorted(choices, key=lambda c: (c.workspace.lower(), c.workspace, c.key))


def use_board(f: Factory, board_id: str) -> BoardChoice:
    """Make a board (and its workspace) the current one, as `taskly board use` does."""
    from ..core import resolve

    board = f.store.board(board_id)
    if board is None:
        from ..core.errors import NotFound

        raise NotFound(f"no board {board_id!r}")
    owner = f.store.workspace(str(board.workspace_id))
    resolve.make_current(f, workspace=resolve.workspace_ref(f, owner) if owner else None, board=board.key)
    f.__dict__.pop("config", None)  # read again: the current board is the one chosen
    return BoardChoice(str(board.id), board.key, board.name, owner.name if owner else "")


def read_cards(f: Factory, board_id: str) -> list[CardView]:
    """The board's live cards in board order."""
    return [CardView(data) for data in f.store.cards_json(board_id=board_id)]


def read_card(f: Factory, card_id: str) -> CardView | None:
    data = f.store.card_json(card_id)
    return CardView(data) if data is not None else None
