"""What the board's screens read, handed to each screen by the app when it builds it.

The app owns one `BoardContext` and fills it (the cache through the Factory, the clock, the keymap,
the sync state it keeps current); screens read through it and ask for everything else by posting
messages (`messages.WriteRequested` …). So no screen imports the app: the arrows point one way,
`app` → `screens` → `context`.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from datetime import tzinfo
from typing import TYPE_CHECKING, Any

from ..core import sprints
from . import reads
from .model import BoardModel

if TYPE_CHECKING:
    from taskly_shared.models import CardOut, CommentOut, MemberOut

    from ..core.context import Factory
    from ..sync.engine import SyncEngine
    from .messages import SyncState
    from .model import CardFilter, Clock
    from .views import CardView


class BoardContext:
    """The board's cache reads and the settings the screens draw with (the UI thread reads SQLite
    directly: it is fast and local)."""

    def __init__(self, factory: Factory, board_ref: str | None, *, clock: Clock, keymap: Mapping[str, str],
                 sync_state: SyncState) -> None:
        self.factory = factory
        self.board_ref = board_ref
        self.store = factory.store
        self.clock = clock
        self.keymap = keymap
        self.sync_state = sync_state
        """The footer indicator's state, kept current by the app."""
        user = self.store.user
        self.me: str | None = None if user is None or user.startswith("token-") else user
        self.workspace_id: str | None = None
        """The board's workspace, known once the board has been read."""
        self.board_key: str | None = None
        """The board's key, known once the board has been read (`WEB-?3f2a9c1b` names offline cards)."""
        self.board_id: str | None = None
        """The board's id, known once the board has been read."""
        self.board_sprints: list[dict[str, Any]] = []
        """The board's live sprints (wire JSON, by start date) as of the last `read_board`."""
        self.label_colors: dict[str, str] = {}
        """The workspace's label catalogue (name → #rrggbb) as of the last `read_board`."""
        self._engine_lock = threading.Lock()

    def engine(self) -> SyncEngine:
        """The sync engine, built on first use: call it in a worker's thread (it may read the keyring)."""
        with self._engine_lock:
            return self.factory.engine

    # --- the board ----------------------------------------------------------------------------------

    def read_board(self, card_filter: CardFilter | None = None) -> BoardModel:
        """The board from the cache (JSON views: no pydantic before the first paint)."""
        board = reads.read_board(self.factory, self.board_ref)
        self.workspace_id, self.board_key, self.board_id = board.workspace_id, board.key, board.id
        self.board_sprints = self.store.sprints_json(board_id=board.id, workspace_id=board.workspace_id)
        self.label_colors = {str(x["name"]): str(x["color"]) for x in self.store.entities("label", board.workspace_id)}
        model = BoardModel.build(board, reads.read_cards(self.factory, board.id), self.me, card_filter)
        model.today = self.clock.today
        return model

    def needs_choice(self) -> bool:
        """Whether no board is named (`taskly board`) nor current: the board screen picks one."""
        return self.board_ref is None and not self.factory.config.board

    def board_choices(self) -> list[reads.BoardChoice]:
        return reads.board_choices(self.factory)

    def use_board(self, board_id: str) -> reads.BoardChoice:
        """Open this board from now on and make it the current one (as `taskly board use`)."""
        chosen = reads.use_board(self.factory, board_id)
        self.board_ref = chosen.id
        return chosen

    def card_view(self, card_id: str) -> CardView | None:
        """One card as the board shows it, as the cache has it now."""
        return reads.read_card(self.factory, card_id)

    def pending_card_ids(self) -> set[str]:
        """Cards whose last write waits in the outbox."""
        entities = self.store.outbox.pending_entities(self.workspace_id)
        return {entity_id for entity_type, entity_id in entities if entity_type == "card"}

    def workspace_name(self, workspace_id: str) -> str | None:
        workspace = self.store.workspace_json(workspace_id)
        return workspace.get("name") if workspace else None

    def members(self) -> list[MemberOut]:
        return self.store.members(self.workspace_id) if self.workspace_id else []

    def sprints(self, keep: str | None = None) -> list[dict[str, Any]]:
        """The board's open sprints (what a card can be put in), by start date, and the sprint
        `keep` (a card's own, even closed: the form shows it and saving leaves it)."""
        if not self.board_id or not self.workspace_id:
            return []
        found = self.store.sprints_json(board_id=self.board_id, workspace_id=self.workspace_id)
        return [s for s in found if sprints.is_open(s) or (keep is not None and str(s["id"]) == keep)]

    # --- the inbox ----------------------------------------------------------------------------------

    def unread_count(self) -> int:
        return self.store.unread_count()

    def notifications(self, limit: int = 200) -> list[dict[str, Any]]:
        """Cached notifications (wire JSON) as `taskly inbox --all` lists them: unread first, newest first."""
        from ..inbox.actions import listing

        return listing(self.store, every=True, limit=limit)

    def user_zone(self) -> tzinfo:
        """The user's time zone as the cache last had it (`taskly config set timezone`; UTC when
        never read): the card form reads reminders in it, without asking the server."""
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            return ZoneInfo(self.store.meta("timezone") or "UTC")
        except (ZoneInfoNotFoundError, ValueError):
            return ZoneInfo("UTC")

    def open_board(self, board_id: str) -> None:
        """Show another board from now on (a jump from the inbox); the current board stays as it is."""
        self.board_ref = board_id

    def card_board(self, card_id: str) -> tuple[str, str] | None:
        """(board id, workspace id) of a cached live card."""
        data = self.store.card_json(card_id)
        if data is None or data.get("deleted_at") is not None:
            return None
        return str(data["board_id"]), str(data["workspace_id"])

    # --- one card -----------------------------------------------------------------------------------

    def card(self, card_id: str) -> CardOut | None:
        return self.store.card(card_id)

    def comments(self, card_id: str) -> list[CommentOut]:
        return self.store.comments(card_id)
