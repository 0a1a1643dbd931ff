"""HTTP routes of sync."""

ROUTES: list = []
