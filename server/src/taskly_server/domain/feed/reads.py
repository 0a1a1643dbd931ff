"""The change feed's pages and the snapshot rendered by Postgres, sent as they come.

A page of changes is one statement on the driver (lib/rendered.py's `fetch`; a statement sees one
committed state, so the page and the head seq agree without a REPEATABLE READ transaction): the
caller's membership, the workspace's head and floor, and the page as `ChangesPage` JSON, the
changes' stored wire forms (`changes.wire`, rendered once when written) joined by commas. The
snapshot is one statement too (workspace, members, boards and columns, labels, and the cards through
`taskly_cards_json`, db/sql/); only its sprints, when there are some, are rendered by the sprints
domain (their status follows the server's clock) and joined to it as bytes. The
documents equal `ChangeOut`'s and `Snapshot`'s (tests/server/test_reads.py holds them to it).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

from litestar.datastructures import State
from pydantic import TypeAdapter
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession
from taskly_shared.models import Role, SprintOut

from ...db.session import driver_pool
from ...errors import Gone, NotFound
from ...lib.access import require_role
from ...lib.clock import Clock
from ...lib.feed_window import FeedWindow
from ...lib.rendered import CardList, ChangesAfter, fetch
from ..sprints.queries import board_sprints
from ..sprints.services import SprintService

# The caller's membership, the workspace's head and floor, and the stored wire forms (`wire`: each
# change's ChangeOut JSON, stored when it was written) of the page's changes, (since, until], but
# those in ($5, $6], which the process holds; none below the floor (the page is then a 410).
_PAGE = """
WITH head AS (
    SELECT w.seq, w.feed_floor, least(w.seq, $3::bigint + $4::int) AS until
      FROM workspaces w
      JOIN members m ON m.workspace_id = w.id AND m.user_id = $1
     WHERE w.id = $2 AND w.deleted_at IS NULL
)
SELECT head.seq, head.feed_floor, page.seqs, page.wires
  FROM head, LATERAL (
    SELECT array_agg(ch.seq ORDER BY ch.seq) AS seqs, array_agg(ch.wire ORDER BY ch.seq) AS wires
      FROM changes ch
     WHERE ch.workspace_id = $2 AND ch.seq > $3::bigint AND ch.seq <= head.until
       AND $3::bigint >= head.feed_floor AND NOT (ch.seq > $5::bigint AND ch.seq <= $6::bigint)) page
"""


# The workspace's seq and id, when the caller is a member (`held_response`'s statement).
WORKSPACE_SEQ = """
SELECT w.seq, w.id FROM workspaces w JOIN members m ON m.workspace_id = w.id AND m.user_id = $2
 WHERE w.id = $1 AND w.deleted_at IS NULL
