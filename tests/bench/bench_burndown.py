"""Burndown of a sprint with 10,000 card changes, beside /health/live (a script, not a test).

    UV_COMPILE_BYTECODE=1 uv run python tests/bench/bench_burndown.py [--changes 10000]
        [--noise 20000] [--cards 300] [--requests 50]

Creates a fresh database and starts one `taskly-server run` on it. Through the API: a workspace,
a board, a 14-day sprint ending today and `--cards` cards in it (their create Changes are real),
then one card edited, moved, taken out of and put back into the sprint (real Changes to copy).
Those are dated the day before the sprint. Then, in SQL, the rest of the sprint's `--changes` card Changes, shaped like those real rows
(points changed, moved to another column with its rank, sprint left and rejoined, titles) and
spread over the sprint's days, plus `--noise` Changes of other cards of the workspace that were
never in the sprint; the workspace's seq follows, as `taskly_record_changes` would leave it.

Measured, in the same run, alternating: `GET /api/v1/sprints/{id}/burndown` and `GET /health/live`,
`--requests` each after a warm-up; server time is the request's `duration_ms` in the server's
own log line, client time the round trip. Goal: burndown ≤ 200 ms server time.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import psycopg  # noqa: E402

from tests.support.processes import start_server  # noqa: E402
from tests.support.services import create_database, drop_database  # noqa: E402

SECRET = "bench-secret-key-0123456789abcdef"
DAYS = 14

# The sprint's history, made from the shapes of real Change rows: step i of `changes` touches
# card i % cards, on day i * DAYS / changes of the sprint, in seq order.
HISTORY = """
WITH cards AS (
    SELECT id, row_number() OVER (ORDER BY number) - 1 AS n FROM cards WHERE board_id = %(board)s
), cols AS (
    SELECT array_agg(id::text ORDER BY rank) AS ids FROM board_columns WHERE board_id = %(board)s
), steps AS (
    SELECT i, c.id AS card_id, i %% 5 AS kind FROM generate_series(1, %(count)s) AS i
    JOIN cards c ON c.n = i %% %(cards)s
)
INSERT INTO changes (workspace_id, seq, entity_type, entity_id, op, version, changes, data,
                     actor_type, actor_id, actor_name, conflicts, created_at)
SELECT %(workspace)s, %(seq)s + s.i, 'card', s.card_id, CASE s.kind WHEN 1 THEN 'move' ELSE 'update' END,
       s.i, CASE s.kind
           WHEN 0 THEN jsonb_build_object('points', jsonb_build_object('old', s.i %% 8, 'new', (s.i + 1) %% 8))
           WHEN 1 THEN jsonb_build_object(
               'column', jsonb_build_object('old', 'Todo', 'new', 'In Progress'),
               'column_id', jsonb_build_object('old', cols.ids[1 + (s.i / 5) %% 5],
                                               'new', cols.ids[1 + (s.i / 5 + 1) %% 5]),
               'rank', jsonb_build_object('old', 'a0', 'new', 'a1'))
           WHEN 2 THEN jsonb_build_object('sprint_id', jsonb_build_object(
               'old', CASE WHEN (s.i / 5) %% 2 = 0 THEN %(sprint)s::text END,
               'new', CASE WHEN (s.i / 5) %% 2 = 0 THEN NULL ELSE %(sprint)s::text END))
           ELSE jsonb_build_object('title', jsonb_build_object('old', 'Title ' || s.i, 'new', 'Title ' || s.i + 1))
       END,
       %(data)s::jsonb, 'user', %(user)s, 'bench', '[]'::jsonb,
       %(start)s::timestamptz + (s.i * interval '1 second' * %(span)s / %(count)s)
FROM steps s, cols
"""

# Changes of cards that were never in the sprint: what the burndown query must not read.
NOISE = """
INSERT INTO changes (workspace_id, seq, entity_type, entity_id, op, version, changes, data,
                     actor_type, actor_id, actor_name, conflicts, created_at)
SELECT %(workspace)s, %(seq)s + i, 'card', gen_random_uuid(), 'update', 2,
       jsonb_build_object('points', jsonb_build_object('old', 1, 'new', 2),
                          'sprint_id', jsonb_build_object('old', NULL, 'new', NULL)),
       %(data)s::jsonb, 'user', %(user)s, 'bench', '[]'::jsonb,
       %(start)s::timestamptz + (i * interval '1 second' * %(span)s / %(count)s)
