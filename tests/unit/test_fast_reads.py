"""The fast reads' pieces that mirror others: constants, UUIDs, option parsing, freshness."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys

import pytest
from taskly.fast import cards, context
from taskly.fast.context import Defer, parse
from taskly.store.reads import normal_uuid
from taskly.store.schema import DDL, SCHEMA_VERSION
from taskly_shared.models import Priority


def test_constants_follow_their_sources() -> None:
    assert str(SCHEMA_VERSION) == context.SCHEMA_VERSION
    assert tuple(p.value for p in Priority) == cards.PRIORITIES


@pytest.mark.parametrize("value", ["3f2a9c1b-0000-4000-8000-00000000abcd", "3F2A9C1B00004000800000000000ABCD",
                                   "3f2a9c1b-00004000-8000-00000000abcd", "3f2a9c1b", "", "WEB-12",
                                   "3f2a9c1b-0000-4000-8000-00000000abcdx", "3f2a9c1b--0000-4000-8000-00000000abcd",
                                   "g f2a9c1b-0000-4000-8000-00000000abcd"])
def test_uuids_as_the_store_reads_them(value: str) -> None:
    assert cards.normal_uuid(value) == normal_uuid(value)


def test_options_as_click_reads_them_or_defer() -> None:
    parsed = parse(["--offline", "-c", "Todo", "--label=bug", "-l", "ui", "--json", "--board", "WEB", "x"],
                   {}, {"-c": "column", "--column": "column"}, {"-l": "label", "--label": "label"}, positionals=1)
    assert (parsed["offline"], parsed["json"], parsed["column"], parsed["label"], parsed["board"], parsed["args"]) \
        == (True, True, "Todo", ["bug", "ui"], "WEB", ["x"])
    for args in (["--bogus"], ["-cTodo"], ["-c"], ["-c", "-x"], ["--column="], ["extra"], ["-qv"]):
        with pytest.raises(Defer):
            parse(args, {}, {"-c": "column", "--column": "column"}, {})


def test_fresh_enough_by_time_and_by_a_live_listener(tmp_path) -> None:
    conn = sqlite3.connect(tmp_path / "cache.sqlite3")
    conn.executescript(DDL)
    conn.execute("INSERT INTO cursors VALUES ('ws', 1, '2026-12-07T10:00:00+00:00')")
    at = context._epoch("2026-12-07T10:00:00+00:00")
    assert context.fresh_enough(conn, "ws", {}, now=at + 1.5)
    assert not context.fresh_enough(conn, "ws", {}, now=at + 2.5)
    assert context.fresh_enough(conn, "ws", {"TASKLY_FRESH_SECONDS": "10"}, now=at + 9)
    assert not context.fresh_enough(conn, "ws", {"TASKLY_FRESH_SECONDS": "0"}, now=at)
    assert not context.fresh_enough(conn, "other", {}, now=at)
    conn.execute("INSERT INTO meta VALUES ('live', ?)", (f"{os.getpid()} {at} ws,ws2",))
    assert context.fresh_enough(conn, "ws", {"TASKLY_FRESH_SECONDS": "0"}, now=at + 3600)
    assert not context.fresh_enough(conn, "ws3", {}, now=at + 3600)
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    conn.execute("UPDATE meta SET value = ? WHERE key = 'live'", (f"{gone.stdout.strip()} {at} ws",))
    assert not context.fresh_enough(conn, "ws", {}, now=at + 3600)  # that listener has ended
    conn.execute("INSERT INTO outbox (mutation_id, workspace_id, operation, entity_type, entity_id, method, path,"
                 " created_at, updated_at) VALUES ('m', 'ws', 'create', 'card', 'c', 'POST', '/x', '', '')")
    assert context.queued(conn)


def test_the_delta_requests_answer_read_plain_chunked_or_not_at_all() -> None:
    from taskly.fast.delta import _response

    body = b'{"changes": [], "next_since": 4, "has_more": false, "seq": 4}'
    plain = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body)
    assert _response(plain) == (200, body)
    chunked = (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + b"%x\r\n%s\r\n" % (10, body[:10])
               + b"%x;x=y\r\n%s\r\n0\r\n\r\n" % (len(body) - 10, body[10:]))
    assert _response(chunked) == (200, body)
    assert _response(b"HTTP/1.1 401 Unauthorized\r\ncontent-length: 0\r\n\r\n") == (401, b"")
    for broken in (plain[:-3], b"garbage", b"HTTP/1.1 200 OK\r\ncontent-encoding: gzip\r\n\r\nxx",
                   b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n"):
        assert _response(broken) is None
