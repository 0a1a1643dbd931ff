"""The one move function (db/sql/taskly_move_cards.sql) against the Python it stands in for.

Every change of an existing card's column goes through `taskly_move_cards` (the move endpoint's
batches, CardService's PATCH, bulk update and general move path, taskly_start_cards, pull-request
automation, column deletion). It ranks with a SQL port of fractional-indexing
(db/sql/taskly_rank_*.sql), renders the card with `taskly_card_json` and writes its Change through
`taskly_record_changes`; these tests hold them to the Python originals (fractional_indexing, the
cards domain's `rank_between`, `CardRenderer` behind GET /cards/{id}, `_commit`'s diff and op rule),
check each refusal code, the `stay` position and the diff against a form taken before earlier
edits, and that the endpoint, starts and column deletion really take the one function.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fractional_indexing import generate_key_between, generate_n_keys_between
from psycopg.types.json import Jsonb
from taskly_server.db.session import create_engine
from taskly_server.domain.cards.edits import TRACKED, TRACKED_FIELDS
from taskly_server.domain.cards.placement import REFUSALS, Move, Placed, run_moves
from taskly_server.domain.cards.queries import rank_between

from tests.server.test_cards import add, card_changes, setup_board
from tests.support.api import Api
from tests.support.checks import join, problem, sql
from tests.support.processes import start_server
from tests.support.services import create_database, drop_database


def _keys(count: int, seed: int) -> list[str]:
    """Keys as a board makes them: inserted at the top, the bottom and between neighbours."""
    rng = random.Random(seed)
    keys = [generate_key_between(None, None)]
    for _ in range(count):
        spot = rng.randrange(len(keys) + 1)
        lower = keys[spot - 1] if spot > 0 else None
        upper = keys[spot] if spot < len(keys) else None
        keys.insert(spot, generate_key_between(lower, upper))
    return keys


def test_rank_key_between_matches_fractional_indexing(database_url):
    keys = _keys(400, seed=7) + _keys(60, seed=11)
    # Integer parts that carry, borrow and change length, and the smallest keys.
    keys += ["Zz", "a0", "az", "b00", "bzz", "Yzz", "zzzzzzzzzzzzzzzzzzzzzzzzzzz", "A00000000000000000000000001"]
    keys = sorted(set(keys))
    pairs = [(None, None)] + [(None, k) for k in keys] + [(k, None) for k in keys]
    pairs += list(itertools.pairwise(keys))
    rng = random.Random(3)
    pairs += [tuple(sorted(rng.sample(keys, 2))) for _ in range(500)]
    lowers, uppers = [p[0] for p in pairs], [p[1] for p in pairs]
    got = sql(database_url, "select taskly_rank_key_between(a, b) from unnest(%s::text[], %s::text[]) "
              "with ordinality as t(a, b, n) order by n", lowers, uppers)
    for (lower, upper), (key,) in zip(pairs, got, strict=True):
        assert key == generate_key_between(lower, upper), (lower, upper)


def test_rank_between_keeps_a_rank_that_fits(database_url):
    [(kept, moved, first)] = sql(database_url, "select taskly_rank_between('a0', 'a2', 'a1'), "
                                 "taskly_rank_between('a0', 'a1', 'a5'), taskly_rank_between(null, 'a0', null)")
    assert (kept, moved, first) == ("a1", "a0V", "Zz")
    # Against the Python it ports: bounds either side or none, the current rank inside, on a
    # bound, outside or missing.
    keys = sorted(set(_keys(120, seed=5)))
    rng = random.Random(9)
    triples = []
    for _ in range(600):
        lower, upper = sorted(rng.sample(keys, 2))
        lower, upper = rng.choice([(lower, upper), (None, upper), (lower, None), (None, None)])
        triples.append((lower, upper, rng.choice([None, lower, upper, *rng.sample(keys, 3)])))
    got = sql(database_url, "select taskly_rank_between(l, u, c) from unnest(%s::text[], %s::text[], "
              "%s::text[]) with ordinality as t(l, u, c, n) order by n", *map(list, zip(*triples, strict=True)))
    for (lower, upper, current), (rank,) in zip(triples, got, strict=True):
        assert rank == rank_between(lower, upper, current), (lower, upper, current)


def test_card_json_matches_the_renderer(api, make_api, database_url):
    workspace, board = setup_board(api, "JSN")
    other = make_api()
    join(api, other, workspace["id"])
    card = add(api, board, "Rendered", labels=["ui", "bug"], priority="high", points=5,
               due="2026-12-24", remind_at="2026-12-20T09:30:00Z",
               assignees=[other.username, api.username])
    plain = add(api, board, "Plain")
    deleted = add(api, board, "Deleted")
    api.ok("DELETE", f"/cards/{deleted['id']}")
    # A linked pull request with checks of its head commit, stored as the webhook path stores them.
    repository_id, pull_id = uuid.uuid4(), uuid.uuid4()
    sql(database_url, "insert into repositories (id, workspace_id, owner, name, default_branch, active, "
        "version, created_at, updated_at) values (%s, %s, 'acme', 'web', 'main', true, 1, now(), now())",
        repository_id, workspace["id"])
    checks = {"sha": "abc123", "checks": [
        {"name": "build", "kind": "check_run", "state": "success", "url": "https://ci/1",
         "at": datetime(2026, 11, 1, 8, 0, 0, 250000, tzinfo=UTC).isoformat()},
        {"name": "ci/lint", "kind": "status", "state": "pending", "url": None, "at": None}]}
    sql(database_url, "insert into pull_requests (id, repository_id, number, title, state, head_branch, "
        "base_branch, url, author, ci_status, checks, approvals, changes_requested, reviews, head_sha, "
        "commit_count, github_updated_at, version, created_at, updated_at) values (%s, %s, 7, 'Fix', "
        "'open', 'jsn-1-rendered', 'main', 'https://github.com/acme/web/pull/7', 'octocat', 'pending', "
        "%s, 1, 0, '{}', 'abc123', 3, '2026-11-01T08:00:00Z', 1, now(), now())",
        pull_id, repository_id, Jsonb(checks))
    sql(database_url, "insert into card_pull_requests (card_id, pull_request_id) values (%s, %s)",
        card["id"], pull_id)

    for shown in (card, plain, deleted):
        expected = api.ok("GET", f"/cards/{shown['id']}")
        [(rendered,)] = sql(database_url, "select taskly_card_json(%s)", shown["id"])
        assert rendered == expected
    assert expected["deleted_at"] is not None
    assert rendered["pull_requests"] == [] and plain["pull_requests"] == []
    [(linked,)] = sql(database_url, "select taskly_card_json(%s)", card["id"])
    assert [c["name"] for c in linked["pull_requests"][0]["checks"]] == ["build", "ci/lint"]
    assert linked["assignees"] == [other.username, api.username] and linked["due"] == "2026-12-24"


@pytest.fixture(scope="module")
def counted(server_env, tmp_path_factory):
    """A server on a database that counts calls of its PL/pgSQL functions: (url, database URL)."""
    name, database_url = create_database()
    sql(database_url, f'alter database "{name}" set track_functions = \'pl\'')
    server = start_server({**server_env, "TASKLY_DATABASE_URL": database_url},
                          tmp_path_factory.mktemp("counted"))
    yield server.url, database_url
    server.stop()
    drop_database(name)


def _move_calls(database_url: str, at_least: int = 0) -> int:
    """Calls of taskly_move_cards so far (a backend reports its counts within ~1 s of idling)."""
    return _calls(database_url, "taskly_move_cards", at_least)


def _calls(database_url: str, function: str, at_least: int = 0) -> int:
    """Calls of a PL/pgSQL function so far, nested calls included."""
    deadline = time.monotonic() + 10
    while True:
        rows = sql(database_url, "select calls from pg_stat_user_functions where funcname = %s", function)
        calls = rows[0][0] if rows else 0
        if calls >= at_least or time.monotonic() > deadline:
            return calls
        time.sleep(0.2)


def test_moves_take_one_statement_and_decline_to_the_general_path(counted):
    """Moves by id and key, to a column by name or id, at a position or next to a card, with an
    Idempotency-Key: one `taskly_move_cards` each (one at a time, each is a batch of one), with
    its Change row; a refusal is answered from the statement's code (no second call), a replayed
    key by the general path's stored answer, and neither changes anything."""
    url, database_url = counted
    api = Api.login(url)
    make_api = lambda: Api.login(url)  # noqa: E731
    workspace, board = setup_board(api, "ONE")
    first, second = add(api, board, "First"), add(api, board, "Second")
    todo = next(c for c in board["columns"] if c["name"] == "Todo")
    moved = api.ok("POST", f"/cards/{first['id']}/move", json={"column": "todo"},
                   headers={"Idempotency-Key": "move-one-1"})
    assert moved["column"] == "Todo" and moved["version"] == 2 and moved["conflicts"] == []
    replay = api.post(f"/cards/{first['id']}/move", json={"column": "todo"},
                      headers={"Idempotency-Key": "move-one-1"})
    assert replay.json() == moved and replay.headers.get("idempotent-replayed") == "true"
    placed = api.ok("POST", "/cards/one-2/move", json={"column": todo["id"], "before": "ONE-1"})
    assert placed["rank"] < moved["rank"] and placed["column_id"] == todo["id"]
    assert api.ok("POST", "/cards/ONE-2/move", json={"column": "Todo", "after": "1"})["rank"] > moved["rank"]
    unchanged = api.ok("POST", f"/cards/{first['id']}/move", json={"column": "Todo", "position": "top"})
    assert unchanged["version"] == 2  # already at the top: no new version, no Change
    assert _move_calls(database_url, at_least=5) == 5

    (_, op, version, changes, conflicts, data) = card_changes(database_url, first["id"])[-1]
    assert (op, version, conflicts) == ("move", 2, [])
    assert changes["column"] == {"old": "Backlog", "new": "Todo"} and set(changes) == {"column", "column_id"}
    assert data == api.ok("GET", f"/cards/{first['id']}")
    [(mutation_id, actor)] = sql(database_url, "select mutation_id, actor_name from changes where entity_id = %s "
                                 "and version = 2", first["id"])
    assert (mutation_id, actor) == ("move-one-1", api.username)

    # Refusals: each answers as the general path does, and nothing is stored.
    viewer = make_api()
    join(api, viewer, workspace["id"], role="viewer")
    problem(viewer.post(f"/cards/{second['id']}/move", json={"column": "Done"}), 403)
    problem(make_api().post(f"/cards/{second['id']}/move", json={"column": "Done"}), 404)
    problem(api.post(f"/cards/{second['id']}/move", json={"column": "Nowhere"}), 422)
    problem(api.post(f"/cards/{second['id']}/move", json={"column": "Todo", "before": second["id"]}), 422)
    problem(api.post(f"/cards/{second['id']}/move", json={"column": "Backlog", "before": "ONE-1"}), 422)
    problem(api.post("/cards/ONE-99/move", json={"column": "Done"}), 404)
    problem(api.post(f"/cards/{first['id']}/move", json={"column": "Done"},
                     headers={"Idempotency-Key": "move-one-1"}), 409)
    assert api.ok("GET", f"/cards/{second['id']}")["column"] == "Todo"
    assert sql(database_url, "select count(*) from idempotency_keys where key like 'move-one-%%'") == [(1,)]
    api.ok("POST", f"/cards/{second['id']}/move", json={"column": "Done"})
    assert _move_calls(database_url, at_least=13) == 13


