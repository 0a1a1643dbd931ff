"""The board's reads from the cache, through the Factory (the screens call these; widgets never do)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .views import BoardView, CardView

if TYPE_CHECKING:
    from ..context import Factory


def read_board(f: Factory, ref: str | None, *, network: bool = False) -> BoardView:
    """The board `ref` (else the current one) as `resolve.board` finds it, from the cache only
    unless `network` (resolving a workspace that is not cached pulls): the UI thread never waits
    for the server. Named boards are read as JSON, without pydantic."""
    from .. import resolve

    return BoardView(resolve.board_json(f if network else cache_only(f), ref))


def cache_only(f: Factory) -> Factory:
    """The same Factory (same config and cache) in offline mode: names resolve from the cache."""
    from dataclasses import replace

    from ..context import Factory

    view = Factory(globals=replace(f.globals, offline=True), environ=f.environ)
    view.__dict__.update(config=f.config, store=f.store)
    return view


def read_cards(f: Factory, board_id: str) -> list[CardView]:
    """The board's live cards in board order."""
    return [CardView(data) for data in f.store.cards_json(board_id=board_id)]


def read_card(f: Factory, card_id: str) -> CardView | None:
    data = f.store.card_json(card_id)
    return CardView(data) if data is not None else None
