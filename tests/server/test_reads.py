"""The reads Postgres renders (GET card, board cards, board, snapshot, changes) against the pydantic path
they replaced, plus their ETags (304) and gzip, on a real server process and Postgres.

The reference documents are built in the test from the ORM rows through the cards domain's
`CardRenderer` and the feed's `FeedService` (the per-row pydantic path the endpoints used before),
on the same database, and compared with the HTTP answers as JSON (key order aside).
"""

from __future__ import annotations

import gzip
import json
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
from psycopg.types.json import Jsonb
from pydantic import TypeAdapter
from sqlalchemy import select
from taskly_server.db.models import BoardColumn, Card
from taskly_server.db.session import create_engine, create_sessionmaker
from taskly_server.domain.boards.services import BoardService
from taskly_server.domain.cards.views import CardRenderer
from taskly_server.domain.feed.services import FeedService
from taskly_server.lib.principal import Principal
from taskly_shared.models import BoardDetail, CardOut, ChangesPage, Snapshot

from tests.server.test_cards import add, setup_board
from tests.support.api import Api
from tests.support.checks import join, problem, sql
from tests.support.processes import start_server


async def _pydantic(database_url: str, call) -> Any:
    """`call(session)`'s answer dumped as the pydantic path dumped it (mode="json")."""
    engine = create_engine(database_url, pool_size=1)
    try:
        async with create_sessionmaker(engine)() as db:
            out = await call(db)
            if isinstance(out, list):
                return [o.model_dump(mode="json") for o in out]
            return out.model_dump(mode="json")
    finally:
        await engine.dispose()


def _link_pull_request(database_url: str, workspace_id: str, card_id: str) -> None:
    """A linked pull request with checks of its head commit, stored as the webhook path stores them."""
    repository_id, pull_id = uuid.uuid4(), uuid.uuid4()
    sql(database_url, "insert into repositories (id, workspace_id, owner, name, default_branch, active, "
        "version, created_at, updated_at) values (%s, %s, 'acme', %s, 'main', true, 1, now(), now())",
        repository_id, workspace_id, f"web-{repository_id.hex[:6]}")
    checks = {"sha": "abc123", "checks": [
        {"name": "build", "kind": "check_run", "state": "success", "url": "https://ci/1",
         "at": datetime(2026, 11, 1, 8, 0, 0, 250000, tzinfo=UTC).isoformat()},
        {"name": "ci/lint", "kind": "status", "state": "pending", "url": None, "at": None}]}
    sql(database_url, "insert into pull_requests (id, repository_id, number, title, state, head_branch, "
        "base_branch, url, author, ci_status, checks, approvals, changes_requested, reviews, head_sha, "
        "commit_count, github_updated_at, merged_at, version, created_at, updated_at) values (%s, %s, 7, "
        "'Fix \"it\" ✓', 'merged', 'web-1-fix', 'main', 'https://github.com/acme/web/pull/7', 'octocat', "
        "'pending', %s, 2, 1, '{}', 'abc123', 3, '2026-11-01T08:00:00.5Z', '2026-11-02T09:00:00Z', 1, "
        "now(), now())", pull_id, repository_id, Jsonb(checks))
    sql(database_url, "insert into card_pull_requests (card_id, pull_request_id) values (%s, %s)",
        card_id, pull_id)


def _full_board(make_api, database_url: str):
    """(alice, workspace, board, {name: card}) with a card that has every field set."""
    alice, bob = make_api(), make_api()
    workspace, board = setup_board(alice, "RD")
    join(alice, bob, workspace["id"])
    sprint = alice.ok("POST", f"/boards/{board['id']}/sprints",
                      json={"name": "Sprint 1", "start_date": "2026-12-01", "end_date": "2026-12-14"})
    full = add(alice, board, "Every field \"quoted\" — ünïcode \\ backslash", column="In Progress",
               description="**md**\nline two", labels=["ui", "bug"], priority="high", points=5,
               due="2030-01-31", remind_at="2030-01-30T09:00:00.123456Z", recurrence="weekly",
               recurrence_interval=2, assignees=[bob.username, alice.username], sprint_id=sprint["id"])
    alice.ok("PATCH", f"/cards/{full['id']}", json={"branch": "rd-1-every-field"})
    _link_pull_request(database_url, workspace["id"], full["id"])
    plain = add(alice, board, "Plain")
    gone = add(alice, board, "Deleted", column="Done")
    alice.ok("DELETE", f"/cards/{gone['id']}")
    return alice, workspace, board, {"full": full, "plain": plain, "gone": gone}


