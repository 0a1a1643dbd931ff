"""Labels as the wire sees them."""

from __future__ import annotations

from taskly_shared.models import LabelOut

from ...db.models import Label


def label_out(label: Label) -> LabelOut:
    return LabelOut.model_validate(label)
