"""Ctrl-C: a long sweep, dots sweep, protocol and fit stop within 1 s of SIGINT with
KeyboardInterrupt (no panic, no waiting for the end), and progress callbacks see the run advance.

Each run goes in a child process that is sent a real SIGINT one second into the run; every run
takes several seconds (tens for the dots sweep and the fit) when not interrupted, so a run that
ignores the signal is seen to finish late or is killed after the time limit."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import spinpath

CHILD = textwrap.dedent(
    """
    import signal, sys, time
    import numpy as np
    import spinpath
    # A child started from a non-interactive shell may inherit SIGINT ignored: restore Python's.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    kind = sys.argv[1]
    if kind == "sweep":
        dev = spinpath.preset("spin-engine")
        run = lambda: dev.sweep(bias_mV=np.linspace(-10, 10, 40001))
    elif kind == "dots":
        dev = spinpath.preset("memristive-cb")
        run = lambda: dev.sweep(step_mV=0.1)
    elif kind == "protocol":
        dev = spinpath.preset("write-read")
        run = lambda: dev.protocol()
    else:
        truth = spinpath.preset("spin-engine").with_parameters({"spin_accumulation_meV": 8.0})
        s = truth.sweep(bias_mV=np.linspace(-10, 10, 401))
        noise = 0.01 * np.sin(np.arange(401))
        data = [
            {"state": st, "bias_mV": s.state(st)["bias_mV"],
             "current_nA": s.state(st)["current_nA"] + noise, "sigma_nA": 0.01}
            for st in ("P", "AP")
        ]
        spec = {
            "model": spinpath.preset("spin-engine"),
            "fit": {"starts": 10, "seed": 3, "rel_tol": 1e-9},
            "parameters": {
                "spin_accumulation_meV": {"value": 2.0, "min": 0.0, "max": 20.0},
                "P.dimer_energy_meV": {"value": -1.5, "min": -6.0, "max": 2.0},
            },
        }
        run = lambda: spinpath.fit(spec, data=data)
    print("ready", flush=True)
    try:
        run()
    except KeyboardInterrupt:
        print("interrupted", flush=True)
        sys.exit(3)
    print("finished", flush=True)
    """
)


@pytest.mark.parametrize("kind", ["sweep", "dots", "protocol", "fit"])
def test_ctrl_c_stops_a_long_run_within_a_second(kind, tmp_path):
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    child = subprocess.Popen(
        [sys.executable, str(script), kind],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        line = child.stdout.readline()
        assert line.strip() == "ready", child.stderr.read() if child.stderr else line
        time.sleep(1.0)
        assert child.poll() is None, "the run ended before the signal"
        sent = time.monotonic()
        child.send_signal(signal.SIGINT)
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pytest.fail(f"{kind}: still running 10 s after SIGINT")
        elapsed = time.monotonic() - sent
        out, err = child.communicate()
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == 3, (out, err)
    assert "interrupted" in out and "finished" not in out
    assert "Panic" not in err, err
    # Interpreter shutdown included.
    assert elapsed < 1.0, f"{kind}: {elapsed:.2f} s from SIGINT to exit"


def test_progress_callback_sees_every_point():
    seen: list[tuple[int, int]] = []
    bias = np.linspace(-10, 10, 201)
    s = spinpath.preset("spin-engine").sweep(bias_mV=bias, progress=lambda d, t: seen.append((d, t)))
    # The last report is the whole run (both states), and counts never go back.
    assert seen[-1] == (2 * len(bias), 2 * len(bias))
    assert all(a[0] <= b[0] for a, b in zip(seen, seen[1:]))
    assert s.n_rows == 2 * len(bias)


def test_a_raising_progress_callback_stops_the_run():
    class Stop(Exception):
        pass

    def cb(done: int, total: int) -> None:
        raise Stop

    t0 = time.monotonic()
    with pytest.raises(Stop):
        spinpath.preset("spin-engine").sweep(bias_mV=np.linspace(-10, 10, 40001), progress=cb)
    assert time.monotonic() - t0 < 5.0


def test_progress_true_without_tqdm_writes_to_stderr(capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)  # import fails: the text fallback
    spinpath.preset("spin-engine").sweep(bias_mV=np.linspace(-1, 1, 5), progress=True)
    assert "sweep: 10/10" in capsys.readouterr().err


@pytest.mark.parametrize("bad", [0, -1, 10**30])
def test_threads_must_be_a_positive_count(bad):
    with pytest.raises(spinpath.SpinpathError, match="threads"):
        spinpath.preset("spin-engine").sweep(bias_mV=[0.0, 1.0], threads=bad)