def test_move_statement_skips_what_it_may_not_do(api, database_url):
    """Called directly: a batch makes its permitted moves in order, with consecutive seqs, and
    answers NULL for a move it may not make, leaving nothing of it behind."""
    _, board = setup_board(api, "DEC")
    card = add(api, board, "Card")
    moves = [  # (card, column name, position, key)
        (card["id"], "nowhere", "bottom", "dec-1"),
        (card["id"], "done", "bottom", "dec-2"),
        (card["id"], "todo", "top", "dec-3"),
        (str(uuid.uuid4()), "todo", "top", "dec-4"),
    ]
    n = len(moves)
    rows = sql(database_url, "select * from taskly_move_cards(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, "
               "%s, %s, %s, %s, %s, %s, %s)",
               ["member", "admin", "owner"], ["column", "column_id", "rank"], [api.user["id"]] * n,
               [m[0] for m in moves], [None] * n, [None] * n, [None] * n, [m[1] for m in moves],
               [m[2] for m in moves], [None] * n, [None] * n, [None] * n, [None] * n, ["user"] * n,
               [api.user["id"]] * n, [api.username] * n, [m[3] for m in moves], ["fingerprint"] * n)
    assert [row[0] is None for row in rows] == [True, False, False, True]
    assert '"column": "Done"' in rows[1][0] and '"column": "Todo"' in rows[2][0]
    assert rows[2][2] == rows[1][2] + 1 and str(rows[1][1]) == board["workspace_id"]
    assert sql(database_url, "select key from idempotency_keys where key like 'dec-%%' order by key") == \
        [("dec-2",), ("dec-3",)]
    assert [c[2] for c in card_changes(database_url, card["id"])] == [1, 2, 3]


