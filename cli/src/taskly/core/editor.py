"""The `-e` buffer: text edited in `$VISUAL`/`$EDITOR` (what `edit -e`, `add -e` and
`comment edit -e` share)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .errors import TasklyError, UsageError

if TYPE_CHECKING:
    from .context import Factory


def edit(f: Factory, text: str, kind: str) -> str:
    """`text` as the user leaves it in their editor (a `taskly-KIND-*.md` temporary file); a
    UsageError under --no-input or when the editor cannot run, a TasklyError when it fails."""
    import os
    import shlex
    import subprocess
    import tempfile

    if f.globals.no_input:
        raise UsageError("-e opens an editor, which --no-input forbids")
    editor = f.environ.get("VISUAL") or f.environ.get("EDITOR") or "vi"
    handle, path = tempfile.mkstemp(prefix=f"taskly-{kind}-", suffix=".md")
    try:
        with os.fdopen(handle, "w") as file:
            file.write(text)
        try:
            completed = subprocess.run([*shlex.split(editor), path])
        except OSError as exc:
            raise UsageError(f"cannot run the editor {editor!r}: {exc}") from None
        if completed.returncode != 0:
            raise TasklyError(f"the editor exited with {completed.returncode}; nothing saved")
        with open(path) as file:
            return file.read()
    finally:
        os.unlink(path)
