"""The analyses give known answers on synthetic data and the command line's numbers on files."""

from __future__ import annotations

import numpy as np
import pytest

import spinpath
from conftest import assert_table_equal, load_json, read_csv, run_cli


def test_didv_of_a_cubic():
    v = np.round(np.arange(-5.0, 5.0 + 1e-9, 0.05), 10)
    i = 2.0 * v + 0.1 * v**3
    r = spinpath.didv(v, i)
    a = r.averaged
    assert list(a)[:2] == ["bias_mV", "didv_nA_per_mV"]
    inner = (a["bias_mV"] > -4.5) & (a["bias_mV"] < 4.5)
    np.testing.assert_allclose(a["didv_nA_per_mV"][inner], 2.0 + 0.3 * a["bias_mV"][inner] ** 2, atol=5e-3)
    assert abs(r.summary["didv_at_zero_nA_per_mV"] - 2.0) < 5e-3
    assert r.summary["segments"] == 1 and r.points.n_rows == len(v)
    fd = spinpath.didv({"bias_mV": v, "current_nA": i}, method="fd").averaged
    np.testing.assert_allclose(fd["didv_nA_per_mV"][inner], 2.0 + 0.3 * fd["bias_mV"][inner] ** 2, atol=5e-3)


def test_tmr_of_proportional_currents():
    v = np.linspace(-2, 2, 41)
    r = spinpath.tmr((v, 3.0 * v), (v, v))
    t = r.table["tmr_percent"]
    finite = np.isfinite(t)
    assert finite.sum() >= 40  # only V = 0 (I_AP = 0) may be undefined
    np.testing.assert_allclose(t[finite], 200.0, rtol=1e-9)
    assert r.summary["opposite_sign_regions_mV"] == []


def test_power_of_a_linear_generator():
    v = np.linspace(-1, 2, 301)
    r = spinpath.power(v, v - 1.0)  # I = V - 1 nA: P = -I*V = V(1 - V) pW
    assert abs(r.summary["max_power_bias_mV"] - 0.5) < 1e-9
    assert abs(r.summary["max_power_nW"] - 0.25e-3) < 1e-12
    seg = r.summary["segments"][0]
    np.testing.assert_allclose(seg["open_circuit_voltages_mV"], [1.0], atol=1e-9)
    assert abs(seg["short_circuit_current_nA"] + 1.0) < 1e-9
    np.testing.assert_allclose(r.table["power_nW"], -v * (v - 1.0) * 1e-3, rtol=1e-12, atol=1e-18)


def lorentz(x, x0, w):
    return 1.0 / (1.0 + ((x - x0) / w) ** 2)


def test_peaks_and_common_spacing():
    x = np.round(np.arange(-5, 5.0001, 0.01), 10)
    a = lorentz(x, -2.0, 0.3) + lorentz(x, 2.0, 0.3)
    b = lorentz(x, -1.5, 0.3) + lorentz(x, 2.5, 0.3)
    r = spinpath.peaks((x, a), (x, b), names=["a", "b"], signal="raw")
    pk = r.peaks
    assert list(pk["dataset"]) == ["a", "a", "b", "b"]
    np.testing.assert_allclose(pk["position_mV"], [-2.0, 2.0, -1.5, 2.5], atol=0.011)
    assert r.pairs is not None
    assert abs(r.summary["common_spacing"] - 4.0) < 0.02


def test_shift_of_a_displaced_peak():
    x = np.round(np.arange(-10, 10.0001, 0.05), 10)
    g = lambda c: np.exp(-((x - c) ** 2) / 2.0)
    r = spinpath.shift((x, g(1.0)), (x, g(1.5)), signal="raw", window_mV=8.0, max_shift_mV=2.0)
    assert abs(r.mean_shift_mV - 0.5) < 0.01
    assert set(r.table) >= {"shift_mV"} or any("shift" in k for k in r.table)


def test_stats_finds_two_branches():
    rng = np.random.default_rng(1)
    bias = np.full(400, 1.0)
    cur = np.where(np.arange(400) % 2 == 0, 10.0, 20.0) + 0.05 * rng.standard_normal(400)
    r = spinpath.stats(bias, cur, bin_nA=1.0)
    b = r.branches
    assert b.n_rows == 2
    np.testing.assert_allclose(sorted(b["current_nA"]), [10.0, 20.0], atol=0.05)
    np.testing.assert_allclose(b["occupation"], [0.5, 0.5], atol=1e-9)
    assert r.per_bias["n_branches"][0] == 2


def test_jumps_and_success_table():
    rng = np.random.default_rng(2)
    n = 200
    cur = np.where((np.arange(n) >= 50) & (np.arange(n) < 150), 10.0, 0.0) + 0.01 * rng.standard_normal(n)
    # a rise (towards positive current: N) at sample 50, a fall (P) at 150
    r = spinpath.jumps(np.arange(n, dtype=float), cur, cycle_samples=100, expect="N")
    assert r.sequence == "NP"
    assert r.jumps.n_rows == 2
    np.testing.assert_allclose(r.jumps["x"], [49.5, 149.5])
    np.testing.assert_allclose(r.jumps["size_nA"], [10.0, -10.0], atol=0.05)
    assert list(r.cycles["sequence"]) == ["N", "P"]
    assert r.success_rate == 0.5


