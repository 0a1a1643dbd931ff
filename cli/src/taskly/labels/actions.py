"""The label catalogue of the current workspace: read from the cache (after a quick pull);
writes need the server (a rename changes every card that has the label, in one transaction)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..core import labels as catalogue
from ..core import resolve
from ..core.errors import NotFound, UsageError

if TYPE_CHECKING:
    from taskly_shared.models import LabelChanged, LabelOut

    from ..core.context import Factory


def listing(f: Factory) -> list[dict[str, Any]]:
    """The catalogue (LabelOut JSON) with how many live cards of the workspace have each label."""
    store = resolve.fresh(f)
    workspace_id = str(resolve.workspace(f).id)
    counts: dict[str, int] = {}
    for card in store.cards(workspace_id=workspace_id):
        for name in card.labels:
            counts[name] = counts.get(name, 0) + 1
    return [{**label, "cards": counts.get(str(label["name"]), 0)}
            for label in catalogue.catalogue(store, workspace_id)]


def find(f: Factory, name: str) -> dict[str, Any]:
    """A cached label by name: exact, else the one that matches in any case."""
    labels = catalogue.catalogue(f.store, str(resolve.workspace(f).id))
    exact = [label for label in labels if label["name"] == name]
    loose = [label for label in labels if str(label["name"]).lower() == name.strip().lower()]
    found = exact or loose
    if len(found) == 1:
        return found[0]
    if found:
        raise UsageError(f"{name!r} names several labels: " + ", ".join(x["name"] for x in found))
    raise NotFound(f"no label {name!r} in this workspace" + resolve.choices([x["name"] for x in labels]))


def _color(value: str | None) -> str | None:
    from taskly_shared.labels import normal_color

    if value is None:
        return None
    try:
        return normal_color(value)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def create(f: Factory, name: str, color: str | None, description: str | None) -> LabelOut:
    from pydantic import ValidationError
    from taskly_shared.models import LabelCreate

    color = _color(color)
    try:
        data = LabelCreate(name=name, color=color, description=description)
    except ValidationError as exc:
        raise UsageError(_first_error(exc)) from None
    with resolve.needs_server(f, "create a label"):
        resolve.fresh(f, note_stale=False)
        created = f.api.create_label(str(resolve.workspace(f).id), data)
        resolve.settle(f)
    return created


def edit(f: Factory, name: str, new_name: str | None, color: str | None,
         description: str | None) -> LabelChanged:
    from pydantic import ValidationError
    from taskly_shared.models import LabelPatch

    fields: dict[str, Any] = {}
    if new_name is not None:
        fields["name"] = new_name
    if color is not None:
        fields["color"] = _color(color)
    if description is not None:
        fields["description"] = description or None
    if not fields:
        raise UsageError("nothing to change: give --name, --color or --description")
    try:
        patch = LabelPatch(**fields)
    except ValidationError as exc:
        raise UsageError(_first_error(exc)) from None
    with resolve.needs_server(f, "edit a label"):
        resolve.fresh(f, note_stale=False)
        label = find(f, name)
        changed = f.api.update_label(label["id"], patch.model_copy(update={"base_version": label["version"]}))
        resolve.settle(f)
    return changed


def remove(f: Factory, name: str, yes: bool) -> LabelChanged:
    from ..core.confirm import confirm

    with resolve.needs_server(f, "delete a label"):
        resolve.fresh(f, note_stale=False)
        label = find(f, name)
        used = sum(1 for card in f.store.cards(workspace_id=str(resolve.workspace(f).id))
                   if label["name"] in card.labels)
        confirm(f, f"Delete the label {label['name']!r} (it leaves {used} card{'s' * (used != 1)})?", yes)
        removed = f.api.delete_label(label["id"])
        resolve.settle(f)
    return removed


def _first_error(exc: Any) -> str:
    error = exc.errors()[0]
    where = ".".join(str(p) for p in error["loc"]) or "value"
    return f"{where}: {error['msg']}"
