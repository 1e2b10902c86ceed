"""Shared fixtures: the repository, the `spinpath` command line, the sample data."""

from __future__ import annotations

import csv
import json
import math
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[3]


def _target_dir() -> Path:
    t = os.environ.get("CARGO_TARGET_DIR")
    return Path(t) if t else REPO / "target"


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def cli() -> Path:
    """The release `spinpath` binary (built once if `cargo test --release` has not built it)."""
    exe = Path(os.environ.get("SPINPATH_CLI", _target_dir() / "release" / "spinpath"))
    if not exe.exists():
        subprocess.run(
            ["cargo", "build", "--release", "-p", "spinpath-cli"], cwd=REPO, check=True
        )
    assert exe.exists(), exe
    return exe


@pytest.fixture(scope="session")
def shared_data() -> Path:
    d = REPO.parent / "shared" / "data"
    if not d.is_dir():
        pytest.skip("shared/data (the sample files) is not beside the repository")
    return d


def run_cli(cli: Path, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, CI="1")
    return subprocess.run(
        [str(cli), *map(str, args)], cwd=cwd, env=env, capture_output=True, text=True
    )


def cli_error(cli: Path, *args: str, cwd: Path | None = None) -> str:
    """The message the command line prints after `error: ` (it must fail)."""
    r = run_cli(cli, *args, cwd=cwd)
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert r.stderr.startswith("error: "), r.stderr
    return r.stderr[len("error: "):].rstrip("\n")


def read_csv(path: Path) -> dict[str, list[str]]:
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    return {h: [r[i] for r in body] for i, h in enumerate(header)}


def assert_table_equal(py: dict, csv_cols: dict[str, list[str]], rel: float = 1e-12) -> None:
    """A table from Python equals a CSV file of the command line: same columns in the same order,
    text equal, numbers equal to `rel` (empty cell = NaN)."""
    csv_cols = {PY_NAMES.get(k, k): v for k, v in csv_cols.items()}
    assert list(py) == list(csv_cols)
    for name, cells in csv_cols.items():
        col = py[name]
        assert len(col) == len(cells), name
        if cells and all(c in ("true", "false") for c in cells):
            # yes/no columns are numpy bool
            assert isinstance(col, np.ndarray) and col.dtype == np.bool_, (name, col)
            assert ["true" if c else "false" for c in col] == cells, name
        elif isinstance(col, np.ndarray) and col.dtype == np.int64:
            # counts are int64, exactly the file's whole numbers
            assert [float(c) for c in cells] == col.astype(float).tolist(), name
        elif isinstance(col, np.ndarray) and col.dtype == np.float64:
            expect = np.array([float(c) if c != "" else math.nan for c in cells])
            np.testing.assert_array_equal(np.isnan(col), np.isnan(expect), err_msg=name)
            ok = ~np.isnan(expect)
            np.testing.assert_allclose(col[ok], expect[ok], rtol=rel, atol=0.0, err_msg=name)
        else:
            assert [str(c) for c in col] == cells, name


#: Python's names of command-line columns renamed for one spelling across engines.
PY_NAMES = {"dIdV_uS": "didv_nA_per_mV"}


def load_json(path: Path):
    return json.loads(path.read_text(encoding="utf-8"))


def py_keys(x):
    """A dots summary.json with Python's key spelling (`_mV`, `didv_nA_per_mV`)."""
    if isinstance(x, dict):
        return {
            ("didv_nA_per_mV" if k == "didv_us" else k[:-3] + "_mV" if k.endswith("_mv") else k): py_keys(v)
            for k, v in x.items()
        }
    if isinstance(x, list):
        return [py_keys(v) for v in x]
    return x


def assert_json_close(got, expect, rel: float = 1e-12, path: str = "") -> None:
    """A JSON value from Python equals the command line's: same keys and types, floats to `rel`."""
    if isinstance(expect, dict):
        assert isinstance(got, dict) and set(got) == set(expect), (path, set(got) ^ set(expect))
        for k in expect:
            assert_json_close(got[k], expect[k], rel, f"{path}.{k}")
    elif isinstance(expect, list):
        assert isinstance(got, list) and len(got) == len(expect), path
        for i, (g, e) in enumerate(zip(got, expect)):
            assert_json_close(g, e, rel, f"{path}[{i}]")
    elif isinstance(expect, float) and not isinstance(got, bool):
        assert isinstance(got, (int, float)), path
        assert math.isclose(got, expect, rel_tol=rel, abs_tol=0.0) or got == expect, (path, got, expect)
    else:
        assert got == expect and type(got) is type(expect), (path, got, expect)
