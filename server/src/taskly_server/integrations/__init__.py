"""The outside services Taskly talks to, as plumbing: no domain decisions, never imports `domain`."""
