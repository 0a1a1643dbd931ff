"""The card side of create_branch when many jobs finish together: branch jobs of one worker share
a transaction, each card still changes once with its own attributed Change; a start that fails
inside a shared transaction fails alone."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from taskly_server.db.session import create_engine, create_sessionmaker
from taskly_server.domain.cards.services import CardService
from taskly_server.domain.github.starts import CardStarts, Starter
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


async def test_starts_that_arrive_together_share_one_transaction(stack: GitHubStack, fake: FakeGitHub,
                                                                ctx: dict[str, Any]) -> None:
    owner, cards = await asyncio.to_thread(world, stack, fake, 5)
    starter = Starter(uuid.UUID(owner.user["id"]), owner.username)
    starts = CardStarts(ctx)
    results = await asyncio.gather(*(starts.start(starter, uuid.UUID(card["id"]), f"web-{n}")
                                     for n, card in enumerate(cards)))
    assert [changed for _, changed in results] == [True] * 5
    seqs = []
    for n, card in enumerate(cards):
        after = await asyncio.to_thread(owner.ok, "GET", f"/cards/{card['key']}")
        assert (after["branch"], after["column"], after["assignees"]) == (
            f"web-{n}", "In Progress", [owner.username])
        assert after["version"] == card["version"] + 1
        [change] = await asyncio.to_thread(branch_changes, owner, card)
        assert change["actor"]["name"] == owner.username
        assert change["changes"]["column"] == {"old": "Backlog", "new": "In Progress"}
        seqs.append(change["seq"])
    assert sorted(seqs) == list(range(min(seqs), min(seqs) + 5))  # numbered together, no gaps
    ranks = [(await asyncio.to_thread(owner.ok, "GET", f"/cards/{c['key']}"))["rank"] for c in cards]
    assert len(set(ranks)) == 5  # one below the other in the column
    again = await asyncio.gather(*(starts.start(starter, uuid.UUID(card["id"]), f"web-{n}")
                                   for n, card in enumerate(cards)))
    assert [changed for _, changed in again] == [False] * 5  # re-running changes nothing


async def test_a_start_that_fails_in_a_shared_transaction_fails_alone(
        stack: GitHubStack, fake: FakeGitHub, ctx: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    owner, cards = await asyncio.to_thread(world, stack, fake, 4)
    bad = uuid.UUID(cards[2]["id"])
    original = CardService.start

    async def failing(self: CardService, card_id: uuid.UUID, user_id: uuid.UUID, branch: str) -> Any:
        if card_id == bad:
            raise RuntimeError("this card cannot be started")
        return await original(self, card_id, user_id, branch)

    monkeypatch.setattr(CardService, "start", failing)
    starter = Starter(uuid.UUID(owner.user["id"]), owner.username)
    starts = CardStarts(ctx)
    results = await asyncio.gather(*(starts.start(starter, uuid.UUID(card["id"]), f"web-{n}")
                                     for n, card in enumerate(cards)), return_exceptions=True)
    assert isinstance(results[2], RuntimeError)
    assert [r[1] for n, r in enumerate(results) if n != 2] == [True, True, True]
    for n, card in enumerate(cards):
        after = await asyncio.to_thread(owner.ok, "GET", f"/cards/{card['key']}")
        if n == 2:
            assert (after["branch"], after["column"], after["version"]) == (None, "Backlog", card["version"])
        else:
            assert (after["branch"], after["column"]) == (f"web-{n}", "In Progress")