"""


class HeldFeed:
    """The changes' wire forms this process read last, a window per workspace
    (lib/feed_window.py), the least recently read workspace's dropped first past `max_changes`:
    a changes page reads only the changes its window lacks. Seqs are gap-free and a stored wire
    form never changes, so a held change is good for as long as the feed keeps it (a page below
    the floor is a 410 before the window is looked at)."""

    def __init__(self, max_changes: int = 20_000, per_workspace: int = 2_000) -> None:
        self.max_changes, self.per_workspace = max_changes, per_workspace
        self._windows: OrderedDict[uuid.UUID, FeedWindow[bytes]] = OrderedDict()
        self._held = 0

    def window(self, workspace_id: uuid.UUID) -> FeedWindow[bytes] | None:
        window = self._windows.get(workspace_id)
        if window is not None:
            self._windows.move_to_end(workspace_id)
        return window

    def page(self, workspace_id: uuid.UUID, since: int, until: int,
             read: list[tuple[int, bytes]]) -> list[bytes] | None:
        """The wire forms of (since, until]: `read` (what the feed gave outside the window) and
        the window's; the window takes what follows on from either end. None when they do not
        make the whole page (a hole: the caller reads it all)."""
        window = self._windows.get(workspace_id)
        if window is None or since > window.last or until < window.since:
            if window is None or since >= window.last:  # from or past the window's end: hold it
                self._replace(workspace_id, since, read)
            page = read
        else:
            before = [item for item in read if item[0] <= window.since]
            after = [item for item in read if item[0] > window.last]
            low, high = max(since, window.since), min(until, window.last)
            page = [*before, *zip(range(low + 1, high + 1), window.between(low, high), strict=True),
                    *after]
            # Only the run that follows on from an end goes in: the window may have moved while
            # the feed was read (another page grew it, or it was made anew), so what the statement
            # left out can be other than what the window holds now.
            following = _run(after, window.last + 1)
            if following:
                self._grow(window, lambda: window.append(following))
            preceding = _run(before[::-1], window.since, step=-1)[::-1]
            if preceding and len(window) + len(preceding) <= window.capacity:
                self._grow(window, lambda: window.prepend(preceding[0][0] - 1, preceding))
        if [seq for seq, _ in page] != list(range(since + 1, until + 1)):
            return None
        return [wire for _, wire in page]

    def _replace(self, workspace_id: uuid.UUID, since: int, read: list[tuple[int, bytes]]) -> None:
        if [seq for seq, _ in read] != list(range(since + 1, since + 1 + len(read))):
            return
        old = self._windows.pop(workspace_id, None)
        self._held -= len(old) if old is not None else 0
        window = self._windows[workspace_id] = FeedWindow(since, self.per_workspace)
        self._grow(window, lambda: window.append(read))

    def _grow(self, window: FeedWindow[bytes], change: Callable[[], None]) -> None:
        before = len(window)
        change()
        self._held += len(window) - before
        while self._held > self.max_changes and len(self._windows) > 1:
            _, dropped = self._windows.popitem(last=False)
            self._held -= len(dropped)


def _run(items: list[tuple[int, bytes]], first: int, step: int = 1) -> list[tuple[int, bytes]]:
    """The leading items whose seqs go `first`, `first + step`, … without a gap."""
    for count, (seq, _) in enumerate(items):
        if seq != first + count * step:
            return items[:count]
    return items


async def _page(state: State, user_id: uuid.UUID, workspace_id: uuid.UUID, since: int,
                limit: int) -> tuple[int, int, list[bytes]]:
    """The workspace's head, the page's last seq and the wire forms of the changes in (since, that
    seq], from the process's window and the feed; errors as `changes_json`."""
    held: HeldFeed = state.held_feed
    window = held.window(workspace_id)
    held_since, held_last = (window.since, window.last) if window is not None else (0, 0)
    rows = await fetch(state.engine, _PAGE, user_id, workspace_id, since, limit, held_since, held_last)
    if not rows:
        async with state.sessionmaker() as db:
            await require_role(db, workspace_id, user_id, Role.VIEWER)
        raise NotFound("workspace not found")
    [(seq, feed_floor, seqs, wires)] = rows
    if since < feed_floor:
        raise Gone(f"the feed before seq {feed_floor} was pruned: reload the snapshot",
                   feed_floor=feed_floor, seq=seq)
    until = max(since, min(seq, since + limit))
    read = list(zip(seqs or (), (wire.encode() for wire in wires or ()), strict=True))
    page = held.page(workspace_id, since, until, read)
    if page is None:  # not one run of seqs: read it all, hold nothing
        rows = await fetch(state.engine, _PAGE, user_id, workspace_id, since, limit, 0, 0)
        if not rows:  # the caller left the workspace (or it went) in between
            raise NotFound("workspace not found")
        [(seq, _, seqs, wires)] = rows
        page = [wire.encode() for wire in wires or ()]
        until = seqs[-1] if seqs else since
    return seq, until, page