# --- the function called as its Python side calls it --------------------------------------------


async def _moves(database_url: str, *moves: Move) -> list[Placed]:
    """`taskly_move_cards` through `run_moves`, as the endpoint's batches call it: one statement."""
    engine = create_engine(database_url, pool_size=1)
    try:
        async with engine.connect() as connection:
            raw = await connection.get_raw_connection()
            return await run_moves(raw.driver_connection, moves)
    finally:
        await engine.dispose()


def _diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """The Change's `changes` as `CardService._commit` computed them: the tracked fields that differ."""
    return {f: {"old": before[f], "new": after[f]} for f in TRACKED if before[f] != after[f]}


async def test_each_refused_move_has_its_code_and_leaves_nothing(api, make_api, database_url):
    """One batch of moves that may not be made: each answers its refusal code and no body, and no
    card, Change or idempotency key is written for any of them."""
    workspace, board = setup_board(api, "REF")
    card, other, gone = add(api, board, "Card"), add(api, board, "Other"), add(api, board, "Gone")
    api.ok("DELETE", f"/cards/{gone['id']}")
    api.ok("POST", f"/cards/{other['id']}/move", json={"column": "Todo"})
    _, twin = setup_board(api, "REF")  # a second workspace's REF board: REF-1 names two cards
    add(api, twin, "Twin")
    viewer, stranger = make_api(), make_api()
    join(api, viewer, workspace["id"], role="viewer")
    shelf = api.board(workspace["id"], "ARC", "Archived")
    shelved = add(api, shelf, "Shelved")
    api.ok("PATCH", f"/boards/{shelf['id']}", json={"archived": True})
    user, card_id = uuid.UUID(api.user["id"]), uuid.UUID(card["id"])
    sql(database_url, "insert into idempotency_keys (id, principal_id, key, request_hash, created_at) "
        "values (gen_random_uuid(), %s, 'ref-used', 'f', now())", user)

    def by(user_id: uuid.UUID = user, **fields: Any) -> Move:
        return Move(**{"user_id": user_id, "actor_id": user_id, "card_id": card_id,
                       "column_name": "todo", **fields})

    cases = [
        ("position_invalid", by(position="sideways")),
        ("card_not_found", by(card_id=uuid.uuid4())),
        ("card_not_found", by(card_id=None, card_board="REF", card_number=99)),
        ("card_ambiguous", by(card_id=None, card_board="REF", card_number=1)),
        ("forbidden", by(uuid.UUID(viewer.user["id"]))),
        ("forbidden", by(uuid.UUID(viewer.user["id"]), card_id=uuid.UUID(shelved["id"]))),
        ("board_archived", by(card_id=uuid.UUID(shelved["id"]))),
        ("card_not_found", by(uuid.UUID(stranger.user["id"]))),
        ("column_not_found", by(column_name="nowhere")),
        ("anchor_not_found", by(position="before")),  # an anchor reference that named no card
        ("anchor_not_found", by(position="after", anchor_number=99)),
        ("anchor_not_in_column", by(position="before", anchor_id=uuid.UUID(gone["id"]),
                                    column_name="backlog")),  # deleted
        ("anchor_not_in_column", by(position="before", anchor_board="REF", anchor_number=2,
                                    column_name="backlog")),  # in Todo
        ("anchor_is_card", by(position="after", anchor_id=card_id, column_name="backlog")),
        ("replayed", by(key="ref-used", fingerprint="f")),
        ("card_not_found", Move(card_id=uuid.uuid4(), column_id=uuid.UUID(board["columns"][1]["id"]),
                                actor_type="automation", actor_name="a rule")),
    ]
    assert {code for code, _ in cases} == set(REFUSALS)
    placed = await _moves(database_url, *(move for _, move in cases))
    assert [(p.body, p.workspace_id, p.seq, p.code) for p in placed] == \
        [(None, None, None, code) for code, _ in cases]
    assert [c[2] for c in card_changes(database_url, card["id"])] == [1]
    assert api.ok("GET", f"/cards/{card['id']}") == card
    assert sql(database_url, "select key from idempotency_keys where principal_id = %s", user) == \
        [("ref-used",)]

    # The endpoint says why, in the words of the checks the function stands in for.
    assert "archived" in problem(api.post(f"/cards/{shelved['id']}/move", json={"column": "Todo"}),
                                 409, "board_archived")["detail"]
    ambiguous = problem(api.post("/cards/REF-1/move", json={"column": "Todo"}), 409, "ambiguous_key")
    assert len(ambiguous["candidates"]) == 2
    assert "to place next to" in problem(
        api.post(f"/cards/{card['id']}/move", json={"column": "Todo", "after": "not a card"}), 422)["detail"]
    assert problem(api.post(f"/cards/{card['id']}/move", json={"column": "Backlog", "after": card["id"]}),
                   422)["detail"] == "a card cannot be placed next to itself"


