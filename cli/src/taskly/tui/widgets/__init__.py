"""The board's widgets: they draw and report upward with messages; they never do I/O."""
