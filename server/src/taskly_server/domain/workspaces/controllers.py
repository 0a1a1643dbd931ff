"""HTTP routes of workspaces."""

ROUTES: list = []
