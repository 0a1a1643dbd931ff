"""One write: its change-feed rows, its idempotency record, its transaction and its retry."""

from __future__ import annotations

import asyncio
import hashlib
import random
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import msgspec
from litestar import Request, Response
from pydantic import BaseModel
from sqlalchemy import select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession
from taskly_shared.errors import ErrorCode

from ..db.models import IdempotencyKey
from ..errors import Conflict, Invalid
from .principal import Principal

RETRYABLE_SQLSTATES = {"40001", "40P01"}  # serialization failure, deadlock
MAX_ATTEMPTS = 4

CHANGE_FIELDS = ("workspace_id", "entity_type", "entity_id", "op", "version", "changes", "data",
                 "actor_type", "actor_id", "actor_name", "delivery_id", "mutation_id", "conflicts")
"""The columns of a Change row that `Mutation.record` fills in (`RECORD_CHANGES` takes an array of
each, in this order)."""
_JSON_FIELDS = frozenset({"changes", "data", "conflicts"})

RECORD_CHANGES = text(
    "SELECT out_seq, out_created_at FROM taskly_record_changes("
    + ", ".join(f":{name}" for name in CHANGE_FIELDS) + ")")
"""The one writer of the change feed (db/sql/taskly_record_changes.sql): every workspace's rows
numbered under its row lock, in one statement, one round trip."""

_json = msgspec.json.Encoder()


def _json_text(value: Any) -> str | None:
    """A JSONB parameter (the engine's codec takes JSON text); None stays NULL."""
    return None if value is None else _json.encode(value).decode()


def jsonable(value: Any) -> Any:
    """Wire form of a change value or a response body."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, uuid.UUID):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


@dataclass
class Mutation:
    """Collects the Change rows of one write; `flush` numbers them under the workspace row lock."""

    db: AsyncSession
    actor_type: str
    actor_id: uuid.UUID | None
    actor_name: str | None
    mutation_id: str | None = None
    delivery_id: str | None = None
    pending: dict[uuid.UUID, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    committed_seqs: dict[uuid.UUID, int] = field(default_factory=dict)
    committed: dict[uuid.UUID, list[dict[str, Any]]] = field(default_factory=dict)
    """The Change rows written, per workspace in seq order: the column values, `seq` and
    `created_at` included (the realtime hub hands them out without reading the feed). A workspace
    where SQL wrote rows too (`note_written`) is left out: the hub reads its rows from the feed."""
    written_by_sql: set[uuid.UUID] = field(default_factory=set)

    @classmethod
    def by(cls, db: AsyncSession, principal: Principal, mutation_id: str | None = None) -> Mutation:
        actor_id = principal.token_id or principal.user_id
        return cls(db, principal.actor_type, actor_id, principal.username, mutation_id)

    def record(self, workspace_id: uuid.UUID, entity_type: str, entity_id: uuid.UUID, op: str, *,
               changes: dict[str, tuple[Any, Any]] | None = None, data: Any = None,
               version: int | None = None, conflicts: Iterable[str] = ()) -> None:
        self.pending[workspace_id].append({
            "workspace_id": workspace_id,
            "entity_type": entity_type,
            "entity_id": entity_id,
            "op": op,
            "version": version,
            "changes": {k: {"old": jsonable(o), "new": jsonable(n)} for k, (o, n) in (changes or {}).items()},
            "data": jsonable(data) if data is not None else None,
            "actor_type": self.actor_type,
            "actor_id": self.actor_id,
            "actor_name": self.actor_name,
            "delivery_id": self.delivery_id,
            "mutation_id": self.mutation_id,
            "conflicts": list(conflicts),
        })

    def note_written(self, workspace_id: uuid.UUID, seq: int) -> None:
        """A Change row that SQL wrote in this transaction (the move function), announced after
        commit with the rows recorded here."""
        self.committed_seqs[workspace_id] = max(seq, self.committed_seqs.get(workspace_id, 0))
        self.written_by_sql.add(workspace_id)
        self.committed.pop(workspace_id, None)

    async def flush(self) -> None:
        """Write the recorded rows through `taskly_record_changes`, in one statement.

        It takes each workspace's next seqs under its row lock (held to commit), workspaces in id
        order so two multi-workspace writes cannot deadlock: call it last in the transaction, so
        the lock is held as briefly as possible. It may be called again for rows recorded later.
        """
        rows = [row for workspace_rows in self.pending.values() for row in workspace_rows]
        self.pending.clear()
        if not rows:
            return
        params = {name: [_json_text(row[name]) for row in rows] if name in _JSON_FIELDS
                  else [row[name] for row in rows] for name in CHANGE_FIELDS}
        numbered = (await self.db.execute(RECORD_CHANGES, params)).all()
        for row, (seq, created_at) in zip(rows, numbered, strict=True):
            row.update(seq=seq, created_at=created_at)
            workspace_id = row["workspace_id"]
            self.committed_seqs[workspace_id] = max(seq, self.committed_seqs.get(workspace_id, 0))
            if workspace_id not in self.written_by_sql:
                self.committed.setdefault(workspace_id, []).append(row)


def newest_seqs(rows: Iterable[tuple[uuid.UUID | None, int | None]]) -> dict[uuid.UUID, int]:
    """Each workspace's newest seq among the (workspace, seq) pairs a statement wrote (a pair
    without a seq wrote nothing): what the realtime notices announce."""
    newest: dict[uuid.UUID, int] = {}
    for workspace_id, seq in rows:
        if workspace_id is not None and seq is not None:
            newest[workspace_id] = max(seq, newest.get(workspace_id, 0))
    return newest


Operation = Callable[[Mutation], Awaitable[Any]]


async def execute(request: Request, principal: Principal, operation: Operation,
                  status_code: int = 200) -> Response[Any]:
    """Run `operation` in one transaction with its Change rows, honouring `Idempotency-Key`.

    A replayed key (also a concurrent one: the second insert waits on the unique index) answers
    the stored first result and changes nothing. A failed operation stores nothing, so the
    client may retry with the same key.
    """
    key = idempotency_key(request)
    fingerprint = await fingerprint_of(request) if key else ""
    state = request.app.state
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            async with state.sessionmaker() as db, db.begin():
                if key is not None:
                    replay = await _claim_key(db, principal.user_id, key, fingerprint)
                    if replay is not None:
                        return replay
                mutation = Mutation.by(db, principal, key)
                body = jsonable(await operation(mutation))
                if key is not None:
                    await db.execute(
                        update(IdempotencyKey)
                        .where(IdempotencyKey.principal_id == principal.user_id, IdempotencyKey.key == key)
                        .values(status_code=status_code, response=body)
                    )
                await mutation.flush()  # last: the workspace row stays locked only until commit
            break
        except DBAPIError as exc:
            if _sqlstate(exc) not in RETRYABLE_SQLSTATES or attempt == MAX_ATTEMPTS:
                raise  # (out of attempts: errors.py answers 503, the database busy)
            await asyncio.sleep(random.uniform(0.005, 0.025) * attempt)  # the other writer goes first
    await announce(state, mutation.committed_seqs, mutation.committed)
    return Response(body, status_code=status_code)


async def announce(state: Any, committed_seqs: dict[uuid.UUID, int],
                   committed: dict[uuid.UUID, list[dict[str, Any]]] | None = None) -> None:
    """After a commit: the realtime hooks learn each workspace's newest seq (and its rows)."""
    for notify in getattr(state, "after_commit", ()):
        await notify(committed_seqs, committed)


