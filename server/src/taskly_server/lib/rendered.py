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
clients between two writes is rendered once. And since every change is in the feed with the
entity's wire form, a held document made of cards (`CardList`) is brought forward by the card
changes after it (`Rendered.patch`, through `held_response`) instead of being rendered again.
"""

from __future__ import annotations

import asyncio
import bisect
import hashlib
import json
import re
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from importlib.metadata import version
from operator import itemgetter
from typing import Any

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


CardOrder = Callable[[Mapping[str, Any]], "tuple[Any, ...] | None"]
"""A card's place in a document, from its fields (None: the card is not in the document)."""


@dataclass(slots=True)
class CardList:
    """Where a held document's cards are and how they are ordered, so that the changes that
    followed it can be applied without rendering it again (`Rendered.patch`). `body[start:end]` is
    the inside of its cards array as taskly_cards_json writes it: one card per line, each starting
    with its id. `order` places a card by its `fields` (read off a rendered card by their keys, or
    taken from a change's data)."""

    start: int
    end: int
    order: CardOrder
    fields: tuple[str, ...]
    seq_in_head: bool = False
    """The document before the cards says its seq (`"seq" : N`, as Postgres' json writes it)."""
    entries: list[tuple[Any, str, bytes]] | None = None
    """(place, id, card) in order, made from the body on the first patch."""

    def split(self, body: bytes) -> list[tuple[Any, str, bytes]] | None:
        inside = body[self.start:self.end]
        entries = []
        for card in inside.split(b",\n") if inside else ():
            fields = {name: _field(card, name) for name in self.fields}
            fields["id"] = card_id = card[_ID].decode()
            place = self.order(fields)
            if place is None:
                return None
            entries.append((place, card_id, card))
        return entries


_ID = slice(9, 45)
"""The id in a card as taskly_cards_json writes it: `{"id" : "<36 characters>", ...`."""
_FIELD_VALUE = rb'(?:"([^"\\]*)"|(-?\d+)|null)'


def _field(card: bytes, name: str) -> Any:
    """A top-level field of a card rendered by Postgres: a key is always `, "name" : ` there, which
    no string can hold (quotes in strings are escaped)."""
    found = re.search(b', "%s" : %s' % (name.encode(), _FIELD_VALUE), card)
    if found is None:
        return None
    text, number = found.groups()
    return text.decode() if text is not None else int(number) if number is not None else None


@dataclass(slots=True)
class Held:
    seq: int
    body: bytes
    cards: CardList | None = None


