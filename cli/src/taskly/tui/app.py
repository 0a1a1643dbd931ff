"""The Textual app behind `taskly board`: paints from the cache, then syncs and follows live.

Nothing touches the network before the first paint. Then a worker syncs (`engine.sync`, in a
thread) and another follows the board's workspace over the WebSocket (`engine.listen`). Every
write runs in a worker, one at a time and in order, through the sync engine: offline it is
queued and the footer counts it. One handler (`on_worker_state_changed`) reports failures.

The screens read through the `BoardContext` the app gives them and ask for writes, forms and
starts with messages (`messages.WriteRequested` …) that the handlers here answer: the app imports
the screens, never the other way round.
"""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from textual.app import App
from textual.worker import Worker, WorkerState

from ..core import resolve
from ..core.errors import TasklyError
from ..core.output import printable
from ..core.render import comment_handle
from .bindings import APP, keymap_from_config
from .context import BoardContext
from .inbox import InboxHandlers
from .messages import (
    BrowseRequested,
    BurndownRequested,
    CacheChanged,
    CardEditRequested,
    CardOpenRequested,
    CommentDeleteRequested,
    CommentEditRequested,
    CommentRequested,
    StartRequested,
    SyncState,
    SyncStateChanged,
    WriteDone,
    WriteFailed,
    WriteRequested,
)
from .model import Clock, card_key
from .screens.board import BoardScreen

if TYPE_CHECKING:
    from taskly_shared.models import ChangeOut

    from ..core.context import Factory
    from ..sync.engine import SyncEngine
    from ..sync.live import LiveStatus
    from ..sync.results import WriteResult
    from .views import CardView

SYNC_TIMEOUT = 10.0
"""Seconds the initial and the `r` sync may take (the board stays usable meanwhile)."""


