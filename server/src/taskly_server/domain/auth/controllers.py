"""HTTP routes of auth."""

ROUTES: list = []
