"""A client cache filled without a server: a workspace snapshot of N cards loaded through the real
`Store` (the same code a pull runs), for tests and benchmarks of the CLI's reads from the cache.

    env = cached_board(tmp_path, cards=500)          # TASKLY_HOME, TASKLY_SERVER, TASKLY_TOKEN
    subprocess.run(["taskly", "ls", "--offline"], env={**os.environ, **env})
"""

from __future__ import annotations

import hashlib
import random
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from taskly.core.paths import cache_db_path
from taskly.store import Store
from taskly_shared.models import BoardOut, CardOut, ColumnOut, MemberOut, Snapshot, WorkspaceOut

SERVER = "http://127.0.0.1:9"
"""A server nobody listens on: reads that would use it fail instead of hanging."""
TOKEN = "cache-fixture-token"

HOSTILE = ["pwn\x1b]0;pwned\x07\ttab\nnewline", "x\x1b[2J", "[bold red]markup[/] :smile: \u202eevil",
           "漢字のタイトル 한국어 제목", "emoji 😀👍🏽❤️ 👩\u200d💻 family", "combining e\u0301\u0301 \uff57\uff49\uff44\uff45",
           "\u00a0nbsp\u3000ideographic space", "back\\slash \"quoted\" 'single'", "a" * 120, ""]
WORDS = ["fix", "login", "cache", "the", "flaky", "test", "refactor", "sync", "board", "ui", "über", "naïve"]
LABELS = ["bug", "ui", "backend", "x\x1b[2J", "ラベル", "🔥hot", "a-very-long-label-name-for-wrapping"]
USERS = ["alice", "bob", "charlie-with-a-long-name", "zoë", "dan"]


def _title(rng: random.Random, n: int) -> str:
    if n % 7 == 3:
        return rng.choice(HOSTILE) or "untitled"
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 12)))


def snapshot(cards: int = 500, seed: int = 19, key: str = "WEB") -> Snapshot:
    """A workspace with one board of five columns and `cards` cards of varied, hostile text."""
    rng = random.Random(seed)
    now = datetime(2026, 12, 1, 12, tzinfo=UTC)
    ids = lambda: uuid.UUID(int=rng.getrandbits(128), version=4)  # noqa: E731
    workspace = WorkspaceOut(id=ids(), name="Cached", role="owner", seq=cards, version=1, created_at=now,
                             updated_at=now)
    board_id = ids()
    names = [("Backlog", "backlog"), ("Todo", "todo"), ("In Progress", "in_progress"),
             ("Review \x1b[31mred", "review"), ("Done", "done")]
    columns = [ColumnOut(id=ids(), board_id=board_id, name=name, kind=kind, rank=f"a{i}", version=1)
               for i, (name, kind) in enumerate(names)]
    board = BoardOut(id=board_id, workspace_id=workspace.id, name="Web", key=key, archived=False,
                     next_card_number=cards + 1, version=1, created_at=now, updated_at=now, columns=columns)
    members = [MemberOut(user_id=ids(), username=name, role="member", joined_at=now) for name in USERS]
    today = date.today()
    made = []
    for n in range(1, cards + 1):
        column = rng.choice(columns)
        made.append(CardOut(
            id=ids(), key=f"{key}-{n}", number=n, board_id=board_id, workspace_id=workspace.id,
            title=_title(rng, n), description=rng.choice(["", "some *text*", HOSTILE[0]]), column=column.name,
            column_id=column.id, column_kind=column.kind, rank=f"r{rng.randrange(10**6):06d}",
            labels=rng.sample(LABELS, rng.randint(0, 3)), priority=rng.choice(["none", "low", "medium", "high", "urgent"]),
            points=rng.choice([None, 1, 2, 3, 5, 8, 13]), due=rng.choice([None, today + timedelta(days=rng.randint(-30, 30))]),
            assignees=rng.sample(USERS, rng.randint(0, 2)), version=1, created_at=now, updated_at=now,
            deleted_at=now if n % 53 == 0 else None, branch=f"web-{n}-work" if n % 5 == 0 else None,
            created_by=rng.choice(USERS), recurrence="weekly" if n % 11 == 0 else "none",
            recurrence_interval=2 if n % 22 == 0 else 1, remind_at=now + timedelta(days=3) if n % 13 == 0 else None))
    return Snapshot(seq=cards, workspace=workspace, members=members, boards=[board], cards=made)