class TasklyApp(InboxHandlers, App[None]):
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
        from ..core.output import Output

        factory.__dict__["output"] = Output(quiet=True, environ=factory.environ, stdout=io.StringIO(),
                                            stderr=io.StringIO())
        self.offline_mode = factory.globals.offline
        self.sync_state = SyncState(live="offline mode" if self.offline_mode else "connecting")
        self.keymap, self.keymap_problems = keymap_from_config(factory.config.user)
        self.context = BoardContext(factory, board_ref, clock=self.clock, keymap=self.keymap,
                                    sync_state=self.sync_state)
        """What the screens read (they get it when they are built)."""
        self.own_mutations: set[str] = set()
        self._write_lock: asyncio.Lock | None = None
        self._board_screen: BoardScreen | None = None
        self._live_connected = False
        """Whether the live connection is up (the server answers), as the listener last said."""
        self._retry_at, self._retry_delay = 0.0, 1.0
        """When queued writes may be sent again while online, and the wait after a failed send."""

    def notify(self, message: str, *, title: str = "", severity: Any = "information",
               timeout: float | None = None, markup: bool = False) -> None:
        """A toast. Toasts quote stored text (titles, names, the server's errors): it is escaped and
        never read as markup, whatever a caller (a screen passes `markup=True`) asks."""
        super().notify(printable(message, multiline=True), title=printable(title), severity=severity,
                       timeout=timeout, markup=False)

    @property
    def engine(self) -> SyncEngine:
        """The sync engine, built on first use (in a worker: it may read the keyring)."""
        return self.context.engine()

    @property
    def board_screen(self) -> BoardScreen:
        assert self._board_screen is not None, "the board is the default screen"
        return self._board_screen

    # --- start ------------------------------------------------------------------------------------

    def get_default_screen(self) -> BoardScreen:
        """The board, read from the cache: the first screen (no network before it is painted)."""
        try:
            model, placeholder = self.context.read_board(), ""
        except TasklyError as exc:
            empty = not self.store.workspace_ids()
            model, placeholder = None, ("Loading the board from the server…" if empty and not self.offline_mode
                                        else "Choose a board…" if self.context.needs_choice()
                                        and self.context.board_choices() else exc.message)
        self._board_screen = BoardScreen(self.context, model, placeholder)
        return self._board_screen

    def on_mount(self) -> None:
        self.set_keymap(self.keymap)
        self._write_lock = asyncio.Lock()
        for problem in self.keymap_problems:
            self.notify(f"[keys] in your config: {problem}", severity="warning", timeout=8)
        if self.store.recovery is not None:  # told on stderr too, before the board took the screen
            self.notify(self.store.recovery, title="Cache rebuilt", severity="warning", timeout=10)
        self.call_after_refresh(self._go_online)
        self.set_interval(1.0, self.check_outbox)
        self.set_interval(1.0, self.publish_unread)  # `taskly inbox read` elsewhere shows here too

    def _go_online(self) -> None:
        if self.offline_mode:
            self.check_outbox()
            return
        self.run_worker(self._sync(announce=False), name="sync", group="sync", exit_on_error=False)
        self.run_worker(self._listen(), name="live updates", group="live", exit_on_error=False)

    # --- the network --------------------------------------------------------------------------------

    async def _sync(self, *, announce: bool) -> None:
        self._set_state(syncing=True)
        workspace_ids = self._workspace_ids()
        try:
            result = await asyncio.to_thread(lambda: self.engine.sync(
                SYNC_TIMEOUT, workspace_ids, discover=workspace_ids is None))
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
        if self.context.me is None and not result.stale:
            self.context.me = await asyncio.to_thread(resolve.me, self.factory)
        if not result.stale:
            await self.refresh_inbox()

    async def _listen(self) -> None:
        await asyncio.to_thread(lambda: self.engine)
        await self.engine.listen(self._on_change, on_status=self._on_live_status,
                                 workspace_ids=self._workspace_ids(), max_backoff=self.max_backoff,
                                 on_notification=self.notification_arrived)

    def restart_live(self) -> None:
        """Follow the board's workspace again (another board was opened)."""
        self.workers.cancel_group(self, "live")
        self.run_worker(self._listen(), name="live updates", group="live", exit_on_error=False)

    def _workspace_ids(self) -> list[str] | None:
        """The board's workspace once it has been read (None: every workspace, found by a sync)."""
        workspace_id = self.context.workspace_id
        return [workspace_id] if workspace_id else None

    async def _on_live_status(self, status: LiveStatus) -> None:
        if status.state in ("online", "offline", "connecting"):
            self._live_connected = status.state == "online"
            self._set_state(live=status.state, detail=status.detail, retry_in=status.retry_in)
        elif status.state == "resynced":
            self.board_screen.post_message(CacheChanged(full=True))
        elif status.state == "error":
            self.notify(f"Live updates: {status.detail}", severity="warning")

    async def _on_change(self, change: ChangeOut) -> None:
        for screen in self.screen_stack:
            screen.post_message(CacheChanged([change]))
        mine = change.mutation_id in self.own_mutations or (change.actor.type == "user"
                                                             and change.actor.name == self.context.me)
        if mine:
            return
        lines = toasts(change)
        if lines and change.op == "move" and self.move_toasted(str(change.entity_id), "change"):
            lines = lines[1:]  # its move notification was toasted just now
        for toast in lines:
            self.notify(toast, timeout=4)

    def action_sync(self) -> None:
        if self.offline_mode:
            self.notify("Offline mode (--offline): nothing is sent or fetched", severity="warning")
            return
        self.run_worker(self._sync(announce=True), name="sync", group="sync", exit_on_error=False)

    # --- writes -------------------------------------------------------------------------------------

    def on_write_requested(self, message: WriteRequested) -> None:
        self.write(message.description, message.call, focus=message.focus)

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

    def on_bell_requested(self) -> None:
        self.bell()

    def on_card_edit_requested(self, message: CardEditRequested) -> None:
        """`e`: the card form; the fields it changed are written."""
        from .screens.card_form import CardForm, changed_fields

        model = self.board_screen.model
        card = self.store.card(str(message.card.id))
        if model is None or card is None:
            return

        def saved(values: dict[str, Any] | None) -> None:
            fields = changed_fields(card, values or {})
            if fields:
                self.write(f"edit {card_key(card, self.context.board_key)}",
                           lambda engine: engine.update_card(str(card.id), **fields))

        context = self.context
        keep = str(card.sprint_id) if card.sprint_id else None
        self.push_screen(CardForm(model, card, str(card.column_id), context.members(), context.sprints(keep),
                                  clock=self.clock, zone=context.user_zone()), saved)

    def on_card_open_requested(self, message: CardOpenRequested) -> None:
        from .screens.detail import CardDetail

        self.push_screen(CardDetail(self.context, message.card_id))

    def on_comment_requested(self, message: CommentRequested) -> None:
        """`c`: the comment form; a comment written there is added."""
        from .screens.comment_form import CommentForm

        card = message.card

        def written(body: str | None) -> None:
            if body:
                self.write(f"comment on {card_key(card, self.context.board_key)}",
                           lambda engine: engine.add_comment(str(card.id), body))

        self.push_screen(CommentForm(card, self.context.board_key), written)

    def on_comment_edit_requested(self, message: CommentEditRequested) -> None:
        """`e` on a comment: the comment form with its text; the author's new text is written."""
        from .screens.comment_form import CommentForm

        comment = message.comment
        card = self.context.card(str(comment.card_id))
        if card is None:
            return
        if self.context.me is not None and (comment.author or "").lower() != self.context.me.lower():
            self.notify(f"Only its author can edit a comment (this one is {comment.author or 'unknown'}'s).",
                        severity="warning")
            return

        def written(body: str | None) -> None:
            if body and body != comment.body:
                self.write("edit a comment", lambda engine: engine.edit_comment(str(comment.id), body))

        self.push_screen(CommentForm(card, self.context.board_key, body=comment.body,
                                     title=f"Edit comment {comment_handle(comment)} on"), written)

    def on_comment_delete_requested(self, message: CommentDeleteRequested) -> None:
        """`x` on a comment: asked first, then deleted (its author or an admin; the server checks)."""
        from .screens.confirm import Confirm

        comment = message.comment

        def answered(yes: bool | None) -> None:
            if yes:
                self.write("delete a comment", lambda engine: engine.delete_comment(str(comment.id)))

        self.push_screen(Confirm(f"Delete the comment {comment_handle(comment)} by {comment.author or '?'}?",
                                 comment.body[:200]), answered)

    def on_start_requested(self, message: StartRequested) -> None:
        """`s`: the same flow as `taskly start` (branch on GitHub, else locally; checked out here)."""
        card = message.card
        self.run_worker(self._start(card), name=f"start {card_key(card)}", group="start", exit_on_error=False)

    async def _start(self, card: CardView) -> None:
        from ..branches.actions import StartOptions, start_card

        label = card_key(card, self.context.board_key)

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

    def on_browse_requested(self, message: BrowseRequested) -> None:
        """`o` in a card's details: `taskly open`'s address (the PR, else the branch, else the
        repository) in the browser, or in a toast when no browser opens it."""
        self.run_worker(self._browse(message.card), name=f"open {card_key(message.card)}", group="browse",
                        exit_on_error=False)

    async def _browse(self, card: Any) -> None:
        from ..cards.actions import browse, card_url

        address = await asyncio.to_thread(card_url, self.factory, card)
        if await asyncio.to_thread(browse, self.factory, address):
            self.notify(f"Opening {address}", timeout=4)
        else:
            self.notify(f"No browser to open it here: {address}", title="Open on GitHub", timeout=12)

    def on_burndown_requested(self, message: BurndownRequested) -> None:
        """`b`: the burndown screen, then the days from the server (a worker) or why there are none."""
        from .screens.burndown import BurndownScreen

        sprint = message.sprint
        screen = BurndownScreen(str(sprint["id"]), f"{sprint['name']} · burndown", message.summary)
        mounted = self.push_screen(screen)
        self.run_worker(self._burndown(screen, sprint, mounted), name=f"burndown of {sprint['name']}",
                        group="burndown", exit_on_error=False)

    async def _burndown(self, screen: Any, sprint: dict[str, Any], mounted: Any) -> None:
        from ..core.errors import Offline
        from ..sprints.actions import burndown

        await mounted
        if self.offline_mode:
            problem = "The burndown chart needs the server: this board is in offline mode (--offline)"
        else:
            try:
                result = await asyncio.to_thread(burndown, self.factory, sprint)
            except Offline as exc:
                problem = f"The burndown chart needs the server, which cannot be reached ({exc.message})"
            except TasklyError as exc:
                problem = f"No burndown: {exc.message}"
            else:
                if screen.is_attached:  # not closed meanwhile
                    screen.show_days(result.days, str(sprint["start_date"]))
                return
        if screen.is_attached:
            screen.show_problem(problem)

    def action_help(self) -> None:
        from .screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.keymap))

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
        self._send_queued(queued)

    def _send_queued(self, queued: int) -> None:
        """Writes still queued while the live connection is up (their push ran out of time, or the
        server answered 5xx) are sent again in the background, with a growing wait after a failure,
        so the server confirms them (and their cards lose the `⇡`) without a key press. While the
        connection is down the listener sends them when it is back."""
        if (not queued or self.offline_mode or not self._live_connected or self._write_lock is None
                or self._write_lock.locked() or time.monotonic() < self._retry_at
                or any(w.group in ("write", "push", "sync") and not w.is_finished for w in self.workers)):
            return
        self.run_worker(self._push_queued(), name="send queued writes", group="push", exit_on_error=False)

    async def _push_queued(self) -> None:
        assert self._write_lock is not None
        try:
            async with self._write_lock:
                result = await asyncio.to_thread(self.engine.push, SYNC_TIMEOUT)
        except Exception:  # reported once by on_worker_state_changed, then not tried at once again
            self._wait_longer()
            raise
        if result.offline is not None:
            self._wait_longer()
        else:
            self._retry_delay, self._retry_at = 1.0, 0.0
            if self._live_connected and self.sync_state.live == "offline":
                self._set_state(live="online", detail=None)
        if result.pushed or result.failed:  # the cache has the server's answers (keys, ranks)
            self.board_screen.post_message(CacheChanged(full=True))
        self.check_outbox()

    def _wait_longer(self) -> None:
        self._retry_delay = min(self._retry_delay * 2, max(1.0, self.max_backoff))
        self._retry_at = time.monotonic() + self._retry_delay


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
