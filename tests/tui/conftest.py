"""The board's tests: boards seeded on a real server through the sync engine, the app opened over
a Factory pointing at that server with its own TASKLY_HOME.

    seeded = seed(username, cards=[...])      # workspace + board WEB + cards, teammates maya and lee
    app = open_app(seeded)                    # TasklyApp(Factory(...), "WEB")
    async with app.run_test(size=SIZE) as pilot: ...
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from taskly.core.context import Factory, Globals
from taskly.core.credentials import StoredLogin
from taskly.tui.app import TasklyApp
from taskly.tui.model import Clock

from tests.support.api import Api
from tests.support.processes import RestartableServer, ServerProcess, start_server

SIZE = (160, 48)
TODAY = date(2031, 3, 14)
"""The board's "today" in every test (due dates are chosen around it)."""


@dataclass
class Seeded:
    """A user's board on a server: WEB with the default columns, teammates as members."""

    server_url: str
    owner: Api
    workspace: dict[str, Any]
    board: dict[str, Any]
    teammates: dict[str, Api]
    cards: dict[str, Any] = field(default_factory=dict)
    """Title → CardOut as created."""

    def card(self, title: str) -> Any:
        return self.cards[title]


def make_factory(server_url: str, api: Api, home: Path, *, offline: bool = False,
                 keys: dict[str, Any] | None = None, workspace: str | None = None) -> Factory:
    """A Factory as the CLI builds it, signed in as `api`'s user, with its files under `home`."""
    environ = {"TASKLY_HOME": str(home), "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    factory = Factory(globals=Globals(server=server_url, offline=offline, workspace=workspace),
                      environ=environ)
    factory.credentials.save(StoredLogin(server_url, api.username, api.token, api.refresh_token))
    if keys is not None:
        from taskly.core.config import save_user

        save_user(factory.config.user_path, keys=keys)
        factory.__dict__.pop("config", None)
    return factory


def seed_board(server_url: str, owner: Api, home: Path, cards: list[dict[str, Any]], *,
               teammates: tuple[str, ...] = ("maya", "lee"), key: str = "WEB",
               workspace_name: str | None = None, comment_ids: str | None = None) -> Seeded:
    """Create the workspace and board with the REST client, then the cards through the sync engine.
    `comment_ids`: a namespace that makes the comments' ids (and so their short ids) the same in
    every run, for snapshots."""
    factory = make_factory(server_url, owner, home / "seed")
    api = factory.api
    workspace = api.create_workspace(workspace_name or f"Team {uuid.uuid4().hex[:6]}")
    board = api.create_board(workspace.id, "Web", key)
    mates = {name: Api.login(server_url, name) for name in teammates}
    for mate in mates.values():
        invitation = api.create_invitation(workspace.id, "member")
        mate.ok("POST", f"/invitations/{invitation.token}/accept")
    factory.engine.sync(discover=True)
    created = {}
    for spec in cards:
        spec = dict(spec)
        title = spec.pop("title")
        comments = spec.pop("comments", ())
        result = factory.engine.create_card(key, title, workspace_id=str(workspace.id), **spec)
        assert not result.queued, result.reason
        created[title] = result.entity
        for n, (author, body) in enumerate(comments):
            writer = owner if author == owner.username else mates[author]
            fixed = {"id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{comment_ids}/{title}/{n}"))} if comment_ids else {}
            writer.ok("POST", f"/cards/{result.entity.id}/comments", json={"body": body, **fixed})
    factory.close()
    factory.store.close()
    return Seeded(server_url, owner, workspace.model_dump(mode="json"), board.model_dump(mode="json"),
                  mates, created)


CARDS: list[dict[str, Any]] = [
    {"title": "Fix login redirect loop on expired sessions", "column": "In Progress", "priority": "urgent",
     "labels": ["bug", "auth"], "points": 3, "due": date(2031, 3, 10), "assignees": ["maya"],
     "description": "After the session expires, `/login?next=…` redirects **to itself** forever.",
     "comments": [("maya", "Reproduced on Safari 17 too."), ("lee", "Patch coming today.")]},
    {"title": "Rate-limit the public search endpoint", "column": "Todo", "priority": "high",
     "labels": ["backend", "security"], "points": 5, "due": date(2031, 3, 20), "assignees": ["lee"]},
    {"title": "Onboarding checklist for new workspaces", "column": "Todo", "priority": "medium",
     "labels": ["feature"], "points": 5, "assignees": ["maya", "lee"]},
    {"title": "Upgrade the Postgres driver", "column": "Todo", "priority": "low", "labels": ["chore"],
     "points": 2},
    {"title": "Dark mode for the dashboard", "column": "Backlog", "labels": ["feature", "frontend"]},
    {"title": "Audit log in workspace settings", "column": "In Review", "priority": "medium",
     "labels": ["feature"], "points": 8, "due": date(2031, 3, 14), "assignees": ["lee"]},
    {"title": "Set up a staging environment", "column": "Done", "priority": "medium", "labels": ["infra"],
     "points": 5, "due": date(2031, 3, 1), "assignees": ["maya"]},
]
"""The standard board of these tests: every kind of card face (priorities, overdue, labels, people)."""


