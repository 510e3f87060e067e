"""The code examples of the user pages run, in order, and their asserts hold.

An example of an error is written ``try: ... except SomeError as err: assert ...``; the
test also checks that every such ``except`` clause was reached (the error was raised).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parent.parent / "docs"
PAGES = ["trajectory.md", "parameters.md"]
EXCEPT = re.compile(r"^(\s*)except (\w+) as err:\n", flags=re.MULTILINE)


def code_blocks(page: Path) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", page.read_text(), flags=re.DOTALL | re.MULTILINE)


@pytest.mark.parametrize("page", PAGES)
def test_page_examples_run(page):
    blocks = code_blocks(DOCS / page)
    assert blocks, f"docs/{page} has no python examples"
    namespace: dict = {"__raised__": []}
    expected = 0
    for i, block in enumerate(blocks):
        expected += len(EXCEPT.findall(block))
        code = EXCEPT.sub(r"\1except \2 as err:\n\1    __raised__.append(err)\n", block)
        try:
            exec(compile(code, f"docs/{page}[block {i}]", "exec"), namespace)  # noqa: S102
        except Exception as err:  # pragma: no cover - the message points at the block
            raise AssertionError(f"docs/{page}, example {i} failed:\n{block}") from err
    assert len(namespace["__raised__"]) == expected, "an example's error was not raised"
