"""Typed columns: yes/no columns are numpy bool, counts int64, one unit spelling across engines."""

from __future__ import annotations

import numpy as np
import pytest

import spinpath


def test_tmr_opposite_signs_is_bool_and_agrees_with_the_currents():
    t = spinpath.preset("spin-engine").sweep(bias_mV=np.linspace(-2, 2, 41)).tmr()
    flags = t["opposite_signs"]
    assert flags.dtype == np.bool_
    # The flag is the sign test itself, so it can be checked against the currents.
    expect = np.sign(t["current_p_nA"]) * np.sign(t["current_ap_nA"]) < 0
    np.testing.assert_array_equal(flags, expect)
    assert flags.any() and not flags.all()  # the preset has a window of opposite signs


def test_counts_are_int64_and_bool_columns_round_trip_through_csv(tmp_path):
    rng = np.random.default_rng(1)
    bias = np.repeat([0.0, 10.0], 200)
    current = np.where(rng.random(400) < 0.5, 1.0, 3.0) + rng.normal(0, 0.05, 400)
    st = spinpath.stats(bias, current)
    assert st.histogram["count"].dtype == np.int64
    assert st.per_bias["n_samples"].dtype == np.int64
    assert st.per_bias["n_samples"].tolist() == [200, 200]
    assert int(st.histogram["count"].sum()) == 400
    # to_csv writes whole numbers and true/false as the command line does
    t = spinpath.preset("spin-engine").sweep(bias_mV=[-1.0, 0.0, 1.0]).tmr()
    t.to_csv(tmp_path / "tmr.csv")
    body = (tmp_path / "tmr.csv").read_text().splitlines()
    assert body[0].endswith(",opposite_signs")
    assert all(line.rsplit(",", 1)[1] in ("true", "false") for line in body[1:])


def test_one_didv_name_and_unit_spelling_across_engines():
    coherent = spinpath.preset("spin-engine").sweep(bias_mV=[-1.0, 0.0, 1.0])
    dots = spinpath.preset("memristive-cb").sweep(solver="steady", step_mV=20.0)
    assert "didv_nA_per_mV" in coherent and "didv_nA_per_mV" in dots.details
    assert "dIdV_uS" not in dots.details
    with pytest.warns(DeprecationWarning, match="didv_nA_per_mV"):
        old = dots.details["dIdV_uS"]
    assert old is dots.details["didv_nA_per_mV"]
    with pytest.raises(KeyError):
        dots.details["no_such_column"]

    def keys(x, out):
        if isinstance(x, dict):
            for k, v in x.items():
                out.add(k)
                keys(v, out)
        elif isinstance(x, list):
            for v in x:
                keys(v, out)
        return out

    k = keys(dots.summary, set())
    assert not any(n.endswith("_mv") for n in k), k
    assert "coulomb_gap_mV" in k
