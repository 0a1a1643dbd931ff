"""The demo's content: workspace "Demo", board DEMO, three people and fifteen cards of a web team.

`seed(url)` signs the demo users in (dev login), creates what is missing and returns the demo
user's tokens. It is idempotent: the workspace, the board and the memberships are looked up
before being created, and a card whose title is already on the board (even deleted) is never
created again, so running `taskly demo` twice changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from taskly_shared.models import AuthTokens, BoardOut, WorkspaceOut

    from ..api.client import ApiClient

DEMO_USER = "demo"
TEAMMATES = ("maya", "lee")
WORKSPACE = "Demo"
BOARD_KEY = "DEMO"
BOARD_NAME = "Demo"


@dataclass(frozen=True)
class DemoCard:
    title: str
    column: str
    description: str = ""
    labels: tuple[str, ...] = ()
    priority: str = "none"
    points: int | None = None
    due_in_days: int | None = None
    """Due date relative to the day the demo is created."""
    assignees: tuple[str, ...] = ()
    comments: tuple[tuple[str, str], ...] = field(default=())
    """(author, body) in order."""


CARDS: tuple[DemoCard, ...] = (
    DemoCard("Dark mode for the dashboard", "Backlog",
             "Follow the system setting, with a toggle in *Settings → Appearance*.",
             ("feature", "frontend"), "low", 5),
    DemoCard("Export a board as CSV", "Backlog",
             "One row per card: key, title, column, assignees, labels, points, due date.",
             ("feature",), "low", 3),
    DemoCard("Evaluate self-hosted CI runners", "Backlog",
             "Compare queue times and cost with the hosted runners over two weeks.",
             ("infra", "research"), "none", 2),
    DemoCard("Rate-limit the public search endpoint", "Todo",
             "Per user and per IP, answering 429 with `Retry-After`.",
             ("backend", "security"), "high", 3, 5, ("lee",)),
    DemoCard("Onboarding checklist for new workspaces", "Todo",
             "Invite a teammate, create a board, connect a repository.",
             ("feature", "frontend"), "medium", 5, 10, ("maya",)),
    DemoCard("Upgrade the Postgres driver", "Todo",
             "Read the changelog for connection pool changes first.",
             ("backend", "chore"), "low", 2, None, ("lee",)),
    DemoCard("Runbook for database failover", "Todo",
             "Who decides, which commands, how to check the replica caught up.",
             ("docs", "infra"), "medium", 3, 14, (DEMO_USER,)),
    DemoCard("Fix login redirect loop on expired sessions", "In Progress",
             "After the session expires, `/login?next=…` redirects to itself forever.",
             ("bug", "auth"), "urgent", 3, 1, (DEMO_USER,),
             (("maya", "Reproduced on Safari 17 too: the refresh cookie is dropped after the "
                       "redirect."),
              (DEMO_USER, "Found it: we clear the session before reading `next`. Patch today."))),
    DemoCard("Drag-and-drop reordering on mobile", "In Progress",
             "Long-press to pick a card up; auto-scroll near the edges.",
             ("feature", "frontend"), "medium", 8, 6, ("maya",)),
    DemoCard("Nightly backup reports success on failure", "Done",
             "The job exits 0 even when `pg_dump` fails.",
             ("bug", "infra"), "high", 2, 2, ("lee",),
             (("lee", "The exit code of pg_dump is lost in the pipe; switching to "
                      "`set -o pipefail`."),)),
    DemoCard("Audit log in workspace settings", "Done",
             "Who changed what and when, filterable by person and by board.",
             ("feature", "backend"), "medium", 5, 3, ("lee", DEMO_USER),
             ((DEMO_USER, "Left a few notes on the pagination query; otherwise good to go."),)),
    DemoCard("Load the board with a single snapshot query", "In Review",
             "Board load goes from 14 queries to 1; p95 from 420 ms to 60 ms locally.",
             ("performance", "backend"), "high", 5, 0, (DEMO_USER,)),
    DemoCard("Password reset emails land in spam", "Done",
             "Set up SPF and DKIM for the mail domain.",
             ("bug", "email"), "high", 2, -3, ("maya",)),
    DemoCard("Set up a staging environment", "Done",
             "Deployed on every merge to main, with anonymised production data.",
             ("infra",), "medium", 5, -7, ("lee",)),
    DemoCard("Keyboard shortcuts help dialog", "Done",
             "`?` opens it anywhere.",
             ("frontend",), "low", 1, -1, ("maya",),
             (("maya", "Shipped in 1.4."),)),
)


def _find_workspace(api: ApiClient) -> WorkspaceOut:
    existing = [w for w in api.list_workspaces() if w.name == WORKSPACE]
    return existing[0] if existing else api.create_workspace(WORKSPACE)


def _find_board(api: ApiClient, workspace_id: str) -> BoardOut:
    existing = [b for b in api.list_boards(workspace_id) if b.key == BOARD_KEY]
    return existing[0] if existing else api.create_board(workspace_id, BOARD_NAME, BOARD_KEY)


def _ensure_members(owner: ApiClient, teammates: dict[str, ApiClient], workspace_id: str) -> None:
    members = {member.username for member in owner.list_members(workspace_id)}
    for name, api in teammates.items():
        if name not in members:
            api.accept_invitation(owner.create_invitation(workspace_id, "member").token)


def _create_cards(apis: dict[str, ApiClient], workspace_id: str, board_id: str, today: date,
                  sprint_id: str | None = None) -> dict[str, tuple[str, int | None]]:
    """Create the missing cards; with `sprint_id` (a sprint this run created), each as it was on the
    sprint's first day (`demo.sprint`). Returns title → (id, points) of the cards created."""
    from taskly_shared.models import CardCreate, CardPatch

    from ..core.errors import Conflict
    from . import sprint as demo_sprint

    owner = apis[DEMO_USER]
    cards = owner.snapshot(workspace_id).cards
    existing = {card.title: card for card in cards if str(card.board_id) == board_id}
    known = {str(card.id) for card in cards}  # deleted ones too: a renamed demo card is still the demo's
    created: dict[str, tuple[str, int | None]] = {}
    for index, card in enumerate(CARDS):
        if card.title in existing:
            if sprint_id is not None and card.title in demo_sprint.BY_TITLE:  # a demo made before sprints
                owner.update_card(str(existing[card.title].id), CardPatch(sprint_id=sprint_id),
                                  idempotency_key=f"demo:{board_id}:join:{index}")
            continue
        due = today + timedelta(days=card.due_in_days) if card.due_in_days is not None else None
        first = (demo_sprint.first_state(card.title, card.column, card.points, sprint_id) if sprint_id
                 else {"column": card.column, "points": card.points})
        data = CardCreate(title=card.title, description=card.description, labels=list(card.labels),
                          priority=card.priority, due=due, assignees=list(card.assignees), **first)
        try:
            out = owner.create_card(board_id, data, idempotency_key=f"demo:{board_id}:card:{index}")
        except Conflict as exc:  # an earlier demo made it (another day: another due date), changed since
            if exc.code != "idempotency_key_reused":
                raise
            continue
        if str(out.id) in known:  # the earlier demo's card, answered again (renamed since): kept as it is
            continue
        for number, (author, body) in enumerate(card.comments):
            apis[author].add_comment(str(out.id), body,
                                     idempotency_key=f"demo:{out.id}:comment:{number}")
        created[card.title] = (str(out.id), card.points)
    return created


