"""`taskly-server demo-history`: give the demo's changes the days they would have happened on.

The demo (`taskly demo`) seeds a sprint in a few seconds, but its burndown is read from the days
of the Change rows (`changes.created_at`), so the seeding would all fall on one day. This tool
re-dates given changes of one workspace, on a dev-login server only (the demo's), so the demo
shows a sprint with a history. It never changes what a change says, only when it was made, and
the seq order stays the time order (each stamp must be at or after the previous one's).

    echo '{"workspace_id": "…", "changes": [{"seq": 12, "created_at": "2026-12-01T09:00:00Z"}]}' \
        | taskly-server demo-history
"""

from __future__ import annotations

import json
import sys
import uuid
from collections.abc import Callable
from datetime import datetime

from .settings import Settings


class HistoryError(ValueError):
    """A plan this tool refuses (the message says why)."""


def parse_plan(text: str) -> tuple[uuid.UUID, list[tuple[int, datetime]]]:
    """The workspace and its (seq, created_at) pairs, checked: aware times, in seq order, never earlier."""
    try:
        plan = json.loads(text)
        workspace_id = uuid.UUID(str(plan["workspace_id"]))
        stamps = sorted((int(item["seq"]), datetime.fromisoformat(str(item["created_at"])))
                        for item in plan["changes"])
    except (ValueError, KeyError, TypeError) as exc:
        raise HistoryError(f"not a plan: {type(exc).__name__}: {exc}") from None
    if any(stamp.tzinfo is None for _, stamp in stamps):
        raise HistoryError("created_at needs a time zone")
    for (seq, stamp), (_, before) in zip(stamps[1:], stamps, strict=False):
        if stamp < before:
            raise HistoryError(f"change {seq} would be dated before the change it follows")
    return workspace_id, stamps


def redate(database_url: str, workspace_id: uuid.UUID, stamps: list[tuple[int, datetime]]) -> int:
    """Set the given changes' created_at in one transaction; returns how many rows changed."""
    import psycopg

    from .worker import psycopg_url

    with psycopg.connect(psycopg_url(database_url)) as conn, conn.cursor() as cursor:
        cursor.execute(
            "UPDATE changes c SET created_at = v.at FROM unnest(%s::bigint[], %s::timestamptz[]) AS v(seq, at)"
            " WHERE c.workspace_id = %s AND c.seq = v.seq",
            ([seq for seq, _ in stamps], [stamp for _, stamp in stamps], workspace_id))
        return cursor.rowcount


def run(settings: Settings, text: str, prepare: Callable[[Settings], Settings]) -> int:
    """The command: refuses unless the server allows dev login (a demo, never production);
    `prepare` opens the database (joining the embedded PostgreSQL of a running demo server)."""
    if not settings.dev_login:
        print("taskly-server: demo-history runs only where TASKLY_DEV_LOGIN is on (the demo server)",
              file=sys.stderr)
        return 2
    try:
        workspace_id, stamps = parse_plan(text)
    except HistoryError as exc:
        print(f"taskly-server: {exc}", file=sys.stderr)
        return 2
    print(redate(prepare(settings).database_url, workspace_id, stamps))
    return 0