async def test_reads_are_the_pydantic_documents(make_api, database_url):
    alice, workspace, board, cards = _full_board(make_api, database_url)
    user_id = uuid.UUID(alice.user["id"])

    async def rendered(db):
        rows = (await db.scalars(select(Card).where(Card.board_id == uuid.UUID(board["id"]))
                                 .join(BoardColumn, BoardColumn.id == Card.column_id)
                                 .order_by(BoardColumn.rank, Card.rank, Card.id))).all()
        return await CardRenderer(db).many(rows)

    expected = await _pydantic(database_url, rendered)
    by_id = {card["id"]: card for card in expected}
    full = by_id[cards["full"]["id"]]
    # The reference really has every field set, the pull request and its checks too.
    assert full["branch"] == "rd-1-every-field" and full["sprint_id"] and full["due"] == "2030-01-31"
    assert full["remind_at"] == "2030-01-30T09:00:00.123456Z" and full["recurrence"] == "weekly"
    assert len(full["assignees"]) == 2 and full["labels"] == ["ui", "bug"] and full["points"] == 5
    [pull] = full["pull_requests"]
    assert pull["merged_at"] == "2026-11-02T09:00:00Z" and [c["name"] for c in pull["checks"]] == [
        "build", "ci/lint"]
    assert by_id[cards["gone"]["id"]]["deleted_at"] is not None

    for card in expected:
        assert alice.ok("GET", f"/cards/{card['id']}") == card
        assert alice.ok("GET", f"/cards/{card['key'].lower()}") == card
    assert alice.ok("GET", f"/boards/{board['id']}/cards", params={"include_deleted": "true"}) == expected
    assert alice.ok("GET", f"/boards/{board['id']}/cards") == [
        c for c in expected if c["deleted_at"] is None]

    detail = await _pydantic(database_url, lambda db: BoardService(db).get(
        Principal(user_id, alice.username), uuid.UUID(board["id"])))
    assert len(detail["cards"]) == 2 and detail["columns"]
    assert alice.ok("GET", f"/boards/{board['id']}") == detail

    snapshot = await _pydantic(
        database_url, lambda db: FeedService(db).snapshot(user_id, uuid.UUID(workspace["id"])))
    assert snapshot["sprints"] and len(snapshot["cards"]) == 3 and len(snapshot["members"]) == 2
    assert alice.ok("GET", f"/workspaces/{workspace['id']}/snapshot") == snapshot

    seq = snapshot["seq"]
    for since, limit in ((0, 100), (0, 3), (2, 4), (seq - 1, 10), (seq, 10), (seq + 5, 10)):
        page = await _pydantic(database_url, lambda db, s=since, n=limit: FeedService(db).changes(
            user_id, uuid.UUID(workspace["id"]), s, n))
        got = alice.ok("GET", f"/workspaces/{workspace['id']}/changes",
                       params={"since": since, "limit": limit})
        assert got == page, (since, limit)
    assert page["changes"] == [] and page["next_since"] == seq + 5 and not page["has_more"]

    # The bytes as sent are what the wire models validate and dump again, key for key: the card with
    # every field set, the board, its cards, the snapshot and a page of the feed.
    for path, model in ((f"/cards/{cards['full']['id']}", CardOut),
                        (f"/boards/{board['id']}/cards?include_deleted=true", TypeAdapter(list[CardOut])),
                        (f"/boards/{board['id']}", BoardDetail),
                        (f"/workspaces/{workspace['id']}/snapshot", Snapshot),
                        (f"/workspaces/{workspace['id']}/changes?since=0&limit=100", ChangesPage)):
        raw = alice.get(path).content
        validated = (model.validate_json(raw) if isinstance(model, TypeAdapter)
                     else model.model_validate_json(raw))
        dumped = (model.dump_python(validated, mode="json") if isinstance(model, TypeAdapter)
                  else validated.model_dump(mode="json"))
        assert dumped == json.loads(raw), path


