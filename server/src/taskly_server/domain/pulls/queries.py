"""The SQL of webhook processing, run on the job transaction's own asyncpg connection.

A delivery takes a dozen small statements. Through the ORM each one costs ~0.2-0.5 ms of CPU, here
~20 µs, and that is what lets one worker keep up with GitHub (tests/bench/bench_webhooks.py).
Rows come back as small mutable records named like the ORM models' attributes, so the wire views
(`pull_request_out`, `CardRenderer.render`) render them unchanged.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from types import SimpleNamespace
from typing import Any

import msgspec
from asyncpg import Connection, Record
from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import AsyncSession
from taskly_shared.models import PullRequestOut

from ...db.base import utcnow
from ...lib.notices import Notice, channel_name
from .payloads import CheckReport, PullSnapshot, RefFact
from .views import pull_request_out

_json = msgspec.json.Encoder()


def jsonb(value: Any) -> str:
    """A JSONB parameter (the engine's codec takes JSON text)."""
    return _json.encode(value).decode()


@dataclass(slots=True)
class RepositoryRow:
    id: uuid.UUID
    workspace_id: uuid.UUID
    owner: str
    name: str


@dataclass(slots=True)
class PullRow:
    """A `pull_requests` row; `save` writes back what changed."""

    id: uuid.UUID
    repository_id: uuid.UUID
    number: int
    title: str
    body: str | None
    state: str
    head_branch: str | None
    base_branch: str | None
    url: str | None
    author: str | None
    ci_status: str
    checks: dict[str, Any]
    approvals: int
    changes_requested: int
    reviews: dict[str, Any]
    head_sha: str | None
    commit_count: int | None
    merged_at: datetime | None
    github_updated_at: datetime | None
    version: int
    mergeable: bool | None = None
    mergeable_state: str | None = None
    additions: int | None = None
    deletions: int | None = None


PULL_COLUMNS = ", ".join(f.name for f in fields(PullRow))


class CardRow(SimpleNamespace):
    """A `cards` row, every column as an attribute (what `CardRenderer.render` reads); `save_card`
    writes back its version."""




@dataclass(slots=True)
class BoardRow:
    id: uuid.UUID
    workspace_id: uuid.UUID
    key: str
    automation: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class ColumnRow:
    id: uuid.UUID
    board_id: uuid.UUID
    name: str
    kind: str
    rank: str


CLAIM = text(
    "UPDATE webhook_deliveries SET processed_at = now() WHERE delivery_id = :delivery_id"
    " AND processed_at IS NULL RETURNING id, event, action, repository_id, CAST(payload AS text)")


def _row(kind: type, record: Record) -> Any:
    return kind(*record.values())


class PullStore:
    """Statements of one job transaction (its session's connection, so one commit covers all)."""

    def __init__(self, connection: Connection) -> None:
        self.conn = connection

    @classmethod
    async def claim(cls, db: AsyncSession, delivery_id: str) -> tuple[PullStore, Row | None]:
        """Mark the delivery processed (its row stays locked to commit); None when it already is.

        This first statement goes through the session, which begins the transaction that the
        store's statements then join (the driver connection alone would autocommit them).
        """
        claimed = (await db.execute(CLAIM, {"delivery_id": delivery_id})).first()
        connection = await (await db.connection()).get_raw_connection()
        return cls(connection.driver_connection), claimed

    # --- deliveries ----------------------------------------------------------------------------

    async def notify(self, committed_seqs: dict[uuid.UUID, int]) -> None:
        """Postgres fan-out: the servers' realtime notice of each workspace's new seq, delivered at
        commit (what `Announcer.before_commit` sends, as one cheap statement per workspace)."""
        for workspace_id, seq in committed_seqs.items():
            await self.conn.execute("SELECT pg_notify($1, $2)", channel_name(workspace_id),
                                    Notice(workspace_id, seq).encode().decode())

    async def record_outcome(self, delivery_row_id: uuid.UUID, outcome: str, error: str | None) -> None:
        await self.conn.execute("UPDATE webhook_deliveries SET outcome = $2, error = $3 WHERE id = $1",
                                delivery_row_id, outcome[:64], error)

    async def repositories(self, ids: Sequence[uuid.UUID]) -> list[RepositoryRow]:
        """The connected (active) ones of these repositories."""
        records = await self.conn.fetch(
            "SELECT id, workspace_id, owner, name FROM repositories WHERE id = ANY($1::uuid[])"
            " AND active ORDER BY id", list(ids))
        return [_row(RepositoryRow, r) for r in records]

    # --- pull requests -------------------------------------------------------------------------

    async def lock_commit(self, repository_id: uuid.UUID, sha: str | None) -> None:
        """Serialise the work on one commit's CI (reports against head-sha changes) until commit."""
        if sha:
            await self.conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
                                    f"ci:{repository_id}:{sha}")

    async def pull_marks(self, repository_id: uuid.UUID,
                         numbers: Sequence[int]) -> dict[int, tuple[datetime | None, str | None]]:
        """Stored pull requests by number: their GitHub `updated_at` and head sha."""
        records = await self.conn.fetch(
            "SELECT number, github_updated_at, head_sha FROM pull_requests"
            " WHERE repository_id = $1 AND number = ANY($2::int[])", repository_id, list(numbers))
        return {r[0]: (r[1], r[2]) for r in records}

    async def lock_pull(self, repository_id: uuid.UUID, number: int) -> PullRow | None:
        record = await self.conn.fetchrow(
            f"SELECT {PULL_COLUMNS} FROM pull_requests WHERE repository_id = $1 AND number = $2"
            " FOR UPDATE", repository_id, number)
        return _row(PullRow, record) if record is not None else None

    async def create_pull(self, repository_id: uuid.UUID, snapshot: PullSnapshot) -> bool:
        """Insert the pull request unless a concurrent delivery did; whether this one did."""
        now = utcnow()
        created = await self.conn.fetchval(
            "INSERT INTO pull_requests (id, repository_id, number, title, state, ci_status, checks,"
            " reviews, approvals, changes_requested, version, created_at, updated_at)"
            " VALUES ($1, $2, $3, $4, $5, 'none', '{}', '{}', 0, 0, 1, $6, $6)"
            " ON CONFLICT (repository_id, number) DO NOTHING RETURNING id",
            uuid.uuid4(), repository_id, snapshot.number, snapshot.title, snapshot.state, now)
        return created is not None

    async def lock_pulls(self, repository_id: uuid.UUID, *, head_sha: str | None = None,
                         open_on_branch: str | None = None) -> list[PullRow]:
        """The repository's pull requests at a head commit, or open from a branch; locked, by id."""
        if head_sha is not None:
            where, value = "head_sha = $2", head_sha
        else:
            where, value = "head_branch = $2 AND state IN ('open', 'draft')", open_on_branch
        records = await self.conn.fetch(
            f"SELECT {PULL_COLUMNS} FROM pull_requests WHERE repository_id = $1 AND {where}"
            " ORDER BY id FOR UPDATE", repository_id, value)
        return [_row(PullRow, r) for r in records]

    async def save_pull(self, pull: PullRow) -> None:
        await self.conn.execute(
            "UPDATE pull_requests SET title = $2, body = $3, state = $4, head_branch = $5,"
            " base_branch = $6, url = $7, author = $8, ci_status = $9, checks = $10, approvals = $11,"
            " changes_requested = $12, reviews = $13, head_sha = $14, commit_count = $15,"
            " merged_at = $16, github_updated_at = $17, version = $18, mergeable = $19,"
            " mergeable_state = $20, additions = $21, deletions = $22, updated_at = now() WHERE id = $1",
            pull.id, pull.title, pull.body, pull.state, pull.head_branch, pull.base_branch, pull.url,
            pull.author, pull.ci_status, jsonb(pull.checks), pull.approvals, pull.changes_requested,
            jsonb(pull.reviews), pull.head_sha, pull.commit_count, pull.merged_at,
            pull.github_updated_at, pull.version, pull.mergeable, pull.mergeable_state, pull.additions,
            pull.deletions)

    # --- links ---------------------------------------------------------------------------------

    async def cards_for_keys(self, workspace_id: uuid.UUID,
                             keys: Sequence[tuple[str, int]]) -> dict[uuid.UUID, bool]:
        """The workspace's cards these keys name (boards not deleted): card id → card deleted."""
        if not keys:
            return {}
        records = await self.conn.fetch(
            "SELECT cards.id, cards.deleted_at IS NOT NULL FROM cards"
            " JOIN boards ON boards.id = cards.board_id"
            " JOIN unnest($2::text[], $3::int[]) AS wanted(key, number)"
            "   ON wanted.key = boards.key AND wanted.number = cards.number"
            " WHERE boards.workspace_id = $1 AND boards.deleted_at IS NULL",
            workspace_id, [k for k, _ in keys], [n for _, n in keys])
        return {r[0]: r[1] for r in records}

    async def link(self, pull_id: uuid.UUID, card_ids: Iterable[uuid.UUID]) -> None:
        await self.conn.execute(
            "INSERT INTO card_pull_requests (card_id, pull_request_id, created_at)"
            " SELECT unnest($2::uuid[]), $1, now() ON CONFLICT DO NOTHING", pull_id, sorted(card_ids))

    async def unlink(self, pull_id: uuid.UUID, card_ids: Iterable[uuid.UUID]) -> None:
        await self.conn.execute(
            "DELETE FROM card_pull_requests WHERE pull_request_id = $1 AND card_id = ANY($2::uuid[])",
            pull_id, list(card_ids))

    # --- cards ---------------------------------------------------------------------------------

    async def lock_cards(self, pull_ids: Iterable[uuid.UUID],
                         card_ids: Iterable[uuid.UUID]) -> list[tuple[CardRow, list[uuid.UUID]]]:
        """The cards linked to these pull requests, and `card_ids`, locked by id; with each card,
        which of the pull requests it is linked to (links of a PR change only under its lock)."""
        records = await self.conn.fetch(
            "SELECT cards.*, ARRAY(SELECT links.pull_request_id FROM card_pull_requests AS links"
            "   WHERE links.card_id = cards.id AND links.pull_request_id = ANY($1::uuid[])) AS linked_to"
            " FROM cards WHERE cards.id = ANY($2::uuid[]) OR cards.id IN (SELECT card_id"
            "   FROM card_pull_requests WHERE pull_request_id = ANY($1::uuid[]))"
            " ORDER BY cards.id FOR UPDATE OF cards", list(pull_ids), list(card_ids))
        found = []
        for record in records:
            values = dict(record.items())
            linked = values.pop("linked_to")
            found.append((CardRow(**values), linked))
        return found

    async def boards(self, board_ids: Iterable[uuid.UUID]) -> tuple[list[BoardRow], list[ColumnRow]]:
        """The boards (with their automation rules) and all their columns."""
        records = await self.conn.fetch(
            "SELECT boards.id, boards.workspace_id, boards.key, boards.automation, columns.id,"
            " columns.name, columns.kind, columns.rank FROM boards"
            " LEFT JOIN board_columns AS columns ON columns.board_id = boards.id"
            " WHERE boards.id = ANY($1::uuid[])", list(board_ids))
        boards: dict[uuid.UUID, BoardRow] = {}
        columns = []
        for board_id, workspace_id, key, automation, column_id, name, kind, rank in records:
            boards.setdefault(board_id, BoardRow(board_id, workspace_id, key, automation or {}))
            if column_id is not None:
                columns.append(ColumnRow(column_id, board_id, name, kind, rank))
        return list(boards.values()), columns

    async def usernames(self, user_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str]:
        ids = list(user_ids)
        if not ids:
            return {}
        return {r[0]: r[1] for r in await self.conn.fetch(
            "SELECT id, username FROM users WHERE id = ANY($1::uuid[])", ids)}

    async def card_pull_requests(self, card_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, list[PullRequestOut]]:
        """Each card's linked pull requests as the wire shows them, by repository then number."""
        ids = list(card_ids)
        found: dict[uuid.UUID, list[PullRequestOut]] = {card_id: [] for card_id in ids}
        records = await self.conn.fetch(
            f"SELECT links.card_id, repositories.owner || '/' || repositories.name,"
            f" {', '.join('pulls.' + f.name for f in fields(PullRow))}"
            " FROM card_pull_requests AS links"
            " JOIN pull_requests AS pulls ON pulls.id = links.pull_request_id"
            " JOIN repositories ON repositories.id = pulls.repository_id"
            " WHERE links.card_id = ANY($1::uuid[])"
            " ORDER BY repositories.owner, repositories.name, pulls.number", ids)
        for record in records:
            values = list(record.values())
            found[values[0]].append(pull_request_out(PullRow(*values[2:]), values[1]))
        return found

    async def manual_moves(self, workspace_id: uuid.UUID, card_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, datetime]:
        """When each card last changed column by a person (or their token), not by automation."""
        records = await self.conn.fetch(
            "SELECT entity_id, max(created_at) FROM changes WHERE workspace_id = $1"
            " AND entity_type = 'card' AND entity_id = ANY($2::uuid[]) AND op IN ('move', 'update')"
            " AND actor_type <> 'automation' AND changes ? 'column_id' GROUP BY entity_id",
            workspace_id, list(card_ids))
        return {r[0]: r[1] for r in records}

    async def save_card(self, card: CardRow) -> None:
        """Its version and time (its pull requests changed); a move is the move function's."""
        await self.conn.execute("UPDATE cards SET version = $2, updated_at = $3 WHERE id = $1",
                                card.id, card.version, card.updated_at)

    # --- CI and branches -----------------------------------------------------------------------

    async def store_check(self, repository_id: uuid.UUID, report: CheckReport) -> bool:
        """Keep the report unless a newer one of the same check is stored; whether it was kept."""
        kept = await self.conn.fetchval(
            "INSERT INTO commit_checks (repository_id, sha, name, state, url, reported_at, updated_at)"
            " VALUES ($1, $2, $3, $4, $5, $6, now())"
            " ON CONFLICT (repository_id, sha, name) DO UPDATE SET state = excluded.state,"
            " url = excluded.url, reported_at = excluded.reported_at, updated_at = excluded.updated_at"
            " WHERE commit_checks.reported_at IS NULL OR excluded.reported_at IS NULL"
            " OR excluded.reported_at >= commit_checks.reported_at RETURNING 1",
            repository_id, report.sha, report.name, report.state, report.url, report.at)
        return kept is not None

    async def checks(self, repository_id: uuid.UUID, sha: str) -> list[Record]:
        """(name, state, url, reported_at) of a commit's checks, by name."""
        return await self.conn.fetch(
            "SELECT name, state, url, reported_at FROM commit_checks WHERE repository_id = $1"
            " AND sha = $2 ORDER BY lower(name)", repository_id, sha)

    async def store_branch(self, repository_id: uuid.UUID, fact: RefFact) -> Record | None:
        """Record a branch event unless the branch has a newer one; (sha, exists, commit_count)."""
        commits = 0 if fact.forced else fact.commits
        return await self.conn.fetchrow(
            "INSERT INTO repository_branches AS branch"
            " (repository_id, name, sha, exists, commit_count, event_at, updated_at)"
            " VALUES ($1, $2, $3, $4, $5, $6, now())"
            " ON CONFLICT (repository_id, name) DO UPDATE SET"
            "   sha = CASE WHEN excluded.sha IS NULL AND excluded.exists THEN branch.sha ELSE excluded.sha END,"
            "   exists = excluded.exists,"
            "   commit_count = CASE WHEN $7 THEN 0 ELSE branch.commit_count END + excluded.commit_count,"
            "   event_at = excluded.event_at, updated_at = excluded.updated_at"
            " WHERE branch.event_at IS NULL OR excluded.event_at IS NULL"
            "   OR excluded.event_at >= branch.event_at"
            " RETURNING sha, exists, commit_count",
            repository_id, fact.branch, fact.sha, fact.exists, commits, fact.at, fact.forced)
