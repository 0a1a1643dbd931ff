"""Pulling: the change feed from each workspace's cursor (paged), or a snapshot when there is none."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable

from taskly_shared.models import ChangeOut

from ..api.client import ApiClient
from ..core.errors import Forbidden, Gone, NotFound, Offline
from ..store import Store
from .results import PullResult

PAGE_SIZE = 1000


class DeadlineExceeded(Exception):
    pass


def _timeout(deadline: float | None) -> float | None:
    if deadline is None:
        return None
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise DeadlineExceeded
    return remaining


def apply_changes(store: Store, changes: Iterable[ChangeOut]) -> list[ChangeOut]:
    """Apply changes in one transaction; returns those that were new (seq > cursor)."""
    with store.transaction() as tx:
        return [change for change in changes if tx.apply_change(change)]


def load_snapshot(store: Store, api: ApiClient, workspace_id: str, deadline: float | None = None) -> None:
    snapshot = api.snapshot(workspace_id, timeout=_timeout(deadline))
    with store.transaction() as tx:
        tx.load_snapshot(snapshot)


def refresh_workspaces(store: Store, api: ApiClient, deadline: float | None = None) -> tuple[list[str], list[str]]:
    """Learn the user's workspaces from the server; returns (ids, ids dropped from the cache)."""
    workspaces = api.list_workspaces(timeout=_timeout(deadline))
    ids = [str(workspace.id) for workspace in workspaces]
    with store.transaction() as tx:
        removed = [cached for cached in tx.workspace_ids() if cached not in ids]
        for workspace_id in removed:
            tx.drop_workspace(workspace_id)
        for workspace in workspaces:
            tx.put_workspace(workspace.model_dump(mode="json", exclude={"seq"}), role=str(workspace.role))
    return ids, removed


def pull_workspace(store: Store, api: ApiClient, workspace_id: str, result: PullResult,
                   deadline: float | None = None, page_size: int = PAGE_SIZE) -> None:
    """Bring one workspace up to date: delta pages, or a snapshot (first time, cursor pruned)."""
    since = store.cursor(workspace_id)
    if since is None:
        load_snapshot(store, api, workspace_id, deadline)
        result.resynced.append(workspace_id)
        return
    while True:
        try:
            page = api.changes(workspace_id, since, page_size, timeout=_timeout(deadline))
        except Gone:
            page = None
        if page is None or page.seq < since:  # pruned past our cursor, or the server went back in time
            load_snapshot(store, api, workspace_id, deadline)
            result.resynced.append(workspace_id)
            return
        with store.transaction() as tx:
            result.changes.extend(change for change in page.changes if tx.apply_change(change))
            cursor = tx.cursor(workspace_id) or 0
            if page.next_since > cursor:
                tx.set_cursor(workspace_id, page.next_since)
            else:
                tx.touch_cursor(workspace_id)
        if not page.has_more or page.next_since <= since:
            return
        since = page.next_since


def pull(store: Store, api: ApiClient, lock: threading.Lock, workspace_ids: list[str] | None, *,
         deadline: float | None = None, discover: bool = False) -> PullResult:
    """Pull the given (else every cached) workspace; offline or past `deadline` → `stale` result."""
    result = PullResult()
    with lock:
        try:
            rebuilt = store.meta("needs_snapshot") is not None  # a cache rebuilt after damage: reload all
            if discover or rebuilt or (workspace_ids is None and not store.workspace_ids()):
                ids, result.removed = refresh_workspaces(store, api, deadline)
            else:
                ids = workspace_ids if workspace_ids is not None else store.workspace_ids()
            for workspace_id in ids:
                try:
                    pull_workspace(store, api, workspace_id, result, deadline)
                except (NotFound, Forbidden):
                    with store.transaction() as tx:
                        tx.drop_workspace(workspace_id)
                    result.removed.append(workspace_id)
            if rebuilt:
                with store.transaction() as tx:
                    tx.clear_meta("needs_snapshot")
        except Offline as exc:
            result.stale, result.error = True, str(exc)
        except DeadlineExceeded:
            result.stale, result.error = True, "timed out"
    return result
