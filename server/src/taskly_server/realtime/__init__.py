"""Realtime: the WebSocket endpoint, and fan-out across server processes through channels."""

from .channels import create_channels
from .endpoint import ROUTES, lifespan

__all__ = ["ROUTES", "create_channels", "lifespan"]
