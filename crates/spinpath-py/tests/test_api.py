"""The package's surface: the native stubs match the native module, dir() shows the public API."""

from __future__ import annotations

import ast
from pathlib import Path

import spinpath
from spinpath import _spinpath

STUBS = Path(spinpath.__file__).with_name("_spinpath.pyi")


def _stub_names() -> dict[str, set[str] | None]:
    """Top-level names of the stub file; for a class, its public members."""
    tree = ast.parse(STUBS.read_text(encoding="utf-8"))
    out: dict[str, set[str] | None] = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            out[node.name] = None
        elif isinstance(node, ast.ClassDef):
            out[node.name] = {
                n.name for n in node.body if isinstance(n, ast.FunctionDef) and not n.name.startswith("_")
            }
    return out


def test_stubs_match_the_native_module():
    stubs = _stub_names()
    native = {n for n in dir(_spinpath) if not n.startswith("_")}
    assert set(stubs) == native, f"stubs only: {set(stubs) - native}; module only: {native - set(stubs)}"
    for name, members in stubs.items():
        if members is None:
            continue
        cls = getattr(_spinpath, name)
        actual = {m for m in dir(cls) if not m.startswith("_")}
        own = actual - set(dir(ValueError if issubclass(cls, BaseException) else object))
        assert members == own, f"{name}: stubs only {members - own}; class only {own - members}"


def test_dir_shows_the_public_api_only():
    names = dir(spinpath)
    assert "np" not in names and "os" not in names and "tempfile" not in names
    assert set(spinpath.__all__) <= set(names)
    for n in spinpath.__all__:
        assert hasattr(spinpath, n), n
