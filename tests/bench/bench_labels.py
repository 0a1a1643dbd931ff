"""Renaming a label on 1,000 cards, beside /health/live (a script, not a test).

    UV_COMPILE_BYTECODE=1 uv run python tests/bench/bench_labels.py [--cards 1000] [--renames 10]

Creates a fresh database and starts one `taskly-server run` on it. Through the API: a workspace, a
board and a card with the label `label-0`; then, in SQL, `--cards` - 1 more cards with it (and one
other label each, so a rename rewrites arrays of two). Measured, alternating, in the same run:
`PATCH /api/v1/labels/{id} {"name": …}` (each rename renames the label on every card: one UPDATE,
the cards' wire forms, one Change per card written in one call of the feed's writer, one commit)
and `GET /health/live`; server time is the request's `duration_ms` in the server's own log line,
client time the round trip. Goal: a rename over 1,000 cards ≤ 1 s server time.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import psycopg  # noqa: E402
from fractional_indexing import generate_n_keys_between  # noqa: E402

from tests.bench.bench_burndown import server_times, summary  # noqa: E402
from tests.support.processes import start_server  # noqa: E402
from tests.support.services import create_database, drop_database  # noqa: E402

SECRET = "bench-secret-key-0123456789abcdef"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cards", type=int, default=1000)
    parser.add_argument("--renames", type=int, default=10)
    args = parser.parse_args()

    name, database_url = create_database("taskly_bench")
    work = Path(tempfile.mkdtemp(prefix="taskly-bench-labels-"))
    server = start_server({"TASKLY_DATABASE_URL": database_url, "TASKLY_SECRET_KEY": SECRET,
                           "TASKLY_DEV_LOGIN": "1", "TASKLY_RATE_LIMIT_USER": "0"}, work)
    try:
        tokens = httpx.post(f"{server.url}/api/v1/auth/dev-login", json={"username": "bench"}).json()
        http = httpx.Client(base_url=f"{server.url}/api/v1", timeout=60,
                            headers={"Authorization": f"Bearer {tokens['access_token']}"})
        workspace = http.post("/workspaces", json={"name": "Bench"}).json()
        board = http.post(f"/workspaces/{workspace['id']}/boards", json={"name": "Web", "key": "WEB"}).json()
        seed = http.post(f"/boards/{board['id']}/cards",
                         json={"title": "Seed", "labels": ["label-0", "frontend"]}).json()
        ranks = generate_n_keys_between(seed["rank"], None, args.cards - 1)
        with psycopg.connect(database_url.replace("+asyncpg", ""), autocommit=True) as conn:
            conn.execute("""
                INSERT INTO cards (id, workspace_id, board_id, column_id, number, title, labels, rank)
                SELECT gen_random_uuid(), %s, %s, %s, k + 1, 'Card ' || k,
                       array['label-0', 'team-' || k %% 7], r
                  FROM unnest(%s::text[]) WITH ORDINALITY AS t(r, k)""",
                         (workspace["id"], board["id"], seed["column_id"], ranks))
            conn.execute("UPDATE boards SET next_card_number = %s WHERE id = %s", (args.cards + 1, board["id"]))
            conn.execute("ANALYZE cards")
        label = next(x for x in http.get(f"/workspaces/{workspace['id']}/labels").json() if x["name"] == "label-0")
        health = httpx.Client(base_url=server.url, timeout=60)
        names = iter(range(1, 10_000))
        for _ in range(2):  # warm-up: connections, plans, caches
            http.patch(f"/labels/{label['id']}", json={"name": f"label-{next(names)}"}).raise_for_status()
            health.get("/health/live").raise_for_status()
        time.sleep(0.5)
        log_mark = len(server.log())
        client_rename, client_health, changed = [], [], []
        for _ in range(args.renames):
            t = time.perf_counter()
            response = http.patch(f"/labels/{label['id']}", json={"name": f"label-{next(names)}"})
            client_rename.append((time.perf_counter() - t) * 1000)
            response.raise_for_status()
            changed.append(response.json()["cards"])
            t = time.perf_counter()
            health.get("/health/live").raise_for_status()
            client_health.append((time.perf_counter() - t) * 1000)
        time.sleep(0.5)
        log = server.log()[log_mark:]
        load = os.getloadavg()
        with psycopg.connect(database_url.replace("+asyncpg", ""), autocommit=True) as conn:
            feed = conn.execute("SELECT count(*) FROM changes WHERE workspace_id = %s AND entity_type = 'card' "
                                "AND changes ? 'labels'", (workspace["id"],)).fetchone()[0]
        assert set(changed) == {args.cards}, changed
        print(f"{args.renames} renames, each of {args.cards} cards; {feed} card Changes of labels in the feed")
        print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} CPUs")
        print(f"PATCH label    server {summary(server_times(log, '/labels/' + label['id']))}")
        print(f"               client {summary(client_rename)}")
        print(f"GET /health/live server {summary(server_times(log, '/health/live'))}")
        print(f"               client {summary(client_health)}")
        print(f"goal: a rename over {args.cards} cards ≤ 1000 ms server time")
    finally:
        server.stop()
        drop_database(name)


if __name__ == "__main__":
    main()
