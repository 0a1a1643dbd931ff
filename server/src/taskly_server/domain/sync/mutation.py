"""One write: its change-feed rows, its idempotency record, its transaction and its retry."""

from __future__ import annotations

import hashlib
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from litestar import Request, Response
from pydantic import BaseModel
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession
from taskly_shared.errors import ErrorCode

from ...db.base import utcnow
from ...db.models import Change, IdempotencyKey, Workspace
from ...errors import Conflict, Invalid
from ..auth.tokens import Principal

RETRYABLE_SQLSTATES = {"40001", "40P01"}  # serialization failure, deadlock
MAX_ATTEMPTS = 4

CHANGE_FIELDS = ("workspace_id", "entity_type", "entity_id", "op", "version", "changes", "data",
                 "actor_type", "actor_id", "actor_name", "delivery_id", "mutation_id", "conflicts")
"""The columns of a Change row that `Mutation.record` fills in (`WRITE_ONE_CHANGE` binds these)."""
CHANGE_FIELDS_SET = frozenset(CHANGE_FIELDS)


def _take_seqs():
    """UPDATE … RETURNING: the workspace's seq moves on by :count, its row stays locked.

    Core tables, not the ORM classes: with parameters the ORM would take its bulk code paths.
    """
    workspaces = Workspace.__table__
    return (update(workspaces).where(workspaces.c.id == bindparam("taken_workspace_id"))
            .values(seq=workspaces.c.seq + bindparam("count")).returning(workspaces.c.seq))


def _write_one_change():
    """The next seq and the one Change row numbered with it: one statement, one round trip.

    The row's values are bound as `new_<column>`: a parameter named like a column of the
    UPDATE's table would be added to its SET clause.
    """
    taken = _take_seqs().cte("taken")
    changes = Change.__table__
    names = (*CHANGE_FIELDS, "created_at")
    values = [bindparam(f"new_{name}", type_=changes.c[name].type) for name in names]
    return (insert(changes)
            .from_select([*names, "seq"], select(*values, taken.c.seq))
            .returning(changes.c.seq))


TAKE_SEQS = _take_seqs()
WRITE_ONE_CHANGE = _write_one_change()


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
    `created_at` included (the realtime hub hands them out without reading the feed)."""

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

    async def flush(self) -> None:
        """Take each workspace's next seqs under its row lock (held to commit), write the rows.

        Taken last in the transaction so the lock is held as briefly as possible; workspaces in id
        order so two multi-workspace writes cannot deadlock.
        """
        for workspace_id in sorted(self.pending, key=str):
            rows = self.pending[workspace_id]
            now = utcnow()
            if len(rows) == 1 and rows[0].keys() == CHANGE_FIELDS_SET:
                params = {f"new_{name}": value for name, value in rows[0].items()}
                params.update(new_created_at=now, taken_workspace_id=workspace_id, count=1)
                last = await self.db.scalar(WRITE_ONE_CHANGE, params)
                if last is None:
                    raise LookupError(f"workspace {workspace_id} does not exist")
                rows[0].update(seq=last, created_at=now)
                self.committed_seqs[workspace_id] = last
                self.committed[workspace_id] = rows
                continue
            last = await self.db.scalar(
                TAKE_SEQS, {"taken_workspace_id": workspace_id, "count": len(rows)}
            )
            first = last - len(rows) + 1
            for offset, row in enumerate(rows):
                row.update(seq=first + offset, created_at=now)
            await self.db.execute(insert(Change), rows)
            self.committed_seqs[workspace_id] = last
            self.committed[workspace_id] = rows
        self.pending.clear()


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
                raise
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
