"""Interacting dots: the Python sweeps equal the command line's files for the same run file."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest

import spinpath
from conftest import assert_json_close, assert_table_equal, cli_error, load_json, read_csv, run_cli, py_keys

IV_COLUMNS = [
    "state", "bias_mV", "current_nA", "current_up_nA", "current_down_nA", "power_nW", "branch",
    "direction",
]

# The write/read preset's slow-tunnelling model with a Monte Carlo [dots_run] and fixed-bias time
# traces (with a state history): every table `spinpath dots` writes.
MC_RUN = """
[dots_run]
states = ["AP", "P"]
solver = "monte-carlo"
sweep_mV = [0.0, 300.0, -300.0, 0.0]
step_mV = 20.0
dwell_s = 2e-5
integration_time_s = 1e-6
gating_dot = "gate"
seed = 99
[dots_run.monte_carlo]
bias_mV = [-100.0, 200.0]
duration_s = 5e-5
integration_time_s = 1e-6
state = "AP"
history_events = 40
"""


def dots_model_text() -> str:
    """The write-read preset without its [protocol] (the model only)."""
    text = spinpath.preset_toml("write-read")
    return text[: text.index("[protocol]")]


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("dots")
    cb = spinpath.preset_toml("memristive-cb")
    assert "step_mV = 1.0" in cb
    (d / "cb.toml").write_text(cb.replace("step_mV = 1.0", "step_mV = 4.0"), encoding="utf-8")
    (d / "mc.toml").write_text(dots_model_text() + MC_RUN, encoding="utf-8")
    return d


def cli_run(cli, files: Path, name: str) -> Path:
    out = files / ("out-" + name)
    if not out.is_dir():
        r = run_cli(cli, "run", name + ".toml", "-o", out.name, cwd=files)
        assert r.returncode == 0, r.stderr
    return out


@pytest.fixture(scope="module")
def cb_sweep(files, monkeypatch_module) -> spinpath.DotsSweep:
    monkeypatch_module.chdir(files)
    return spinpath.Dots("cb.toml").sweep()


@pytest.fixture(scope="module")
def monkeypatch_module():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


def test_transient_sweep_equals_command_line(cli, files, cb_sweep):
    out = cli_run(cli, files, "cb")
    assert_table_equal(cb_sweep, read_csv(out / "iv.csv"))
    assert_table_equal(cb_sweep.details, read_csv(out / "dots.csv"))
    assert_table_equal(cb_sweep.occupations, read_csv(out / "occupations.csv"))
    assert_json_close(cb_sweep.summary, py_keys(load_json(out / "summary.json")))
    assert cb_sweep.trace is None and cb_sweep.history is None


def test_monte_carlo_sweep_and_traces_equal_command_line(cli, files, monkeypatch):
    monkeypatch.chdir(files)
    s = spinpath.load("mc.toml")
    assert isinstance(s, spinpath.Dots)
    r = s.sweep()
    out = cli_run(cli, files, "mc")
    assert r.states == ["AP", "P"]
    assert_table_equal(r, read_csv(out / "iv.csv"))
    assert_table_equal(r.details, read_csv(out / "dots.csv"))
    assert_table_equal(r.occupations, read_csv(out / "occupations.csv"))
    assert_table_equal(r.trace, read_csv(out / "kmc_trace.csv"))
    assert_table_equal(r.history, read_csv(out / "kmc_history.csv"))
    assert_json_close(r.summary, py_keys(load_json(out / "summary.json")))
    assert r.summary["solver"] == "monte-carlo" and r.summary["monte_carlo"]["seed"] == 99
    # Seeded: the same run again gives the same numbers; another seed does not.
    np.testing.assert_array_equal(s.sweep()["current_nA"], r["current_nA"])
    other = s.sweep(seed=100, monte_carlo=False)
    assert other.trace is None and "monte_carlo" not in other.summary
    assert not np.array_equal(other["current_nA"], r["current_nA"])


def test_columns_shapes_dtypes_and_units(cb_sweep):
    assert list(cb_sweep) == IV_COLUMNS
    n = 2 * (320 + 640 + 640 + 320) // 4 + 2
    assert cb_sweep.n_rows == n and cb_sweep.states == ["P", "AP"]
    for name, col in cb_sweep.items():
        assert isinstance(col, np.ndarray) and col.shape == (n,), name
        if name in ("state", "branch", "direction"):
            assert col.dtype.kind == "U", name
        else:
            assert col.dtype == np.float64, name
    assert set(cb_sweep["branch"]) == {"ON", "OFF"}
    assert set(cb_sweep["direction"]) == {"up", "down"}
    p = cb_sweep.state("P")
    np.testing.assert_allclose(p["power_nW"], -p["current_nA"] * p["bias_mV"] * 1e-3, rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(p["current_up_nA"] + p["current_down_nA"], p["current_nA"], rtol=1e-9, atol=1e-12)
    occ = cb_sweep.occupations
    probs = np.array([occ[k] for k in occ if k.startswith("p_")])
    assert probs.shape == (64, n)
    np.testing.assert_allclose(probs.sum(axis=0), 1.0, atol=1e-9)
    assert list(cb_sweep.details)[-2:] == ["charge_transport_e", "charge_gate_e"]


def test_presets_and_description():
    cb = spinpath.preset("memristive-cb")
    assert isinstance(cb, spinpath.Dots) and cb.source == "preset memristive-cb"
    assert cb.dots == ["transport", "gate"] and cb.n_states == 64 and len(cb.state_labels) == 64
    st = cb.settings
    assert st["solver"] == "transient" and st["gating_dot"] == "gate" and st["step_mV"] == 1.0
    assert st["states"] == ["P", "AP"] and st["n_points"] == 1921
    assert not cb.has_protocol
    wr = spinpath.preset("write-read")
    assert isinstance(wr, spinpath.Dots) and wr.settings is None and wr.has_protocol
    assert isinstance(spinpath.preset("iv-sweeps"), spinpath.Device)
    assert set(spinpath.presets()) >= {"spin-engine", "memristive-cb", "iv-sweeps", "ih-loop", "write-read"}


def test_overrides_equal_an_edited_file(cli, tmp_path):
    cb = spinpath.preset("memristive-cb")
    s = cb.sweep(solver="steady", sweep_mV=np.array([0.0, 200.0, -200.0]), step_mV=10.0, states=["AP"])
    text = spinpath.preset_toml("memristive-cb")
    text = text.replace('solver = "transient"', 'solver = "steady"')
    text = text.replace("sweep_mV = [0.0, 320.0, -320.0, 320.0, 0.0]", "sweep_mV = [0.0, 200.0, -200.0]")
    text = text.replace("step_mV = 1.0", "step_mV = 10.0").replace('states = ["P", "AP"]', 'states = ["AP"]')
    (tmp_path / "e.toml").write_text(text, encoding="utf-8")
    r = run_cli(cli, "run", "e.toml", "-o", "out", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert_table_equal(s, read_csv(tmp_path / "out" / "iv.csv"))
    assert s.settings["solver"] == "steady" and s.settings["n_points"] == 61
    # the steady state has no memory: the same bias gives the same current going up and down
    k = np.flatnonzero(s["bias_mV"] == 100.0)
    assert len(k) == 2 and s["current_nA"][k[0]] == s["current_nA"][k[1]]


def test_file_without_dots_run_needs_the_sweep_keys():
    wr = spinpath.preset("write-read")
    with pytest.raises(spinpath.SpinpathError, match=r"no \[dots_run\] section"):
        wr.sweep()
    s = wr.sweep(sweep_mV=[0.0, -200.0], step_mV=50.0, dwell_s=1e-6, solver="steady")
    assert s.n_rows == 2 * 5


def test_bad_input_raises():
    cb = spinpath.preset("memristive-cb")
    with pytest.raises(spinpath.SpinpathError, match=r"key `dots_run.step_mV`: value -1 is outside"):
        cb.sweep(step_mV=-1.0)
    with pytest.raises(spinpath.SpinpathError, match="dots_run.gating_dot`: unknown dot `nope`"):
        cb.sweep(gating_dot="nope")
    with pytest.raises(spinpath.SpinpathError, match="solver"):
        cb.sweep(solver="magic")
    with pytest.raises(spinpath.SpinpathError, match="use spinpath.Dots"):
        spinpath.Device(cb.toml)
    with pytest.raises(spinpath.SpinpathError, match=r"no \[dots\] table"):
        spinpath.Dots(spinpath.preset_toml("spin-engine"))
    with pytest.raises(TypeError):
        spinpath.Dots(3.0)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "old,new,needle",
    [
        ('gating_dot = "gate"', 'gating_dot = "gaet"', "unknown dot `gaet`"),
        ("dwell_s = 1e-3", "dwell_s = -1.0", "dots_run.dwell_s"),
        ("charging_meV = 248.0", "charging_meV = 248.0\nspin = 3", "spin"),
    ],
)
def test_file_errors_equal_command_line(cli, tmp_path, old, new, needle):
    text = spinpath.preset_toml("memristive-cb")
    assert old in text
    p = tmp_path / "bad.toml"
    p.write_text(text.replace(old, new, 1), encoding="utf-8")
    expect = cli_error(cli, "run", p, "-o", tmp_path / "out")
    assert needle in expect
    with pytest.raises(spinpath.SpinpathError) as e:
        spinpath.Dots(p)
    assert str(e.value) == expect
    with pytest.raises(spinpath.SpinpathError) as e:
        spinpath.load(p)
    assert str(e.value) == expect


def test_dict_and_text_give_the_same_sweep():
    import tomllib

    text = spinpath.preset_toml("memristive-cb")
    kw = dict(step_mV=20.0, solver="steady")
    a = spinpath.Dots(tomllib.loads(text)).sweep(**kw)
    b = spinpath.Dots(text).sweep(**kw)
    for k in IV_COLUMNS:
        np.testing.assert_array_equal(a[k], b[k])


def test_sweep_releases_the_gil():
    cb = spinpath.preset("memristive-cb")
    done = threading.Event()
    result = {}

    def work():
        result["s"] = cb.sweep(threads=1, step_mV=2.0)
        done.set()

    t = threading.Thread(target=work)
    ticks = 0
    t0 = time.perf_counter()
    t.start()
    while not done.is_set():
        ticks += 1
        time.sleep(0.001)
    t.join()
    assert result["s"].n_rows == 2 * 961
    assert time.perf_counter() - t0 > 0.05 and ticks >= 10, ticks


@pytest.mark.parametrize(
    "py,args",
    [
        (dict(gap_mV=310.0), ["--gap-mV", "310"]),
        (dict(radius_nm=0.7, separation_nm=3.0, permittivity=7.5), ["--radius-nm", "0.7", "--separation-nm", "3", "--permittivity", "7.5"]),
        (dict(gap_mV=300.0, shift_mV=69.0, distance_nm=0.8, spacing_nm=2.5), ["--gap-mV", "300", "--shift-mV", "69", "--distance-nm", "0.8", "--spacing-nm", "2.5"]),
    ],
)
def test_capacitance_equals_command_line(cli, py, args):
    import json

    r = run_cli(cli, "capacitance", *args, "--json")
    assert r.returncode == 0, r.stderr
    got = spinpath.capacitance(**py)
    assert_json_close(got, json.loads(r.stdout))


def test_capacitance_forward_and_inverse_agree():
    fwd = spinpath.capacitance(radius_nm=0.6, separation_nm=2.8)
    inv = spinpath.capacitance(gap_mV=fwd["coulomb_gap_mV"], shift_mV=fwd["writing_shift_mV"])
    assert inv["radius_nm"] == pytest.approx(0.6, rel=1e-9)
    assert inv["separation_nm"] == pytest.approx(2.8, rel=1e-9)
    with pytest.raises(spinpath.SpinpathError, match="exactly one of gap_mV"):
        spinpath.capacitance()
    with pytest.raises(spinpath.SpinpathError, match="exactly one of gap_mV"):
        spinpath.capacitance(gap_mV=1.0, radius_nm=1.0)
    with pytest.raises(spinpath.SpinpathError, match="at most one of shift_mV"):
        spinpath.capacitance(gap_mV=300.0, shift_mV=1.0, separation_nm=2.0)


def test_capacitance_errors_equal_command_line(cli):
    for args, kw in [
        (["--radius-nm", "1.5"], dict(radius_nm=1.5)),
        (["--radius-nm=-1"], dict(radius_nm=-1.0)),
        (["--gap-mV", "300", "--shift-mV", "1e9"], dict(gap_mV=300.0, shift_mV=1e9)),
    ]:
        expect = cli_error(cli, "capacitance", *args, "--json")
        with pytest.raises(spinpath.SpinpathError) as e:
            spinpath.capacitance(**kw)
        assert str(e.value) == expect


def test_many_body_files_sweep_like_the_command_line(cli, repo, tmp_path):
    # A tunnel- and exchange-coupled double dot (many-body eigenbasis, approach 1vn): Python gives
    # the command line's numbers.
    src = repo / "examples" / "double-dot.toml"
    d = spinpath.Dots(str(src))
    s = d.sweep()
    out = tmp_path / "dd"
    r = run_cli(cli, "run", str(src), "-o", str(out), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert_table_equal(s, read_csv(out / "iv.csv"))
    assert d.settings is not None and d.settings["approach"] == "1vn"
