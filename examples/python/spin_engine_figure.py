"""Paper 1's room-temperature spin engine from Python: I_P, I_AP, TMR and output power vs bias.

    pip install ./crates/spinpath-py matplotlib
    python examples/python/spin_engine_figure.py [out.png]

Runs the bundled `spin-engine` preset (the same numbers as `spinpath run examples/spin-engine.toml`)
and saves a four-panel PNG (default out/spin-engine-python.png). Needs no display (Agg backend).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import spinpath  # noqa: E402


def main(out: Path) -> None:
    dev = spinpath.preset("spin-engine")
    t0 = time.perf_counter()
    iv = dev.sweep()  # both states, 2001 biases each, in parallel without the GIL
    print(f"{dev.title}: {iv.n_rows} bias points in {time.perf_counter() - t0:.2f} s")
    p, ap, tmr = iv.state("P"), iv.state("AP"), iv.tmr()

    fig, ax = plt.subplots(2, 2, figsize=(10, 7), constrained_layout=True)
    a = ax[0, 0]
    for st, c in (("P", "tab:blue"), ("AP", "tab:red")):
        s = iv.state(st)
        a.plot(s["bias_mV"], s["current_up_nA"], color=c, lw=1.5, label=f"{st} spin up")
        a.plot(s["bias_mV"], s["current_down_nA"], color=c, lw=1, ls="--", label=f"{st} spin down")
    a.set(title="(a) spin-resolved current", xlabel="bias (mV)", ylabel="current (nA)")
    a.legend(fontsize=8)

    a = ax[0, 1]
    a.plot(p["bias_mV"], p["current_nA"], color="tab:blue", label="$I_P$")
    a.plot(ap["bias_mV"], ap["current_nA"], color="tab:red", label="$I_{AP}$")
    a.axhline(0, color="k", lw=0.5)
    a.axvline(0, color="k", lw=0.5)
    a.set(title="(b) $I_P$ and $I_{AP}$", xlabel="bias (mV)", ylabel="current (nA)")
    a.legend()

    a = ax[1, 0]
    t = tmr["tmr_percent"]
    a.plot(tmr["bias_mV"], np.clip(t, -1000, 1000), color="k")
    for lo, hi in iv.summary["tmr"]["ranges_tmr_below_minus_100_percent_mV"]:
        a.axvspan(lo, hi, color="tab:orange", alpha=0.3, label="$I_P I_{AP} < 0$")
    a.set(title="(c) TMR = $I_P/I_{AP} - 1$ (clipped to ±1000 %)", xlabel="bias (mV)", ylabel="TMR (%)")
    a.legend(fontsize=8)

    a = ax[1, 1]
    for s, c, st in ((p, "tab:blue", "P"), (ap, "tab:red", "AP")):
        w = (s["bias_mV"] >= -0.25) & (s["bias_mV"] <= 1.25)  # the generating window
        a.plot(s["bias_mV"][w], 1e3 * s["power_nW"][w], color=c, label=st)
    a.axhline(0, color="k", lw=0.5)
    a.set(title="(d) output power $-IV$ (> 0: generator)", xlabel="bias (mV)", ylabel="power (pW)")
    a.legend()

    fig.suptitle(dev.title or "spin engine")
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)
    for st in iv.summary["states"]:
        print(
            f"  {st['state']:>2}: V_oc = {st['open_circuit_voltages_mV']} mV, "
            f"max power {1e3 * st['max_power_nW']:.4f} pW at {st['bias_at_max_power_mV']:.3f} mV"
        )
    print(f"wrote {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("out/spin-engine-python.png"))