async def test_changes_pages_from_the_window_the_server_holds_are_the_feeds(make_api, database_url):
    """A page reads only what the process's window of the feed lacks (domain/feed/reads.py
    `HeldFeed`): pages ahead of, behind, across and inside the window, between writes, are each
    the page the pydantic path reads; a non-member still gets 404."""
    alice, carol = make_api(), make_api()
    workspace, board = setup_board(alice, "HF")
    user_id, workspace_id = uuid.UUID(alice.user["id"]), uuid.UUID(workspace["id"])
    for n in range(12):
        add(alice, board, f"Card {n}")
    reads = [(20, 5), (18, 10), (2, 5), (0, 100), (25, 3), (24, 50), (5, 8), (40, 10)]
    for n, (since, limit) in enumerate(reads):
        if n % 3 == 2:
            alice.ok("PATCH", f"/cards/HF-{n}", json={"points": n})
        page = await _pydantic(database_url, lambda db, s=since, k=limit: FeedService(db).changes(
            user_id, workspace_id, s, k))
        got = alice.ok("GET", f"/workspaces/{workspace_id}/changes", params={"since": since, "limit": limit})
        assert got == page, (since, limit)
        problem(carol.get(f"/workspaces/{workspace_id}/changes", params={"since": since}), 404)
    assert [c["seq"] for c in alice.ok("GET", f"/workspaces/{workspace_id}/changes")["changes"]] == list(
        range(1, page["seq"] + 1))


async def test_held_documents_brought_forward_by_card_changes_are_the_rendered_ones(
        make_api, database_url):
    """A held board, board's cards or snapshot is brought forward by the card changes after it
    (lib/rendered.py `Rendered.patch`) or rendered again when it cannot be (a card created, a
    column renamed): after each write, every document is the one the pydantic path reads."""
    alice = make_api()
    workspace, board = setup_board(alice, "BF")
    user_id, workspace_id, board_id = (uuid.UUID(alice.user["id"]), uuid.UUID(workspace["id"]),
                                       uuid.UUID(board["id"]))
    cards = [add(alice, board, f"Card {n}", column=("Todo", "Done")[n % 2]) for n in range(4)]

    async def board_cards(db, include_deleted):
        query = (select(Card).where(Card.board_id == board_id)
                 .join(BoardColumn, BoardColumn.id == Card.column_id)
                 .order_by(BoardColumn.rank, Card.rank, Card.id))
        if not include_deleted:
            query = query.where(Card.deleted_at.is_(None))
        return await CardRenderer(db).many((await db.scalars(query)).all())

    async def check(step: str) -> None:
        for include_deleted in (False, True):
            expected = await _pydantic(database_url, lambda db, d=include_deleted: board_cards(db, d))
            got = alice.ok("GET", f"/boards/{board_id}/cards", params={"include_deleted": include_deleted})
            assert got == expected, (step, include_deleted)
        detail = await _pydantic(database_url, lambda db: BoardService(db).get(
            Principal(user_id, alice.username), board_id))
        assert alice.ok("GET", f"/boards/{board_id}") == detail, step
        snapshot = await _pydantic(database_url, lambda db: FeedService(db).snapshot(user_id, workspace_id))
        assert alice.ok("GET", f"/workspaces/{workspace_id}/snapshot") == snapshot, step

    await check("rendered")
    first, second, third, fourth = (card["id"] for card in cards)
    steps = [
        ("PATCH", f"/cards/{first}", {"title": 'Comma, "quoted", "rank" : "0" ✓',
                                     "description": "line one\nline two"}),
        ("POST", f"/cards/{second}/move", {"column": "Todo", "position": "top"}),
        ("PATCH", f"/cards/{third}", {"points": 8, "labels": []}),
        ("DELETE", f"/cards/{fourth}", None),
        ("POST", f"/cards/{first}/comments", {"body": "a comment"}),
        ("POST", f"/cards/{fourth}/restore", None),
        ("POST", "/cards/bulk-update", {"cards": [{"card": first, "priority": "high"},
                                          {"card": third, "priority": "low"}]}),
        ("POST", f"/boards/{board_id}/cards", {"title": "Created: rendered again"}),
        ("PATCH", f"/columns/{cards[0]['column_id']}", {"name": "To do"}),
        ("POST", f"/cards/{third}/move", {"column": "To do", "position": "bottom"}),
    ]
    for method, path, body in steps:
        alice.ok(method, path, json=body) if body is not None else alice.ok(method, path)
        await check(f"{method} {path}")