async def changes_json(state: State, user_id: uuid.UUID, workspace_id: uuid.UUID, since: int,
                       limit: int) -> bytes:
    """A `ChangesPage` of the changes after `since`; 410 below the pruned floor, 404 for no
    workspace (or no membership), as `FeedService.changes`."""
    seq, until, page = await _page(state, user_id, workspace_id, since, limit)
    return b"".join((b'{"changes":[', b",".join(page), b'],"next_since":', str(until).encode(),
                     b',"has_more":', b"true" if seq > until else b"false",
                     b',"seq":', str(seq).encode(), b"}"))


def changes_after(state: State, user_id: uuid.UUID) -> ChangesAfter:
    """The caller's reader of a workspace's changes in (since, until], parsed, for bringing held
    documents forward (lib/rendered.py `held_response`)."""

    async def read(workspace_id: uuid.UUID, since: int, until: int) -> list[dict[str, Any]] | None:
        try:
            _, last, page = await _page(state, user_id, workspace_id, since, until - since)
        except (Gone, NotFound):
            return None
        return [json.loads(wire) for wire in page] if last == until else None

    return read


# Everything but the cards and the sprints (not rendered when the seq is :known, the client's
# ETag's); whether there are sprints, the caller's role, the seq, the live boards' ids and how many
# cards they hold.
_SNAPSHOT = text("""
WITH ws AS (
    SELECT w.*, m.role
      FROM workspaces w
      JOIN members m ON m.workspace_id = w.id AND m.user_id = :user_id
     WHERE w.id = :workspace_id AND w.deleted_at IS NULL
), live AS (
    SELECT b.* FROM boards b JOIN ws ON b.workspace_id = ws.id WHERE b.deleted_at IS NULL
)
SELECT ws.role, ws.seq, EXISTS (SELECT 1 FROM sprints s JOIN live b ON b.id = s.board_id
                                 WHERE s.deleted_at IS NULL),
       ARRAY(SELECT b.id::text FROM live b), CASE WHEN ws.seq = :known THEN NULL
  ELSE json_build_object(
    'seq', ws.seq,
    'workspace', json_build_object(
        'id', ws.id, 'name', ws.name, 'role', ws.role, 'seq', ws.seq, 'version', ws.version,
        'created_at', taskly_json_time(ws.created_at), 'updated_at', taskly_json_time(ws.updated_at)),
    'members', (SELECT coalesce(json_agg(json_build_object(
                    'user_id', u.id, 'username', u.username, 'name', u.name, 'role', m.role,
                    'joined_at', taskly_json_time(m.created_at))
                    ORDER BY m.created_at, lower(u.username)), '[]')
                  FROM members m JOIN users u ON u.id = m.user_id
                 WHERE m.workspace_id = ws.id),
    'boards', (SELECT coalesce(json_agg(json_build_object(
                   'id', b.id, 'workspace_id', b.workspace_id, 'name', b.name, 'key', b.key,
                   'archived', b.archived, 'next_card_number', b.next_card_number,
                   'branch_template', b.branch_template,
                   'default_repository_id', b.default_repository_id, 'version', b.version,
                   'created_at', taskly_json_time(b.created_at),
                   'updated_at', taskly_json_time(b.updated_at),
                   'columns', (SELECT coalesce(json_agg(json_build_object(
                                   'id', col.id, 'board_id', col.board_id, 'name', col.name,
                                   'kind', col.kind, 'rank', col.rank, 'wip_limit', col.wip_limit,
                                   'version', col.version) ORDER BY col.rank), '[]')
                                 FROM board_columns col WHERE col.board_id = b.id))
                   ORDER BY b.created_at, b.key), '[]')
                 FROM live b),
    'labels', (SELECT coalesce(json_agg(json_build_object(
                   'id', l.id, 'workspace_id', l.workspace_id, 'name', l.name, 'color', l.color,
                   'description', l.description, 'version', l.version,
                   'created_at', taskly_json_time(l.created_at),
                   'updated_at', taskly_json_time(l.updated_at))
                   ORDER BY lower(l.name), l.name), '[]')
                 FROM labels l WHERE l.workspace_id = ws.id))::text END,
  (SELECT count(*) FROM cards c JOIN live b ON b.id = c.board_id)
  FROM ws
""")

