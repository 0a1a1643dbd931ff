"""The label catalogue for people (`taskly label ls`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..core.labels import painted

if TYPE_CHECKING:
    from ..core.output import Output


def render_labels(out: Output, labels: list[dict[str, Any]]) -> None:
    """NAME (in its colour), COLOR, CARDS, DESCRIPTION."""
    rows = [[painted([str(x["name"])], {str(x["name"]): str(x["color"])}), x["color"], x.get("cards", 0),
             x.get("description") or ""] for x in labels]
    out.table(["NAME", "COLOR", "CARDS", "DESCRIPTION"], rows, styles=[None, "dim", None, None], shrink=(3,))
