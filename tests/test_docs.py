"""The generated reference pages under docs/ match the code they are generated from."""

from __future__ import annotations

import re

import pytest

from mktows import docgen

FIX = f"run `{docgen.COMMAND}` and commit the pages it rewrites"


@pytest.mark.parametrize("name", sorted(docgen.PAGES))
def test_generated_page_is_current(name: str) -> None:
    path = docgen.DOCS / name
    assert path.exists(), f"docs/{name} is missing: {FIX}"
    expected = docgen.PAGES[name]()
    assert path.read_text(encoding="utf-8") == expected, f"docs/{name} is stale: {FIX}"


def test_generated_pages_say_so() -> None:
    for name, build in docgen.PAGES.items():
        first = build().splitlines()[0]
        assert "Generated" in first and docgen.COMMAND in first, name


def test_check_mode_passes() -> None:
    assert docgen.main(["--check"]) == 0


def test_every_operation_has_a_reference_section() -> None:
    from mktows.soap import types

    references = docgen._reference_sections()
    missing = [op.name for op in types.OPERATIONS if op.name not in references]
    assert not missing, f"no section heading in docs/ names {missing}"


def test_docs_index_links_every_page() -> None:
    index = (docgen.DOCS / "README.md").read_text(encoding="utf-8")
    linked = set(re.findall(r"\]\(([\w.-]+\.md)", index))
    pages = {p.name for p in docgen.DOCS.glob("*.md")} - {"README.md"}
    assert pages <= linked, f"docs/README.md does not link {sorted(pages - linked)}"
