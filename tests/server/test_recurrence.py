"""Recurring cards, a change-feed consumer in a real worker process: a card with a recurrence that
reaches a done column by any path — an HTTP move, a PATCH, a bulk update, a merged pull request, two
clients at once, a replayed write, a worker that dies mid-way, a cursor handled again — gets exactly
one next card, with its dates moved on, at the top of the board's first todo column."""

from __future__ import annotations

import json
import subprocess
import threading
import uuid
from collections.abc import Iterator
from datetime import date, timedelta

import pytest

from tests.support.api import Api
from tests.support.consumers import ConsumerStack, consumer_database
from tests.support.github_webhooks import Hook, now
from tests.support.processes import BIN

pytestmark = pytest.mark.timeout(180)
__all__ = ["consumer_database"]


@pytest.fixture(scope="module")
def stack(consumer_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsumerStack]:
    stack = ConsumerStack.start(tmp_path_factory.mktemp("recurrence"), consumer_database)
    yield stack
    stack.stop()


class Board:
    def __init__(self, stack: ConsumerStack, key: str = "WEB") -> None:
        self.stack = stack
        self.owner = stack.login()
        self.workspace = self.owner.workspace("Recurring")
        self.board = self.owner.board(self.workspace["id"], key)
        self.columns = {c["name"]: c for c in self.board["columns"]}

    def card(self, title: str, **fields: object) -> dict:
        return self.owner.ok("POST", f"/boards/{self.board['id']}/cards", json={"title": title, **fields})

    def cards(self) -> list[dict]:
        return self.owner.ok("GET", f"/boards/{self.board['id']}/cards")

    def titled(self, title: str) -> list[dict]:
        return [c for c in self.cards() if c["title"] == title]

    def move(self, card: dict, column: str, api: Api | None = None, **headers: str) -> dict:
        return (api or self.owner).ok("POST", f"/cards/{card['id']}/move", json={"column": column},
                                      headers=headers)

    def settle(self) -> None:
        self.stack.wait_caught_up()


def occurrences(stack: ConsumerStack, card_id: str) -> int:
    return stack.sql("SELECT count(*) FROM card_occurrences WHERE card_id = %(id)s", {"id": card_id})[0][0]


def test_a_move_to_done_makes_the_next_card_once(stack: ConsumerStack) -> None:
    world = Board(stack)
    alice = stack.login()
    world.owner.ok("POST", f"/workspaces/{world.workspace['id']}/invitations", json={})
    invitation = world.owner.ok("POST", f"/workspaces/{world.workspace['id']}/invitations", json={})
    alice.ok("POST", f"/invitations/{invitation['token']}/accept")
    world.card("Water the plants", labels=["home"])  # WEB-1: the top of Todo goes to the new card
    world.move(world.titled("Water the plants")[0], "Todo")
    card = world.card("Weekly report", description="Send *it*", labels=["ops", "report"], priority="high",
                      points=3, due="2027-01-29", remind_at="2027-01-29T08:00:00Z", recurrence="weekly",
                      recurrence_interval=2, assignees=[alice.username, world.owner.username])
    world.move(card, "Done")
    world.settle()
    [done, following] = sorted(world.titled("Weekly report"), key=lambda c: c["number"])
    assert done["id"] == card["id"]
    assert following["column"] == "Todo" and following["key"] == "WEB-3"
    todo = [c for c in world.cards() if c["column"] == "Todo"]
    assert todo[0]["id"] == following["id"]  # at the top of the first todo column
    assert following["due"] == "2027-02-12"  # two weeks after the previous due date
    assert following["remind_at"].startswith("2027-02-12T08:00:00")
    for name in ("description", "labels", "priority", "points", "recurrence", "recurrence_interval",
                 "assignees", "board_id"):
        assert following[name] == card[name], name
    created = world.owner.ok("GET", f"/cards/{following['key']}/activity")
    [creation] = [c for c in created if c["op"] == "create"]
    assert creation["actor"] == {"type": "automation", "id": None, "name": "recurrence rule",
                                 "delivery_id": None}
    assert creation["changes"]["previous_occurrence"]["new"] == card["key"]
    history = world.owner.ok("GET", f"/cards/{card['key']}/activity")
    assert [c["changes"]["next_occurrence"]["new"] for c in history if "next_occurrence" in c["changes"]] \
        == [following["key"]]

    # out of done and back, by another member: still one next card
    world.move(card, "In Progress", alice)
    world.move(card, "Done", alice)
    world.settle()
    assert len(world.titled("Weekly report")) == 2 and occurrences(stack, card["id"]) == 1


def test_patch_bulk_update_and_a_create_in_done(stack: ConsumerStack) -> None:
    world = Board(stack)
    patched = world.card("Patched", recurrence="daily", due="2027-03-01")
    bulk = world.card("Bulk", recurrence="daily", due="2027-03-01")
    plain = world.card("Not recurring")
    world.owner.ok("PATCH", f"/cards/{patched['key']}", json={"column": "Done"})
    world.owner.ok("POST", "/cards/bulk-update", json={"cards": [
        {"card": bulk["key"], "column": "Done"}, {"card": plain["key"], "column": "Done"}]})
    born_done = world.card("Born done", recurrence="monthly", due="2027-01-31", column="Done")
    world.settle()
    assert sorted(c["due"] for c in world.titled("Patched")) == ["2027-03-01", "2027-03-02"]
    assert sorted(c["due"] for c in world.titled("Bulk")) == ["2027-03-01", "2027-03-02"]
    assert len(world.titled("Not recurring")) == 1
    assert sorted(c["due"] for c in world.titled("Born done")) == ["2027-01-31", "2027-02-28"]
    assert occurrences(stack, born_done["id"]) == 1