def seed(url: str, today: date | None = None,
         redate: Callable[[dict[str, Any]], None] | None = None) -> tuple[AuthTokens, WorkspaceOut, BoardOut, int]:
    """Create what is missing on the demo server; the first time, its sprint with a history
    (`redate` dates the seeding's changes: `DemoServer.redate`).

    Returns the demo user's tokens, the workspace, the board and how many cards were created.
    """
    from datetime import UTC, datetime

    from ..api.client import ApiClient
    from ..api.credentials import StaticCredentials
    from . import sprint as demo_sprint

    anonymous = ApiClient(url)
    try:
        tokens = {name: anonymous.dev_login(name) for name in (DEMO_USER, *TEAMMATES)}
    finally:
        anonymous.close()
    apis = {name: ApiClient(url, StaticCredentials(t.access_token)) for name, t in tokens.items()}
    try:
        owner = apis[DEMO_USER]
        workspace = _find_workspace(owner)
        _ensure_members(owner, {name: apis[name] for name in TEAMMATES}, str(workspace.id))
        board = _find_board(owner, str(workspace.id))
        workspace_id, board_id = str(workspace.id), str(board.id)
        since = demo_sprint.head(owner, workspace_id)
        sprint, fresh = demo_sprint.find_or_create(owner, board_id, today or datetime.now(UTC).date())
        made = _create_cards(apis, workspace_id, board_id, today or date.today(),
                             str(sprint.id) if fresh else None)
        if fresh:
            demo_sprint.seed_history(owner, workspace_id, board_id, sprint, since, made, redate)
        created = len(made)
    finally:
        for api in apis.values():
            api.close()
    return tokens[DEMO_USER], workspace, board, created