@pytest.fixture(scope="session")
def tui_server(server_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server with its SAQ worker in process (webhooks are processed), on the session database."""
    env = {**server_env, "TASKLY_WORKER_IN_PROCESS": "1", "TASKLY_QUEUE_NAME": f"tui-{uuid.uuid4().hex[:8]}"}
    process = start_server(env, tmp_path_factory.mktemp("tui-server"))
    yield process
    process.stop()


@pytest.fixture
def own_server(server_env: dict[str, str], tmp_path: Path) -> Iterator[RestartableServer]:
    """A server of this test's own, to stop and start (fast heartbeats: a dead link shows soon)."""
    server = RestartableServer({**server_env, "TASKLY_WS_PING_INTERVAL": "0.5", "TASKLY_WS_PING_TIMEOUT": "2"},
                               tmp_path / "own-server")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def seed(tui_server: ServerProcess, tmp_path: Path) -> Callable[..., Seeded]:
    """seed() → a fresh user's board with CARDS; seed(cards=[...], username=...) for others."""

    def make(cards: list[dict[str, Any]] | None = None, username: str | None = None,
             server_url: str | None = None) -> Seeded:
        url = server_url or tui_server.url
        owner = Api.login(url, username or f"ana-{uuid.uuid4().hex[:6]}")
        return seed_board(url, owner, tmp_path, CARDS if cards is None else cards)

    return make


@pytest.fixture
def open_app(tmp_path: Path) -> Iterator[Callable[..., TasklyApp]]:
    """open_app(seeded) → a TasklyApp on board WEB as the seeded owner, over a synced cache (unless
    `warm=False`), with a fixed today and now. `board=None` opens it as bare `taskly board` does;
    `workspace=None` leaves the workspace unset too (else it is the seeded one, as a flag); `today`
    replaces conftest.TODAY."""
    factories: list[Factory] = []

    def make(seeded: Seeded, *, user: Api | None = None, offline: bool = False, warm: bool = True,
             keys: dict[str, Any] | None = None, now: datetime | None = None, server_url: str | None = None,
             board: str | None = "WEB", workspace: str | None = "seeded", today: date | None = None,
             **options: Any) -> TasklyApp:
        user = user or seeded.owner
        home = tmp_path / f"home-{len(factories)}"
        url = server_url or seeded.server_url
        if warm:  # a cache synced earlier, as after any `taskly` command: the board paints from it
            earlier = make_factory(url, user, home)
            earlier.engine.sync(discover=True)
            earlier.close()
            earlier.store.close()
        factory = make_factory(url, user, home, offline=offline, keys=keys,
                               workspace=seeded.workspace["name"] if workspace == "seeded" else workspace)
        factories.append(factory)
        moment = now or datetime(2031, 3, 14, 12, 0, tzinfo=UTC)
        clock = Clock(today=lambda: today or TODAY, now=lambda: moment)
        app = TasklyApp(factory, board, clock=clock, **options)
        app.notes = []  # every notification, as (severity, message)
        notify = app.notify

        def recording(message: str, **kwargs: Any) -> None:
            app.notes.append((kwargs.get("severity", "information"), str(message)))
            notify(message, **kwargs)

        app.notify = recording
        return app

    yield make
    for factory in factories:
        factory.close()
        if "store" in factory.__dict__:
            factory.store.close()


async def until(pilot: Any, condition: Callable[[], bool], within: float = 10.0,
                what: str = "the condition") -> None:
    """Let the app run until `condition()` holds (fails the test after `within` seconds)."""
    import time

    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within} s waiting for {what}")
        await pilot.pause(0.05)


def noted(app: TasklyApp, text: str, severity: str | None = None) -> bool:
    """Whether the app notified something containing `text` (with that severity)."""
    return any(text in message and severity in (None, level) for level, message in app.notes)


def current_key(app: TasklyApp) -> str | None:
    card = app.board_screen.current_card
    return card.key if card else None


def column_keys(app: TasklyApp, column: str) -> list[str]:
    """Keys shown in a column (by name), top to bottom."""
    model = app.board_screen.model
    column_id = next(str(c.id) for c in model.columns if c.name == column)
    return [card.key for card in model.visible(column_id)]


def online(app: TasklyApp) -> bool:
    """Connected live and done with the first sync: what happens now arrives live."""
    return app.sync_state.live == "online" and not app.sync_state.syncing


def settled(app: TasklyApp) -> bool:
    """No write running and nothing queued."""
    writes = [w for w in app.workers if w.group == "write" and not w.is_finished]
    return not writes and app.store.outbox.count() == 0


Until = Callable[..., Awaitable[None]]
