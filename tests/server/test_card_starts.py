"""The card side of create_branch (`taskly_start_cards`): what a start changes and what it leaves
alone, the card's wire form as the API renders it, starts that arrive together sharing one
statement with each card still changing once in its own attributed Change, and a start that
fails inside a shared statement failing alone."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from sqlalchemy import text
from taskly_server.db.session import create_engine, create_sessionmaker
from taskly_server.domain.github.starts import CardStarts, start_card
from taskly_server.settings import Settings

from tests.support.fake_github import FakeGitHub
from tests.support.github_stack import GitHubStack

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def stack(fake: FakeGitHub, github_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[GitHubStack]:
    stack = GitHubStack.start(tmp_path_factory.mktemp("starts"), github_database, fake)
    yield stack
    stack.stop()


@pytest.fixture
async def ctx(stack: GitHubStack, github_database: str) -> AsyncIterator[dict[str, Any]]:
    """A worker's job context on the stack's database (Postgres notices)."""
    engine = create_engine(github_database, pool_size=2)
    settings = Settings(database_url=github_database, secret_key=stack.env["TASKLY_SECRET_KEY"])
    yield {"settings": settings, "sessionmaker": create_sessionmaker(engine)}
    await engine.dispose()


def world(stack: GitHubStack, fake: FakeGitHub, count: int) -> tuple[Any, list[dict]]:
    owner = stack.github_login(f"octo-{uuid.uuid4().hex[:8]}")
    full_name = f"acme-{uuid.uuid4().hex[:8]}/web"
    fake.add_repo(full_name, collaborators={owner.username: "admin"})
    workspace = owner.workspace("Starts")
    board = owner.board(workspace["id"], "WEB")
    stack.connect(owner, workspace["id"], full_name, board_id=board["id"])
    cards = [owner.ok("POST", f"/boards/{board['id']}/cards", json={"title": f"Card {n}"})
             for n in range(count)]
    return owner, cards


def branch_changes(owner: Any, card: dict) -> list[dict]:
    return [c for c in owner.ok("GET", f"/cards/{card['key']}/activity")
            if (c["changes"].get("branch") or {}).get("new")]


def user_id(api: Any) -> uuid.UUID:
    return uuid.UUID(api.user["id"])


async def get(api: Any, card: dict) -> dict:
    return await asyncio.to_thread(api.ok, "GET", f"/cards/{card['key']}")


async def test_a_start_records_assigns_and_moves_once(stack: GitHubStack, fake: FakeGitHub,
                                                      ctx: dict[str, Any]) -> None:
    owner, [card, placed, gone] = await asyncio.to_thread(world, stack, fake, 3)
    started, changed = await start_card(ctx, user_id(owner), uuid.UUID(card["id"]), "web-1-card-0")
    assert changed is True
    after = await get(owner, card)
    assert started == after  # the API's wire form of the card
    assert (after["branch"], after["column"], after["assignees"]) == ("web-1-card-0", "In Progress",
                                                                      [owner.username])
    assert after["version"] == card["version"] + 1
    [change] = await asyncio.to_thread(branch_changes, owner, card)
    assert change["op"] == "update" and change["version"] == after["version"]
    assert change["actor"] == {**change["actor"], "type": "user", "id": owner.user["id"],
                               "name": owner.username}
    assert change["data"] == after and change["conflicts"] == []
    assert change["changes"] == {
        "branch": {"old": None, "new": "web-1-card-0"},
        "assignees": {"old": [], "new": [owner.username]},
        "column": {"old": "Backlog", "new": "In Progress"},
        "column_id": {"old": card["column_id"], "new": after["column_id"]},
    }  # its rank stays a0: the first in Backlog, the first in In Progress

    again, changed = await start_card(ctx, user_id(owner), uuid.UUID(card["id"]), "web-1-card-0")
    assert (again, changed) == (after, False)  # re-running changes nothing
    assert len(await asyncio.to_thread(branch_changes, owner, card)) == 1

    # A card in an in-progress column stays where it is; a non-member starter is not assigned.
    moved = await asyncio.to_thread(owner.ok, "POST", f"/cards/{placed['key']}/move",
                                    json={"column": "In Progress"})
    outsider = await asyncio.to_thread(stack.github_login, f"octo-{uuid.uuid4().hex[:8]}")
    started, changed = await start_card(ctx, user_id(outsider), uuid.UUID(placed["id"]), "web-2")
    assert changed is True
    assert (started["column"], started["rank"], started["assignees"]) == ("In Progress", moved["rank"], [])
    [change] = await asyncio.to_thread(branch_changes, owner, placed)
    assert change["changes"] == {"branch": {"old": None, "new": "web-2"}}
    assert change["actor"]["name"] == outsider.username

    await asyncio.to_thread(owner.ok, "DELETE", f"/cards/{gone['key']}")
    assert await start_card(ctx, user_id(owner), uuid.UUID(gone["id"]), "web-3") == (None, False)
    assert await start_card(ctx, user_id(owner), uuid.uuid4(), "web-4") == (None, False)
    assert (await asyncio.to_thread(owner.ok, "GET", f"/cards/{gone['key']}"))["branch"] is None


async def test_starts_that_arrive_together_share_one_statement(stack: GitHubStack, fake: FakeGitHub,
                                                               ctx: dict[str, Any]) -> None:
    owner, cards = await asyncio.to_thread(world, stack, fake, 5)
    starts = CardStarts(ctx)
    sizes: list[int] = []
    run = starts.batches.run

    async def counted(batch: list) -> list:
        sizes.append(len(batch))
        return await run(batch)

    starts.batches.run = counted
    results = await asyncio.gather(*(starts.start(user_id(owner), uuid.UUID(card["id"]), f"web-{n}")
                                     for n, card in enumerate(cards)))
    assert sizes == [5]  # one statement for the five starts that arrived together
    assert [changed for _, changed in results] == [True] * 5
    seqs = []
    for n, card in enumerate(cards):
        after = await get(owner, card)
        assert (after["branch"], after["column"], after["assignees"]) == (
            f"web-{n}", "In Progress", [owner.username])
        assert after["version"] == card["version"] + 1
        [change] = await asyncio.to_thread(branch_changes, owner, card)
        assert change["actor"]["name"] == owner.username
        assert change["changes"]["column"] == {"old": "Backlog", "new": "In Progress"}
        seqs.append(change["seq"])
    assert sorted(seqs) == list(range(min(seqs), min(seqs) + 5))  # numbered together, no gaps
    ranks = [(await get(owner, c))["rank"] for c in cards]
    assert len(set(ranks)) == 5  # one below the other in the column
    again = await asyncio.gather(*(starts.start(user_id(owner), uuid.UUID(card["id"]), f"web-{n}")
                                   for n, card in enumerate(cards)))
    assert [changed for _, changed in again] == [False] * 5  # re-running changes nothing


async def install_failure(ctx: dict[str, Any], card_id: uuid.UUID) -> str:
    name = f"taskly_test_fail_{card_id.hex[:8]}"
    async with ctx["sessionmaker"]() as db, db.begin():
        await db.execute(text(f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ "
                              "BEGIN RAISE EXCEPTION 'this card cannot be started'; END $$"))
        await db.execute(text(f"CREATE TRIGGER {name} BEFORE UPDATE ON cards FOR EACH ROW "
                              f"WHEN (OLD.id = '{card_id}') EXECUTE FUNCTION {name}()"))
    return name


async def test_a_start_that_fails_in_a_shared_statement_fails_alone(
        stack: GitHubStack, fake: FakeGitHub, ctx: dict[str, Any]) -> None:
    owner, cards = await asyncio.to_thread(world, stack, fake, 4)
    bad = uuid.UUID(cards[2]["id"])
    name = await install_failure(ctx, bad)
    try:
        starts = CardStarts(ctx)
        results = await asyncio.gather(*(starts.start(user_id(owner), uuid.UUID(card["id"]), f"web-{n}")
                                         for n, card in enumerate(cards)), return_exceptions=True)
    finally:
        async with ctx["sessionmaker"]() as db, db.begin():
            await db.execute(text(f"DROP TRIGGER {name} ON cards"))
            await db.execute(text(f"DROP FUNCTION {name}()"))
    assert "this card cannot be started" in str(results[2])
    assert [r[1] for n, r in enumerate(results) if n != 2] == [True, True, True]
    for n, card in enumerate(cards):
        after = await get(owner, card)
        if n == 2:
            assert (after["branch"], after["column"], after["version"]) == (None, "Backlog", card["version"])
        else:
            assert (after["branch"], after["column"]) == (f"web-{n}", "In Progress")
