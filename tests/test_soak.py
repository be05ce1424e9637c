"""The soak bench's short variant: mixed valid and invalid traffic, nothing lost."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SOAK = Path(__file__).parents[1] / "bench" / "soak.py"


def test_short_soak_loses_nothing() -> None:
    done = subprocess.run(
        [sys.executable, str(SOAK), "--requests", "400", "--seconds", "120", "--json"],
        capture_output=True, text=True, timeout=300,
    )
    summary = json.loads(done.stdout)
    assert summary["crashes"] == 0 and summary["lost_responses"] == 0, summary
    assert summary["unexpected_statuses"] == {}, summary
    assert summary["requests"] == 400
    assert done.returncode == 0
