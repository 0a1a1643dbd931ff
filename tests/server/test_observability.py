"""Request ids, one JSON log line per request without secrets, and Prometheus /metrics."""

from __future__ import annotations

import json
import re
import time
import uuid

import httpx

from tests.support.api import Api
from tests.support.processes import ServerProcess


def log_lines(server: ServerProcess, request_id: str) -> list[dict]:
    """The server's JSON log lines carrying `request_id` (waits briefly for the write)."""
    for _ in range(50):
        found = [json.loads(line) for line in server.log().splitlines()
                 if line.startswith("{") and request_id in line]
        if found:
            return found
        time.sleep(0.05)
    return []


def test_request_id_is_echoed_or_generated(server: ServerProcess) -> None:
    given = f"req-{uuid.uuid4().hex}"
    assert httpx.get(f"{server.url}/health/live", headers={"X-Request-ID": given}).headers["x-request-id"] == given
    generated = httpx.get(f"{server.url}/health/live").headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", generated)
    unsafe = httpx.get(f"{server.url}/health/live", headers={"X-Request-ID": "a b\tc" * 50})
    assert re.fullmatch(r"[0-9a-f]{32}", unsafe.headers["x-request-id"])
    missing = httpx.get(f"{server.url}/no/such/route")
    assert missing.status_code == 404 and re.fullmatch(r"[0-9a-f]{32}", missing.headers["x-request-id"])


def test_one_json_line_per_request_without_secrets(server: ServerProcess, api: Api) -> None:
    request_id = f"log-{uuid.uuid4().hex}"
    response = api.get("/workspaces", headers={"X-Request-ID": request_id})
    assert response.status_code == 200
    [line] = log_lines(server, request_id)
    assert line["event"] == "request" and line["level"] == "info"
    assert (line["method"], line["path"], line["status"]) == ("GET", "/api/v1/workspaces", 200)
    assert line["duration_ms"] >= 0 and line["timestamp"].endswith("Z")

    invitation = "inv_" + "s3cr3t" * 8
    request_id = f"log-{uuid.uuid4().hex}"
    api.post(f"/invitations/{invitation}/accept", headers={"X-Request-ID": request_id})
    lines = log_lines(server, request_id)
    assert lines and all("s3cr3t" not in json.dumps(entry) for entry in lines)
    assert lines[-1]["path"] == "/api/v1/invitations/inv_[redacted]/accept"
    assert api.token not in server.log() and api.refresh_token not in server.log()


def test_metrics_count_requests_by_route(server: ServerProcess, api: Api) -> None:
    workspace = api.workspace("Metrics")
    api.get(f"/workspaces/{workspace['id']}")
    body = httpx.get(f"{server.url}/metrics").text
    sample = re.search(r'taskly_http_requests_total\{method="GET",route="/api/v1/workspaces/\{workspace_id\}",'
                       r'status="200"\} (\d+\.\d+)', body)
    assert sample is not None and float(sample.group(1)) >= 1, body
    assert 'taskly_http_request_duration_seconds_bucket{le="0.005",method="POST",route="/api/v1/workspaces"}' in body
    assert "process_cpu_seconds_total" in body
