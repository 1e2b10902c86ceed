"""Bad input raises SpinpathError (a ValueError) with the command line's message."""

from __future__ import annotations

import numpy as np
import pytest

import spinpath
from conftest import cli_error

PRESET = spinpath.Device.preset("spin-engine").toml


def write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_error_type():
    assert issubclass(spinpath.SpinpathError, ValueError)


@pytest.mark.parametrize(
    "old,new,needle",
    [
        # out of range: file:line:column and the key
        ("polarization_left = 0.35", "polarization_left = 1.5", "key `spin_engine.polarization_left`"),
        # unknown key: the TOML parser's message with line and column
        ("width_meV = 10.0", "widht_meV = 10.0", "widht_meV"),
        # bias grid
        ("points = 2001", "points = 0", "run.bias"),
    ],
)
def test_run_file_errors_equal_command_line(cli, tmp_path, old, new, needle):
    assert old in PRESET
    p = write(tmp_path, "bad.toml", PRESET.replace(old, new, 1))
    expect = cli_error(cli, "run", p, "-o", tmp_path / "out")
    assert needle in expect
    with pytest.raises(spinpath.SpinpathError) as e:
        spinpath.Device(p)
    assert str(e.value) == expect
    with pytest.raises(spinpath.SpinpathError) as e:
        spinpath.Device.from_file(str(p))
    assert str(e.value) == expect


def test_out_of_range_names_file_line_and_key(tmp_path):
    p = write(tmp_path, "bad.toml", PRESET.replace("polarization_left = 0.35", "polarization_left = 1.5"))
    line = PRESET.splitlines().index(
        next(l for l in PRESET.splitlines() if l.startswith("polarization_left"))
    ) + 1
    with pytest.raises(spinpath.SpinpathError, match=rf"^{p}:{line}:\d+: key `spin_engine.polarization_left`: value 1.5 is out of range"):
        spinpath.Device(p)


def test_missing_file_equals_command_line(cli, tmp_path):
    p = tmp_path / "missing.toml"
    expect = cli_error(cli, "run", p, "-o", tmp_path / "out")
    with pytest.raises(spinpath.SpinpathError) as e:
        spinpath.Device(p)
    assert str(e.value) == expect


def test_dict_errors_name_the_key():
    import tomllib

    d = tomllib.loads(PRESET)
    d["spin_engine"]["temperature_K"] = -5.0
    with pytest.raises(spinpath.SpinpathError, match=r"^<dict>:\d+:\d+: key `spin_engine.temperature_K`"):
        spinpath.Device(d)
    with pytest.raises(spinpath.SpinpathError, match="cannot be written as TOML"):
        spinpath.Device({"spin_engine": {"width_meV": object()}})


def test_fit_file_errors_equal_command_line(cli, repo, tmp_path):
    text = (repo / "examples" / "fit-spin-engine.toml").read_text(encoding="utf-8")
    model = (repo / "examples" / "spin-engine.toml").as_posix()
    text = text.replace('model = "spin-engine.toml"', f'model = "{model}"')
    cases = [
        # a tie to an unknown parameter: file, line, key and the expression
        ('{ expr = "P.dimer_energy_meV + delta_e0" }', '{ expr = "P.dimer_energy_meV + delta_e1" }', "delta_e1"),
        # the data files are relative to the fit file, so from tmp_path they are missing
        (None, None, "iv_sweep_P_295K.csv"),
    ]
    for old, new, needle in cases:
        bad = text if old is None else text.replace(old, new)
        assert old is None or bad != text
        p = write(tmp_path, "fit.toml", bad)
        expect = cli_error(cli, "fit", p, "-o", tmp_path / "out")
        assert needle in expect
        with pytest.raises(spinpath.SpinpathError) as e:
            spinpath.fit(p)
        assert str(e.value) == expect


def test_analysis_errors():
    x = np.linspace(-1, 1, 21)
    with pytest.raises(spinpath.SpinpathError, match="window = 6 points"):
        spinpath.didv(x, x, window=6)
    with pytest.raises(spinpath.SpinpathError, match="not finite"):
        spinpath.power(np.array([0.0, np.nan, 1.0]), np.zeros(3))
    with pytest.raises(spinpath.SpinpathError, match="x has 3 points but y has 2"):
        spinpath.power(np.zeros(3), np.zeros(2))
    with pytest.raises(spinpath.SpinpathError, match="unknown unit `furlong`"):
        spinpath.read("whatever.csv", x_unit="furlong")


def test_data_file_errors_equal_command_line(cli, tmp_path):
    p = write(tmp_path, "bad.csv", "bias_mV,current_nA\n0,1\n1,abc\n2,3\n")
    expect = cli_error(cli, "analyze", "power", p, "-o", tmp_path / "out")
    assert ":3:" in expect
    with pytest.raises(spinpath.SpinpathError) as e:
        spinpath.power(p)
    assert str(e.value) == expect
