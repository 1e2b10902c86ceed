"""A sharded `spinpath scan` on a Dask cluster: each Dask task runs one shard (`--shard K/N`) with
the spinpath program, then `spinpath scan merge` joins the shards into the folder of the whole scan
(byte for byte the unsharded result, see docs/scans.md).

    python examples/python/dask_scan_shards.py OUT [SCHEDULER_ADDRESS]

With a scheduler address the shards go to that Dask cluster (the workers must see OUT and the run
file, e.g. on a shared file system, and have `spinpath` on PATH or SPINPATH set); without one, a
`dask.distributed.LocalCluster` of 2 processes is used, and without Dask installed, a local process
pool. The Python-API scan (`spinpath.scan(..., client=...)`) is not written yet.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
RUN_FILE = REPO / "examples" / "spin-engine.toml"
PARAMS = ["--param", "spin_accumulation_meV=0:10:4", "--param", "P.dimer_energy_meV=-4:2:4"]
SHARDS = 3


def spinpath() -> str:
    return os.environ.get("SPINPATH", "spinpath")


def run_shard(k: int, out: str) -> str:
    """Run shard k of SHARDS into OUT/shard-k (a finished shard is left as it is)."""
    folder = f"{out}/shard-{k}"
    subprocess.run(
        [spinpath(), "scan", str(RUN_FILE), *PARAMS, "--shard", f"{k}/{SHARDS}", "-o", folder, "--resume"],
        check=True, capture_output=True, text=True, env={**os.environ, "CI": "1"},
    )
    return folder


def main() -> None:
    out = sys.argv[1] if len(sys.argv) > 1 else "out/dask-scan"
    Path(out).mkdir(parents=True, exist_ok=True)
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        from concurrent.futures import ProcessPoolExecutor

        print("dask is not installed: running the shards in a local process pool")
        with ProcessPoolExecutor(max_workers=2) as pool:
            folders = list(pool.map(run_shard, range(SHARDS), [out] * SHARDS))
    else:
        if len(sys.argv) > 2:
            client = Client(sys.argv[2])
        else:
            client = Client(LocalCluster(n_workers=2, threads_per_worker=1, processes=True))
        with client:
            futures = client.map(run_shard, range(SHARDS), out=out, pure=False)
            folders = client.gather(futures)
    merged = f"{out}/merged"
    subprocess.run([spinpath(), "scan", "merge", *folders, "-o", merged, "--force"], check=True)
    print(f"{SHARDS} shards merged into {merged}/scan.csv")


if __name__ == "__main__":
    main()
