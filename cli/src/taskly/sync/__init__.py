"""Sync: push the outbox, pull the change feed, apply live events (`engine.SyncEngine` is the facade).

Import the submodules directly; this package imports nothing by itself.
"""