async def test_a_snapshot_rendered_in_two_halves_at_once_is_the_whole(server_env, tmp_path,
                                                                     database_url):
    """Past TASKLY_SNAPSHOT_SPLIT_AT cards two Postgres processes render the snapshot's cards, the
    second in a transaction importing the first's snapshot: the document is the pydantic path's,
    sprints and deleted cards included, and a held one is still brought forward."""
    server = start_server({**server_env, "TASKLY_SNAPSHOT_SPLIT_AT": "2"}, tmp_path)
    try:
        alice = Api.login(server.url)
        workspace, board = setup_board(alice, "SP")
        user_id, workspace_id = uuid.UUID(alice.user["id"]), uuid.UUID(workspace["id"])
        cards = [add(alice, board, f"Card {n}", column=("Todo", "Done")[n % 2]) for n in range(5)]
        alice.ok("DELETE", f"/cards/{cards[1]['id']}")
        other = alice.ok("POST", f"/workspaces/{workspace_id}/boards", json={"name": "Ops", "key": "OP"})
        add(alice, other, "On another board")

        async def expected():
            return await _pydantic(database_url, lambda db: FeedService(db).snapshot(user_id, workspace_id))

        assert alice.ok("GET", f"/workspaces/{workspace_id}/snapshot") == await expected()
        alice.ok("PATCH", f"/cards/{cards[2]['id']}", json={"title": "Brought forward"})
        assert alice.ok("GET", f"/workspaces/{workspace_id}/snapshot") == await expected()
        alice.ok("POST", f"/boards/{board['id']}/sprints",
                 json={"name": "Sprint 1", "start_date": "2026-12-01", "end_date": "2026-12-14"})
        snapshot = alice.ok("GET", f"/workspaces/{workspace_id}/snapshot")
        assert snapshot == await expected() and snapshot["sprints"] and len(snapshot["cards"]) == 6
    finally:
        server.stop()


def test_read_errors_stay_problems(make_api):
    alice, stranger = make_api(), make_api()
    workspace, board = setup_board(alice, "ER")
    card = add(alice, board, "Mine")
    for path in (f"/cards/{card['id']}", "/cards/ER-1", f"/boards/{board['id']}/cards",
                 f"/workspaces/{workspace['id']}/snapshot", f"/workspaces/{workspace['id']}/changes"):
        problem(stranger.get(path), 404, "not_found")
    problem(alice.get("/cards/ER-99"), 404, "not_found")
    problem(alice.get(f"/cards/ER-{2**40}"), 404, "not_found")
    problem(alice.get(f"/boards/{uuid.uuid4()}/cards"), 404, "not_found")
    problem(alice.get(f"/workspaces/{uuid.uuid4()}/changes"), 404, "not_found")
    problem(alice.get(f"/workspaces/{workspace['id']}/changes", params={"limit": 0}), 400)


