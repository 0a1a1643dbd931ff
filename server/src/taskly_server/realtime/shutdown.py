"""Going away: when the server stops, its WebSockets are closed with 1001 before anything else.

Clients take 1001 for "reconnect elsewhere or later" (and catch up from their last seq); without
this, uvicorn would end them with 1012 while it drains, or not at all while a shutdown step hangs.
"""

from __future__ import annotations

import asyncio
from typing import Any

CLOSE_GOING_AWAY = 1001


async def close_sockets(app: Any) -> int:
    """Close every signed-in socket with 1001 and wait for their handlers to end (the caller
    bounds the wait); returns how many there were."""
    sockets = app.state.get("signed_in_sockets")
    if sockets is None:
        return 0
    connections = sockets.connections()
    for connection in connections:
        connection.close(CLOSE_GOING_AWAY, "server shutting down")
    while sockets.connections():  # noqa: ASYNC110 - each handler takes its socket out as it ends
        await asyncio.sleep(0.05)
    return len(connections)
