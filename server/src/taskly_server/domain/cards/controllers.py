"""HTTP routes of cards."""

ROUTES: list = []
