"""The example scripts run (the figure one only where matplotlib is installed)."""

from __future__ import annotations

import subprocess
import sys

import pytest

import spinpath


def run(repo, script, *args):
    r = subprocess.run(
        [sys.executable, str(repo / "examples" / "python" / script), *map(str, args)],
        capture_output=True, text=True, cwd=repo,
    )
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_fit_synthetic_example(repo, tmp_path):
    out = run(repo, "fit_synthetic.py", tmp_path / "fit.png")
    assert "converged" in out and "NOT converged" not in out
    assert "spin_accumulation_meV" in out


def test_spin_engine_figure_example(repo, tmp_path):
    pytest.importorskip("matplotlib")
    png = tmp_path / "fig.png"
    out = run(repo, "spin_engine_figure.py", png)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "V_oc" in out


def test_memristive_dots_example(repo, tmp_path):
    png = tmp_path / "cb.png"
    out = run(repo, "memristive_dots.py", png, 8)
    assert "Coulomb gap" in out and "E+" in out and "write/read, 8 cycles (seed 2025)" in out
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_embedded_presets_equal_the_examples(repo):
    # The crate embeds copies (crates/spinpath/presets, so that the sdist builds); they must
    # stay the examples' files byte for byte.
    for name in spinpath.presets():
        embedded = (repo / "crates" / "spinpath" / "presets" / f"{name}.toml").read_text(encoding="utf-8")
        assert embedded == (repo / "examples" / f"{name}.toml").read_text(encoding="utf-8"), name
        assert spinpath.preset_toml(name) == embedded, name


def test_packaged_licences_equal_the_repository_ones(repo):
    # maturin takes only files inside the crate: the wheel and sdist carry copies of the licences.
    for name in ["LICENSE-MIT", "LICENSE-APACHE"]:
        packaged = (repo / "crates" / "spinpath-py" / name).read_text(encoding="utf-8")
        assert packaged == (repo / name).read_text(encoding="utf-8"), name
