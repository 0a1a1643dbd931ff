"""Talking to the server: `client.ApiClient` (REST, httpx) and `live.LiveConnection` (WebSocket).

Import the submodules directly; this package imports nothing heavy by itself.
"""
