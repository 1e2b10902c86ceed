"""Devices pickle to the same results (worker processes), one operating point, xarray output."""

from __future__ import annotations

import pickle
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pytest

import spinpath


def _current_at(dev: spinpath.Device, bias: float) -> float:
    return float(dev.point(bias)["current_nA"][0])


def test_device_pickles_with_its_parameter_changes():
    dev = spinpath.preset("spin-engine").with_parameters({"P.dimer_energy_meV": -2.0})
    back = pickle.loads(pickle.dumps(dev))
    assert isinstance(back, spinpath.Device) and back.source == dev.source
    assert back.parameters == dev.parameters
    bias = np.linspace(-3, 3, 13)
    a, b = dev.sweep(bias_mV=bias), back.sweep(bias_mV=bias)
    np.testing.assert_array_equal(a["current_nA"], b["current_nA"])
    # ... and the change is kept: the preset itself differs.
    plain = spinpath.preset("spin-engine").sweep(bias_mV=bias)
    assert not np.array_equal(plain["current_nA"], a["current_nA"])


def test_devices_run_in_worker_processes():
    dev = spinpath.preset("spin-engine")
    with ProcessPoolExecutor(max_workers=2) as ex:
        got = list(ex.map(_current_at, [dev, dev], [0.5, -0.5]))
    assert got == [_current_at(dev, 0.5), _current_at(dev, -0.5)]


def test_dots_pickle():
    cb = spinpath.preset("memristive-cb")
    back = pickle.loads(pickle.dumps(cb))
    assert isinstance(back, spinpath.Dots) and back.toml == cb.toml
    a = cb.sweep(solver="steady", step_mV=25.0)
    b = back.sweep(solver="steady", step_mV=25.0)
    np.testing.assert_array_equal(a["current_nA"], b["current_nA"])


def test_point_is_the_sweep_row():
    dev = spinpath.preset("spin-engine")
    p = dev.point(bias_mV=1.5)
    assert p.n_rows == 2 and p.states == ["P", "AP"]
    s = dev.sweep(bias_mV=[-1.0, 1.5, 2.0])
    for st in ("P", "AP"):
        np.testing.assert_array_equal(p.state(st)["current_nA"], s.state(st)["current_nA"][1:2])
    with pytest.raises(spinpath.SpinpathError, match="bias_mV"):
        dev.point(float("nan"))


def test_dots_point_is_the_steady_state():
    cb = spinpath.preset("memristive-cb")
    p = cb.point(bias_mV=300.0)
    assert p.n_rows == 2 and sorted(p["state"].tolist()) == ["AP", "P"]
    assert np.all(p["bias_mV"] == 300.0)
    s = cb.sweep(solver="steady", sweep_mV=[250.0, 300.0], step_mV=50.0)
    for st in ("P", "AP"):
        np.testing.assert_allclose(p.where(p["state"] == st)["current_nA"], s.state(st)["current_nA"][-1:], rtol=1e-9)


def test_to_xarray():
    xr = pytest.importorskip("xarray")
    s = spinpath.preset("spin-engine").sweep(bias_mV=np.linspace(-1, 1, 5))
    ds = s.to_xarray()
    assert isinstance(ds, xr.Dataset)
    assert ds["current_nA"].dims == ("state", "bias_mV") and ds["current_nA"].shape == (2, 5)
    np.testing.assert_array_equal(ds["current_nA"].sel(state="AP").values, s.state("AP")["current_nA"])


def test_dots_with_parameters_changes_the_model_and_suggests_names():
    cb = spinpath.preset("memristive-cb")
    params = cb.parameters
    assert params and all(isinstance(v, float) for v in params.values())
    name = "temperature_K" if "temperature_K" in params else next(iter(params))
    hotter = cb.with_parameters({name: params[name] * 2})
    assert hotter.parameters[name] == params[name] * 2
    assert hotter.toml != cb.toml
    a = cb.point(bias_mV=200.0)["current_nA"]
    b = hotter.point(bias_mV=200.0)["current_nA"]
    assert not np.array_equal(a, b)
    # unchanged values give the same model
    same = cb.with_parameters({name: params[name]})
    np.testing.assert_array_equal(same.point(bias_mV=200.0)["current_nA"], a)
    with pytest.raises(spinpath.SpinpathError, match="did you mean"):
        cb.with_parameters({name.upper() + "x": 1.0})


def test_dots_sweep_tmr_and_where_keep_the_state_helpers():
    s = spinpath.preset("memristive-cb").sweep(solver="steady", step_mV=20.0)
    t = s.tmr()
    p, ap = s.state("P"), s.state("AP")
    # Steady state, no history: TMR from the table equals I_P/I_AP - 1 where both are defined.
    row = np.argmax(np.abs(ap["current_nA"]))
    b = ap["bias_mV"][row]
    k = int(np.argmin(np.abs(t.table["bias_mV"] - b)))
    ip = p["current_nA"][p["bias_mV"] == b][0]
    assert t.table["tmr_percent"][k] == pytest.approx(100 * (ip / ap["current_nA"][row] - 1), rel=1e-6)
    pos = s.where(s["bias_mV"] > 0)
    assert pos.states == ["P", "AP"] and np.all(pos.state("AP")["bias_mV"] > 0)
