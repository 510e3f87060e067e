"""docs/migrating.md: its examples run, in order, in a temporary directory."""

from __future__ import annotations

import re
from pathlib import Path

PAGE = Path(__file__).resolve().parents[2] / "docs" / "migrating.md"


def test_migrating_examples_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    blocks = re.findall(r"^```python\n(.*?)^```", PAGE.read_text(), flags=re.DOTALL | re.MULTILINE)
    assert len(blocks) >= 4
    namespace: dict = {"__name__": "migrating_page"}
    for i, block in enumerate(blocks):
        try:
            exec(compile(block, f"docs/migrating.md[block {i}]", "exec"), namespace)  # noqa: S102
        except Exception as err:  # pragma: no cover - the message points at the block
            raise AssertionError(f"docs/migrating.md, example {i} failed:\n{block}") from err
