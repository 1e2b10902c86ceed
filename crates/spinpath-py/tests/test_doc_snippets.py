"""The Python snippets of README.md and docs/*.md run as written.

A fenced ```python block is tested when the line before it is `<!-- doc-test: python -->` (the same
marker the Rust test `crates/spinpath-cli/tests/docs.rs` uses for shell blocks). Each document's
blocks run in order, in one namespace, from a scratch folder holding a copy of `examples/`.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
MARKER = "<!-- doc-test: python -->"


def marked_blocks(text: str) -> list[tuple[int, str]]:
    lines = text.splitlines()
    out: list[tuple[int, str]] = []
    k = 0
    while k < len(lines):
        if lines[k].strip() == MARKER:
            assert lines[k + 1].strip().startswith("```"), f"line {k + 1}: marker without a block"
            j = k + 2
            code: list[str] = []
            while j < len(lines) and lines[j].strip() != "```":
                code.append(lines[j])
                j += 1
            out.append((k + 3, "\n".join(code) + "\n"))
            k = j
        k += 1
    return out


DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
CASES = [(d, line, code) for d in DOCS for (line, code) in marked_blocks(d.read_text())]


def test_the_docs_mark_python_snippets() -> None:
    assert len(CASES) >= 2, "the README and docs/python.md sessions are marked"


@pytest.mark.parametrize(
    "doc", sorted({c[0] for c in CASES}), ids=lambda p: p.name
)
def test_python_snippets_run(doc: Path, tmp_path: Path) -> None:
    shutil.copytree(REPO / "examples", tmp_path / "examples")
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        namespace: dict[str, object] = {"__name__": "__doc_snippet__"}
        for (d, line, code) in CASES:
            if d != doc:
                continue
            try:
                exec(compile(code, f"{doc.name}:{line}", "exec"), namespace)
            except Exception as e:  # noqa: BLE001 - report which block failed
                raise AssertionError(f"{doc.name}:{line}: the documented snippet failed: {e!r}") from e
    finally:
        os.chdir(cwd)
