"""Cards under concurrent writers: numbering, seq order, idempotency, field merges, conflicts."""

from __future__ import annotations

import asyncio
import itertools
import random
import uuid
from collections import defaultdict
from contextlib import AsyncExitStack

import httpx

from tests.server.test_cards import add, card_changes, setup_board
from tests.support.checks import join, sql


def client(api) -> httpx.AsyncClient:
    """An async client for one signed-in test user (the same token as its sync `Api`)."""
    return httpx.AsyncClient(base_url=f"{api.base_url}/api/v1", timeout=60,
                             headers={"Authorization": f"Bearer {api.token}"})


async def clients(stack: AsyncExitStack, *apis) -> list[httpx.AsyncClient]:
    return [await stack.enter_async_context(client(api)) for api in apis]


def ok(response: httpx.Response, status: int = 200) -> dict:
    assert response.status_code == status, response.text
    return response.json()


def workspace_changes(database_url: str, workspace_id: str) -> list[tuple]:
    return sql(database_url, "select seq, entity_type, entity_id::text, op, version from changes "
               "where workspace_id = %s order by seq", workspace_id)


def assert_feed_in_commit_order(database_url: str, workspace_id: str) -> list[tuple]:
    """Seqs are 1..N without gaps, N is the workspace's seq, each entity's versions follow seq."""
    rows = workspace_changes(database_url, workspace_id)
    assert [row[0] for row in rows] == list(range(1, len(rows) + 1))
    [(workspace_seq,)] = sql(database_url, "select seq from workspaces where id = %s", workspace_id)
    assert workspace_seq == len(rows)
    versions: dict[str, list[int]] = defaultdict(list)
    for _, entity_type, entity_id, _, version in rows:
        if entity_type in ("card", "comment"):
            versions[entity_id].append(version)
    for entity_id, seen in versions.items():
        assert seen == list(range(1, len(seen) + 1)), (entity_id, seen)
    return rows


async def test_fifty_concurrent_creations_are_numbered_one_to_fifty(make_api, database_url):
    owner, *others = [make_api() for _ in range(5)]
    workspace, board = setup_board(owner, "RACE")
    for other in others:
        join(owner, other, workspace["id"])
    async with AsyncExitStack() as stack:
        http = await clients(stack, owner, *others)
        responses = await asyncio.gather(*(
            http[i % len(http)].post(f"/boards/{board['id']}/cards",
                                     json={"title": f"card {i}", "column": "Todo"})
            for i in range(50)
        ))
    cards = [ok(r, 201) for r in responses]
    assert sorted(c["number"] for c in cards) == list(range(1, 51))
    assert sorted(c["key"] for c in cards) == sorted(f"RACE-{n}" for n in range(1, 51))
    assert len({c["rank"] for c in cards}) == 50

    listed = owner.ok("GET", f"/boards/{board['id']}/cards")
    assert len(listed) == 50
    ranks = [c["rank"] for c in listed]
    assert all(a < b for a, b in itertools.pairwise(ranks))
    # the bottom of the column at each creation: board order is number order
    assert [c["number"] for c in listed] == list(range(1, 51))
    [(next_number,)] = sql(database_url, "select next_card_number from boards where id = %s",
                           board["id"])
    assert next_number == 51
    assert_feed_in_commit_order(database_url, workspace["id"])


