"""The footer's sync indicator: online / offline / syncing, and the writes waiting to be pushed."""

from __future__ import annotations

from textual.widgets import Static

from ..messages import SyncState

GLYPHS = {"online": "●", "offline": "○", "offline mode": "○", "connecting": "◌", "error": "▲"}


def indicator_text(state: SyncState) -> str:
    if state.syncing:
        text = "⟳ syncing"
    else:
        text = f"{GLYPHS.get(state.live, '○')} {state.live}"
        if state.live == "offline" and state.retry_in:
            text += f" (retry in {state.retry_in:.0f}s)"
    text += f" · {state.queued} queued"
    if state.failed:
        text += f" · {state.failed} refused"
    return text


class SyncIndicator(Static):
    """Shows a `SyncState`; its classes (`-online`, `-offline`, `-queued` …) colour it in the .tcss."""

    def show(self, state: SyncState) -> None:
        text = indicator_text(state)
        if text != getattr(self, "_text", None):
            resized = len(text) != len(getattr(self, "_text", ""))
            self._text = text
            self.update(text, layout=resized)
        live = "syncing" if state.syncing else state.live.replace(" ", "-")
        for name in ("online", "offline", "offline-mode", "connecting", "error", "syncing"):
            self.set_class(name == live, f"-{name}")
        self.set_class(state.queued > 0, "-queued")