def tx_cards(tx) -> list[tuple[str, str, str]]:
    """(id, key, workspace id) of the cached cards."""
    return tx._exec("SELECT id, key, workspace_id FROM cards").fetchall()


def account(token: str = TOKEN) -> str:
    """`Factory.account` for TASKLY_TOKEN."""
    return "token-" + hashlib.sha256(token.encode()).hexdigest()[:12]


def cached_board(home: Path, cards: int = 500, seed: int = 19, server: str = SERVER,
                 synced_at: str | None = "2026-11-02T08:00:00+00:00") -> dict[str, str]:
    """A cache under `home` holding `snapshot(cards)`, pulled at `synced_at` (None: now); the
    environment that reads it."""
    env = {"TASKLY_HOME": str(home), "TASKLY_SERVER": server, "TASKLY_TOKEN": TOKEN}
    store = Store(cache_db_path(server, account(), env), server_url=server, user=account())
    try:
        with store.transaction() as tx:
            tx.load_snapshot(snapshot(cards, seed))
            card = next(c for c in tx_cards(tx) if c[1] == "WEB-7")
            for i, body in enumerate(["Looks good to me", "x\x1b[2J\nsecond line\n\tindented", "漢字 comment"]):
                tx.put("comment", {"id": str(uuid.UUID(int=i + 1)), "card_id": card[0], "author": USERS[i], "body": body,
                                   "edited": i == 1, "deleted": False, "version": 1,
                                   "created_at": f"2026-12-0{i + 1}T10:00:00Z", "updated_at": f"2026-12-0{i + 1}T10:00:00Z"},
                       card[2])
            if synced_at is not None:  # `taskly status` says how long ago: a date days back stays stable
                tx._exec("UPDATE cursors SET synced_at = ?", (synced_at,))
    finally:
        store.close()
    return env


def add_sprints(env: dict[str, str], server: str = SERVER) -> dict[str, str]:
    """Sprints on the cached board of `cached_board`: "Sprint 1" active (over its capacity, a goal
    of several hostile lines, one card in three), "Next 漢字" planned (one card in seven) and
    "Old" closed; the environment given."""
    import json

    store = Store(cache_db_path(server, account(), env), server_url=server, user=account())
    try:
        with store.transaction() as tx:
            board_id, workspace_id = tx._exec("SELECT id, workspace_id FROM boards").fetchone()
            today = datetime.now(UTC).date()
            now = "2026-12-01T12:00:00+00:00"
            made = {}
            for n, (name, start, end, goal, capacity, closed) in enumerate((
                    ("Sprint 1", -3, 10, "Ship \x1b[2Jsearch\nthen\tlogin \u202eevil", 20, None),
                    ("Next 漢字", 11, 24, None, 400, None), ("Old", -30, -17, "done", 40, now))):
                made[name] = str(uuid.UUID(int=1000 + n))
                tx.put("sprint", {"id": made[name], "board_id": board_id, "workspace_id": workspace_id, "name": name,
                                  "start_date": str(today + timedelta(days=start)),
                                  "end_date": str(today + timedelta(days=end)), "goal": goal,
                                  "capacity_points": capacity, "status": "active", "overdue": False,
                                  "closed_at": closed, "version": 1, "created_at": now, "updated_at": now},
                       workspace_id)
            for (text,) in tx._exec("SELECT json FROM cards").fetchall():
                card = json.loads(text)
                sprint = ("Sprint 1" if card["number"] % 3 == 0 else "Next 漢字" if card["number"] % 7 == 0
                          else "Old" if card["number"] % 10 == 1 else None)
                if sprint is not None:
                    tx.put("card", {**card, "sprint_id": made[sprint]}, workspace_id)
    finally:
        store.close()
    return env
