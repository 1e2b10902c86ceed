"""Measurement protocols: the Python results equal the command line's files for the same run file."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest

import spinpath
from conftest import assert_json_close, assert_table_equal, cli_error, load_json, read_csv, run_cli

POINT_COLUMNS = [
    "index", "set", "repeat", "segment", "direction", "sample", "time_s", "temperature_K",
    "field_Oe", "state", "bias_mV", "current_nA", "current_true_nA", "current_up_nA",
    "current_down_nA", "clipped", "branch",
]
TEXT_COLUMNS = {"set", "direction", "state", "branch"}
BOOL_COLUMNS = {"clipped"}
COUNT_COLUMNS = {"index", "repeat", "segment", "sample"}

# Current statistics on the memristive dots (transient master equation), with instrument noise.
STATISTICS = """
[protocol]
kind = "statistics"
seed = 5
dynamics = "transient"
gating_dot = "gate"
states = ["P", "AP"]
[protocol.instrument]
noise_nA = 0.002
offset_nA = 0.001
[protocol.statistics]
bias_mV = [-100.0, 150.0]
samples = 60
bin_nA = 0.001
dwell_s = 1e-4
"""


def write_read_12() -> str:
    text = spinpath.preset_toml("write-read")
    assert "cycles = 1357" in text
    return text.replace("cycles = 1357", "cycles = 12")


def statistics_text() -> str:
    cb = spinpath.preset_toml("memristive-cb")
    return cb[: cb.index("[dots_run]")] + STATISTICS


CASES = {
    "iv-sweeps": lambda: spinpath.preset_toml("iv-sweeps"),
    "ih-loop": lambda: spinpath.preset_toml("ih-loop"),
    "write-read": write_read_12,
    "statistics": statistics_text,
}
KINDS = {"iv-sweeps": "iv_sweep", "ih-loop": "ih_loop", "write-read": "write_read", "statistics": "statistics"}


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("protocols")
    for name, text in CASES.items():
        (d / f"{name}.toml").write_text(text(), encoding="utf-8")
    return d


@pytest.mark.parametrize("name", list(CASES))
def test_protocol_equals_command_line(cli, folder, name):
    out = folder / f"out-{name}"
    r = run_cli(cli, "run", f"{name}.toml", "-o", out.name, cwd=folder)
    assert r.returncode == 0, r.stderr
    res = spinpath.run_protocol(folder / f"{name}.toml")
    assert res.kind == KINDS[name]
    csvs = sorted(p.name for p in out.glob("*.csv"))
    assert sorted(res.tables) == csvs
    for f in csvs:
        assert_table_equal(res.tables[f], read_csv(out / f))
    assert_json_close(res.summary, load_json(out / "summary.json"))
    assert res.seed == res.summary["seed"]
    assert res.n_points == res.summary["points"] == res.points.n_rows
    # the printed summary is the command line's (between the header and the `wrote` line)
    lines = r.stdout.splitlines()
    assert lines[0] == f"{res.kind} protocol: {res.n_points} points (seed {res.seed})"
    assert "\n".join(lines[1:-1]) + "\n" == res.text


def test_points_columns_dtypes_and_units(folder):
    res = spinpath.run_protocol(folder / "iv-sweeps.toml")
    p = res.points
    assert res.main == "iv.csv" and p is res.table("iv")
    assert list(p) == POINT_COLUMNS + ["power_nW"]
    n = p.n_rows
    assert n == res.n_points > 0
    for k, v in p.items():
        assert isinstance(v, np.ndarray) and v.shape == (n,), k
        if k in TEXT_COLUMNS:
            assert v.dtype.kind == "U", k
        elif k in BOOL_COLUMNS:
            assert v.dtype == np.bool_, k
        elif k in COUNT_COLUMNS:
            assert v.dtype == np.int64, k
        else:
            assert v.dtype == np.float64, k
    np.testing.assert_array_equal(p["index"], np.arange(n))
    assert np.all(np.diff(p["time_s"]) > 0)
    np.testing.assert_allclose(p["power_nW"], -p["current_nA"] * p["bias_mV"] * 1e-3, rtol=1e-12, atol=1e-300)
    # the instrument's noise (5 pA) is on top of the junction's current
    dev = p["current_nA"] - p["current_true_nA"]
    assert 0.003 < np.std(dev) < 0.007
    assert set(p["state"]) == {"P", "AP"} and not p["clipped"].any()
    with pytest.raises(spinpath.SpinpathError, match="no table `nope`"):
        res.table("nope")
    wr = spinpath.run_protocol(folder / "write-read.toml")
    assert wr.main == "points.csv" and set(wr.points["branch"]) <= {"ON", "OFF"}
    assert list(wr.table("cycles")) == ["cycle", "set", "jumps", "sequence", "read_current_nA", "read_branch", "success"]
    assert wr.table("cycles").n_rows == 12


def test_every_source_and_the_methods_give_the_same_run(folder):
    text = (folder / "ih-loop.toml").read_text(encoding="utf-8")
    import tomllib

    ref = spinpath.run_protocol(folder / "ih-loop.toml")
    for src in [text, tomllib.loads(text), spinpath.Device(text), spinpath.preset("ih-loop")]:
        r = spinpath.run_protocol(src)
        for k in ("ih.csv",):
            for c in ref.tables[k]:
                np.testing.assert_array_equal(r.tables[k][c], ref.tables[k][c])
    dev = spinpath.preset("ih-loop")
    assert isinstance(dev, spinpath.Device)
    np.testing.assert_array_equal(dev.protocol().points["current_nA"], ref.points["current_nA"])


def test_overrides_equal_an_edited_file(cli, folder, tmp_path):
    # The preset write/read (1357 cycles) cut to 12 cycles from Python equals the edited file.
    wr = spinpath.preset("write-read")
    assert isinstance(wr, spinpath.Dots)
    res = wr.protocol(protocol={"write_read": {"cycles": 12}})
    ref = spinpath.run_protocol(folder / "write-read.toml")
    for f in ref.tables:
        assert_table_equal(res.tables[f], read_csv_of(ref.tables[f]))
    # A new seed changes the trajectory, and equals the command line with that seed.
    seeded = spinpath.run_protocol(folder / "write-read.toml", seed=77)
    assert seeded.seed == 77 and seeded.summary["seed"] == 77
    assert not np.array_equal(seeded.points["current_nA"], ref.points["current_nA"])
    (tmp_path / "s.toml").write_text(write_read_12().replace("seed = 2025", "seed = 77"), encoding="utf-8")
    r = run_cli(cli, "run", "s.toml", "-o", "out", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert_table_equal(seeded.tables["points.csv"], read_csv(tmp_path / "out" / "points.csv"))


def read_csv_of(cols: spinpath.Columns) -> dict[str, list[str]]:
    """A table as the command line would write it (shortest round-trip numbers, empty for NaN)."""
    out = {}
    for k, v in cols.items():
        if v.dtype == np.float64:
            out[k] = ["" if np.isnan(x) else repr(float(x)) for x in v]
        else:
            out[k] = [str(x) for x in v]
    return out


def test_protocol_of_a_device_without_one():
    with pytest.raises(spinpath.SpinpathError, match=r"no \[protocol\] table"):
        spinpath.preset("spin-engine").protocol()
    with pytest.raises(spinpath.SpinpathError, match=r"no \[protocol\] table"):
        spinpath.preset("memristive-cb").protocol()
    # ... but one can be given whole
    r = spinpath.preset("spin-engine").protocol(
        protocol={"kind": "iv_sweep", "seed": 3, "sweeps": [{"vmax_mV": 1.0, "step_mV": 0.5}]}
    )
    assert r.kind == "iv_sweep" and r.seed == 3 and r.points.n_rows > 0


@pytest.mark.parametrize(
    "case,old,new,needle",
    [
        ("iv-sweeps", 'kind = "iv_sweep"', 'kind = "iv_swep"', "iv_swep"),
        ("iv-sweeps", "step_mV = 0.5", "step_mV = -0.5", "step_mV"),
        ("write-read", 'gating_dot = "gate"', 'gating_dot = "gaet"', "gaet"),
        ("statistics", "samples = 60", "samples = 0", "samples"),
    ],
)
def test_errors_equal_command_line(cli, folder, tmp_path, case, old, new, needle):
    text = CASES[case]()
    assert old in text
    p = tmp_path / "bad.toml"
    p.write_text(text.replace(old, new, 1), encoding="utf-8")
    expect = cli_error(cli, "run", p, "-o", tmp_path / "out")
    assert needle in expect
    with pytest.raises(spinpath.SpinpathError) as e:
        spinpath.run_protocol(p)
    assert str(e.value) == expect


def test_run_protocol_releases_the_gil():
    wr = spinpath.preset("write-read")
    done = threading.Event()
    result = {}

    def work():
        result["r"] = wr.protocol(protocol={"write_read": {"cycles": 120}})
        done.set()

    t = threading.Thread(target=work)
    ticks = 0
    t0 = time.perf_counter()
    t.start()
    while not done.is_set():
        ticks += 1
        time.sleep(0.001)
    t.join()
    assert result["r"].table("cycles").n_rows == 120
    assert time.perf_counter() - t0 > 0.05 and ticks >= 10, ticks
