"""Devices and runs: the Python results equal the command line's for the same run file."""

from __future__ import annotations

import math
import threading
import time
import tomllib
from pathlib import Path

import numpy as np
import pytest

import spinpath
from conftest import assert_table_equal, load_json, read_csv, run_cli

IV_COLUMNS = [
    "state", "bias_mV", "current_nA", "current_up_nA", "current_down_nA", "power_nW",
    "spin_current_left_nA", "spin_current_right_nA", "energy_current_left_nW",
    "energy_current_right_nW", "heat_current_left_nW", "heat_current_right_nW",
    "spin_free_energy_nW", "dissipation_nW", "efficiency", "integration_error_nA", "didv_nA_per_mV",
]


def small_run_text() -> str:
    """The spin-engine preset on 401 biases and 201 spectrum energies (quick to run)."""
    text = spinpath.Device.preset("spin-engine").toml
    assert "points = 2001" in text and "points = 1201" in text
    return text.replace("points = 2001", "points = 401").replace("points = 1201", "points = 201")


@pytest.fixture(scope="module")
def run_file(tmp_path_factory) -> Path:
    p = tmp_path_factory.mktemp("run") / "small.toml"
    p.write_text(small_run_text(), encoding="utf-8")
    return p


@pytest.fixture(scope="module")
def cli_out(cli, run_file, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("cli") / "out"
    r = run_cli(cli, "run", run_file, "-o", out)
    assert r.returncode == 0, r.stderr
    return out


@pytest.fixture(scope="module")
def sweep(run_file) -> spinpath.Sweep:
    return spinpath.Device(run_file).sweep()


def test_presets():
    assert "spin-engine" in spinpath.presets()
    d = spinpath.preset("spin-engine")
    assert d.states == ["P", "AP"]
    assert d.bias_mV.shape == (2001,) and d.bias_mV[0] == -10.0 and d.bias_mV[-1] == 10.0
    assert len(d.sites) == 4
    assert d.parameters["spin_accumulation_meV"] == 8.4
    with pytest.raises(spinpath.SpinpathError, match="no preset `nope`"):
        spinpath.preset("nope")


def test_iv_equals_command_line(sweep, cli_out):
    assert_table_equal(sweep, read_csv(cli_out / "iv.csv"))


def test_tmr_equals_command_line(sweep, cli_out):
    assert_table_equal(sweep.tmr(), read_csv(cli_out / "tmr.csv"))


def test_summary_equals_command_line(sweep, cli_out):
    expect = load_json(cli_out / "summary.json")
    got = sweep.summary
    assert got["title"] == expect["title"]
    assert got["tmr"]["ranges_tmr_below_minus_100_percent_mV"] == expect["tmr"]["ranges_tmr_below_minus_100_percent_mV"]
    for g, e in zip(got["states"], expect["states"]):
        for k, v in e.items():
            if isinstance(v, float):
                assert math.isclose(g[k], v, rel_tol=1e-12), k
            else:
                assert g[k] == v, k


def test_spectra_equal_command_line(run_file, cli_out):
    s = spinpath.Device(run_file).spectra()
    assert_table_equal(s.transmission, read_csv(cli_out / "transmission.csv"))
    assert_table_equal(s.dos, read_csv(cli_out / "dos.csv"))


def test_columns_shapes_dtypes_and_units(sweep):
    assert list(sweep) == IV_COLUMNS
    n = 2 * 401
    for name, col in sweep.items():
        assert isinstance(col, np.ndarray) and col.shape == (n,), name
        assert col.dtype == (np.float64 if name != "state" else np.dtype("<U2")), name
    assert sweep.states == ["P", "AP"]
    p = sweep.state("P")
    assert "state" not in p and p["bias_mV"].shape == (401,)
    # output power is -I*V: nA * mV = pW, reported in nW
    np.testing.assert_allclose(p["power_nW"], -p["current_nA"] * p["bias_mV"] * 1e-3, rtol=1e-12, atol=1e-18)
    t = sweep.tmr()
    assert list(t) == ["bias_mV", "current_p_nA", "current_ap_nA", "tmr_percent", "tmr", "opposite_signs"]
    np.testing.assert_allclose(t["tmr_percent"], 100 * (t["current_p_nA"] / t["current_ap_nA"] - 1), rtol=1e-12)
    with pytest.raises(spinpath.SpinpathError):
        sweep.state("X")


def test_pandas_ready(sweep):
    d = dict(sweep)
    assert all(len(v) == sweep.n_rows for v in d.values())
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame(sweep)
    assert df.shape == (sweep.n_rows, len(IV_COLUMNS))


def test_dict_and_toml_text_give_the_same_device(sweep):
    text = small_run_text()
    from_dict = spinpath.Device(tomllib.loads(text)).sweep()
    from_text = spinpath.Device.from_toml(text).sweep()
    for k in IV_COLUMNS[1:]:
        np.testing.assert_array_equal(from_dict[k], sweep[k])
        np.testing.assert_array_equal(from_text[k], sweep[k])


def test_bias_states_and_threads_overrides(run_file, sweep):
    d = spinpath.Device(run_file)
    b = np.array([-1.0, 0.0, 0.5, 2.0])
    s = d.sweep(states=["AP"], bias_mV=b, threads=1)
    assert s.states == ["AP"] and s.n_rows == 4
    np.testing.assert_array_equal(s["bias_mV"], b)
    ap = sweep.state("AP")
    k = int(np.argmin(np.abs(ap["bias_mV"] - 0.5)))
    assert ap["bias_mV"][k] == 0.5
    assert math.isclose(s["current_nA"][2], ap["current_nA"][k], rel_tol=1e-12)
    with pytest.raises(spinpath.SpinpathError, match="TMR needs both"):
        s.tmr()
    with pytest.raises(spinpath.SpinpathError, match="strictly ascending"):
        d.sweep(bias_mV=[1.0, 0.0])
    with pytest.raises(spinpath.SpinpathError, match="no magnetic state `X`"):
        d.sweep(states=["X"])


def test_with_parameters_changes_the_device(run_file):
    d = spinpath.Device(run_file)
    d2 = d.with_parameters({"P.dimer_energy_meV": -1.0}, temperature_K=300.0)
    assert d2.parameters["P.dimer_energy_meV"] == -1.0 and d2.parameters["temperature_K"] == 300.0
    assert d.parameters["P.dimer_energy_meV"] == -2.5
    b = [0.0, 1.0]
    assert not np.allclose(d.sweep(["P"], b)["current_nA"], d2.sweep(["P"], b)["current_nA"])
    # the changed device is a valid run file of its own
    assert spinpath.Device.from_toml(d2.toml).parameters == d2.parameters
    with pytest.raises(spinpath.SpinpathError, match="not a parameter of this device"):
        d.with_parameters(nope=1.0)
    # a misspelt name is refused with the closest names, never added as a new parameter
    with pytest.raises(spinpath.SpinpathError, match="did you mean P.dimer_energy_meV"):
        d.with_parameters({"P.dimer_energy_mev": -1.0})


def test_with_parameters_of_a_general_chain():
    text = """
[chain]
hoppings_meV = [1.0]
sites = [{ name = "A", energy_meV = 0.5 }, { name = "B", energy_meV = -0.5 }]
[chain.leads.left]
site = 0
width_meV = 0.3
[chain.leads.right]
site = 1
width_meV = 0.3
"""
    d = spinpath.Device.from_toml(text)
    assert d.parameters["A.energy_meV"] == 0.5
    d2 = d.with_parameters({"A.energy_meV": 0.2, "hoppings_meV.0": 2.0})
    assert d2.parameters["A.energy_meV"] == 0.2 and d2.parameters["hoppings_meV.0"] == 2.0
    assert spinpath.Device.from_toml(d2.toml).parameters == d2.parameters


def test_sweep_releases_the_gil():
    d = spinpath.preset("spin-engine")
    done = threading.Event()
    result = {}

    def work():
        result["s"] = d.sweep(threads=1)
        done.set()

    t = threading.Thread(target=work)
    ticks = 0
    t0 = time.perf_counter()
    t.start()
    while not done.is_set():
        ticks += 1
        time.sleep(0.001)
    t.join()
    elapsed = time.perf_counter() - t0
    assert result["s"].n_rows == 4002
    # The main thread kept running while Rust worked (about one tick per ms); with the GIL held
    # by the sweep it could tick at most once or twice.
    assert elapsed > 0.05 and ticks >= 10, (ticks, elapsed)


def test_concurrent_sweeps_from_threads(run_file, sweep):
    from concurrent.futures import ThreadPoolExecutor

    d = spinpath.Device(run_file)
    with ThreadPoolExecutor(max_workers=3) as ex:
        results = list(ex.map(lambda st: d.sweep(states=[st]), ["P", "AP", "P"]))
    for st, r in zip(["P", "AP", "P"], results):
        np.testing.assert_array_equal(r.state(st)["current_nA"], sweep.state(st)["current_nA"])
