"""Every key binding of the board, each with an id, and the `[keys]` table that remaps them.

    # ~/.config/taskly/config.toml (or $TASKLY_HOME/config/config.toml)
    [keys]
    card.move_right = "L"                  # one key
    card.move_left = ["H", "shift+left"]   # or several (also "H,shift+left")

The help screen (`?`) lists these groups with the keys in force.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from textual.binding import Binding

APP = [
    Binding("q", "quit", "Quit", id="app.quit"),
    Binding("question_mark", "help", "Help", key_display="?", id="app.help"),
    Binding("r", "sync", "Sync", id="app.sync"),
]

BOARD = [
    Binding("left,h", "focus_column(-1)", "Previous column", show=False, id="board.focus_left"),
    Binding("right,l", "focus_column(1)", "Next column", show=False, id="board.focus_right"),
    Binding("H,shift+left", "move_card(-1)", "Move ←", show=False, id="card.move_left"),
    Binding("L,shift+right", "move_card(1)", "Move →", show=False, id="card.move_right"),
    Binding("K,shift+up", "reorder_card(-1)", "Move up", show=False, id="card.move_up"),
    Binding("J,shift+down", "reorder_card(1)", "Move down", show=False, id="card.move_down"),
    Binding("n", "new_card", "New", id="card.new"),
    Binding("e", "edit_card", "Edit", id="card.edit"),
    Binding("enter", "open_card", "Details", id="card.open"),
    Binding("c", "comment", "Comment", id="card.comment"),
    Binding("slash", "filter", "Filter", key_display="/", id="board.filter"),
    Binding("escape", "clear_filter", "Clear filter", id="board.clear_filter"),
    Binding("space", "toggle_select", "Select (bulk)", show=False, id="card.select"),
    Binding("t", "label_cards", "Labels", show=False, id="card.labels"),
    Binding("a", "assign_cards", "Assign", show=False, id="card.assign"),
    Binding("s", "start_card", "Start", id="card.start"),
    Binding("d", "done", "Done", id="card.done"),
    Binding("x", "delete_card", "Delete", id="card.delete"),
    Binding("z", "toggle_density", "Card density", show=False, id="board.toggle_density"),
    Binding("S", "pick_sprint", "Sprint", id="board.sprint"),
    Binding("b", "burndown", "Burndown", id="board.burndown"),
    Binding("i", "inbox", "Inbox", id="board.inbox"),
    Binding("B", "pick_board", "Boards", show=False, id="board.switch"),
]

CARD_LIST = [
    Binding("up,k", "cursor(-1)", "Previous card", show=False, id="list.up"),
    Binding("down,j", "cursor(1)", "Next card", show=False, id="list.down"),
    Binding("home,g", "cursor_to(0)", "First card", show=False, id="list.first"),
    Binding("end,G", "cursor_to(-1)", "Last card", show=False, id="list.last"),
    Binding("pageup", "page(-1)", "Page up", show=False, id="list.page_up"),
    Binding("pagedown", "page(1)", "Page down", show=False, id="list.page_down"),
]

DETAIL = [
    Binding("escape", "close", "Back", id="detail.close"),
    Binding("e", "edit_card", "Edit", id="card.edit"),
    Binding("c", "comment", "Comment", id="card.comment"),
    Binding("o", "open_on_github", "Open on GitHub", id="detail.open_github"),
]

COMMENT = [
    Binding("e", "edit_comment", "Edit comment", id="comment.edit"),
    Binding("x", "delete_comment", "Delete comment", id="comment.delete"),
]
"""On a comment of the card details (tab focuses the comments)."""

FORM = [
    Binding("ctrl+s", "save", "Save", priority=True, id="form.save"),
    Binding("escape", "cancel", "Cancel", id="form.cancel"),
]

CONFIRM = [
    Binding("y", "answer(True)", "Yes", id="confirm.yes"),
    Binding("n,escape", "answer(False)", "No", id="confirm.no"),
]

INBOX = [
    Binding("enter", "jump", "Go to card", id="inbox.open"),
    Binding("r", "mark_read", "Mark read", id="inbox.read"),
    Binding("R", "mark_all_read", "Mark all read", id="inbox.read_all"),
    Binding("escape,i", "close", "Back", id="inbox.close"),
]

BURNDOWN = [
    Binding("escape,b", "close", "Back", id="burndown.close"),
]

HELP = [
    Binding("escape,question_mark,q", "close", "Close", id="help.close"),
]

GROUPS: list[tuple[str, list[Binding]]] = [
    ("Board", BOARD), ("In a column", CARD_LIST), ("Card details", DETAIL), ("On a comment", COMMENT), ("Inbox", INBOX),
    ("Burndown", BURNDOWN), ("Forms", FORM),
    ("Confirmation", CONFIRM), ("Help", HELP), ("App", APP),
]
"""What the help screen lists, in order."""


def binding_ids() -> set[str]:
    return {binding.id for _, bindings in GROUPS for binding in bindings if binding.id}


def keymap_from_config(user_config: Mapping[str, Any]) -> tuple[dict[str, str], list[str]]:
    """The user config's `[keys]` table as a Textual keymap, and what in it could not be used."""
    table = user_config.get("keys") or {}
    if not isinstance(table, Mapping):
        return {}, ["[keys] must be a table of binding id = key"]
    known = binding_ids()
    keymap: dict[str, str] = {}
    problems: list[str] = []
    for binding_id, value in _flatten(table):
        if binding_id not in known:
            problems.append(f"unknown binding id {binding_id!r}")
            continue
        keys = [value] if isinstance(value, str) else value
        if not isinstance(keys, list) or not keys or not all(isinstance(k, str) and k.strip() for k in keys):
            problems.append(f"{binding_id}: give a key or a list of keys")
            continue
        keymap[binding_id] = ",".join(key.strip() for key in keys)
    return keymap, problems


def _flatten(table: Mapping[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """`card.move_right = "L"` in TOML is a nested table {"card": {"move_right": "L"}}; both are taken."""
    items: list[tuple[str, Any]] = []
    for name, value in table.items():
        if isinstance(value, Mapping):
            items += _flatten(value, f"{prefix}{name}.")
        else:
            items.append((f"{prefix}{name}", value))
    return items


def keys_of(binding: Binding, keymap: Mapping[str, str]) -> list[str]:
    """The keys a binding answers to, after remapping."""
    keys = keymap.get(binding.id or "", binding.key)
    return [key.strip() for key in keys.split(",") if key.strip()]