def test_etags_answer_304_until_the_document_changes(make_api):
    alice, bob = make_api(), make_api()
    workspace, board = setup_board(alice, "ET")
    join(alice, bob, workspace["id"], role="viewer")
    card = add(alice, board, "Tagged")
    second = add(alice, board, "Other")
    paths = [f"/cards/{card['id']}", f"/cards/{card['key']}", f"/boards/{board['id']}/cards",
             f"/boards/{board['id']}", f"/workspaces/{workspace['id']}/snapshot"]
    tags = {}
    for path in paths:
        first = alice.get(path)
        tag = first.headers["etag"]
        assert first.status_code == 200 and tag.startswith('W/"')
        tags[path] = tag
        again = alice.get(path, headers={"If-None-Match": tag})
        assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == tag
        # Weak comparison, lists and "*"; another tag gets the document.
        strong = tag.removeprefix("W/")
        assert alice.get(path, headers={"If-None-Match": f'"x", {strong}'}).status_code == 304
        assert alice.get(path, headers={"If-None-Match": "*"}).status_code == 304
        other = alice.get(path, headers={"If-None-Match": 'W/"not-it"'})
        assert other.status_code == 200 and other.json() == first.json()
        # Another member sees the same cards, so the same tag; the snapshot tells each their role.
        seen = bob.get(path, headers={"If-None-Match": tag}).status_code
        assert seen == (200 if path.endswith("/snapshot") else 304)
    assert tags[paths[0]] == tags[paths[1]]
    # A tag is a document's: at the same seq, another card's or the board with deleted cards is sent.
    another = alice.get(f"/cards/{second['key']}", headers={"If-None-Match": tags[paths[0]]})
    assert another.status_code == 200 and another.json()["title"] == "Other"
    with_deleted = alice.get(paths[2], params={"include_deleted": "true"},
                             headers={"If-None-Match": tags[paths[2]]})
    assert with_deleted.status_code == 200 and len(with_deleted.json()) == 2

    alice.ok("PATCH", f"/cards/{card['id']}", json={"title": "Tagged again"})
    for path in paths:
        changed = alice.get(path, headers={"If-None-Match": tags[path]})
        assert changed.status_code == 200 and changed.headers["etag"] != tags[path]
        assert "Tagged again" in changed.text
    # A write's If-Match still takes the card version, not a read's ETag.
    problem(alice.patch(f"/cards/{card['id']}", json={"title": "x"},
                        headers={"If-Match": tags[paths[0]]}), 422, "validation_error")


def test_gzip_when_accepted_and_over_1_kb(api, server):
    _, board = setup_board(api, "GZ")
    card = add(api, board, "Small")
    for i in range(20):
        add(api, board, f"Card {i}", description="words " * 20)
    path = f"{server.url}/api/v1/boards/{board['id']}/cards"
    auth = {"Authorization": f"Bearer {api.token}"}
    with httpx.Client(timeout=30) as http:
        plain = http.get(path, headers={**auth, "Accept-Encoding": "identity"})
        assert plain.status_code == 200 and "content-encoding" not in plain.headers
        assert len(plain.content) > 1024
        with http.stream("GET", path, headers={**auth, "Accept-Encoding": "gzip"}) as zipped:
            raw = b"".join(zipped.iter_raw())
        assert zipped.headers["content-encoding"] == "gzip"
        assert len(raw) < len(plain.content) / 3
        assert gzip.decompress(raw) == plain.content
        assert zipped.headers["etag"] == plain.headers["etag"]
        # Under 1 KB: sent as it is, even to a client that accepts gzip.
        small = http.get(f"{server.url}/api/v1/cards/{card['id']}",
                         headers={**auth, "Accept-Encoding": "gzip"})
        assert len(small.content) < 1024 and "content-encoding" not in small.headers


def test_documents_the_server_holds_go_only_to_members_and_only_at_their_seq(make_api):
    """Each process keeps the documents it rendered (lib/rendered.py `Rendered`): two workspaces at
    the same seq with a card of the same key each still get their own card, a non-member still
    gets 404 for a document held for another, and a write is seen at once."""
    alice, carol = make_api(), make_api()
    mine, theirs = {}, {}
    for api, found in ((alice, mine), (carol, theirs)):
        workspace, board = setup_board(api, "HX")
        found.update(workspace=workspace, board=board, card=add(api, board, f"Card of {api.username}"))
    card_tag = {}
    for api, found in ((alice, mine), (carol, theirs), (alice, mine)):
        response = api.get("/cards/HX-1")
        assert response.status_code == 200 and response.json()["id"] == found["card"]["id"]
        card_tag[api.username] = response.headers["etag"]
    assert card_tag[alice.username].split(".")[0] == card_tag[carol.username].split(".")[0]  # same seq
    for path in (f"/cards/{mine['card']['id']}", f"/boards/{mine['board']['id']}/cards",
                 f"/boards/{mine['board']['id']}", f"/workspaces/{mine['workspace']['id']}/snapshot"):
        assert alice.get(path).status_code == 200  # held now
        problem(carol.get(path), 404)
    alice.ok("PATCH", f"/cards/{mine['card']['id']}", json={"title": "Renamed"})
    assert alice.ok("GET", "/cards/HX-1")["title"] == "Renamed"
    assert carol.ok("GET", "/cards/HX-1")["title"] == f"Card of {carol.username}"
