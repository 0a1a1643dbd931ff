"""Pushing the outbox: each entry in order, with its mutation id as `Idempotency-Key`."""

from __future__ import annotations

import threading
import time

from taskly_shared.models import CardOut

from ..api.client import ApiClient
from ..core.errors import ApiError, NotLoggedIn, Offline
from ..store import Store
from .results import PushResult
from .writes import ANSWER_ENTITIES, ANSWER_MODELS

RETRY_LATER = {408, 425, 429}


def _remaining(deadline: float | None) -> float | None:
    if deadline is None:
        return None
    return max(0.05, deadline - time.monotonic())


def push_outbox(store: Store, api: ApiClient, lock: threading.Lock, *,
                deadline: float | None = None) -> PushResult:
    """Send every pending entry, oldest first, until the outbox is empty or the server is unreachable.

    An entry is read from the database right before it is sent (another process may be pushing the
    same outbox: the idempotency key makes the second send a replay). It leaves the outbox in the
    same transaction that stores the server's answer, so a crash at any point re-sends it at most.
    """
    result = PushResult()
    with lock:
        after = 0
        while (entry := store.outbox.next_pending(after)) is not None:
            after = entry.id
            if deadline is not None and time.monotonic() >= deadline:
                result.offline = "timed out before the outbox was empty"
                break
            model = ANSWER_MODELS.get(entry.operation, CardOut)
            try:
                if model is None:  # answered 204: nothing to read back
                    api.request(entry.method, entry.path, json=entry.body(), idempotency_key=entry.mutation_id,
                                timeout=_remaining(deadline))
                    answer = None
                else:
                    answer = api.send(entry.method, entry.path, entry.body(), idempotency_key=entry.mutation_id,
                                      model=model, timeout=_remaining(deadline))
                    answer = ANSWER_ENTITIES.get(entry.operation, lambda found: found)(answer)
            except (Offline, NotLoggedIn) as exc:
                with store.transaction() as tx:
                    tx.outbox.record_attempt(entry.id, str(exc))
                if isinstance(exc, NotLoggedIn):
                    raise
                result.offline = str(exc)
                break
            except ApiError as exc:
                if exc.status >= 500 or exc.status in RETRY_LATER:
                    with store.transaction() as tx:
                        tx.outbox.record_attempt(entry.id, f"HTTP {exc.status}: {exc.detail}")
                    result.offline = f"server error (HTTP {exc.status}): {exc.detail}"
                    break
                with store.transaction() as tx:
                    tx.reject(entry, exc.detail, exc.code)
                result.failed.append((entry, exc))
                continue
            answers = answer if isinstance(answer, list) else [answer]  # a bulk write: its cards
            with store.transaction() as tx:
                tx.confirm(entry, [a.model_dump(mode="json") for a in answers] if isinstance(answer, list)
                           else answer.model_dump(mode="json") if answer is not None else None)
            result.pushed.append(entry.mutation_id)
            if entry.operation == "card.create" and getattr(answer, "key", None):
                result.numbered.append((entry.entity_id, answer.key))
            conflicts = [c for a in answers for c in (getattr(a, "conflicts", None) or [])]
            if conflicts:
                result.conflicts[entry.mutation_id] = list(conflicts)
        result.remaining = store.outbox.count()
    return result
