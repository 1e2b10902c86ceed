"""spinpath.scan and spinpath.ensemble (issue 17): the same tables as `spinpath scan` and
`spinpath ensemble`, here and on a Dask LocalCluster of 2 worker processes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import spinpath
from conftest import assert_table_equal, load_json, read_csv, run_cli

GRID = {"spin_accumulation_meV": (0.0, 10.0, 3), "P.dimer_energy_meV": (-4.0, 2.0, 2)}
GRID_ARGS = ["--param", "spin_accumulation_meV=0:10:3", "--param", "P.dimer_energy_meV=-4:2:2"]


@pytest.fixture(scope="module")
def engine_file(repo: Path, tmp_path_factory) -> Path:
    """Paper 1's spin engine on a 101-point bias grid (a quick device)."""
    text = (repo / "examples" / "spin-engine.toml").read_text(encoding="utf-8")
    text = text.replace("points = 2001", "points = 101")
    p = tmp_path_factory.mktemp("scan") / "engine.toml"
    p.write_text(text, encoding="utf-8")
    return p


@pytest.fixture(scope="module")
def ensemble_file(repo: Path, tmp_path_factory) -> Path:
    text = (repo / "examples" / "ensemble.toml").read_text(encoding="utf-8")
    text = text.replace("carbon_concentration_percent = 0.05", "carbon_concentration_percent = 0.3")
    text = text.replace("points = 81", "points = 41")
    p = tmp_path_factory.mktemp("ensemble") / "ensemble.toml"
    p.write_text(text, encoding="utf-8")
    return p


@pytest.fixture(scope="module")
def cli_grid(cli: Path, engine_file: Path, tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("cli") / "grid"
    r = run_cli(cli, "scan", engine_file, *GRID_ARGS, "-o", out)
    assert r.returncode == 0, r.stderr
    return read_csv(out / "scan.csv")


@pytest.fixture(scope="module")
def client():
    distributed = pytest.importorskip("dask.distributed")
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    )
    c = distributed.Client(cluster)
    yield c
    c.close()
    cluster.close()


def test_scan_here_equals_the_command_line(engine_file: Path, cli_grid: dict) -> None:
    got = spinpath.scan(engine_file, GRID)
    assert isinstance(got, spinpath.Columns)
    assert_table_equal(got, cli_grid)
    assert got.n_rows == 12  # 6 points x (P, AP)
    # A Device gives the same numbers as its file.
    dev = spinpath.Device(engine_file)
    assert_table_equal(spinpath.scan(dev, GRID, threads=1), cli_grid)
    pts = spinpath.scan_points(engine_file, GRID)
    assert pts.shape == (6, 2)
    np.testing.assert_array_equal(pts[:, 0], [0, 0, 5, 5, 10, 10])


def test_scan_on_dask_equals_the_command_line(client, engine_file: Path, cli_grid: dict) -> None:
    got = spinpath.scan(engine_file, GRID, client=client, chunks=4)
    assert_table_equal(got, cli_grid)
    # The points really ran in the two worker processes.
    assert len(client.scheduler_info()["workers"]) == 2


def test_sampled_scan_on_dask_equals_the_command_line(
    client, cli: Path, engine_file: Path, tmp_path: Path
) -> None:
    params = {"spin_accumulation_meV": (0.0, 10.0), "temperature_K": (250.0, 320.0)}
    out = tmp_path / "lhs"
    r = run_cli(
        cli, "scan", engine_file, "--samples", "5", "--sampling", "lhs", "--seed", "7",
        "--param", "spin_accumulation_meV=0:10", "--param", "temperature_K=250:320", "-o", out,
    )
    assert r.returncode == 0, r.stderr
    got = spinpath.scan(engine_file, params, samples=5, method="lhs", seed=7, client=client)
    assert_table_equal(got, read_csv(out / "scan.csv"))
    other = spinpath.scan(engine_file, params, samples=5, method="lhs", seed=8, client=client)
    assert not np.array_equal(other["temperature_K"], got["temperature_K"])


def test_ensemble_on_dask_equals_the_command_line(
    client, cli: Path, ensemble_file: Path, tmp_path: Path
) -> None:
    out = tmp_path / "ens"
    r = run_cli(cli, "ensemble", ensemble_file, "--samples", "40", "--seed", "5", "-o", out)
    assert r.returncode == 0, r.stderr
    want = read_csv(out / "ensemble.csv")
    here = spinpath.ensemble(ensemble_file, 40, seed=5)
    assert_table_equal(here, want)
    dask = spinpath.ensemble(ensemble_file, 40, seed=5, client=client, chunks=3)
    assert_table_equal(dask, want)
    summary = load_json(out / "summary.json")
    assert dask.summary["spin_engine_yield"] == summary["spin_engine_yield"]
    assert dask.summary["model"] == summary["model"]


def test_bad_input_is_named(engine_file: Path, ensemble_file: Path) -> None:
    with pytest.raises(spinpath.SpinpathError, match="no_such_meV"):
        spinpath.scan(engine_file, {"no_such_meV": (0, 1, 2)})
    with pytest.raises(spinpath.SpinpathError, match=r"expected \(from, to, n\)"):
        spinpath.scan(engine_file, {"spin_accumulation_meV": (0, 1)})
    with pytest.raises(spinpath.SpinpathError, match="samples"):
        spinpath.scan(engine_file, {"spin_accumulation_meV": (0, 1)}, method="lhs")
    with pytest.raises(spinpath.SpinpathError, match="method `sobol`"):
        spinpath.scan(engine_file, {"spin_accumulation_meV": (0, 1)}, method="sobol", samples=3)
    with pytest.raises(spinpath.SpinpathError, match=r"--samples.*0"):
        spinpath.ensemble(ensemble_file, 0)
    with pytest.raises(spinpath.SpinpathError, match="missing \\[ensemble\\]"):
        spinpath.ensemble(engine_file, 3)
