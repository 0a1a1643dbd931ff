"""The Textual app behind `taskly board`: paints from the cache, then syncs and follows live.

Nothing touches the network before the first paint. Then a worker syncs (`engine.sync`, in a
thread) and another follows the board's workspace over the WebSocket (`engine.listen`). Every
write runs in a worker, one at a time and in order, through the sync engine: offline it is
queued and the footer counts it. One handler (`on_worker_state_changed`) reports failures.
"""

from __future__ import annotations

import asyncio
import io
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from textual.app import App
from textual.worker import Worker, WorkerState

from .. import resolve
from ..errors import TasklyError
from . import reads
from .bindings import APP, keymap_from_config
from .messages import CacheChanged, SyncState, SyncStateChanged, WriteDone, WriteFailed
from .model import BoardModel, CardFilter, Clock, card_key
from .screens.board import BoardScreen

if TYPE_CHECKING:
    from taskly_shared.models import CardOut, ChangeOut, MemberOut

    from ..context import Factory
    from ..sync.engine import SyncEngine
    from ..sync.live import LiveStatus
    from ..sync.results import WriteResult
    from .views import CardView

SYNC_TIMEOUT = 10.0
"""Seconds the initial and the `r` sync may take (the board stays usable meanwhile)."""


class TasklyApp(App[None]):
    """`taskly board [BOARD]`."""

    TITLE = "Taskly"
    CSS_PATH = ["taskly.tcss"]
    ENABLE_COMMAND_PALETTE = False
    BINDINGS = APP

    def __init__(self, factory: Factory, board_ref: str | None = None, *, clock: Clock | None = None,
                 max_backoff: float = 10.0) -> None:
        super().__init__()
        self.factory = factory
        self.board_ref = board_ref
        self.clock = clock or Clock()
        self.max_backoff = max_backoff
        self.store = factory.store
        # Helpers shared with the CLI (`start`, `resolve.fresh`) print notes to stderr, which would
        # land on the board: they get an Output writing nowhere (the board tells in its own way).
        from ..output import Output

        factory.__dict__["output"] = Output(quiet=True, environ=factory.environ, stdout=io.StringIO(),
                                            stderr=io.StringIO())
        self.offline_mode = factory.globals.offline
        self.sync_state = SyncState(live="offline mode" if self.offline_mode else "connecting")
        self.keymap, self.keymap_problems = keymap_from_config(factory.config.user)
        user = self.store.user
        self.me: str | None = None if user is None or user.startswith("token-") else user
        self.workspace_id: str | None = None
        self.own_mutations: set[str] = set()
        self._engine_lock = threading.Lock()
        self._write_lock: asyncio.Lock | None = None
        self._board_screen: BoardScreen | None = None

    @property
    def engine(self) -> SyncEngine:
        """The sync engine, built on first use (in a worker: it may read the keyring)."""
        with self._engine_lock:
            return self.factory.engine

    @property
    def board_screen(self) -> BoardScreen:
        assert self._board_screen is not None, "the board is the default screen"
        return self._board_screen

    # --- cache reads (the UI thread reads SQLite directly: it is fast and local) -------------------

    def read_board(self, card_filter: CardFilter | None = None) -> BoardModel:
        """The board from the cache (JSON views: no pydantic before the first paint)."""
        board = reads.read_board(self.factory, self.board_ref)
        self.workspace_id = board.workspace_id
        return BoardModel.build(board, reads.read_cards(self.factory, board.id), self.me, card_filter)

    def pending_card_ids(self) -> set[str]:
        entities = self.store.outbox.pending_entities(self.workspace_id)
        return {entity_id for entity_type, entity_id in entities if entity_type == "card"}

    def workspace_name(self, workspace_id: str) -> str | None:
        workspace = self.store.workspace_json(workspace_id)
        return workspace.get("name") if workspace else None

    def members(self) -> list[MemberOut]:
        return self.store.members(self.workspace_id) if self.workspace_id else []

    def sprints(self) -> list[dict[str, Any]]:
        return self.store.entities("sprint", self.workspace_id) if self.workspace_id else []

    # --- start ------------------------------------------------------------------------------------

    def get_default_screen(self) -> BoardScreen:
        """The board, read from the cache: the first screen (no network before it is painted)."""
        try:
            model, placeholder = self.read_board(), ""
        except TasklyError as exc:
            empty = not self.store.workspace_ids()
            model, placeholder = None, ("Loading the board from the server…" if empty and not self.offline_mode
                                        else exc.message)
        self._board_screen = BoardScreen(model, placeholder)
        return self._board_screen

    def on_mount(self) -> None:
        self.set_keymap(self.keymap)
        self._write_lock = asyncio.Lock()
        for problem in self.keymap_problems:
            self.notify(f"[keys] in your config: {problem}", severity="warning", timeout=8)
        self.call_after_refresh(self._go_online)
        self.set_interval(1.0, self.check_outbox)

    def _go_online(self) -> None:
        if self.offline_mode:
            self.check_outbox()
            return
        self.run_worker(self._sync(announce=False), name="sync", group="sync", exit_on_error=False)
        self.run_worker(self._listen(), name="live updates", group="live", exit_on_error=False)

    # --- the network --------------------------------------------------------------------------------

    async def _sync(self, *, announce: bool) -> None:
        self._set_state(syncing=True)
        discover = self.workspace_id is None
        try:
            result = await asyncio.to_thread(lambda: self.engine.sync(
                SYNC_TIMEOUT, [self.workspace_id] if self.workspace_id else None, discover=discover))
        finally:
            self._set_state(syncing=False)
        if self.engine.offline or result.push.offline is not None or (result.pull.error and result.stale):
            self._set_state(live="offline", detail=result.pull.error or result.push.offline)
        elif self.sync_state.live in ("offline", "connecting"):
            self._set_state(live="online")
        self.board_screen.post_message(CacheChanged(full=True))
        self.check_outbox()
        if announce:
            if result.stale:
                self.notify(f"Showing cached data: {result.pull.error or result.push.offline}",
                            severity="warning")
            else:
                self.notify(f"Synced: {len(result.push.pushed)} pushed, {len(result.pull.changes)} pulled")
        if self.me is None and not result.stale:
            self.me = await asyncio.to_thread(resolve.me, self.factory)

    async def _listen(self) -> None:
        await asyncio.to_thread(lambda: self.engine)
        await self.engine.listen(self._on_change, on_status=self._on_live_status,
                                 workspace_ids=[self.workspace_id] if self.workspace_id else None,
                                 max_backoff=self.max_backoff)

    async def _on_live_status(self, status: LiveStatus) -> None:
        if status.state in ("online", "offline", "connecting"):
            self._set_state(live=status.state, detail=status.detail, retry_in=status.retry_in)
        elif status.state == "resynced":
            self.board_screen.post_message(CacheChanged(full=True))
        elif status.state == "error":
            self.notify(f"Live updates: {status.detail}", severity="warning")

    async def _on_change(self, change: ChangeOut) -> None:
        for screen in self.screen_stack:
            screen.post_message(CacheChanged([change]))
        mine = change.mutation_id in self.own_mutations or (change.actor.type == "user"
                                                             and change.actor.name == self.me)
        if mine:
            return
        for toast in toasts(change):
            self.notify(toast, timeout=4)

    def action_sync(self) -> None:
        if self.offline_mode:
            self.notify("Offline mode (--offline): nothing is sent or fetched", severity="warning")
            return
        self.run_worker(self._sync(announce=True), name="sync", group="sync", exit_on_error=False)

    # --- writes -------------------------------------------------------------------------------------

    def write(self, description: str, call: Callable[[SyncEngine], WriteResult[Any]], *,
              focus: bool = False) -> None:
        """Run `call(engine)` in a worker, after the writes before it; the screens hear `WriteDone`.

        The worker starts once the screen has been repainted: its thread would slow the repaint.
        """
        self.call_after_refresh(self.run_worker, self._write(description, call, focus), name=description,
                                group="write", exit_on_error=False)

    async def _write(self, description: str, call: Callable[[SyncEngine], WriteResult[Any]],
                     focus: bool) -> None:
        assert self._write_lock is not None
        async with self._write_lock:
            try:
                result = await asyncio.to_thread(lambda: call(self.engine))
            except Exception:
                for screen in self.screen_stack:
                    screen.post_message(WriteFailed(description))
                raise
        self.own_mutations.add(result.mutation_id)
        for screen in self.screen_stack:
            screen.post_message(WriteDone(description, result, focus=focus))
        if result.queued:
            self._set_state(live="offline" if not self.offline_mode else "offline mode", detail=result.reason)
        self.check_outbox()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """The one place failures are reported."""
        if event.state != WorkerState.ERROR or event.worker.error is None:
            return
        error = event.worker.error
        text = error.message if isinstance(error, TasklyError) else f"{type(error).__name__}: {error}"
        self.notify(f"{event.worker.name}: {text}", title="Error", severity="error", timeout=8)

    # --- screens ------------------------------------------------------------------------------------

    def edit_card(self, shown: CardView | CardOut) -> None:
        from .screens.card_form import CardForm, changed_fields

        model = self.board_screen.model
        card = self.store.card(str(shown.id))
        if model is None or card is None:
            return

        def saved(values: dict[str, Any] | None) -> None:
            fields = changed_fields(card, values or {})
            if fields:
                self.write(f"edit {card_key(card)}",
                           lambda engine: engine.update_card(str(card.id), **fields))

        self.push_screen(CardForm(model, card, str(card.column_id), self.members(), self.sprints()), saved)

    def open_card(self, card_id: str) -> None:
        from .screens.detail import CardDetail

        self.push_screen(CardDetail(card_id))

    def comment_on(self, card: CardView | CardOut) -> None:
        from .screens.comment_form import CommentForm

        def written(body: str | None) -> None:
            if body:
                self.write(f"comment on {card_key(card)}",
                           lambda engine: engine.add_comment(str(card.id), body))

        self.push_screen(CommentForm(card), written)

    def start_card(self, card: CardView) -> None:
        """`s`: the same flow as `taskly start` (branch on GitHub, else locally; checked out here)."""
        self.run_worker(self._start(card), name=f"start {card_key(card)}", group="start", exit_on_error=False)

    async def _start(self, card: CardView) -> None:
        from ..start import StartOptions, start_card

        label = card_key(card)

        def progress(step: Any) -> None:
            self.call_from_thread(self.board_screen.show_progress, f"start {label}: {step.message}")

        self.board_screen.show_progress(f"start {label}: asking the server for its branch…")
        try:
            result = await asyncio.to_thread(lambda: start_card(self.factory, card.key or str(card.id),
                                                                StartOptions(), progress))
        finally:
            self.board_screen.show_progress(None)
        if result.checked_out:
            where = f" in {result.worktree}" if result.worktree else ""
            text = f"{label}: switched to {result.branch}{where}"
            text += f", tracking {result.upstream}" if result.upstream else ""
        else:
            text = f"{label}: branch {result.branch} created"
        if result.mode == "local":
            text += f" (created locally: {result.reason})"
        if result.queued:
            text += "; the card update is queued"
        self.notify(text, title="Started", timeout=8)
        self.board_screen.post_message(CacheChanged(full=True))
        self.check_outbox()

    def action_help(self) -> None:
        from .screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    # --- the footer's indicator, queued writes, conflicts --------------------------------------------

    def _set_state(self, **changes: Any) -> None:
        for name, value in changes.items():
            setattr(self.sync_state, name, value)
        if self.offline_mode:
            self.sync_state.live = "offline mode"
        self._publish()

    def _publish(self) -> None:
        if self._board_screen is not None:
            self.board_screen.post_message(SyncStateChanged(self.sync_state))

    def check_outbox(self) -> None:
        """Count queued and refused writes; tell about refused writes and conflicts once."""
        state = self.sync_state
        queued, failed = self.store.outbox.count(), self.store.outbox.failed()
        for entry in failed:
            if entry.mutation_id not in state.seen_failures:
                state.seen_failures.add(entry.mutation_id)
                self.notify(f"A queued {entry.operation} was refused: {entry.last_error}", title="Refused",
                            severity="error", timeout=8)
        conflicts = self.store.conflicts()
        for conflict in conflicts[:3]:
            who = f" by {conflict.actor}" if conflict.actor else ""
            self.notify(f"{conflict.entity_key or conflict.entity_type}: {conflict.field} was overwritten{who} "
                        f"(was {conflict.overwritten!r}, now {conflict.value!r})", title="Conflict",
                        severity="warning", timeout=10)
        if len(conflicts) > 3:
            self.notify(f"{len(conflicts) - 3} more conflicts: see `taskly status`", severity="warning")
        if conflicts:
            self.store.mark_conflicts_seen([c.id for c in conflicts])
        if (queued, len(failed)) != (state.queued, state.failed):
            state.queued, state.failed = queued, len(failed)
            self._publish()


def toasts(change: ChangeOut) -> list[str]:
    """Short lines for a teammate's (or automation's) move and for pull request events.

    Pull requests reach clients through their cards: a card change whose `pull_requests` moved on
    carries one summary line per PR (`acme/web#12 open, ci success, 1 approval`).
    """
    if change.entity_type != "card":
        return []
    data = change.data or {}
    key = data.get("key") or "a card"
    lines = []
    if change.op == "move":
        lines.append(f"{change.actor.name or change.actor.type} moved {key} to {data.get('column') or '?'}")
    pulls = change.changes.get("pull_requests")
    if pulls is not None:
        before = set(pulls.old or [])
        lines += [f"{key}: PR {line}" for line in pulls.new or [] if line not in before]
    return lines