async def test_stay_and_earlier_edits_are_diffed_against_the_form_before(api, database_url):
    """A caller that edited other fields first passes the form before them: the function renders
    the card, diffs it as `_commit` did and bumps the version once; `stay` keeps column and rank;
    `op`, extra changes and the actor shape the Change (pull-request automation's)."""
    _, board = setup_board(api, "STY")
    card = add(api, board, "Card", labels=["a"])
    user = uuid.UUID(api.user["id"])
    actor = {"actor_type": "user", "actor_id": user, "actor_name": api.username, "key": "sty-1"}
    card_id = uuid.UUID(card["id"])

    [placed] = await _moves(database_url, Move(card_id=card_id, position="stay",
                                               before=json.dumps(card), **actor))
    assert (placed.workspace_id, placed.seq, placed.code) == (None, None, None)  # nothing changed
    assert json.loads(placed.body) == card

    # Edits made before the call (committed here, flushed in a caller's transaction), staying.
    sql(database_url, "update cards set title = 'Edited', labels = '{b}', points = 3 where id = %s", card_id)
    [placed] = await _moves(database_url, Move(card_id=card_id, position="stay",
                                               before=json.dumps(card), **actor))
    edited = api.ok("GET", f"/cards/{card['id']}")
    assert json.loads(placed.body) == edited and edited["version"] == card["version"] + 1
    assert (edited["column_id"], edited["rank"]) == (card["column_id"], card["rank"])
    [(seq, op, version, changes, conflicts, data)] = card_changes(database_url, card["id"])[1:]
    assert (placed.seq, op, version, conflicts, data) == (seq, "update", edited["version"], [], edited)
    assert changes == _diff(card, edited) and set(changes) == {"title", "labels", "points"}

    # An edit and a move: `update`, the diff holding both.
    todo = next(c for c in board["columns"] if c["name"] == "Todo")
    sql(database_url, "update cards set priority = 'high' where id = %s", card_id)
    [placed] = await _moves(database_url, Move(card_id=card_id, column_id=uuid.UUID(todo["id"]),
                                               before=json.dumps(edited), **actor))
    moved = api.ok("GET", f"/cards/{card['id']}")
    (_, op, version, changes, _, data) = card_changes(database_url, card["id"])[-1]
    assert (op, version, data) == ("update", edited["version"] + 1, moved)
    assert changes == _diff(edited, moved) and {"priority", "column", "column_id"} <= set(changes)

    # Automation's shape: its op, the pull requests' summary merged in, its actor and delivery.
    done = next(c for c in board["columns"] if c["name"] == "Done")
    summary = {"pull_requests": {"old": [], "new": ["acme/web#7 merged"]}}
    [placed] = await _moves(database_url, Move(
        card_id=card_id, column_id=uuid.UUID(done["id"]), before=json.dumps(moved), op="move",
        extra_changes=json.dumps(summary), actor_type="automation", actor_name="pr_merged → done",
        delivery_id="delivery-1"))
    final = api.ok("GET", f"/cards/{card['id']}")
    assert json.loads(placed.body) == final and final["column_kind"] == "done"
    [row] = sql(database_url, "select op, changes, data, actor_type, actor_id, actor_name, delivery_id, "
                "mutation_id from changes where entity_id = %s and seq = %s", card_id, placed.seq)
    assert row == ("move", {**_diff(moved, final), **summary}, final, "automation", None,
                   "pr_merged → done", "delivery-1", None)
    assert {"column", "column_id"} <= set(row[1]) and row[2]["column_kind"] == "done"


