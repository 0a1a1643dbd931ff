"""Responses whose JSON Postgres rendered: the bytes go out as they came, with an ETag; and the
one-statement reads that fetch them.

The ETag is weak and cheap: `W/"<seq>.<key>"`, the workspace's feed seq when the document was
read and a short hash of what the document is (a card's id, a board's, the snapshot's caller and
hour). Every change to a document goes through the change feed, so the same seq means the same
document; a read whose If-None-Match names the tag at the current seq gets 304 without the
document being rendered at all (the statements render only when the seq differs: `known_seq`).
The seq is read in the same statement as the document (or before it), so a tag never claims a
newer seq than its document. `RENDERING` changes the key when a new server renders differently.

The same reasoning lets each process keep what it rendered last (`Rendered`): per document key,
the seq and the bytes. A read hands the statement the seq it holds, the statement skips rendering
when the workspace is still there, and the held bytes go out: a board or a snapshot read by many
clients between two writes is rendered once.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from importlib.metadata import version

import asyncpg
from litestar import Request, Response
from litestar.enums import MediaType
from litestar.status_codes import HTTP_200_OK, HTTP_304_NOT_MODIFIED
from sqlalchemy.ext.asyncio import AsyncEngine

from ..db.session import driver_pool

RENDERING = f"taskly-server {version('taskly-server')}, wire form 1"
"""Part of every ETag key: a server that renders the documents differently changes it."""
NO_SEQ = -1
"""`known_seq` when the client has no usable tag: the statements then always render."""


def etag_key(*identity: object) -> str:
    """The key part of a tag: a short hash of what the document is."""
    text = "|".join(map(str, (RENDERING, *identity)))
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


def seq_etag(seq: int, key: str) -> str:
    return f'W/"{seq}.{key}"'


class IfNoneMatch:
    """The tags of a request's If-None-Match header (weak comparison, RFC 9110 13.1.2)."""

    def __init__(self, request: Request) -> None:
        header = request.headers.get("if-none-match") or ""
        self.any = header.strip() == "*"
        self.seqs: dict[str, int] = {}
        """Our tags' keys → seq, as the client sent them."""
        for tag in header.split(","):
            seq, _, key = tag.strip().removeprefix("W/").strip('"').partition(".")
            if seq.isdigit() and key and key not in self.seqs:
                self.seqs[key] = int(seq)

    def known_seq(self, key: str | None = None) -> int:
        """The seq the client has the document `key` at (any of our tags' when `key` is not known
        before the read): the statement skips rendering a document at that seq."""
        if key is not None:
            return self.seqs.get(key, NO_SEQ)
        return next(iter(self.seqs.values()), NO_SEQ)

    def matches(self, seq: int, key: str) -> bool:
        return self.any or self.seqs.get(key) == seq


class Rendered:
    """The documents this process rendered most recently: key → (seq, bytes), the least recently
    used dropped first past `max_bytes`. A document at a seq never changes, so a held one is good
    for as long as its workspace's seq stays the same; nothing needs invalidating."""

    ALIASES = 10_000
    """Card references remembered (`alias`), then forgotten all at once."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._docs: OrderedDict[str, tuple[int, bytes]] = OrderedDict()
        self._size = 0
        self._aliases: dict[str, str] = {}

    def known_seq(self, key: str | None, client_seq: int = NO_SEQ) -> int:
        """The seq to hand the statement: the held document's, else the client's tag's."""
        held = self._docs.get(key) if key is not None else None
        return held[0] if held is not None else client_seq

    def body(self, key: str, seq: int, rendered: bytes | None) -> bytes | None:
        """The document at `seq`: `rendered` (then held), or the held bytes when the statement did
        not render because they are of that seq; None when neither (the client's tag matched)."""
        if rendered is not None:
            self._hold(key, seq, rendered)
            return rendered
        held = self._docs.get(key)
        if held is None or held[0] != seq:
            return None
        self._docs.move_to_end(key)
        return held[1]

    def _hold(self, key: str, seq: int, body: bytes) -> None:
        if len(body) > self.max_bytes // 4:
            return
        previous = self._docs.pop(key, None)
        if previous is not None:
            self._size -= len(previous[1])
        self._docs[key] = (seq, body)
        self._size += len(body)
        while self._size > self.max_bytes:
            _, (_, dropped) = self._docs.popitem(last=False)
            self._size -= len(dropped)

    def alias(self, reference: str, key: str | None = None) -> str | None:
        """The document key a reference (a card's key, as the client wrote it) was last found at;
        with `key`, remember it."""
        if key is None:
            return self._aliases.get(reference)
        if len(self._aliases) >= self.ALIASES:
            self._aliases.clear()
        self._aliases[reference] = key
        return key


# The workspace's seq, when the caller is a member: of the workspace ($1) or of the board's ($1).
WORKSPACE_SEQ = """
SELECT w.seq FROM workspaces w JOIN members m ON m.workspace_id = w.id AND m.user_id = $2
 WHERE w.id = $1 AND w.deleted_at IS NULL
"""
BOARD_SEQ = """
SELECT w.seq
  FROM boards b
  JOIN workspaces w ON w.id = b.workspace_id AND w.deleted_at IS NULL
  JOIN members m ON m.workspace_id = w.id AND m.user_id = $2
 WHERE b.id = $1 AND b.deleted_at IS NULL
"""


async def held_response(request: Request, engine: AsyncEngine, rendered: Rendered, key: str,
                        conditions: IfNoneMatch, seq_query: str, *args: object) -> Response | None:
    """The answer without rendering or a transaction when the workspace's seq (`seq_query`, which
    also checks membership) is the held document's or the client's tag's; None otherwise (not
    found, not a member, or a seq nobody holds: the caller's checked path answers)."""
    rows = await fetch(engine, seq_query, *args)
    if not rows:
        return None
    [(seq,)] = rows
    body = rendered.body(key, seq, None)
    if body is None and not conditions.matches(seq, key):
        return None
    return tagged_json(request, body, seq, key, conditions)


def tagged_json(request: Request, body: bytes | None, seq: int, key: str,
                conditions: IfNoneMatch | None = None) -> Response:
    """`body` (JSON bytes) tagged `seq`.`key`; 304 with no body when the client has it (`body` may
    then be None: the statement did not render it)."""
    conditions = conditions or IfNoneMatch(request)
    headers = {"ETag": seq_etag(seq, key)}
    if conditions.matches(seq, key):
        return Response(content=b"", status_code=HTTP_304_NOT_MODIFIED, headers=headers)
    if body is None:
        raise ValueError("a document not rendered for a tag that does not match")
    return Response(content=body, media_type=MediaType.JSON, status_code=HTTP_200_OK, headers=headers)


def rendered_json(body: bytes, status_code: int = HTTP_200_OK) -> Response:
    """`body` (JSON bytes) as the answer, untagged (a changes page: its `since` is its version)."""
    return Response(content=body, media_type=MediaType.JSON, status_code=status_code)


async def fetch(engine: AsyncEngine, query: str, *args: object) -> list[asyncpg.Record]:
    """The rows of one statement (asyncpg's `$1` parameters), straight on the driver: on the
    driver's pool beside the engine (db/session.py `DriverPool`), else on a connection of the
    engine's own. No session or transaction object per request, and asyncpg keeps the prepared
    statement per connection. Its errors are the driver's (errors.py answers 503 for a database
    that fails)."""
    pool = driver_pool(engine)
    if pool is not None:
        return await pool.fetch(query, *args)
    async with engine.connect() as connection:
        raw = await connection.get_raw_connection()
        return await raw.driver_connection.fetch(query, *args)