async def test_concurrent_mutations_keep_the_feed_gap_free_and_in_commit_order(make_api,
                                                                               database_url):
    users = [make_api() for _ in range(4)]
    workspace, board = setup_board(users[0])
    for user in users[1:]:
        join(users[0], user, workspace["id"])
    cards = [add(users[0], board, f"card {i}") for i in range(4)]
    columns = [c["name"] for c in board["columns"]]
    rng = random.Random(7)

    def mutation(http: httpx.AsyncClient, i: int):
        card = rng.choice(cards)["id"]
        match i % 5:
            case 0:
                return http.patch(f"/cards/{card}", json={"title": f"title {i}"})
            case 1:
                return http.patch(f"/cards/{card}", json={"points": i % 100, "labels": [f"l{i}"]})
            case 2:
                position = rng.choice(["top", "bottom"])
                return http.post(f"/cards/{card}/move",
                                 json={"column": rng.choice(columns), "position": position})
            case 3:
                return http.post(f"/cards/{card}/comments", json={"body": f"comment {i}"})
            case _:
                return http.post("/cards/bulk-update", json={"cards": [
                    {"card": c["id"], "priority": rng.choice(["low", "high"])}
                    for c in rng.sample(cards, 2)]})

    async with AsyncExitStack() as stack:
        http = await clients(stack, *users)
        responses = await asyncio.gather(*(mutation(http[i % len(http)], i) for i in range(60)))
    for response in responses:
        assert response.status_code in (200, 201), response.text

    rows = assert_feed_in_commit_order(database_url, workspace["id"])
    for card in cards:
        current = users[0].ok("GET", f"/cards/{card['id']}")
        history = card_changes(database_url, card["id"])
        assert [version for _, _, version, *_ in history] == list(range(1, current["version"] + 1))
        last_data = history[-1][5]
        assert {**last_data, "conflicts": []} == current
    assert len([r for r in rows if r[1] == "comment"]) == 12
    listed = users[0].ok("GET", f"/boards/{board['id']}/cards")
    for column in columns:
        ranks = [c["rank"] for c in listed if c["column"] == column]
        assert all(a < b for a, b in itertools.pairwise(ranks)), (column, ranks)


async def test_idempotency_key_replayed_sequentially_and_concurrently_creates_one_card(
        api, database_url):
    _, board = setup_board(api)
    path = f"/boards/{board['id']}/cards"
    async with client(api) as http:
        once = {"Idempotency-Key": "seq-key"}
        first = await http.post(path, json={"title": "once"}, headers=once)
        again = await http.post(path, json={"title": "once"}, headers=once)
        assert first.status_code == again.status_code == 201
        assert again.json() == first.json() and again.headers.get("idempotent-replayed") == "true"

        key = f"burst-{uuid.uuid4()}"
        burst = await asyncio.gather(*(
            http.post(path, json={"title": "burst"}, headers={"Idempotency-Key": key})
            for _ in range(10)
        ))
    assert {r.status_code for r in burst} == {201}
    bodies = [r.json() for r in burst]
    assert all(body == bodies[0] for body in bodies)
    assert sum(r.headers.get("idempotent-replayed") == "true" for r in burst) == 9
    titles = sorted(c["title"] for c in api.ok("GET", f"/boards/{board['id']}/cards"))
    assert titles == ["burst", "once"]
    [(created,)] = sql(database_url, "select count(*) from changes where entity_type = 'card' "
                       "and op = 'create' and mutation_id = %s", key)
    assert created == 1


async def test_concurrent_patches_of_different_fields_both_survive(make_api, database_url):
    alice, bob = make_api(), make_api()
    workspace, board = setup_board(alice)
    join(alice, bob, workspace["id"])
    card = add(alice, board, "shared")
    async with AsyncExitStack() as stack:
        http_a, http_b = await clients(stack, alice, bob)
        for round_ in range(8):
            version = alice.ok("GET", f"/cards/{card['id']}")["version"]
            a, b = await asyncio.gather(
                http_a.patch(f"/cards/{card['id']}", json={"title": f"title {round_}",
                                                           "base_version": version}),
                http_b.patch(f"/cards/{card['id']}", json={"points": round_ + 1},
                             headers={"If-Match": f'"{version}"'}),
            )
            assert ok(a)["conflicts"] == [] and ok(b)["conflicts"] == []
            assert {ok(a)["version"], ok(b)["version"]} == {version + 1, version + 2}
            current = alice.ok("GET", f"/cards/{card['id']}")
            assert (current["title"], current["points"]) == (f"title {round_}", round_ + 1)
    history = card_changes(database_url, card["id"])
    assert all(conflicts == [] for *_, conflicts, _ in history)
    assert_feed_in_commit_order(database_url, workspace["id"])


