"""The one-statement card move (migration 0003) against the Python it stands in for.

The move endpoint runs `taskly_move_card`, which ranks with a SQL port of fractional-indexing and
renders the card with `taskly_card_json`; these tests hold both to the Python originals, and check
that the endpoint really takes the one-statement path and declines to the general one.
"""

from __future__ import annotations

import itertools
import random
import time
import uuid
from datetime import UTC, datetime

import pytest
from fractional_indexing import generate_key_between
from psycopg.types.json import Jsonb

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
    deadline = time.monotonic() + 10
    while True:
        rows = sql(database_url, "select calls from pg_stat_user_functions where funcname = 'taskly_move_cards'")
        calls = rows[0][0] if rows else 0
        if calls >= at_least or time.monotonic() > deadline:
            return calls
        time.sleep(0.2)


def test_moves_take_one_statement_and_decline_to_the_general_path(counted):
    """Moves by id and key, to a column by name or id, at a position or next to a card, with an
    Idempotency-Key: one `taskly_move_cards` each (one at a time, each is a batch of one), with
    the Change row the general path writes; a replayed key and every refusal are skipped by the
    statement, then answered by the general path, and change nothing."""
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