# The snapshot's cards from $1 on, $2 of them (taskly_cards_json's text), in snapshot order.
_SNAPSHOT_CARDS = """
SELECT taskly_cards_json(ARRAY(SELECT c.id FROM cards c JOIN boards b ON b.id = c.board_id
                                WHERE b.workspace_id = $3 AND b.deleted_at IS NULL
                                ORDER BY c.board_id, c.number OFFSET $1 LIMIT $2))
"""

_SPRINTS = TypeAdapter(list[SprintOut])


async def _snapshot_cards(db: AsyncSession, workspace_id: uuid.UUID, count: int,
                          split_at: int) -> bytes:
    """The inside of the snapshot's cards array, in this transaction's view. Past `split_at`
    cards, in two halves rendered at once: the second on a connection of the driver's pool in a
    transaction that imports this one's snapshot (`pg_export_snapshot`: the same committed state),
    so that two Postgres processes build the JSON."""
    connection = await db.connection()
    raw = (await connection.get_raw_connection()).driver_connection
    pool = driver_pool(db.bind)
    if count <= split_at or pool is None:
        halves = [await raw.fetchval(_SNAPSHOT_CARDS, 0, count, workspace_id)]
    else:
        snapshot = await raw.fetchval("SELECT pg_export_snapshot()")
        first = count // 2
        halves = await asyncio.gather(
            raw.fetchval(_SNAPSHOT_CARDS, 0, first, workspace_id),
            pool.fetch_in_snapshot(snapshot, _SNAPSHOT_CARDS, first, count - first, workspace_id))
    return b",\n".join(half[1:-1].encode() for half in halves if half != "[]")


async def snapshot_json(db: AsyncSession, user_id: uuid.UUID, workspace_id: uuid.UUID,
                        clock: Clock | None, known_seq: int,
                        split_at: int) -> tuple[int, bytes | None, CardList | None]:
    """The workspace's seq and its `Snapshot` (soft-deleted cards included; None when the seq is
    `known_seq`), and where its cards are when card changes can bring it forward (not when it has
    sprints: their figures follow the cards); the caller runs this in a REPEATABLE READ
    transaction, so the cards and the sprints, when there are some, are as of the same `seq`.
    Sprint statuses are as of `clock`'s day (the database's when none). Past `split_at` cards, two
    Postgres processes render them (`_snapshot_cards`)."""
    row = (await db.execute(_SNAPSHOT, {"user_id": user_id, "workspace_id": workspace_id,
                                        "known": known_seq})).first()
    if row is None:
        await require_role(db, workspace_id, user_id, Role.VIEWER)  # raises 404
        raise NotFound("workspace not found")
    _, seq, has_sprints, board_ids, rest, count = row
    if rest is None:
        return seq, None, None
    inside = await _snapshot_cards(db, workspace_id, count, split_at)
    sprints = b"[]"
    if has_sprints:  # of the live boards the statement listed (as of the same transaction)
        sprints = _SPRINTS.dump_json(await SprintService(db, clock).render_all(
            workspace_id, await board_sprints(db, [uuid.UUID(board) for board in board_ids])))
    # The cards go in last but the sprints.
    head = rest[:-1].encode() + b', "cards" : ['
    body = b"".join((head, inside, b'], "sprints" : ', sprints, b"}"))
    if has_sprints:
        return seq, body, None
    live = frozenset(board_ids)

    def order(card: Mapping[str, Any]) -> tuple[str, int] | None:
        return (card["board_id"], card["number"]) if card["board_id"] in live else None

    return seq, body, CardList(len(head), len(head) + len(inside), order, ("board_id", "number"),
                               seq_in_head=True)
