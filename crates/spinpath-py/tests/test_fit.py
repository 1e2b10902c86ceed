"""Fits: the command line's numbers for a fit file, and known answers on synthetic data."""

from __future__ import annotations

import math
import pickle

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


def _spec_and_data():
    truth = spinpath.preset("spin-engine").with_parameters(
        {"spin_accumulation_meV": 8.0, "P.dimer_energy_meV": -2.2}
    )
    data = synthetic(truth, np.linspace(-10, 10, 41))
    # Noise, so that the standard errors are finite and the correlation is defined.
    rng = np.random.default_rng(5)
    for d in data:
        d["current_nA"] = d["current_nA"] + rng.normal(0.0, 0.005, d["current_nA"].size)
    spec = {"model": spinpath.preset("spin-engine"), "fit": {"starts": 1, "seed": 3, "rel_tol": 1e-6}}
    return spec, data


def test_misspelt_parameter_names_and_fields_raise_with_suggestions():
    spec, data = _spec_and_data()
    with pytest.raises(spinpath.SpinpathError, match=r"did you mean P\.dimer_energy_meV"):
        spinpath.fit({**spec, "parameters": {"P.dimer_energy_mev": {"value": -2.0}}}, data=data)
    with pytest.raises(spinpath.SpinpathError, match=r"unknown field `mn` \(did you mean min"):
        spinpath.fit({**spec, "parameters": {"P.dimer_energy_meV": {"value": -2.0, "mn": -5.0}}}, data=data)


def test_lmfit_style_params_and_report():
    spec, data = _spec_and_data()
    params = {
        "spin_accumulation_meV": {"value": 7.0, "min": 0.0, "max": 20.0},
        "P.dimer_energy_meV": {"value": -1.5, "min": -6.0, "max": 2.0},
        "temperature_K": {"value": 295.0, "vary": False},
    }
    res = spinpath.fit(spec, data=data, params=params)
    p = res.params["P.dimer_energy_meV"]
    assert isinstance(p, float) and p == p.value
    assert abs(p.value + 2.2) < 5 * p.stderr + 1e-3  # the truth within the error
    assert 0 < p.stderr < 0.05 and (p.min, p.max) == (-6.0, 2.0) and p.vary and p.init_value == -1.5
    t = res.params["temperature_K"]
    assert not t.vary and t.kind == "fixed" and t.value == 295.0 and math.isnan(t.stderr)
    assert t.min == -math.inf and t.max == math.inf
    assert res.params.valuesdict() == res.values_by_name
    assert pickle.loads(pickle.dumps(res.params)) == res.params
    report = res.fit_report()
    assert "[[Fit Statistics]]" in report and "[[Variables]]" in report
    assert f"# data points      = {res.n_data}" in report
    assert "temperature_K:" in report and "(fixed)" in report
    assert f"{p.stderr:.8g}" in report
    # The two free parameters are correlated through the model: reported with min_correl = 0.
    c = res.correlation[0, 1]
    assert f"{c:+.4f}" in res.fit_report(min_correl=0.0)
    assert "[[Correlations]]" not in res.fit_report(min_correl=1.01)


def test_lmfit_parameters_are_accepted():
    lmfit = pytest.importorskip("lmfit")
    spec, data = _spec_and_data()
    P = lmfit.Parameters()
    P.add("spin_accumulation_meV", value=7.0, min=0.0, max=20.0)
    P.add("P__dimer_energy_meV", value=-1.5, min=-6.0, max=2.0)
    via_lmfit = spinpath.fit(spec, data=data, params=P)
    plain = spinpath.fit(
        {**spec, "parameters": {
            "spin_accumulation_meV": {"value": 7.0, "min": 0.0, "max": 20.0},
            "P.dimer_energy_meV": {"value": -1.5, "min": -6.0, "max": 2.0},
        }},
        data=data,
    )
    assert via_lmfit.names == plain.names
    np.testing.assert_array_equal(via_lmfit.values, plain.values)
    # Also as the spec's own `parameters`.
    again = spinpath.fit({**spec, "parameters": P}, data=data)
    np.testing.assert_array_equal(again.values, plain.values)


def test_fit_to_features_from_a_dict_recovers_the_preset(repo):
    # Four reported numbers (I(0) and V_oc of P and AP of the spin-engine preset) and no curves.
    spec = {
        "model": spinpath.preset("spin-engine"),
        "fit": {"rel_tol": 1e-8},
        "feature": [
            {"kind": "current", "state": "P", "bias_mV": 0.0, "value_nA": -0.8241, "sigma_nA": 0.005},
            {"kind": "current", "state": "AP", "bias_mV": 0.0, "value_nA": -0.0505, "sigma_nA": 0.005},
            {"kind": "zero_current", "state": "P", "window_mV": [0.3, 3.0], "value_mV": 1.029, "sigma_mV": 0.01},
            {"kind": "zero_current", "state": "AP", "window_mV": [-0.5, 0.5], "value_mV": 0.0869, "sigma_mV": 0.01},
        ],
        "parameters": {
            "spin_accumulation_meV": {"value": 7.0, "min": 0.0, "max": 20.0},
            "P.dimer_energy_meV": {"value": -2.0, "min": -6.0, "max": 2.0},
            "AP.dimer_energy_meV": {"value": 1.2, "min": -2.0, "max": 4.0},
        },
    }
    res = spinpath.fit(spec)
    assert abs(res.params["spin_accumulation_meV"].value - 8.4) < 0.02
    assert abs(res.params["P.dimer_energy_meV"].value + 2.5) < 0.02
    assert abs(res.params["AP.dimer_energy_meV"].value - 0.85) < 0.02
    t = res.feature_table
    assert list(t["quantity"]) == ["current", "current", "bias", "bias"]
    assert np.all(np.abs(t["deviation_sigma"]) < 1.0)
    assert res.curves == []


def test_interacting_device_fit_equals_command_line(cli, repo, tmp_path):
    """A device with many-body terms (paper 1's interacting spin engine) fits from Python as on
    the command line, and its best-fit file carries the fitted per-state levels."""
    fit_file = repo / "examples" / "fit-spin-engine-interacting.toml"
    out = tmp_path / "fit"
    r = run_cli(cli, "fit", fit_file, "-o", out)
    assert r.returncode == 0, r.stderr
    res = spinpath.fit(fit_file)
    summary = load_json(out / "summary.json")
    assert res.names == summary["names"]
    np.testing.assert_allclose(res.values, summary["values"], rtol=1e-10)
    assert res.success
    errors = res.errors
    assert errors["e0_P"] > 0 and errors["asym_P"] > 0
    byname = res.values_by_name
    # the tied levels follow the free parameters
    assert math.isclose(byname["PM1.orbital0.energy_P_meV"], byname["e0_P"] - byname["asym_P"] / 2, rel_tol=1e-12)
    assert f"energy_P_meV = {byname['PM1.orbital0.energy_P_meV']!r}" in res.best_fit_toml
