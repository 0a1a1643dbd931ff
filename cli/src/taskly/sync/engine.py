"""The sync engine: the one object the CLI and the TUI use for reads' freshness and for writes.

    from taskly.store import Store
    from taskly.sync.engine import SyncEngine

    store = Store.for_account(server_url, username)
    engine = SyncEngine(server_url, credentials, store)      # credentials: get() / refresh()
    engine.sync(timeout=1.5)                  # push queued writes, then pull deltas (bounded)
    result = engine.create_card("WEB", "Fix login", column="Todo", priority="high")
    result.entity.key, result.queued, result.reason          # "" and True while offline
    engine.update_card("WEB-12", title="New title")           # field-level PATCH, base_version
    engine.move_card("WEB-12", "Review", position="top")
    engine.status()                           # queued / failed / conflicts / last sync
    await engine.listen(on_change)            # live WebSocket updates until cancelled

Every write updates the cache and appends its outbox entry in one SQLite transaction, then pushes
at once (unless `offline=True`). An unreachable server leaves it queued (`WriteResult.queued`);
a refusal (4xx) raises the typed error after undoing the optimistic change. Reads come from
`engine.store` (see `taskly.store`). The engine is thread-safe; `listen` runs its blocking work
in threads so it can share the TUI's event loop.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from ..core.errors import NotLoggedIn, Offline, TasklyError
from ..store import Store, is_corruption
from .results import PullResult, PushResult, SyncResult, SyncStatus, WriteResult

if TYPE_CHECKING:
    from taskly_shared.models import CardOut, ChangeOut, CommentOut, NotificationOut

    from ..api.client import ApiClient
    from ..api.credentials import Credentials
    from ..store import Op, StoreTransaction
    from .live import LiveStatus


WRITE_TIMEOUT = 1.5
"""Seconds a write waits for its push before it stays queued: the budget a read gives its pull
(`core.resolve.READ_TIMEOUT`), so a hung server delays a write no more than a read."""
NOTIFICATION_PAGES = 10
"""`pull_notifications` fetches at most this many pages of 200 unread notifications."""


class SyncEngine:
    """Cache + outbox + server for one account. `offline=True` never touches the network."""

    def __init__(self, server_url: str, credentials: Credentials | None, store: Store, *,
                 offline: bool = False, timeout: float = 10.0, write_timeout: float = WRITE_TIMEOUT,
                 api: ApiClient | None = None) -> None:
        self.server_url = server_url.rstrip("/")
        self.credentials = credentials
        self.store = store
        self.offline = offline
        self.timeout = timeout
        self.write_timeout = write_timeout
        self.online: bool | None = None
        self.last_error: str | None = None
        self._api = api
        self._api_lock = threading.Lock()
        self._push_lock = threading.Lock()
        self._pull_lock = threading.Lock()

    @property
    def api(self) -> ApiClient:
        """The REST client, created on first use (httpx costs ~90 ms to import)."""
        with self._api_lock:
            if self._api is None:
                from ..api.client import ApiClient

                self._api = ApiClient(self.server_url, self.credentials, timeout=self.timeout)
            return self._api

    def close(self) -> None:
        if self._api is not None:
            self._api.close()

    def note_connection(self, online: bool, error: str | None = None) -> None:
        """Record whether the server was reached (`online`, `last_error`): the engine's own calls
        and the live listener's connection report here."""
        self.online, self.last_error = online, error

    def _ready(self) -> None:
        """Load what talking to the server needs (sync modules, httpx, wire models) before a time
        budget starts: on a busy machine the imports alone take longer than the server's answer."""
        if self.offline:
            return
        from . import pull, push  # noqa: F401

        _ = self.api

    def _guard(self, action: Callable[[], Any]) -> Any:
        """Run `action`; a damaged cache file is rebuilt (queued writes kept) and `action` retried."""
        try:
            return action()
        except sqlite3.DatabaseError as exc:
            if not is_corruption(exc):
                raise
            self.store.reset(f"corrupt cache: {exc}")
            return action()

    # --- network ----------------------------------------------------------------------------------

    def push(self, timeout: float | None = None) -> PushResult:
        """Send queued writes in order; stops (entries stay queued) when the server is unreachable.

        Raises NotLoggedIn when the server refuses the credentials and they cannot be refreshed.
        """
        from .pull import pull
        from .push import push_outbox

        if self.offline:
            return PushResult(offline="offline mode", remaining=self.store.outbox.count())
        self._ready()
        deadline = time.monotonic() + timeout if timeout is not None else None
        result = self._guard(lambda: push_outbox(self.store, self.api, self._push_lock, deadline=deadline))
        self.note_connection(result.offline is None, result.offline)
        if result.failed:  # correct the cache from the server where it refused our writes
            workspace_ids = sorted({entry.workspace_id for entry, _ in result.failed if entry.workspace_id})
            pull(self.store, self.api, self._pull_lock, workspace_ids, deadline=deadline)
        return result

    def pull(self, timeout: float | None = None, workspace_ids: list[str] | None = None, *,
             discover: bool = False) -> PullResult:
        """Bring the cache up to date from the change feed (snapshot when needed).

        `timeout` bounds the whole pull (e.g. 1.5 s before a CLI read): past it, or offline, the
        result is `stale` and what was applied so far stays. `discover` asks the server for the
        user's workspaces first (also done when the cache knows none).
        """
        from .pull import pull

        if self.offline:
            return PullResult(stale=True, error="offline mode")
        self._ready()
        deadline = time.monotonic() + timeout if timeout is not None else None
        result = self._guard(lambda: pull(self.store, self.api, self._pull_lock, workspace_ids,
                                          deadline=deadline, discover=discover))
        self.note_connection(not result.stale or result.error == "timed out", result.error)
        return result

    def sync(self, timeout: float | None = None, workspace_ids: list[str] | None = None, *,
             discover: bool = False) -> SyncResult:
        """Push, then pull; with `timeout`, both share it (counted from the first request)."""
        self._ready()
        deadline = time.monotonic() + timeout if timeout is not None else None
        pushed = self.push(timeout)
        remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
        if pushed.offline is not None and not self.offline:
            return SyncResult(pushed, PullResult(stale=True, error=pushed.offline))
        return SyncResult(pushed, self.pull(remaining, workspace_ids, discover=discover))

    def resync(self, workspace_id: str) -> None:
        """Reload one workspace from a snapshot (the feed no longer reaches back to our cursor)."""
        from .pull import load_snapshot

        self._guard(lambda: load_snapshot(self.store, self.api, workspace_id))

    def apply_changes(self, changes: list[ChangeOut]) -> list[ChangeOut]:
        """Apply changes received live (in seq order); returns the ones that were new."""
        from .pull import apply_changes

        return self._guard(lambda: apply_changes(self.store, changes))

    async def listen(self, on_change: Callable[[ChangeOut], Awaitable[None] | None], *,
                     workspace_ids: list[str] | None = None,
                     on_status: Callable[[LiveStatus], Awaitable[None] | None] | None = None,
                     initial_backoff: float = 0.5, max_backoff: float = 30.0,
                     on_notification: Callable[[NotificationOut], Awaitable[None] | None] | None = None) -> None:
        """Follow the workspaces live over the WebSocket until cancelled (see `taskly.sync.live`);
        the user's notifications are cached and handed to `on_notification`."""
        from .live import Listener

        listener = Listener(self, on_change, on_status=on_status, workspace_ids=workspace_ids,
                            initial_backoff=initial_backoff, max_backoff=max_backoff,
                            on_notification=on_notification)
        await listener.run()

    # --- local writes -----------------------------------------------------------------------------

    def _write(self, build: Callable[[StoreTransaction], Op]) -> WriteResult[Any]:
        def record() -> tuple[Op, dict[str, Any] | None]:
            with self.store.transaction() as tx:
                op = build(tx)
                state = tx.apply(op)
                tx.outbox.add(op)
            return op, state

        op, state = self._guard(record)
        reason, conflicts, numbered = None, [], []
        if self.offline:
            reason = "offline mode"
        else:
            try:
                pushed = self.push(self.write_timeout)
            except NotLoggedIn as exc:
                reason = f"not logged in: {exc.detail}"
            else:
                failure = pushed.failure(op.mutation_id)
                if failure is not None:
                    self.store.outbox.discard(op.mutation_id)  # told now, so not kept as failed
                    raise failure
                reason, conflicts = pushed.offline, pushed.conflicts.get(op.mutation_id, [])
                # this write's own card is reported with its key already
                numbered = [(card_id, key) for card_id, key in pushed.numbered if card_id != op.entity_id]
        queued = self.store.outbox.get(op.mutation_id) is not None
        if op.local.get("ids"):  # a bulk write: its cards, in the order given
            cards = [self.store.card(card_id) for card_id in op.entity_ids()]
            return WriteResult(cards, op.mutation_id, queued, reason if queued else None, conflicts, numbered)
        if op.entity_type == "sprint":  # a deleted sprint leaves the cache once pushed: its last state
            entity = self.store.sprint_json(op.entity_id) or {**(state or {}), "workspace_id": op.workspace_id}
        else:
            entity = (self.store.comment(op.entity_id) if op.entity_type == "comment"
                      else self.store.card(op.entity_id))
        return WriteResult(entity, op.mutation_id, queued, reason if queued else None, conflicts, numbered)

    def create_card(self, board: str, title: str, *, column: str | None = None, card_id: str | None = None,
                    workspace_id: str | None = None, **fields: Any) -> WriteResult[CardOut]:
        """A new card in `board` (id, key or name); `fields` are CardCreate's (labels, priority …).

        The card has its id at once; its key and number (`number` 0, `key` "") come with the push.
        """
        from taskly_shared.models import CardCreate

        from .writes import card_create

        data = CardCreate(title=title, column=column, id=card_id, **fields)
        return self._write(lambda tx: card_create(tx, board, data, self.store.user, workspace_id))

    # `card` is an id, a key (`WEB-12`) or, with `board`, a number; `workspace_id` narrows keys
    # that exist in several workspaces. A card missing from the cache raises NotFound.

    def update_card(self, card: str, *, board: str | None = None, workspace_id: str | None = None,
                    **fields: Any) -> WriteResult[CardOut]:
        """Change only the named fields (None clears one); `column` moves to its bottom."""
        from taskly_shared.models import CardPatch

        from .writes import card_update, find_card

        patch = CardPatch(**fields)
        return self._write(lambda tx: card_update(tx, find_card(tx, card, board, workspace_id), patch))

    def move_card(self, card: str, column: str, *, before: str | None = None, after: str | None = None,
                  position: str | None = None, board: str | None = None,
                  workspace_id: str | None = None) -> WriteResult[CardOut]:
        """Move to `column` (name or id), before/after another card or to its top/bottom."""
        from taskly_shared.models import CardMove

        from .writes import card_move, find_card

        move = CardMove(column=column, before=before, after=after, position=position)
        return self._write(lambda tx: card_move(tx, find_card(tx, card, board, workspace_id), move))

    def bulk_update(self, items: list[tuple[str, dict[str, Any]]], *,
                    workspace_id: str | None = None) -> WriteResult[list[CardOut]]:
        """Many cards in one write, all or none: per card (id or key), the fields it gets (CardPatch's;
        `column` moves to its bottom; `deleted` true deletes, false restores). One outbox entry,
        one request (`POST /cards/bulk-update`); offline it lands whole or not at all."""
        from .writes import card_bulk, find_card

        return self._write(lambda tx: card_bulk(
            tx, [(find_card(tx, card, None, workspace_id), fields) for card, fields in items]))

    def delete_card(self, card: str, *, board: str | None = None,
                    workspace_id: str | None = None) -> WriteResult[CardOut]:
        """Soft-delete (restorable)."""
        from .writes import card_delete, find_card

        return self._write(lambda tx: card_delete(find_card(tx, card, board, workspace_id)))

    def restore_card(self, card: str, *, board: str | None = None,
                     workspace_id: str | None = None) -> WriteResult[CardOut]:
        from .writes import card_restore, find_card

        return self._write(lambda tx: card_restore(find_card(tx, card, board, workspace_id)))

    def add_comment(self, card: str, body: str, *, comment_id: str | None = None, board: str | None = None,
                    workspace_id: str | None = None) -> WriteResult[CommentOut]:
        from taskly_shared.models import CommentCreate

        from .writes import comment_add, find_card

        data = CommentCreate(id=comment_id, body=body)
        return self._write(lambda tx: comment_add(find_card(tx, card, board, workspace_id), data,
                                                  self.store.user))

    def edit_comment(self, comment: str, body: str) -> WriteResult[CommentOut]:
        """A comment (id or short id) gets a new body; queued offline like any write."""
        from taskly_shared.models import CommentPatch

        from .writes import comment_edit, find_comment

        data = CommentPatch(body=body)
        return self._write(lambda tx: comment_edit(find_comment(tx, comment), data.body))

    def delete_comment(self, comment: str) -> WriteResult[CommentOut]:
        from .writes import comment_delete, find_comment

        return self._write(lambda tx: comment_delete(find_comment(tx, comment)))

    # A sprint is named by its id here (names are resolved per board by the commands); the
    # entity of a sprint write is its cached wire JSON (`SprintOut` plus `workspace_id`).

    def create_sprint(self, board_id: str, **fields: Any) -> WriteResult[dict[str, Any]]:
        """A new sprint (`fields`: SprintCreate's); it has its id at once, so cards can join it offline."""
        from taskly_shared.models import SprintCreate

        from .writes import sprint_create

        data = SprintCreate(**fields)
        return self._write(lambda tx: sprint_create(tx, board_id, data))

    def update_sprint(self, sprint_id: str, **fields: Any) -> WriteResult[dict[str, Any]]:
        """Change only the named fields (SprintPatch's), with the version the cache holds."""
        from taskly_shared.models import SprintPatch

        from .writes import find_sprint, sprint_update

        patch = SprintPatch(**fields)
        return self._write(lambda tx: sprint_update(find_sprint(tx, sprint_id), patch))

    def close_sprint(self, sprint_id: str, carry_over_to: str | None = None) -> WriteResult[dict[str, Any]]:
        """Close it; its unfinished cards go to `carry_over_to` (or out of any sprint): in the cache at
        once, on the server with the one write (whose answer and feed settle them)."""
        from taskly_shared.models import SprintClose

        from .writes import find_sprint, sprint_close

        data = SprintClose(carry_over_to=carry_over_to)
        return self._write(lambda tx: sprint_close(tx, find_sprint(tx, sprint_id), data))

    def delete_sprint(self, sprint_id: str) -> WriteResult[dict[str, Any]]:
        """Soft-delete; its cards leave it (on the server)."""
        from .writes import find_sprint, sprint_delete

        return self._write(lambda tx: sprint_delete(find_sprint(tx, sprint_id)))

    def pull_notifications(self, timeout: float | None = None) -> int:
        """Fetch the user's unread notifications (up to 2,000) and the newest 50 into the cache;
        cached unread ones the server has as read (read elsewhere) become read. Returns the unread
        count; `Offline` when the server cannot be reached."""
        fetched: list[dict[str, Any]] = []
        unread_ids: set[str] = set()
        cursor, complete = None, False
        for _ in range(NOTIFICATION_PAGES):
            page = self.api.notifications(unread=True, limit=200, cursor=cursor, timeout=timeout)
            items = [n.model_dump(mode="json") for n in page.notifications]
            fetched += items
            unread_ids.update(item["id"] for item in items)
            cursor = page.next_cursor
            if cursor is None:
                complete = True
                break
        newest = self.api.notifications(limit=50, timeout=timeout)
        fetched += [n.model_dump(mode="json") for n in newest.notifications]
        with self.store.transaction() as tx:
            tx.put_notifications(fetched)
            newest_seq = max((item["seq"] for item in fetched), default=0)
            if int(tx.meta("notification_seq") or -1) < newest_seq:
                tx.set_meta("notification_seq", str(newest_seq))  # the socket's catch-up starts here
            if complete:
                gone = [item["id"] for item in tx.notifications_json() if item["id"] not in unread_ids]
                if gone:
                    tx.mark_notifications_read(gone)
            return tx.unread_count()

    def fetch_comments(self, card: str, *, timeout: float | None = None, board: str | None = None,
                       workspace_id: str | None = None) -> list[CommentOut]:
        """A card's comments, refreshed from the server when it answers (snapshots carry none).

        Offline (or in offline mode) this is what the cache has; queued comments are included.
        """
        from .writes import find_card

        cached = find_card(self.store, card, board, workspace_id)
        if not self.offline and cached.get("number"):
            try:
                comments = self.api.list_comments(cached["id"], timeout=timeout or self.timeout)
            except Offline as exc:
                self.note_connection(False, str(exc))
            else:
                with self.store.transaction() as tx:
                    for comment in comments:
                        tx.put("comment", comment.model_dump(mode="json"), cached["workspace_id"])
        return self.store.comments(cached["id"])

    # --- state --------------------------------------------------------------------------------------

    def status(self) -> SyncStatus:
        store = self.store
        return SyncStatus(queued=store.outbox.count(), failed=store.outbox.failed(),
                          conflicts=store.conflicts(), last_sync=store.last_synced(), online=self.online,
                          last_error=self.last_error, cursors=store.cursors())

    def discard_failed(self, mutation_id: str | None = None) -> int:
        """Forget refused writes (one or all) after showing them."""
        return self.store.outbox.discard(mutation_id)

    def mark_conflicts_seen(self, ids: list[int] | None = None) -> None:
        self.store.mark_conflicts_seen(ids)


__all__ = ["NotLoggedIn", "Offline", "SyncEngine", "TasklyError"]