FROM generate_series(1, %(count)s) AS i
"""


def server_times(log: str, path_suffix: str) -> list[float]:
    """The `duration_ms` of each logged request whose path ends with `path_suffix`."""
    times = []
    for line in log.splitlines():
        if not line.startswith("{"):
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if str(entry.get("path", "")).endswith(path_suffix) and "duration_ms" in entry:
            times.append(float(entry["duration_ms"]))
    return times


def summary(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return (f"median {statistics.median(values):7.1f} ms  min {ordered[0]:7.1f}  p95 {p95:7.1f}  "
            f"max {ordered[-1]:7.1f}  (n={len(values)})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--changes", type=int, default=10_000, help="card Changes of the sprint")
    parser.add_argument("--noise", type=int, default=20_000, help="Changes of other cards")
    parser.add_argument("--cards", type=int, default=300)
    parser.add_argument("--requests", type=int, default=50)
    args = parser.parse_args()

    name, database_url = create_database("taskly_bench")
    work = Path(tempfile.mkdtemp(prefix="taskly-bench-burndown-"))
    server = start_server({"TASKLY_DATABASE_URL": database_url, "TASKLY_SECRET_KEY": SECRET,
                           "TASKLY_DEV_LOGIN": "1"}, work)
    try:
        tokens = httpx.post(f"{server.url}/api/v1/auth/dev-login", json={"username": "bench"}).json()
        http = httpx.Client(base_url=f"{server.url}/api/v1", timeout=60,
                            headers={"Authorization": f"Bearer {tokens['access_token']}"})
        workspace = http.post("/workspaces", json={"name": "Bench"}).json()
        board = http.post(f"/workspaces/{workspace['id']}/boards", json={"name": "Web", "key": "WEB"}).json()
        today = datetime.now(UTC).date()
        start = today - timedelta(days=DAYS - 1)
        sprint = http.post(f"/boards/{board['id']}/sprints", json={
            "name": "Bench", "start_date": start.isoformat(), "end_date": today.isoformat()}).json()
        started = time.perf_counter()
        cards = []
        for i in range(args.cards):
            response = http.post(f"/boards/{board['id']}/cards", json={
                "title": f"Card {i}", "points": i % 8, "sprint_id": sprint["id"]})
            response.raise_for_status()
            cards.append(response.json())
        first = cards[0]["id"]
        http.patch(f"/cards/{first}", json={"points": 5}).raise_for_status()
        http.post(f"/cards/{first}/move", json={"column": "Done"}).raise_for_status()
        http.patch(f"/cards/{first}", json={"sprint_id": None}).raise_for_status()
        http.patch(f"/cards/{first}", json={"sprint_id": sprint["id"]}).raise_for_status()
        print(f"{args.cards} cards and their Changes through the API in {time.perf_counter() - started:.1f} s")

        started = time.perf_counter()
        with psycopg.connect(database_url.replace("+asyncpg", ""), autocommit=False) as conn:
            seq, data = conn.execute(
                "SELECT w.seq, (SELECT data::text FROM changes WHERE workspace_id = w.id AND entity_type = 'card' "
                "ORDER BY seq DESC LIMIT 1) FROM workspaces w WHERE w.id = %s", (workspace["id"],)).fetchone()
            api_changes = conn.execute(
                "SELECT count(*) FROM changes WHERE workspace_id = %s AND entity_type = 'card'",
                (workspace["id"],)).fetchone()[0]
            count = max(args.changes - api_changes, 0)
            common = {"workspace": workspace["id"], "user": tokens["user"]["id"], "data": data,
                      "start": datetime.combine(start, datetime.min.time(), UTC),
                      "span": DAYS * 86400 - 60}
            # the cards were planned the day before the sprint: the API's Changes dated then, so
            # that time follows seq as in a real feed
            conn.execute("UPDATE changes SET created_at = %s::timestamptz + seq * interval '1 millisecond' "
                         "WHERE workspace_id = %s", (datetime.combine(start - timedelta(days=1),
                                                                      datetime.min.time(), UTC),
                                                     workspace["id"]))
            conn.execute(HISTORY, {**common, "board": board["id"], "sprint": sprint["id"],
                                   "cards": args.cards, "count": count, "seq": seq})
            conn.execute(NOISE, {**common, "count": args.noise, "seq": seq + count})
            conn.execute("UPDATE workspaces SET seq = %s WHERE id = %s",
                         (seq + count + args.noise, workspace["id"]))
            conn.commit()
            conn.execute("ANALYZE changes")
        print(f"{count} more sprint Changes and {args.noise} others in SQL in "
              f"{time.perf_counter() - started:.1f} s; the sprint's cards have "
              f"{api_changes + count} card Changes, {len(data)} bytes of data each")

        burndown_path = f"/sprints/{sprint['id']}/burndown"
        health = httpx.Client(base_url=server.url, timeout=60)
        for _ in range(5):  # warm-up: connections, plans, caches
            http.get(burndown_path).raise_for_status()
            health.get("/health/live").raise_for_status()
        time.sleep(0.5)  # the warm-up's log lines are written before the mark
        log_mark = len(server.log())
        client_burndown, client_health = [], []
        body = None
        for _ in range(args.requests):
            t = time.perf_counter()
            response = http.get(burndown_path)
            client_burndown.append((time.perf_counter() - t) * 1000)
            response.raise_for_status()
            body = response.json()
            t = time.perf_counter()
            health.get("/health/live").raise_for_status()
            client_health.append((time.perf_counter() - t) * 1000)
        time.sleep(0.5)  # the last log lines
        log = server.log()[log_mark:]
        load = os.getloadavg()
        assert body is not None and len(body["days"]) == DAYS, body
        print(f"burndown: {len(body['days'])} days; last day scope {body['days'][-1]['scope_points']}, "
              f"remaining {body['days'][-1]['remaining_points']}; response {len(response.content)} bytes")
        print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} CPUs")
        print(f"GET burndown   server {summary(server_times(log, '/burndown'))}")
        print(f"               client {summary(client_burndown)}")
        print(f"GET /health/live server {summary(server_times(log, '/health/live'))}")
        print(f"               client {summary(client_health)}")
        print("goal: burndown ≤ 200 ms server time")
    finally:
        server.stop()
        drop_database(name)


if __name__ == "__main__":
    main()
