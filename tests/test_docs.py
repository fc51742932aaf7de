"""The API example in docs/api.md runs, and docs/api_example.py is the same code."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_the_example_file_is_the_documented_code():
    code = re.search(r"```python\n(.*?)```", (DOCS / "api.md").read_text(), re.S).group(1)
    assert (DOCS / "api_example.py").read_text().endswith(code)
    assert len(code.strip().splitlines()) <= 15


@pytest.mark.slow
def test_the_api_example_runs():
    done = subprocess.run([sys.executable, str(DOCS / "api_example.py")], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.strip().splitlines()
    assert sum(line.startswith("cd-1-") for line in lines) == 8 and "countdown-expert" in lines[-1]
