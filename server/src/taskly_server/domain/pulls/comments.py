"""The one comment Taskly keeps on a pull request, naming its cards: key, title, column, assignees.

`sync_pr_comment` (queued by the `pr_comments` feed consumer, consumers.py) computes the comment
from the database as it is now and makes GitHub's copy match: posted once when the pull request
first links a card of a board with `pr_comment` on, edited when what it shows changed, never a
second one. Its state is a `pull_request_comments` row: `pending` → `creating` (committed before
the POST, so an attempt that died after GitHub made the comment finds it by its marker instead of
posting another) → `posted` (comment id and body kept) → `deleted` (an edit answered 404: someone
deleted it on GitHub, and it is not made again). One job at a time works on a pull request's
comment (a session advisory lock; a job that finds it held runs again a second later), so two
workers, duplicate jobs and retries cannot post twice.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

from saq import Job
from sqlalchemy import text

from ...lib.jobs import JOB_DEFAULTS, defer, succeeded
from .access import repository_and_tokens, with_github
from .rules import pr_comment_on

MARKER = "<!-- taskly:pull-request-link {pull_request_id} -->"
"""Hidden in the comment: how a retried job finds the comment an earlier attempt made."""
COMMENT_OPTIONS: dict[str, Any] = {**JOB_DEFAULTS, "timeout": 60}

_PULL = text(
    "SELECT p.number, r.id AS repository_id, r.owner, r.name, r.active FROM pull_requests p"
    " JOIN repositories r ON r.id = p.repository_id WHERE p.id = :id")
_CARDS = text(
    "SELECT b.key, c.number, c.title, col.name AS column_name, b.automation,"
    " ARRAY(SELECT u.username FROM unnest(c.assignee_ids) WITH ORDINALITY AS a(id, n)"
    "       JOIN users u ON u.id = a.id ORDER BY a.n) AS assignees"
    " FROM card_pull_requests l JOIN cards c ON c.id = l.card_id JOIN boards b ON b.id = c.board_id"
    " JOIN board_columns col ON col.id = c.column_id"
    " WHERE l.pull_request_id = :id AND c.deleted_at IS NULL AND b.deleted_at IS NULL"
    " ORDER BY b.key, c.number")
_START = text("INSERT INTO pull_request_comments (pull_request_id, status) VALUES (:id, 'pending')"
              " ON CONFLICT DO NOTHING")
_LEASE = text(
    "UPDATE pull_request_comments SET lease_key = :key, lease_until = now() + make_interval(secs => :seconds)"
    " WHERE pull_request_id = :id AND (lease_until IS NULL OR lease_until < now() OR lease_key = :key)"
    " RETURNING status, comment_id, body")
_RELEASE = text("UPDATE pull_request_comments SET lease_key = NULL, lease_until = NULL"
                " WHERE pull_request_id = :id AND lease_key = :key")
_SET = text("UPDATE pull_request_comments SET status = :status, comment_id = :comment_id, body = :body,"
            " updated_at = now() WHERE pull_request_id = :id AND lease_key = :key")
LEASE = 120
"""Seconds a job holds a pull request's comment (past its 60-s timeout: a dead worker's runs out)."""


def _cell(value: Any) -> str:
    """Card text as one markdown table cell: no line breaks, pipes, HTML or mentions."""
    flat = " ".join(str(value).split())
    for char, escaped in (("\\", "\\\\"), ("|", "\\|"), ("<", "&lt;"), (">", "&gt;"), ("@", "@\u200b")):
        flat = flat.replace(char, escaped)
    return flat[:200]


def comment_body(pull_request_id: uuid.UUID, cards: list[dict[str, Any]]) -> str:
    """The comment: a table of the linked cards (key, title, column, assignees)."""
    if not cards:
        return f"{MARKER.format(pull_request_id=pull_request_id)}\n**Taskly** · no card is linked any more\n"
    lines = [MARKER.format(pull_request_id=pull_request_id),
             f"**Taskly** · linked card{'s' if len(cards) > 1 else ''}", "",
             "| Card | Title | Column | Assignees |", "| --- | --- | --- | --- |"]
    for card in cards:
        assignees = ", ".join(_cell(name) for name in card["assignees"]) or "—"
        lines.append(f"| **{_cell(card['key'])}** | {_cell(card['title'])} | {_cell(card['column'])} "
                     f"| {assignees} |")
    return "\n".join(lines) + "\n"


def comment_job(pull_request_id: uuid.UUID | str, seq: int) -> Job:
    """The job for the feed's change `seq` (one per consumer batch and pull request)."""
    return Job(function="sync_pr_comment", key=f"prcomment:{pull_request_id}:{seq}",
               kwargs={"pull_request_id": str(pull_request_id)}, **COMMENT_OPTIONS)


