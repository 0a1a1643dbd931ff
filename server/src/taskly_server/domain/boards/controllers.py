"""HTTP routes of boards."""

ROUTES: list = []
