"""Sprints of a board: plan, follow (burndown) and close them from the terminal."""