async def test_stale_same_field_write_is_a_conflict_and_a_different_field_is_not(
        make_api, database_url):
    alice, bob = make_api(), make_api()
    workspace, board = setup_board(alice)
    join(alice, bob, workspace["id"])
    card = add(alice, board, "original", priority="low")
    alice.ok("PATCH", f"/cards/{card['id']}", json={"title": "alice's"})  # v2

    stale = bob.ok("PATCH", f"/cards/{card['id']}", json={"title": "bob's", "base_version": 1})
    assert stale["conflicts"] == [{"field": "title", "overwritten": "alice's", "value": "bob's"}]
    assert stale["title"] == "bob's" and stale["version"] == 3
    other_field = bob.ok("PATCH", f"/cards/{card['id']}",
                         json={"priority": "high", "base_version": 1})
    assert other_field["conflicts"] == [] and other_field["priority"] == "high"
    assert bob.ok("GET", f"/cards/{card['id']}")["title"] == "bob's"
    history = card_changes(database_url, card["id"])
    assert [(version, conflicts) for _, _, version, _, conflicts, _ in history] == [
        (1, []), (2, []), (3, ["title"]), (4, [])]
    assert history[2][5]["conflicts"] == []  # the feed's data is the card, not the answer

    # two writers who both saw v4 race on the title: the later one reports overwriting the first
    async with AsyncExitStack() as stack:
        http = await clients(stack, alice, bob)
        answers = [ok(r) for r in await asyncio.gather(*(
            h.patch(f"/cards/{card['id']}", json={"title": f"race {i}", "base_version": 4})
            for i, h in enumerate(http)))]
    first, later = sorted(answers, key=lambda a: a["version"])
    assert first["conflicts"] == []
    assert later["conflicts"] == [
        {"field": "title", "overwritten": first["title"], "value": later["title"]}]
    assert alice.ok("GET", f"/cards/{card['id']}")["title"] == later["title"]
    assert card_changes(database_url, card["id"])[-1][4] == ["title"]


async def test_concurrent_moves_into_one_column_never_share_a_rank(make_api):
    alice, bob = make_api(), make_api()
    workspace, board = setup_board(alice)
    join(alice, bob, workspace["id"])
    cards = [add(alice, board, f"card {i}") for i in range(20)]
    async with AsyncExitStack() as stack:
        http = await clients(stack, alice, bob)
        responses = await asyncio.gather(*(
            http[i % 2].post(f"/cards/{card['id']}/move",
                             json={"column": "Done", "position": "top" if i % 3 == 0 else "bottom"})
            for i, card in enumerate(cards)))
    assert all(ok(r)["column"] == "Done" for r in responses)
    ranks = [c["rank"] for c in alice.ok("GET", f"/boards/{board['id']}/cards")]
    assert len(ranks) == 20 and all(a < b for a, b in itertools.pairwise(ranks)), ranks


async def test_a_burst_of_moves_mixing_refusals_and_replays_answers_each_alone(make_api, database_url):
    """Moves that arrive together share a statement: each still gets its own answer (a viewer's
    403, a bad column's 422, one stored answer for every copy of a replayed key), and the feed
    holds exactly the moves that were made, gap-free."""
    owner, viewer = make_api(), make_api()
    workspace, board = setup_board(owner)
    join(owner, viewer, workspace["id"], role="viewer")
    cards = [add(owner, board, f"card {i}") for i in range(20)]
    before = workspace_changes(database_url, workspace["id"])
    async with AsyncExitStack() as stack:
        mine, theirs = await clients(stack, owner, viewer)
        requests = [mine.post(f"/cards/{c['id']}/move", json={"column": "Done", "position": "top"},
                              headers={"Idempotency-Key": f"burst-{i}"}) for i, c in enumerate(cards)]
        requests += [theirs.post(f"/cards/{c['id']}/move", json={"column": "Todo"}) for c in cards[:5]]
        requests += [mine.post(f"/cards/{c['id']}/move", json={"column": "Nope"}) for c in cards[:5]]
        requests += [mine.post(f"/cards/{cards[0]['id']}/move", json={"column": "Done", "position": "top"},
                               headers={"Idempotency-Key": "burst-0"}) for _ in range(5)]
        responses = await asyncio.gather(*requests)
    statuses = [r.status_code for r in responses]
    assert statuses == [200] * 20 + [403] * 5 + [422] * 5 + [200] * 5, statuses
    first = responses[0].json()
    assert all(r.json() == first for r in responses[-5:])
    assert {r.json()["column"] for r in responses[:20]} == {"Done"}
    made = workspace_changes(database_url, workspace["id"])[len(before):]
    assert len(made) == 20
    assert_feed_in_commit_order(database_url, workspace["id"])
    ranks = [c["rank"] for c in owner.ok("GET", f"/boards/{board['id']}/cards") if c["column"] == "Done"]
    assert len(set(ranks)) == 20