async def test_a_non_ascii_column_name_is_found_as_python_lowers_it(api):
    """Postgres' lower() agrees with Python's on ASCII only: such a name goes the general path,
    which resolves it in Python and moves by id through the same function."""
    _, board = setup_board(api, "UNI")
    card = add(api, board, "Card")
    api.ok("POST", f"/boards/{board['id']}/columns", json={"name": "Früh"})
    assert api.ok("POST", f"/cards/{card['id']}/move", json={"column": "FRÜH"})["column"] == "Früh"
    detail = problem(api.post(f"/cards/{card['id']}/move", json={"column": "Spät"}), 422)["detail"]
    assert detail.startswith("no column 'Spät' on this board; valid columns: Backlog")


def test_a_start_is_a_move(counted):
    """taskly_start_cards records the branch and assignee, then hands the card to the move
    function: one call of it, one Change (the branch, assignee and column together)."""
    url, database_url = counted
    api = Api.login(url)
    _, board = setup_board(api, "STA")
    card = add(api, board, "Card")
    calls = _move_calls(database_url)
    [(body, changed, workspace_id, seq)] = sql(
        database_url, "select * from taskly_start_cards(%s, %s, %s, %s)", [card["id"]],
        [api.user["id"]], ["sta-1-card"], TRACKED_FIELDS)
    after = api.ok("GET", f"/cards/{card['id']}")
    assert (json.loads(body), changed, str(workspace_id)) == (after, True, board["workspace_id"])
    assert (after["column_kind"], after["assignees"], after["branch"]) == ("in_progress", [api.username],
                                                                           "sta-1-card")
    assert _move_calls(database_url, at_least=calls + 1) == calls + 1
    [(change_seq, op, version, changes, conflicts, data)] = card_changes(database_url, card["id"])[1:]
    assert (change_seq, op, version, conflicts, data) == (seq, "update", 2, [], after)
    assert changes == _diff(card, after) and set(changes) == {"branch", "assignees", "column", "column_id"}