@dataclass
class _Lease:
    """One job's hold on a pull request's comment row: every write checks it still has it."""

    ctx: dict[str, Any]
    pull_id: uuid.UUID
    key: str

    async def set(self, status: str, comment_id: int | None, body: str | None) -> None:
        async with self.ctx["sessionmaker"]() as db, db.begin():
            await db.execute(_SET, {"id": self.pull_id, "key": self.key, "status": status,
                                    "comment_id": comment_id, "body": body})


async def sync_pr_comment(ctx: dict[str, Any], *, pull_request_id: str) -> dict[str, Any]:
    """Make the pull request's Taskly comment on GitHub match its cards now (see the module)."""
    pull_id = uuid.UUID(pull_request_id)
    job = ctx.get("job")
    lease = _Lease(ctx, pull_id, job.key if job is not None else f"direct:{uuid.uuid4()}")
    async with ctx["sessionmaker"]() as db, db.begin():
        pull = (await db.execute(_PULL, {"id": pull_id})).first()
        cards = [{"key": f"{r.key}-{r.number}", "title": r.title, "column": r.column_name,
                  "assignees": list(r.assignees or [])}
                 for r in (await db.execute(_CARDS, {"id": pull_id})).all() if pr_comment_on(r.automation)]
        if pull is None or not pull.active:
            return {"pull_request_id": pull_request_id, "outcome": "the pull request or its repository is gone"}
        await db.execute(_START, {"id": pull_id})
        row = (await db.execute(_LEASE, {"id": pull_id, "key": lease.key, "seconds": LEASE})).first()
    if row is None:
        raise defer(ctx, time.time() + 1, "another job is updating this pull request's comment")
    try:
        result = await _sync(ctx, lease, pull, row, cards)
    finally:
        async with ctx["sessionmaker"]() as db, db.begin():
            await db.execute(_RELEASE, {"id": pull_id, "key": lease.key})
    succeeded(ctx)
    return {"pull_request_id": pull_request_id, **result}


async def _sync(ctx: dict[str, Any], lease: _Lease, pull: Any, row: Any,
                cards: list[dict[str, Any]]) -> dict[str, Any]:
    pull_id = lease.pull_id
    if row.status == "deleted":
        return {"outcome": "deleted on GitHub: not made again"}
    if not cards and row.status == "pending":
        return {"outcome": "no card to link"}
    body = comment_body(pull_id, cards)
    if row.status == "posted" and row.body == body:
        return {"outcome": "up to date", "comment_id": row.comment_id}
    found, tokens = await repository_and_tokens(ctx, pull.repository_id)
    full_name = f"{found.owner}/{found.name}"
    number = pull.number
    comment_id, stored = row.comment_id, row.body
    if row.status in ("pending", "creating"):
        existing = None
        if row.status == "creating":  # an attempt that did not finish may have made it
            marker = MARKER.format(pull_request_id=pull_id)
            existing = await with_github(ctx, tokens, lambda c: c.find_comment(full_name, number, marker),
                                         background=True)
        if existing is None:
            await lease.set("creating", None, None)
            made = await with_github(ctx, tokens, lambda c: c.create_comment(full_name, number, body),
                                     background=True)
            await lease.set("posted", made.id, body)
            return {"outcome": "posted", "comment_id": made.id}
        comment_id, stored = existing.id, existing.body
        await lease.set("posted", comment_id, stored)
        if stored == body:
            return {"outcome": "found the comment an earlier attempt made", "comment_id": comment_id}
    edited = await with_github(ctx, tokens, lambda c: c.edit_comment(full_name, comment_id, body),
                               background=True)
    if not edited:
        await lease.set("deleted", comment_id, stored)
        return {"outcome": "deleted on GitHub: not made again", "comment_id": comment_id}
    await lease.set("posted", comment_id, body)
    return {"outcome": "edited", "comment_id": comment_id}


JOBS = [sync_pr_comment]
