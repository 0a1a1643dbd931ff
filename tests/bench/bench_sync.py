"""Client sync timings against one real server process (a script, not a test).

    UV_COMPILE_BYTECODE=1 uv run python tests/bench/bench_sync.py [--cards 10000] [--repeat 3]

Creates a fresh database, starts one `taskly-server run` on it, signs a user in, creates a
workspace and a board through the API, then inserts `--cards` cards straight into Postgres
(one COPY; the API would take minutes). Then, with the real client engine (`SyncEngine`):

- initial sync into an empty cache: workspace discovery + `GET …/snapshot` + loading SQLite,
  split into server time (HTTP), decoding (pydantic) and the SQLite load;
- a 1-change delta sync: one card edited through the API, then `engine.pull()`.

Goals: initial sync ≤ 2 s, delta ≤ 50 ms. Each figure is the best of `--repeat` runs.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import psycopg  # noqa: E402
from fractional_indexing import generate_n_keys_between  # noqa: E402
from taskly.api.client import ApiClient  # noqa: E402
from taskly.api.credentials import SessionCredentials  # noqa: E402
from taskly.store import Store  # noqa: E402
from taskly.sync.engine import SyncEngine  # noqa: E402
from taskly_shared.models import Snapshot  # noqa: E402

from tests.support.processes import start_server  # noqa: E402
from tests.support.services import create_database, drop_database  # noqa: E402

SECRET = "bench-secret-key-0123456789abcdef"
LABELS = ["frontend", "backend", "bug", "infra", "ux"]
PRIORITIES = ["none", "low", "medium", "high", "urgent"]


def seed_cards(database_url: str, board: dict, user_id: str, count: int) -> None:
    """`count` cards spread over the board's columns, with ranks and numbers, in one COPY."""
    columns = board["columns"]
    per_column = -(-count // len(columns))
    ranks = generate_n_keys_between(None, None, per_column)
    with psycopg.connect(database_url.replace("+asyncpg", ""), autocommit=False) as conn:
        with conn.cursor().copy(
            "COPY cards (id, workspace_id, board_id, column_id, number, title, description, labels,"
            " priority, points, recurrence, recurrence_interval, rank, assignee_ids, created_by, version)"
            " FROM STDIN"
        ) as copy:
            for i in range(count):
                column = columns[i % len(columns)]
                copy.write_row((
                    uuid.uuid4(), board["workspace_id"], board["id"], column["id"], i + 1,
                    f"Card number {i + 1}: make the thing do the other thing",
                    "A description with **markdown** and a few words. " * 3,
                    [LABELS[i % 5], LABELS[(i * 7) % 5]], PRIORITIES[i % 5], i % 13, "none", 1,
                    ranks[i // len(columns)], [user_id], user_id, 1,
                ))
        conn.execute("UPDATE boards SET next_card_number = %s WHERE id = %s", (count + 1, board["id"]))
        conn.commit()


def best(values: list[float]) -> str:
    return f"{min(values) * 1000:7.1f} ms (median {statistics.median(values) * 1000:.1f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cards", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    name, database_url = create_database("taskly_bench")
    work = Path(tempfile.mkdtemp(prefix="taskly-bench-sync-"))
    server = start_server({"TASKLY_DATABASE_URL": database_url, "TASKLY_SECRET_KEY": SECRET,
                           "TASKLY_DEV_LOGIN": "1"}, work)
    try:
        tokens = httpx.post(f"{server.url}/api/v1/auth/dev-login", json={"username": "bench"}).json()
        headers = {"Authorization": f"Bearer {tokens['access_token']}"}
        http = httpx.Client(base_url=f"{server.url}/api/v1", headers=headers, timeout=60)
        workspace = http.post("/workspaces", json={"name": "Bench"}).json()
        board = http.post(f"/workspaces/{workspace['id']}/boards", json={"name": "Web", "key": "WEB"}).json()
        started = time.perf_counter()
        seed_cards(database_url, board, tokens["user"]["id"], args.cards)
        print(f"seeded {args.cards} cards in {time.perf_counter() - started:.1f} s")
        credentials = SessionCredentials(server.url, tokens["access_token"], tokens["refresh_token"])
        api = ApiClient(server.url, credentials, timeout=60)

        http_times, decode_times, load_times, sync_times, delta_times, sizes = [], [], [], [], [], []
        for run in range(args.repeat):
            started = time.perf_counter()
            response = api.request("GET", f"/workspaces/{workspace['id']}/snapshot")
            http_times.append(time.perf_counter() - started)
            sizes.append(len(response.content))
            started = time.perf_counter()
            snapshot = Snapshot.model_validate_json(response.content)
            decode_times.append(time.perf_counter() - started)
            store = Store(work / f"load-{run}.sqlite3")
            started = time.perf_counter()
            with store.transaction() as tx:
                tx.load_snapshot(snapshot)
            load_times.append(time.perf_counter() - started)
            store.close()

            store = Store(work / f"cache-{run}.sqlite3", server_url=server.url, user="bench")
            engine = SyncEngine(server.url, credentials, store, timeout=60)
            started = time.perf_counter()
            result = engine.sync()
            sync_times.append(time.perf_counter() - started)
            assert not result.stale and len(store.cards(board_id=board["id"])) == args.cards
            engine.pull()  # warm: the delta below measures one change, not connection set-up
            card = store.cards(board_id=board["id"])[run]
            http.patch(f"/cards/{card.id}", json={"title": f"edited in run {run}"}).raise_for_status()
            started = time.perf_counter()
            delta = engine.pull()
            delta_times.append(time.perf_counter() - started)
            assert len(delta.changes) == 1 and store.card(str(card.id)).title == f"edited in run {run}"
            engine.close()
            store.close()

        print(f"snapshot body: {sizes[0] / 1e6:.1f} MB for {args.cards} cards")
        print(f"  server (GET snapshot over HTTP) {best(http_times)}")
        print(f"  client decode (pydantic)        {best(decode_times)}")
        print(f"  client SQLite load              {best(load_times)}")
        print(f"initial sync, empty cache         {best(sync_times)}   goal ≤ 2000 ms")
        print(f"delta sync, 1 change              {best(delta_times)}   goal ≤ 50 ms")
        api.close()
    finally:
        server.stop()
        drop_database(name)


if __name__ == "__main__":
    main()