def test_column_deletion_moves_its_cards_through_the_function(counted):
    """A deleted column's cards (deleted ones too) go, in their order, to the bottom of the target
    in one call of the move function, ranked as fractional-indexing appends them, one Change each
    attributed to the principal, before the column's own Change."""
    url, database_url = counted
    start = _move_calls(database_url)
    api = Api.login(url)
    workspace, board = setup_board(api, "DEL")
    review = next(c for c in board["columns"] if c["name"] == "In Review")
    done = add(api, board, "Done already")
    api.ok("POST", f"/cards/{done['id']}/move", json={"column": "Done"})
    first, second, gone = add(api, board, "First"), add(api, board, "Second"), add(api, board, "Gone")
    for card in (first, second, gone):
        api.ok("POST", f"/cards/{card['id']}/move", json={"column": "In Review"})
    api.ok("DELETE", f"/cards/{gone['id']}")
    before = {c["id"]: api.ok("GET", f"/cards/{c['id']}") for c in (first, second, gone)}
    calls = _move_calls(database_url, at_least=start + 4)  # the four moves above

    assert api.delete(f"/columns/{review['id']}", params={"move_to": "Done"}).status_code == 204
    assert _move_calls(database_url, at_least=calls + 1) == calls + 1
    last = api.ok("GET", f"/cards/{done['id']}")["rank"]
    after = {card_id: api.ok("GET", f"/cards/{card_id}") for card_id in before}
    assert [c["rank"] for c in after.values()] == generate_n_keys_between(last, None, 3)
    for card_id, card in after.items():
        [(_, op, version, changes, conflicts, data)] = card_changes(database_url, card_id)[-1:]
        assert (op, version, conflicts, data) == ("move", before[card_id]["version"] + 1, [], card)
        assert changes == _diff(before[card_id], card)
        assert changes["column_id"] == {"old": review["id"], "new": card["column_id"]}
    feed = sql(database_url, "select entity_type, entity_id::text, op, actor_type, actor_name from changes "
               "where workspace_id = %s order by seq desc limit 4", workspace["id"])
    assert feed[::-1] == [("card", card_id, "move", "user", api.username) for card_id in before] + \
        [("column", review["id"], "delete", "user", api.username)]