def test_monthly_keeps_its_day_across_short_months(stack: ConsumerStack) -> None:
    world = Board(stack)
    card = world.card("Pay rent", recurrence="monthly", due="2027-01-31")
    dues = []
    for _ in range(3):
        world.move(card, "Done")
        world.settle()
        card = max(world.titled("Pay rent"), key=lambda c: c["number"])
        dues.append(card["due"])
    assert dues == ["2027-02-28", "2027-03-31", "2027-04-30"]


def test_no_due_date_counts_from_completion_and_off_stops_the_series(stack: ConsumerStack) -> None:
    world = Board(stack)
    card = world.card("Stretch", recurrence="daily", recurrence_interval=3)
    world.move(card, "Done")
    world.settle()
    following = max(world.titled("Stretch"), key=lambda c: c["number"])
    completed = date.fromisoformat(world.owner.ok("GET", f"/cards/{card['key']}")["updated_at"][:10])
    assert following["due"] == (completed + timedelta(days=3)).isoformat()
    world.owner.ok("PATCH", f"/cards/{following['key']}", json={"recurrence": "none"})
    world.move(following, "Done")
    world.settle()
    assert len(world.titled("Stretch")) == 2


def test_two_clients_completing_at_once_and_a_replayed_write(stack: ConsumerStack) -> None:
    world = Board(stack)
    bob = stack.login()
    invitation = world.owner.ok("POST", f"/workspaces/{world.workspace['id']}/invitations", json={})
    bob.ok("POST", f"/invitations/{invitation['token']}/accept")
    cards = [world.card(f"Standup {n}", recurrence="daily", due="2027-05-03") for n in range(5)]
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def complete(api: Api) -> None:
        try:
            for card in cards:
                barrier.wait(10)
                world.move(card, "Done", api, **{"Idempotency-Key": uuid.uuid4().hex})
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=complete, args=(api,)) for api in (world.owner, bob)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    # an offline client's queued write replayed later, twice (same Idempotency-Key), after a
    # move out of done by someone else
    world.move(cards[0], "Todo", bob)
    world.move(cards[0], "Done", **{"Idempotency-Key": "offline-1"})
    world.move(cards[0], "Done", **{"Idempotency-Key": "offline-1"})
    world.settle()
    for n, card in enumerate(cards):
        assert len(world.titled(f"Standup {n}")) == 2, n
        assert occurrences(stack, card["id"]) == 1


def test_a_merged_pull_request_completes_it(stack: ConsumerStack) -> None:
    world = Board(stack)
    hook = Hook.connect(stack.url, stack.database_url, world.workspace["id"])
    card = world.card("Rotate keys", recurrence="weekly", due="2027-06-07")
    branch, t = f"{card['key'].lower()}-rotate", now() + 1
    hook.deliver("pull_request", hook.pull("opened", 5, head=branch, updated=t))
    hook.deliver("pull_request", hook.pull("closed", 5, head=branch, merged=True, updated=t + 1))
    assert world.owner.ok("GET", f"/cards/{card['key']}")["column"] == "Done"
    world.settle()
    assert sorted(c["due"] for c in world.titled("Rotate keys")) == ["2027-06-07", "2027-06-14"]


def test_a_worker_that_dies_between_effect_and_cursor(stack: ConsumerStack) -> None:
    """The crash hook ends the worker after the next card was written, before the commit that
    would also move the cursor: nothing of it stays, and the next worker makes it once."""
    world = Board(stack)
    for worker in stack.workers:
        worker.stop()
    card = world.card("Backup check", recurrence="weekly", due="2027-07-05")
    world.move(card, "Done")
    crashing = stack.start_worker({"TASKLY_TEST_CONSUMER_CRASH": "recurrence"}, wait=False)
    assert crashing.process.wait(60) == 70, crashing.log()[-3000:]
    assert "consumer_test_crash" in crashing.log()
    assert len(world.titled("Backup check")) == 1 and occurrences(stack, card["id"]) == 0
    stack.start_worker()
    world.settle()
    assert sorted(c["due"] for c in world.titled("Backup check")) == ["2027-07-05", "2027-07-12"]


def test_changes_handled_again_make_nothing_new(stack: ConsumerStack) -> None:
    """The cursor is not the only guard: with every cursor set back to 0, the whole feed is handled
    again, and no card gets a second next card (one per card, a primary key)."""
    world = Board(stack)
    card = world.card("Invoice", recurrence="monthly", due="2027-08-31")
    world.move(card, "Done")
    world.settle()
    before = stack.sql("SELECT count(*) FROM cards")[0][0]
    stack.sql("UPDATE consumer_cursors SET seq = 0 WHERE consumer = 'recurrence'")
    world.settle()
    assert stack.sql("SELECT count(*) FROM cards")[0][0] == before
    assert sorted(c["due"] for c in world.titled("Invoice")) == ["2027-08-31", "2027-09-30"]


def test_the_consumers_command_shows_the_lag(stack: ConsumerStack) -> None:
    world = Board(stack)
    world.card("Anything")
    world.settle()
    result = subprocess.run([str(BIN / "taskly-server"), "consumers", "--all", "--json"],
                            env={**stack.env, "PATH": str(BIN)}, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    mine = {row["consumer"]: row for row in rows if row["workspace_id"] == world.workspace["id"]}
    assert set(mine) == {"recurrence", "notifications", "pr_comments"}
    assert all(row["lag"] == 0 and row["cursor"] == row["head"] > 0 for row in mine.values())
    assert "0 changes not yet consumed" in result.stderr
    table = subprocess.run([str(BIN / "taskly-server"), "consumers"], env={**stack.env, "PATH": str(BIN)},
                             capture_output=True, text=True, timeout=60)
    assert table.returncode == 0 and table.stdout.splitlines()[0].startswith("CONSUMER")