def test_read_converts_units(shared_data):
    c = spinpath.read(shared_data / "iv_sweep_P_295K.csv")
    assert list(c) == ["bias_mV", "current_nA"]
    # the file is in V and A
    assert c["bias_mV"][1] == pytest.approx(0.1, rel=1e-12)
    assert c["current_nA"][1] == pytest.approx(-0.7291544, rel=1e-12)
    raw = spinpath.read_columns(shared_data / "iv_sweep_P_295K.csv")
    assert list(raw)[:3] == ["Time (s)", "Voltage (V)", "Current (A)"]
    np.testing.assert_allclose(raw["Voltage (V)"] * 1e3, c["bias_mV"], rtol=1e-12)


@pytest.fixture()
def iv_file(tmp_path):
    v = np.round(np.concatenate([np.arange(-3, 3.0001, 0.05), np.arange(3, -3.0001, -0.05)]), 10)
    i = 0.5 * v + 0.2 * np.tanh(v) - 0.3
    p = tmp_path / "sweep.csv"
    with open(p, "w") as f:
        f.write("V (mV),I (nA)\n")
        for a, b in zip(v, i):
            f.write(f"{float(a)!r},{float(b)!r}\n")
    return p


def test_didv_and_power_equal_command_line(cli, iv_file, tmp_path):
    out = tmp_path / "didv"
    assert run_cli(cli, "analyze", "didv", iv_file, "-o", out).returncode == 0
    r = spinpath.didv(iv_file)
    assert_table_equal(r.averaged, read_csv(out / "didv.csv"))
    assert_table_equal(r.points, read_csv(out / "didv_points.csv"))
    out = tmp_path / "power"
    assert run_cli(cli, "analyze", "power", iv_file, "-o", out).returncode == 0
    assert_table_equal(spinpath.power(iv_file).table, read_csv(out / "power.csv"))


@pytest.fixture(scope="module")
def sample_cli(cli, shared_data, tmp_path_factory):
    """The command line's analyses of the sample files."""
    root = tmp_path_factory.mktemp("analyze")
    p, ap, ih_file = (shared_data / n for n in ("iv_sweep_P_295K.csv", "iv_sweep_AP_295K.dat", "ih_loop_1mV.tsv"))
    runs = {
        "tmr": [p, ap],
        "ih": [ih_file],
        "peaks": [p, ap],
        "stats": [p],
        "shift": [p, ap],
    }
    for name, files in runs.items():
        r = run_cli(cli, "analyze", name, *files, "-o", root / name)
        assert r.returncode == 0, (name, r.stderr)
    return root, p, ap, ih_file


def test_sample_tmr_equals_command_line(sample_cli):
    root, p, ap, _ = sample_cli
    r = spinpath.tmr(p, ap)
    assert_table_equal(r.table, read_csv(root / "tmr" / "tmr.csv"))
    s = load_json(root / "tmr" / "summary.json")
    assert r.summary["opposite_sign_regions_mV"] == s["opposite_sign_regions_mV"]
    assert r.summary["max_tmr_percent"] == pytest.approx(s["max_tmr_percent"], rel=1e-12)


def test_sample_ih_equals_command_line(sample_cli):
    root, _, _, ih_file = sample_cli
    r = spinpath.ih(ih_file)
    assert_table_equal(r.points, read_csv(root / "ih" / "ih.csv"))
    assert_table_equal(r.switches, read_csv(root / "ih" / "switches.csv"))
    loop = load_json(root / "ih" / "summary.json")["loops"][0]
    assert r.summary["tmr_percent"] == pytest.approx(loop["tmr_percent"], rel=1e-12)
    # the file's switching fields: +150 Oe going up, -60 Oe coming down (20 Oe steps)
    fields = sorted(r.switches[[k for k in r.switches if k.startswith("field")][0]])
    assert abs(fields[0] + 60) <= 20 and abs(fields[-1] - 150) <= 20


def test_sample_peaks_stats_shift_equal_command_line(sample_cli):
    root, p, ap, _ = sample_cli
    pk = spinpath.peaks(p, ap)
    assert_table_equal(pk.peaks, read_csv(root / "peaks" / "peaks.csv"))
    st = spinpath.stats(p)
    assert_table_equal(st.histogram, read_csv(root / "stats" / "histogram.csv"))
    assert_table_equal(st.per_bias, read_csv(root / "stats" / "stats.csv"))
    assert_table_equal(st.branches, read_csv(root / "stats" / "branches.csv"))
    sh = spinpath.shift(p, ap)
    assert_table_equal(sh.table, read_csv(root / "shift" / "shift.csv"))
    s = load_json(root / "shift" / "summary.json")
    if s["weighted_mean_shift_mV"] is None:
        # every window at the search bound (a featureless ±3 mV sweep): no mean, in both
        assert sh.mean_shift_mV != sh.mean_shift_mV
        assert s["windows_at_bound"] >= 1
    else:
        assert sh.mean_shift_mV == pytest.approx(s["weighted_mean_shift_mV"], rel=1e-12)
