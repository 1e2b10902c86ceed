"""Fits: the command line's numbers for a fit file, and known answers on synthetic data."""

from __future__ import annotations

import math

import numpy as np
import pytest

import spinpath
from conftest import assert_table_equal, load_json, read_csv, run_cli


def test_fit_file_equals_command_line(cli, repo, shared_data, tmp_path):
    fit_file = repo / "examples" / "fit-spin-engine.toml"
    out = tmp_path / "fit"
    r = run_cli(cli, "fit", fit_file, "-o", out)
    assert r.returncode == 0, r.stderr
    res = spinpath.fit(fit_file)
    summary = load_json(out / "summary.json")
    assert res.names == summary["names"]
    np.testing.assert_allclose(res.values, summary["values"], rtol=1e-10)
    assert math.isclose(res.chi2, summary["chi2"], rel_tol=1e-10)
    assert res.success and res.warnings == summary["warnings"]
    assert_table_equal(res.parameter_table, read_csv(out / "parameters.csv"), rel=1e-10)
    assert_table_equal(res.fit_table, read_csv(out / "fit.csv"), rel=1e-10)
    # the correlation matrix of the free parameters
    corr = read_csv(out / "correlation.csv")
    assert res.free_names == corr["parameter"]
    assert res.correlation.shape == (res.n_free, res.n_free)
    np.testing.assert_allclose(np.diag(res.correlation), 1.0, rtol=1e-12)
    for j, name in enumerate(res.free_names):
        np.testing.assert_allclose(res.correlation[:, j], [float(c) for c in corr[name]], rtol=1e-9, atol=1e-12)
    # best-fit curves per dataset, and the best-fit model as a device
    assert [c["state"] for c in res.curves] == ["P", "AP"]
    for c in res.curves:
        np.testing.assert_allclose(c["residual_nA"], c["current_nA"] - c["model_nA"], rtol=1e-9, atol=1e-15)
    dev = res.best_fit_device()
    assert math.isclose(dev.parameters["P.dimer_energy_meV"], res.params["P.dimer_energy_meV"], rel_tol=1e-12)


def synthetic(dev: spinpath.Device, bias: np.ndarray) -> list[dict]:
    s = dev.sweep(bias_mV=bias)
    return [
        {"state": st, "bias_mV": s.state(st)["bias_mV"], "current_nA": s.state(st)["current_nA"], "sigma_nA": 0.005}
        for st in ("P", "AP")
    ]


def test_fit_recovers_synthetic_parameters():
    truth = spinpath.preset("spin-engine").with_parameters(
        {"spin_accumulation_meV": 8.0, "P.dimer_energy_meV": -2.2}
    )
    data = synthetic(truth, np.linspace(-10, 10, 41))
    spec = {
        "model": spinpath.preset("spin-engine"),  # start from the preset's values
        "fit": {"starts": 1, "seed": 3, "rel_tol": 1e-6},
        "parameters": {
            "spin_accumulation_meV": {"value": 7.0, "min": 0.0, "max": 20.0},
            "P.dimer_energy_meV": {"value": -1.5, "min": -6.0, "max": 2.0},
        },
    }
    res = spinpath.fit(spec, data=data, threads=2)
    assert res.success
    p = res.params
    assert abs(p["spin_accumulation_meV"] - 8.0) < 1e-3
    assert abs(p["P.dimer_energy_meV"] - (-2.2)) < 1e-3
    assert res.n_data == 82 and res.n_free == 2
    assert res.chi2 < 1e-3
    assert set(res.kind) <= {"free", "fixed", "tied"}
    free = np.array([k == "free" for k in res.kind])
    assert res.stderr.shape == res.values.shape and np.all(np.isfinite(res.stderr[free]))
    assert np.all(res.stderr[free] < 0.05)
    assert list(res.fit_table) == ["state", "bias_mV", "current_nA", "model_nA", "residual_nA"]


def test_fit_spec_errors_raise():
    with pytest.raises(spinpath.SpinpathError, match="model"):
        spinpath.fit({"model": "does-not-exist.toml", "data": [{"state": "P", "file": "x.csv"}], "parameters": {}})
