"""The import arrows of the root pyproject's import-linter contracts hold (`lint-imports`)."""

from __future__ import annotations

import re
import subprocess

from tests.support.processes import BIN, ROOT


def test_import_contracts_are_kept() -> None:
    result = subprocess.run([str(BIN / "lint-imports"), "--no-cache"], cwd=ROOT, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    summary = re.search(r"Contracts: (\d+) kept, (\d+) broken", result.stdout)
    assert summary is not None, result.stdout
    kept, broken = map(int, summary.groups())
    assert broken == 0 and kept >= 3, result.stdout
    for contract in ("shared depends on nothing of ours", "cli and server never import each other"):
        assert f"{contract} KEPT" in result.stdout