class Rendered:
    """The documents this process rendered most recently: key → the seq and the bytes, the least
    recently used dropped first past `max_bytes`. A document at a seq never changes, so a held one
    is good for as long as its workspace's seq stays the same; nothing needs invalidating. One whose
    cards are a `CardList` is brought forward by the card changes that followed it (`patch`)."""

    ALIASES = 10_000
    """Card references remembered (`alias`), then forgotten all at once."""
    PATCH_MAX = 500
    """Changes at most that a held document is brought forward by; further behind, rendered.
    Parsing 500 changes costs about what rendering a board of 500 cards does (and far less than
    a big snapshot); under a load of writes a board's readers can fall more than 100 behind."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._docs: OrderedDict[str, Held] = OrderedDict()
        self._size = 0
        self._aliases: dict[str, str] = {}
        self._forwarding: dict[str, asyncio.Future[None]] = {}
        """Per key, the bringing forward under way (`forward`)."""

    def known_seq(self, key: str | None, client_seq: int = NO_SEQ) -> int:
        """The seq to hand the statement: the held document's, else the client's tag's."""
        held = self._docs.get(key) if key is not None else None
        return held.seq if held is not None else client_seq

    def held(self, key: str) -> Held | None:
        return self._docs.get(key)

    def body(self, key: str, seq: int, rendered: bytes | None,
             cards: CardList | None = None) -> bytes | None:
        """The document at `seq`: `rendered` (then held, with where its cards are), or the held
        bytes when the statement did not render because they are of that seq; None when neither
        (the client's tag matched)."""
        if rendered is not None:
            self._hold(key, Held(seq, rendered, cards))
            return rendered
        held = self._docs.get(key)
        if held is None or held.seq != seq:
            return None
        self._docs.move_to_end(key)
        return held.body

    def patchable(self, held: Held, seq: int) -> bool:
        return held.cards is not None and held.seq < seq <= held.seq + self.PATCH_MAX

    async def forward(self, key: str, seq: int,
                      read: Callable[[int], Awaitable[Sequence[Mapping[str, Any]] | None]]) -> Held | None:
        """The document `key` at `seq` or later: as held, or the held one brought forward by the
        changes `read(since)` gives (`patch`). One request at a time brings a document forward;
        the others that need it meanwhile wait and take what it made (the changes are read and
        parsed once, not once per request). None when nothing held can be brought there."""
        while True:
            held = self._docs.get(key)
            if held is not None and held.seq >= seq:
                self._docs.move_to_end(key)
                return held
            if held is None or not self.patchable(held, seq):
                return None
            running = self._forwarding.get(key)
            if running is None:
                break
            await asyncio.shield(running)
        done = self._forwarding[key] = asyncio.get_running_loop().create_future()
        try:
            found = await read(held.seq)
            body = None if found is None else self.patch(key, held.seq, seq, found)
        finally:
            del self._forwarding[key]
            done.set_result(None)
        return None if body is None else Held(seq, body)

    def patch(self, key: str, since: int, seq: int,
              changes: Sequence[Mapping[str, Any]]) -> bytes | None:
        """The document `key` held at `since` brought forward to `seq` by `changes`, the
        workspace's changes in (since, seq], parsed (each with its `seq`). Another request may have
        brought it forward meanwhile: from a seq in between, by the changes after it; held at
        `seq` already, as it is. None (nothing held changes) when it is held at another seq by
        now or the changes are not all card changes it can apply: a card created (its board's
        `next_card_number` moved), or anything but a card or a comment."""
        held = self._docs.get(key)
        if held is None or not since <= held.seq <= seq or held.cards is None:
            return None
        if held.seq == seq:
            self._docs.move_to_end(key)
            return held.body
        if not self.patchable(held, seq):
            return None
        changed: dict[str, Mapping[str, Any]] = {}
        for change in changes:
            if held.seq > since and change["seq"] <= held.seq:
                continue
            if change["entity_type"] == "comment":
                continue
            if change["entity_type"] != "card" or change["op"] == "create" or not change["data"]:
                return None
            changed[change["entity_id"]] = change["data"]
        cards = held.cards
        try:
            entries = cards.entries if cards.entries is not None else cards.split(held.body)
            if entries is None:
                return None
            entries = [entry for entry in entries if entry[1] not in changed]
            for card_id, data in changed.items():
                place = cards.order(data)
                if place is not None:
                    bisect.insort(entries, (place, card_id, json.dumps(
                        data, ensure_ascii=False, separators=(",", ":")).encode()), key=itemgetter(0))
        except KeyError:  # a card it cannot place
            return None
        head, tail = held.body[:cards.start], held.body[cards.end:]
        if cards.seq_in_head:
            head = head.replace(b'"seq" : %d,' % held.seq, b'"seq" : %d,' % seq)
        inside = b",\n".join(entry[2] for entry in entries)
        body = b"".join((head, inside, tail))
        self._hold(key, Held(seq, body, replace(cards, start=len(head), end=len(head) + len(inside),
                                                 entries=entries)))
        return body

    def _hold(self, key: str, held: Held) -> None:
        size = self._sized(held)
        if size > self.max_bytes // 4:
            return
        previous = self._docs.pop(key, None)
        if previous is not None:
            self._size -= self._sized(previous)
        self._docs[key] = held
        self._size += size
        while self._size > self.max_bytes:
            _, dropped = self._docs.popitem(last=False)
            self._size -= self._sized(dropped)

    @staticmethod
    def _sized(held: Held) -> int:
        """Its bytes: the body, twice once its cards are held apart too."""
        return len(held.body) * (2 if held.cards is not None and held.cards.entries else 1)

    def alias(self, reference: str, key: str | None = None) -> str | None:
        """The document key a reference (a card's key, as the client wrote it) was last found at;
        with `key`, remember it."""
        if key is None:
            return self._aliases.get(reference)
        if len(self._aliases) >= self.ALIASES:
            self._aliases.clear()
        self._aliases[reference] = key
        return key


ChangesAfter = Callable[[uuid.UUID, int, int], Awaitable["list[dict[str, Any]] | None"]]
"""The workspace's changes in (since, until], parsed (None when the feed no longer has them)."""


async def held_response(request: Request, engine: AsyncEngine, rendered: Rendered, key: str,
                        conditions: IfNoneMatch, changes: ChangesAfter, seq_query: str,
                        *args: object) -> Response | None:
    """The answer without rendering or a transaction, when something is held for `key` or the
    client sent a tag: after one statement (`seq_query`: the workspace's seq and id, membership
    checked), the held document at that seq, a 304, or the held one brought forward by the card
    changes since (`Rendered.patch`). None when none of those (not found, not a member, nothing
    held, or changes it cannot apply): the caller renders."""
    held = rendered.held(key)
    if held is None and not conditions.seqs and not conditions.any:
        return None
    rows = await fetch(engine, seq_query, *args)
    if not rows:
        return None
    [(seq, workspace_id)] = rows
    body = rendered.body(key, seq, None)
    if body is None and not conditions.matches(seq, key):
        found = await rendered.forward(key, seq, lambda since: changes(workspace_id, since, seq))
        if found is None:
            return None
        seq, body = found.seq, found.body
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