CURRENT = ("server", "workspace", "board")
"""What the demo makes current in the user config (and `taskly demo --stop` puts back)."""


def replaced(url: str, environ: dict[str, str]) -> dict[str, str | None] | None:
    """The user's current server, workspace and board that the demo is about to replace (None when
    the demo's are already the current ones)."""
    from ..core.config import read_toml, user_config_path

    user = read_toml(user_config_path(environ))
    if user.get("server") == url:
        return None
    return {key: user.get(key) for key in CURRENT}


def sign_in(url: str, tokens: AuthTokens, environ: dict[str, str], output,
            previous_path: Path | None = None) -> None:
    """Store the demo user's login; the demo server, workspace and board become the current ones.

    What they replace is kept in `previous_path` (once: a second demo keeps the first record)."""
    from ..core.config import save_user, user_config_path
    from ..core.credentials import Credentials, StoredLogin

    previous = replaced(url, environ)
    if previous is not None and previous_path is not None:
        previous_path.parent.mkdir(parents=True, exist_ok=True)
        previous_path.write_text(json.dumps({"demo": url, **previous}))
    login = StoredLogin(url, tokens.user.username, tokens.access_token, tokens.refresh_token)
    Credentials(None, environ, output).save(login)
    save_user(user_config_path(environ), server=url, workspace=WORKSPACE, board=BOARD_KEY)


def restore(previous_path: Path, environ: dict[str, str]) -> dict[str, str | None] | None:
    """Put back the server, workspace and board the demo replaced, when the demo's are still the
    current ones (a choice made since is left alone); returns what was restored."""
    from ..core.config import read_toml, save_user, user_config_path

    try:
        previous = json.loads(previous_path.read_text())
    except (OSError, ValueError):
        return None
    previous_path.unlink(missing_ok=True)
    path = user_config_path(environ)
    if read_toml(path).get("server") != previous.get("demo"):
        return None
    values = {key: previous.get(key) for key in CURRENT}
    save_user(path, **values)
    return values


def load_board(url: str, tokens: AuthTokens, board_id: str, environ: dict[str, str],
               timeout: float = 10.0):
    """Bring the demo user's cache up to date; the board with its columns and cards (BoardDetail)."""
    from taskly_shared.models import BoardDetail

    from ..api.credentials import StaticCredentials
    from ..core.errors import Offline
    from ..store import Store
    from ..sync.engine import SyncEngine

    store = Store.for_account(url, tokens.user.username, environ)
    engine = SyncEngine(url, StaticCredentials(tokens.access_token), store)
    try:
        result = engine.sync(timeout=timeout, discover=True)
        if result.stale:
            reason = result.pull.error or result.push.offline
            raise Offline(f"could not load the demo board from {url}: {reason}")
        board = store.board(board_id)
        return BoardDetail(**board.model_dump(), cards=store.cards(board_id=board_id))
    finally:
        engine.close()
        store.close()
