"""Where the shared test data lives: the real GitHub webhook payloads of ../shared/fixtures.

    webhook_fixture("pull_request", "opened.payload.json").read_text()
"""

from __future__ import annotations

from pathlib import Path

WEBHOOK_FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "github-webhooks"
"""Payloads GitHub delivered, one folder per event: `<event>/<name>.json`."""


def webhook_fixture(event: str, name: str = "payload.json") -> Path:
    """The file of one payload: `<event>/<name>` under WEBHOOK_FIXTURES."""
    return WEBHOOK_FIXTURES / event / name
