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

from ..errors import NotLoggedIn, Offline, TasklyError
from ..store import Store, is_corruption
from .results import PullResult, PushResult, SyncResult, SyncStatus, WriteResult

if TYPE_CHECKING:
    from taskly_shared.models import CardOut, ChangeOut, CommentOut

    from ..api.client import ApiClient
    from ..api.credentials import Credentials
    from ..store import Op, StoreTransaction
    from .live import LiveStatus


class SyncEngine:
    """Cache + outbox + server for one account. `offline=True` never touches the network."""

    def __init__(self, server_url: str, credentials: Credentials | None, store: Store, *,
                 offline: bool = False, timeout: float = 10.0, api: ApiClient | None = None) -> None:
        self.server_url = server_url.rstrip("/")
        self.credentials = credentials
        self.store = store
        self.offline = offline
        self.timeout = timeout
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

    def _note(self, online: bool, error: str | None = None) -> None:
        self.online, self.last_error = online, error

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
        deadline = time.monotonic() + timeout if timeout is not None else None
        result = self._guard(lambda: push_outbox(self.store, self.api, self._push_lock, deadline=deadline))
        self._note(result.offline is None, result.offline)
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
        deadline = time.monotonic() + timeout if timeout is not None else None
        result = self._guard(lambda: pull(self.store, self.api, self._pull_lock, workspace_ids,
                                          deadline=deadline, discover=discover))
        self._note(not result.stale or result.error == "timed out", result.error)
        return result

    def sync(self, timeout: float | None = None, workspace_ids: list[str] | None = None, *,
             discover: bool = False) -> SyncResult:
        """Push, then pull; with `timeout`, both share it."""
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
                     initial_backoff: float = 0.5, max_backoff: float = 30.0) -> None:
        """Follow the workspaces live over the WebSocket until cancelled (see `taskly.sync.live`)."""
        from .live import Listener

        listener = Listener(self, on_change, on_status=on_status, workspace_ids=workspace_ids,
                            initial_backoff=initial_backoff, max_backoff=max_backoff)
        await listener.run()

    # --- local writes -----------------------------------------------------------------------------

    def _write(self, build: Callable[[StoreTransaction], Op]) -> WriteResult[Any]:
        def record() -> Op:
            with self.store.transaction() as tx:
                op = build(tx)
                tx.apply(op)
                tx.outbox.add(op)
            return op

        op = self._guard(record)
        reason, conflicts = None, []
        if self.offline:
            reason = "offline mode"
        else:
            try:
                pushed = self.push()
            except NotLoggedIn as exc:
                reason = f"not logged in: {exc.detail}"
            else:
                failure = pushed.failure(op.mutation_id)
                if failure is not None:
                    self.store.outbox.discard(op.mutation_id)  # told now, so not kept as failed
                    raise failure
                reason, conflicts = pushed.offline, pushed.conflicts.get(op.mutation_id, [])
        queued = self.store.outbox.get(op.mutation_id) is not None
        entity = (self.store.comment(op.entity_id) if op.entity_type == "comment"
                  else self.store.card(op.entity_id))
        return WriteResult(entity, op.mutation_id, queued, reason if queued else None, conflicts)

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
                self._note(False, str(exc))
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
