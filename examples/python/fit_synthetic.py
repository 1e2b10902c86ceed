"""Fit the spin-engine model to synthetic P and AP I(V) data made with spinpath itself.

    pip install ./crates/spinpath-py            # matplotlib optional (adds a figure)
    python examples/python/fit_synthetic.py [out.png]

Makes noisy data from known parameters, fits two of them (plus a tied one) starting away from the
truth, and prints the recovered values with their standard errors. With matplotlib it also saves a
figure of the data, the best fit and the residuals (default out/fit-synthetic-python.png).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

import spinpath

TRUTH = {"spin_accumulation_meV": 8.0, "P.dimer_energy_meV": -2.3, "AP.dimer_energy_meV": 0.7}
SIGMA_NA = 0.005


def main(out: Path) -> None:
    rng = np.random.default_rng(7)
    truth = spinpath.preset("spin-engine").with_parameters(TRUTH)
    bias = np.linspace(-10.0, 10.0, 81)
    iv = truth.sweep(bias_mV=bias)
    data = []
    for st in ("P", "AP"):
        s = iv.state(st)
        noisy = s["current_nA"] + SIGMA_NA * rng.standard_normal(len(bias))
        data.append({"state": st, "bias_mV": s["bias_mV"], "current_nA": noisy, "sigma_nA": SIGMA_NA})

    spec = {
        "model": spinpath.preset("spin-engine"),  # start values: the preset's
        "fit": {"starts": 2, "seed": 1, "rel_tol": 1e-7},
        "parameters": {
            "spin_accumulation_meV": {"value": 6.0, "min": 0.0, "max": 20.0},
            "P.dimer_energy_meV": {"value": -1.5, "min": -6.0, "max": 2.0},
            # AP's dimer level sits a fitted distance above P's
            "delta_e0": {"value": 2.0, "min": 0.0, "max": 6.0},
            "AP.dimer_energy_meV": {"expr": "P.dimer_energy_meV + delta_e0"},
        },
    }
    res = spinpath.fit(spec, data=data)
    print(f"chi2 = {res.chi2:.2f} for {res.n_data} points, {res.n_free} free parameters "
          f"(reduced {res.reduced_chi2:.3f}); {'converged' if res.success else 'NOT converged'}")
    for name, value, err, kind in zip(res.names, res.values, res.stderr, res.kind):
        t = TRUTH.get(name, TRUTH["AP.dimer_energy_meV"] - TRUTH["P.dimer_energy_meV"] if name == "delta_e0" else None)
        extra = f"  (truth {t:+.4f})" if t is not None else ""
        print(f"  {name:<24} {value:+10.4f} ± {err:.4f}  [{kind}]{extra}")
    for w in res.warnings:
        print("  warning:", w)

    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no figure")
        return
    fig, ax = plt.subplots(2, 1, figsize=(7, 7), sharex=True, constrained_layout=True)
    for c, col in zip(res.curves, ("tab:blue", "tab:red")):
        ax[0].plot(c["bias_mV"], c["current_nA"], ".", color=col, ms=3, label=f"{c['state']} data")
        ax[0].plot(c["bias_mV"], c["model_nA"], "-", color=col, label=f"{c['state']} fit")
        ax[1].plot(c["bias_mV"], c["residual_nA"] / SIGMA_NA, ".", color=col, ms=3)
    ax[0].set(ylabel="current (nA)", title="spin-engine fit to synthetic data")
    ax[0].legend()
    ax[1].axhline(0, color="k", lw=0.5)
    ax[1].set(xlabel="bias (mV)", ylabel="residual / σ")
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)
    print(f"wrote {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("out/fit-synthetic-python.png"))
