"""Paper 2's memristive Coulomb blockade from Python: hysteretic I(V) and write/read statistics.

    pip install ./crates/spinpath-py            # matplotlib optional (adds a figure)
    python examples/python/memristive_dots.py [out.png] [cycles]

Sweeps the bundled `memristive-cb` preset (interacting dots, transient master equation; the same
numbers as `spinpath run examples/memristive-cb.toml`), prints its Coulomb gaps and writing events,
then runs the `write-read` protocol (Monte Carlo) for `cycles` cycles (default 60; the preset has
1357) and prints how often each jump sequence occurs. With matplotlib it saves the I(V) of both
branches and the read currents (default out/memristive-python.png).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

import spinpath


def main(out: Path, cycles: int) -> None:
    cb = spinpath.Dots.preset("memristive-cb")
    iv = cb.sweep(step_mV=2.0)
    for g in iv.summary["gaps"]:
        gap = g["coulomb_gap_mV"]  # summary keys carry their unit (mV); None where an edge is missing
        print(f"{g['state']:>2} {g['branch']:<3}: Coulomb gap {'n/a' if gap is None else f'{gap:.1f} mV'}")
    for e in iv.summary["writing_events"]:
        print(f"{e['state']:>2} {e['label']} {e['change']} at {e['bias_mV']:.0f} mV ({e['direction']})")

    wr = spinpath.run_protocol(spinpath.Dots.preset("write-read"), protocol={"write_read": {"cycles": cycles}})
    s = wr.table("sequences")
    print(f"write/read, {cycles} cycles (seed {wr.seed}): success rate {100 * wr.summary['sets'][0]['success_rate']:.1f} %")
    for seq, n in zip(s["sequence"], s["count"]):
        print(f"  {seq:<6} {int(n)}")

    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
    p = iv.state("P")
    for branch, colour in (("ON", "tab:blue"), ("OFF", "tab:red")):
        y = np.where(p["branch"] == branch, p["current_nA"], np.nan)
        a.plot(p["bias_mV"], y, color=colour, label=branch)
    a.set(xlabel="bias (mV)", ylabel="current (nA)", title="memristive-cb, P")
    a.legend()
    c = wr.table("cycles")
    b.plot(c["cycle"], 1e3 * c["read_current_nA"], ".")
    b.set(xlabel="cycle", ylabel="read current (pA)", title="write/read at -100 mV")
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    print(f"wrote {out}")


if __name__ == "__main__":
    main(
        Path(sys.argv[1]) if len(sys.argv) > 1 else Path("out/memristive-python.png"),
        int(sys.argv[2]) if len(sys.argv) > 2 else 60,
    )