def idempotency_key(request: Request) -> str | None:
    key = request.headers.get("idempotency-key")
    if key is not None and not 1 <= len(key) <= 255:
        raise Invalid("Idempotency-Key must be 1 to 255 characters")
    return key


async def fingerprint_of(request: Request) -> str:
    """What a replay must match: method, path and body."""
    digest = hashlib.sha256(f"{request.method} {request.url.path}\n".encode())
    digest.update(await request.body())
    return digest.hexdigest()


async def _claim_key(db: AsyncSession, principal_id: uuid.UUID, key: str,
                     fingerprint: str) -> Response[Any] | None:
    claimed = await db.scalar(
        pg_insert(IdempotencyKey)
        .values(principal_id=principal_id, key=key, request_hash=fingerprint)
        .on_conflict_do_nothing(index_elements=["principal_id", "key"])
        .returning(IdempotencyKey.id)
    )
    if claimed is not None:
        return None
    stored = (await db.execute(
        select(IdempotencyKey.request_hash, IdempotencyKey.status_code, IdempotencyKey.response)
        .where(IdempotencyKey.principal_id == principal_id, IdempotencyKey.key == key)
    )).one()
    if stored.request_hash != fingerprint:
        raise Conflict("this Idempotency-Key was used for a different request",
                       code=ErrorCode.IDEMPOTENCY_KEY_REUSED)
    return Response(stored.response, status_code=stored.status_code or 200,
                    headers={"Idempotent-Replayed": "true"})


def _sqlstate(exc: DBAPIError) -> str | None:
    orig = getattr(exc, "orig", None)
    return getattr(orig, "sqlstate", None) or getattr(getattr(orig, "__cause__", None), "sqlstate", None)
