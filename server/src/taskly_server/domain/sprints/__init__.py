"""Sprints of a board: plan, fill, close with carry-over, burn down from the change feed."""
