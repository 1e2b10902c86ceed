"""A two-parameter scan of paper 1's spin engine on a Dask cluster with the Python API: the points
go to the workers as Dask tasks (each carries the run file's text, so the workers need only the
`spinpath` package), and the rows come back as the columns of `spinpath scan`'s scan.csv.

    python examples/python/dask_scan.py [SCHEDULER_ADDRESS]

Without an address a `LocalCluster` of 2 worker processes is started. Needs `pip install
spinpath[dask]` (dask[distributed]); pandas for the printed table.
"""

from __future__ import annotations

import sys
from pathlib import Path

import spinpath

RUN_FILE = Path(__file__).resolve().parents[2] / "examples" / "spin-engine.toml"


def main() -> None:
    from dask.distributed import Client, LocalCluster

    if len(sys.argv) > 1:
        client = Client(sys.argv[1])
    else:
        client = Client(LocalCluster(n_workers=2, threads_per_worker=1, processes=True))
    with client:
        cols = spinpath.scan(
            RUN_FILE,
            {"spin_accumulation_meV": (0.0, 10.0, 4), "P.dimer_energy_meV": (-4.0, 2.0, 4)},
            client=client,
        )
    best = int(cols["max_power_nW"].argmax())
    print(f"{cols.n_rows} rows; most power {cols['max_power_nW'][best]:.3e} nW at point "
          f"{int(cols['point'][best])} ({cols['state'][best]})")


if __name__ == "__main__":
    main()