async def test_patches_of_a_cards_own_fields_share_the_batches_and_answer_as_the_general_path(counted):
    """A PATCH that sets only the card's own fields joins the move batches (`Move.edits`): each
    answer, Change and stored row equals what the general path (the same edit with `assignees`,
    which CardService makes) makes of a twin card — values with quotes and newlines, nulls that
    reset, a reminder time that fires again, nothing changed, a stale base_version's conflicts —;
    an Idempotency-Key is claimed and replayed; refusals and refused values answer as before and
    leave nothing; a burst of PATCHes takes fewer statements than requests."""
    url, database_url = counted
    api, other = Api.login(url), Api.login(url)
    workspace, board = setup_board(api, "EDT")
    join(api, other, workspace["id"])
    fast, general = add(api, board, "Twin"), add(api, board, "Twin")
    own = ("id", "key", "number", "rank", "created_at", "updated_at")

    def same(left: dict[str, Any], right: dict[str, Any]) -> None:
        assert {k: v for k, v in left.items() if k not in own} == \
            {k: v for k, v in right.items() if k not in own}

    def reminded(card: dict[str, Any]) -> datetime | None:
        return sql(database_url, "select reminded_at from cards where id = %s", card["id"])[0][0]

    edits: list[dict[str, Any]] = [
        {"title": 'Say "hi", x : "y"', "points": 5, "due": "2026-12-24", "priority": "high"},
        {"description": "line\nbreak\ttab", "recurrence": "weekly", "recurrence_interval": 2,
         "branch": "feat/edt-1"},
        {"remind_at": "2026-12-08T09:30:00+01:00"},
        {"remind_at": "2026-12-08T08:30:00Z"},  # the same time: the reminder is not armed again
        {"description": None, "priority": None, "recurrence_interval": None, "branch": None,
         "points": None, "due": None, "remind_at": None},
        {"title": "Twin"},  # nothing changes: no version, no Change
    ]
    calls = _move_calls(database_url)
    for edit in edits:
        sql(database_url, "update cards set reminded_at = now() where id = any(%s)",
            [uuid.UUID(fast["id"]), uuid.UUID(general["id"])])
        fast_answer = api.ok("PATCH", f"/cards/{fast['key']}", json=edit)
        general_answer = api.ok("PATCH", f"/cards/{general['key']}", json={**edit, "assignees": []})
        same(fast_answer, general_answer)
        assert fast_answer == api.ok("GET", f"/cards/{fast['id']}") | {"conflicts": []}
        assert (reminded(fast) is None) == (reminded(general) is None) == ("remind_at" in edit and edit is not edits[3])
    assert _move_calls(database_url, at_least=calls + 2 * len(edits)) == calls + 2 * len(edits)
    fast_changes, general_changes = card_changes(database_url, fast["id"]), card_changes(database_url, general["id"])
    assert len(fast_changes) == len(general_changes) == len(edits)  # the create, then all but the last
    for mine, theirs in zip(fast_changes[1:], general_changes[1:], strict=True):
        assert mine[1:5] == theirs[1:5]  # op, version, changes, conflicts
        same(mine[5], theirs[5])
    assert fast_answer["title"] == "Twin" and fast_answer["description"] == "" and fast_answer["points"] is None

    # A stale base_version: the fields changed since are reported, the write still made.
    seen = api.ok("GET", f"/cards/{fast['id']}")["version"]
    for card in (fast, general):
        other.ok("PATCH", f"/cards/{card['id']}", json={"title": "Theirs", "points": 1})
    stale = {"title": "Mine", "priority": "low", "base_version": seen}
    fast_answer = api.ok("PATCH", f"/cards/{fast['id']}", json=stale)
    same(fast_answer, api.ok("PATCH", f"/cards/{general['id']}", json={**stale, "assignees": []}))
    assert fast_answer["conflicts"] == [{"field": "title", "overwritten": "Theirs", "value": "Mine"}]
    stale_header = api.patch(f"/cards/{fast['id']}", json={"points": 2}, headers={"If-Match": f'"{seen}"'})
    assert stale_header.json()["conflicts"] == [{"field": "points", "overwritten": 1, "value": 2}]
    [(actor, actor_type)] = sql(database_url, "select actor_name, actor_type from changes where "
                                "entity_id = %s and version = %s", fast["id"], stale_header.json()["version"])
    assert (actor, actor_type) == (api.username, "user")

    # An Idempotency-Key: claimed by the statement, its answer replayed; another body is refused.
    keyed = api.patch(f"/cards/{fast['key'].lower()}", json={"points": 8}, headers={"Idempotency-Key": "edt-1"})
    replay = api.patch(f"/cards/{fast['key'].lower()}", json={"points": 8}, headers={"Idempotency-Key": "edt-1"})
    assert keyed.status_code == replay.status_code == 200 and replay.json() == keyed.json()
    assert replay.headers.get("idempotent-replayed") == "true" and keyed.json()["points"] == 8
    problem(api.patch(f"/cards/{fast['id']}", json={"points": 9}, headers={"Idempotency-Key": "edt-1"}), 409)
    [(mutation_id,)] = sql(database_url, "select mutation_id from changes where entity_id = %s and version = %s",
                           fast["id"], keyed.json()["version"])
    assert mutation_id == "edt-1"

    # Refusals, as the general path answers them; nothing is written.
    viewer, stranger = Api.login(url), Api.login(url)
    join(api, viewer, workspace["id"], role="viewer")
    _, shelf = setup_board(api, "EDS")
    shelved = add(api, shelf, "Shelved")
    api.ok("PATCH", f"/boards/{shelf['id']}", json={"archived": True})
    before = sql(database_url, "select count(*) from changes")
    problem(viewer.patch(f"/cards/{fast['id']}", json={"title": "No"}), 403)
    problem(stranger.patch(f"/cards/{fast['key']}", json={"title": "No"}), 404)
    problem(api.patch("/cards/EDT-99", json={"title": "No"}), 404)
    problem(api.patch(f"/cards/{shelved['id']}", json={"title": "No"}), 409, "board_archived")
    problem(api.patch(f"/cards/{fast['id']}", json={"title": None}), 422)
    problem(api.patch(f"/cards/{fast['id']}", json={"title": "nul\u0000"}), 422)
    problem(api.patch("/cards/EDT-99", json={"title": None}), 404)  # the card first, as before
    assert sql(database_url, "select count(*) from changes") == before
    assert api.ok("GET", f"/cards/{fast['id']}")["points"] == 8

    # A burst: thirty PATCHes of ten cards at once share transactions; every edit is made, each
    # Change's old value the one before it.
    cards = [add(api, board, f"burst {i}") for i in range(10)]
    async with httpx.AsyncClient(base_url=f"{url}/api/v1", timeout=60,
                                 headers={"Authorization": f"Bearer {api.token}"}) as http:
        answers = await asyncio.gather(*(http.patch(f"/cards/{card['key']}", json={"points": round_})
                                         for round_ in range(1, 4) for card in cards))
    assert [a.status_code for a in answers] == [200] * 30
    for card in cards:
        changes = [(version, c["points"]) for _, _, version, c, _, _ in card_changes(database_url, card["id"])[1:]]
        assert [version for version, _ in changes] == [2, 3, 4]
        assert [points["old"] for _, points in changes] == [None] + [points["new"] for _, points in changes[:2]]
        assert sorted(points["new"] for _, points in changes) == [1, 2, 3]
        assert api.ok("GET", f"/cards/{card['id']}")["points"] == changes[-1][1]["new"]
    [(transactions,)] = sql(database_url, "select count(distinct xmin::text) from changes where entity_id = any(%s) "
                            "and version > 1", [uuid.UUID(card["id"]) for card in cards])
    assert 1 <= transactions < 30, transactions


async def test_a_batch_reports_the_conflicts_of_its_own_earlier_moves_of_a_card(api, database_url):
    """Two writers who both saw version v edit one card's title in one batch: the second answer
    reports overwriting the first's, though the first's Change is written only at the batch's
    end; a field the first did not touch is no conflict."""
    _, board = setup_board(api, "BAT")
    card = add(api, board, "Card")
    user = uuid.UUID(api.user["id"])
    actor = {"user_id": user, "actor_type": "user", "actor_id": user, "actor_name": api.username}

    def edit(**fields: Any) -> Move:
        return Move(card_id=uuid.UUID(card["id"]), position="stay", base_version=card["version"],
                    edits=json.dumps(fields), **actor)

    first, second, third = await _moves(database_url, edit(title="first"), edit(title="second"),
                                        edit(points=3))
    assert json.loads(first.body)["conflicts"] == []
    assert json.loads(second.body)["conflicts"] == [
        {"field": "title", "overwritten": "first", "value": "second"}]
    assert json.loads(third.body)["conflicts"] == []
    assert [row[2] for row in card_changes(database_url, card["id"])] == [1, 2, 3, 4]
    assert [row[4] for row in card_changes(database_url, card["id"])] == [[], [], ["title"], []]
