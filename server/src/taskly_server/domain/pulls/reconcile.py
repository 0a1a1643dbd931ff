"""Pull requests read back from GitHub's API and applied as the webhooks would have been.

`sync_pull_request` reads one pull request (the PR, its reviews, its head commit's check runs and
combined status: four calls) and hands each fact to `DeliveryProcessor`, the webhooks' own code,
shaped as the delivery that would have carried it: the same linking rules, the same "never older
than the stored `updated_at`", the same "a manual move after the event stays"; automated moves are
attributed `reconcile: <rule>`. `reconcile_repository` lists a repository's pull requests (newest
update first, paging by `Link` until older than its cut-off) and syncs those that changed;
`reconcile_stale` (cron, every 10 minutes) runs it for the repositories no webhook reached for 10
minutes. Repository-level work uses a workspace admin's token; a token GitHub refuses (401) is
marked (its user must sign in again) and the next admin's is tried.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from saq import Job
from sqlalchemy import text

from ...integrations.github.client import GitHubClient, PullFacts
from ...lib.jobs import JOB_DEFAULTS, Announcer, JobQueue, fail, heartbeat, succeeded
from ...lib.mutation import Mutation
from .access import SIGN_IN_AGAIN, mark_refused, repository_and_tokens, token_refused, with_github
from .linking import linked_keys
from .payloads import PayloadError, parse_time, pull_snapshot
from .processing import OPEN, DeliveryProcessor
from .queries import PullStore, RepositoryRow

RECONCILE_EVERY = timedelta(minutes=10)
BACKFILL = timedelta(days=14)
"""Connecting a repository reads its open pull requests and those updated in the last 14 days."""
MARGIN = timedelta(minutes=1)
"""An incremental reconcile re-reads a minute before its last run (GitHub's clocks, in-flight PRs)."""
SYNC_OPTIONS: dict[str, Any] = {**JOB_DEFAULTS, "timeout": 120, "heartbeat": 15, "ttl": 3600}
RECONCILE_OPTIONS: dict[str, Any] = {**SYNC_OPTIONS, "timeout": 600}
"""A repository's reconcile reads every changed PR in turn; a retry after a timeout skips the PRs
already applied (their stored `updated_at` matches)."""
REVIEW_DECISIONS = {"APPROVED", "CHANGES_REQUESTED", "DISMISSED"}


# --- applying what GitHub says -----------------------------------------------------------------


def _action(stored: str | None, pull: dict[str, Any]) -> str:
    """The pull_request action a webhook would have carried for this change of state."""
    state = pull_snapshot({"pull_request": pull}).state
    if state in ("closed", "merged"):
        return "edited" if stored in ("closed", "merged") else "closed"
    if stored is None:
        return "opened"
    if stored in ("closed", "merged"):
        return "reopened"
    if stored == "draft" and state == "open":
        return "ready_for_review"
    if stored == "open" and state == "draft":
        return "converted_to_draft"
    return "synchronize"


def _events(stored: str | None, facts: PullFacts) -> list[tuple[str, str | None, dict[str, Any]]]:
    """The deliveries that would have told Taskly what `facts` say, oldest kind first."""
    pull = facts.pull
    events: list[tuple[str, str | None, dict[str, Any]]] = [
        ("pull_request", _action(stored, pull), {"number": pull.get("number"), "pull_request": pull})]
    reviews = [r for r in facts.reviews if isinstance(r, dict) and r.get("state") in REVIEW_DECISIONS]
    for review in sorted(reviews, key=lambda r: str(r.get("submitted_at") or "")):
        action = "dismissed" if review.get("state") == "DISMISSED" else "submitted"
        events.append(("pull_request_review", action, {"pull_request": pull, "review": review}))
    for run in facts.check_runs:
        if isinstance(run, dict):
            events.append(("check_run", "completed" if run.get("status") == "completed" else "created",
                           {"check_run": run}))
    sha = facts.combined_status.get("sha")
    for status in facts.combined_status.get("statuses") or []:
        if isinstance(status, dict) and isinstance(sha, str):
            events.append(("status", None, {**status, "sha": sha}))
    return events


async def apply_facts(ctx: dict[str, Any], repository: RepositoryRow, facts: PullFacts) -> dict[str, Any]:
    """Apply one pull request's facts in one transaction, as webhooks, attributed to `reconcile`;
    what changed."""
    number = facts.pull.get("number")
    if not isinstance(number, int) or isinstance(number, bool):
        raise fail(ctx, "GitHub's answer is not a pull request (no number)", retry=False)
    announcer = Announcer(ctx)
    summary: dict[str, Any] = {"number": number, "moved": [], "cards": [], "notes": []}
    async with ctx["sessionmaker"]() as db, db.begin():
        # the first statement through the session begins the transaction the store's then join
        stored = await db.scalar(_STATE, {"repository_id": repository.id, "number": number})
        store = PullStore((await (await db.connection()).get_raw_connection()).driver_connection)
        mutation = Mutation(db, actor_type="automation", actor_id=None, actor_name="reconcile")
        processor = DeliveryProcessor(mutation, store, repository, via="reconcile")
        try:
            for event, action, payload in _events(stored, facts):
                effects = await processor.run(event, action, payload)
                if effects is not None:
                    summary["moved"] += [{"card": m.key, "column": m.column, "rule": f"reconcile: {m.rule}"}
                                         for m in effects.moved]
        except PayloadError as exc:
            mutation.pending.clear()
            raise fail(ctx, f"GitHub's answer for #{number} is not a pull request: {exc}",
                       retry=False) from None
        summary["notes"] = processor.notes
        keys = {row["data"].get("key") for rows in mutation.pending.values() for row in rows
                if row["entity_type"] == "card" and isinstance(row["data"], dict)}
        summary["cards"] = sorted({k for k in keys if k} | {m["card"] for m in summary["moved"]})
        await mutation.flush()
        if not announcer.redis:
            await store.notify(mutation.committed_seqs)
    await announcer.after_commit(mutation.committed_seqs)
    summary["state"] = pull_snapshot({"pull_request": facts.pull}).state
    return summary


_STATE = text("SELECT state FROM pull_requests WHERE repository_id = :repository_id AND number = :number")
"""The stored state of the pull request before the sync (None: not stored): which action a
webhook would have carried."""


def _row(found: Any) -> RepositoryRow:
    return RepositoryRow(found.id, found.workspace_id, found.owner, found.name)


async def sync_pull_request(ctx: dict[str, Any], *, repository_id: str, number: int) -> dict[str, Any]:
    """Read pull request `number` of the repository from GitHub and apply it (see the module)."""
    found, tokens = await repository_and_tokens(ctx, uuid.UUID(repository_id))
    full_name = f"{found.owner}/{found.name}"
    async with heartbeat(ctx):
        facts = await with_github(ctx, tokens, lambda client: client.pull_facts(full_name, number),
                                  background=True)
        summary = await apply_facts(ctx, _row(found), facts)
    succeeded(ctx)
    return {"repository": full_name, **summary}


# --- listing: backfill and reconcile -----------------------------------------------------------


def _listed(client: GitHubClient, full_name: str, since: datetime, with_open: bool) -> list[dict[str, Any]]:
    """Pull requests updated since `since` (newest first, paging until older), and with `with_open`
    every open one; by number, once."""
    found: dict[int, dict[str, Any]] = {}
    if with_open:
        page: str | None = None
        while True:
            pulls, page = client.pulls_page(full_name, state="open", page_url=page)
            found.update({p["number"]: p for p in pulls if isinstance(p.get("number"), int)})
            if page is None:
                break
    page = None
    while True:
        pulls, page = client.pulls_page(full_name, state="all", page_url=page)
        older = False
        for pull in pulls:
            updated = parse_time(pull.get("updated_at"))
            if updated is not None and updated < since:
                older = True
                break
            if isinstance(pull.get("number"), int):
                found.setdefault(pull["number"], pull)
        if older or page is None:
            break
    return list(found.values())


async def _changed(ctx: dict[str, Any], repository: RepositoryRow, pulls: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The listed pull requests worth a sync: stored ones GitHub changed since (`updated_at`, head),
    and new ones whose branch, title or closing words name a card of the workspace."""
    numbers = [p["number"] for p in pulls]
    async with ctx["sessionmaker"]() as db:
        store = PullStore((await (await db.connection()).get_raw_connection()).driver_connection)
        stored = await store.pull_marks(repository.id, numbers)
        wanted = []
        for pull in pulls:
            try:
                snapshot = pull_snapshot({"pull_request": pull})
            except PayloadError:
                continue
            mark = stored.get(snapshot.number)
            if mark is not None:
                updated_at, head_sha = mark
                if (snapshot.updated_at is None or updated_at is None or snapshot.updated_at > updated_at
                        or snapshot.head_sha != head_sha):
                    wanted.append(pull)
            elif await store.cards_for_keys(repository.workspace_id, linked_keys(snapshot)):
                wanted.append(pull)
    return wanted


async def _mark_reconciled(ctx: dict[str, Any], repository_id: uuid.UUID, at: datetime) -> None:
    async with ctx["sessionmaker"]() as db, db.begin():
        await db.execute(text("UPDATE repositories SET reconciled_at = :at WHERE id = :id"),
                         {"at": at, "id": repository_id})


def sync_job(repository_id: uuid.UUID, number: int) -> Job:
    return Job(function="sync_pull_request", key=f"syncpr:{repository_id}:{number}",
               kwargs={"repository_id": str(repository_id), "number": number}, **SYNC_OPTIONS)


async def backfill(ctx: dict[str, Any], client: GitHubClient, repository: RepositoryRow) -> int:
    """On connect: queue `sync_pull_request` for the open pull requests and those updated in the
    last 14 days that link a card; how many were queued."""
    started = datetime.now(UTC)
    full_name = f"{repository.owner}/{repository.name}"
    pulls = await asyncio.to_thread(_listed, client, full_name, started - BACKFILL, True)
    wanted = await _changed(ctx, repository, pulls)
    queue: JobQueue = ctx["queue"]
    for pull in wanted:
        await queue.saq.enqueue(sync_job(repository.id, pull["number"]))
    await _mark_reconciled(ctx, repository.id, started)
    return len(wanted)


async def reconcile_repository(ctx: dict[str, Any], *, repository_id: str, full: bool = False,
                               numbers: list[int] | None = None, user: bool = False) -> dict[str, Any]:
    """Re-read the repository's pull requests changed since its last reconcile (`full`: the open
    ones and the last 14 days; `numbers`: those) and apply each; what changed. Not `user`-started
    (the cron), it waits for GitHub's reset when the token's budget is low."""
    found, tokens = await repository_and_tokens(ctx, uuid.UUID(repository_id))
    repository = _row(found)
    full_name = f"{found.owner}/{found.name}"
    started = datetime.now(UTC)
    since = (started - BACKFILL if full or found.reconciled_at is None
             else max(found.reconciled_at - MARGIN, started - BACKFILL))
    results = []
    async with heartbeat(ctx):
        if numbers:
            wanted_numbers = sorted(set(numbers))
        else:
            pulls = await with_github(ctx, tokens, lambda c: _listed(c, full_name, since, full),
                                      background=not user)
            wanted_numbers = [p["number"] for p in await _changed(ctx, repository, pulls)]
        for number in wanted_numbers:
            facts = await with_github(ctx, tokens, lambda c, n=number: c.pull_facts(full_name, n),
                                      background=not user)
            results.append(await apply_facts(ctx, repository, facts))
    if not numbers:
        await _mark_reconciled(ctx, repository.id, started)
    succeeded(ctx)
    return {"repository": full_name, "repository_id": repository_id, "synced": len(results),
            "changed": [r for r in results if r["cards"] or r["moved"]]}


_STALE = text(
    "SELECT r.id FROM repositories r WHERE r.active"
    " AND (r.reconciled_at IS NULL OR r.reconciled_at < :cutoff)"
    " AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.repository_id = r.id"
    "                 AND d.received_at >= :cutoff)"
    " AND EXISTS (SELECT 1 FROM members m JOIN users u ON u.id = m.user_id"
    "             WHERE m.workspace_id = r.workspace_id AND m.role IN ('owner', 'admin')"
    "             AND u.github_token_encrypted IS NOT NULL AND u.github_token_refused_at IS NULL)"
    " ORDER BY r.id")
"""Connected repositories due a reconcile that some admin's token may read (no job is queued to
fail for a workspace without one: `taskly pr sync` says why)."""


async def reconcile_stale(ctx: dict[str, Any]) -> dict[str, Any]:
    """Cron: reconcile every connected repository no webhook reached in the last 10 minutes (a
    healthy webhook stream costs no GitHub call)."""
    now = datetime.now(UTC)
    async with ctx["sessionmaker"]() as db:
        ids = list((await db.scalars(_STALE, {"cutoff": now - RECONCILE_EVERY})).all())
    slot = int(now.timestamp() // RECONCILE_EVERY.total_seconds())
    queue: JobQueue = ctx["queue"]
    for repository_id in ids:
        await queue.saq.enqueue(Job(function="reconcile_repository", key=f"reconcile:{repository_id}:{slot}",
                                    kwargs={"repository_id": str(repository_id)}, **RECONCILE_OPTIONS))
    return {"repositories": len(ids), "queued": [str(i) for i in ids]}


JOBS = [sync_pull_request, reconcile_repository, reconcile_stale]
__all__ = ["JOBS", "OPEN", "SIGN_IN_AGAIN", "backfill", "mark_refused", "reconcile_stale", "token_refused"]
