"""Multi-parameter scans (and device ensembles) from Python, on this machine or on a Dask cluster.

``spinpath.scan(source, params={name: (from, to, n), ...})`` returns the columns of the command
line's ``scan.csv`` (``spinpath scan FILE --param NAME=FROM:TO:N ...``, docs/scans.md): one row per
point and state -- ``point``, the parameters (named with their unit), ``state``,
``current_at_zero_bias_nA``, ``open_circuit_voltage_mV``, ``max_power_nW``,
``bias_at_max_power_mV``, ``max_efficiency``, ``tmr_below_minus_100_percent_width_mV``,
``max_tmr`` (NaN where the CSV has an empty field). The same points, the same numbers.

With ``client`` (a ``dask.distributed.Client``) the points are cut into chunks that run as Dask
tasks on the cluster's workers; each task carries the run file's text, so workers need only the
``spinpath`` package (not the file). Without a client the points run here, on all cores.
"""

from __future__ import annotations

import os
from typing import Any, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from . import Columns
from . import _spinpath as _native
from ._spinpath import SpinpathError

__all__ = ["scan", "scan_points", "ensemble", "Ensemble"]

Range = Union[Tuple[float, float], Tuple[float, float, int]]


def _source_text(source: Any) -> tuple[str, str]:
    """(TOML text, name for messages) of a Device, a dict, TOML text or a path."""
    toml = getattr(source, "toml", None)
    if isinstance(toml, str):
        return toml, str(getattr(source, "source", "<device>"))
    if isinstance(source, Mapping):
        return _native.to_toml(dict(source)), "<dict>"
    if isinstance(source, str) and ("\n" in source or ("=" in source and not os.path.exists(source))):
        return source, "<string>"
    if isinstance(source, (str, os.PathLike)):
        return _native.read_text(os.fspath(source)), os.fspath(source)
    raise TypeError(f"takes a Device, a dict, a path or TOML text, not {type(source).__name__}")


def _axes(params: Mapping[str, Range], sampled: bool) -> list[tuple[str, float, float, int]]:
    if not params:
        raise SpinpathError("params: give at least one parameter, e.g. {'spin_accumulation_meV': (0, 10, 5)}")
    axes = []
    for name, given in params.items():
        r: tuple[Any, ...] = tuple(given)
        if len(r) == 3 and float(r[2]) == int(r[2]):
            axes.append((str(name), float(r[0]), float(r[1]), int(r[2])))
        elif len(r) == 2 and sampled:
            axes.append((str(name), float(r[0]), float(r[1]), 1))
        else:
            need = "(from, to) or (from, to, n)" if sampled else "(from, to, n) with an integer n"
            raise SpinpathError(f"params[{name!r}] = {r!r}: expected {need}, in the unit of the name")
    return axes


def _method(method: Optional[str], samples: Optional[int]) -> str:
    if method is None:
        return "grid" if samples is None else "lhs"
    return method


def scan_points(
    source: Any,
    params: Mapping[str, Range],
    *,
    method: Optional[str] = None,
    samples: Optional[int] = None,
    seed: int = 1,
) -> np.ndarray:
    """The parameter values of every point of the scan, shape (points, parameters), rows in point
    order (a grid is row-major, the last parameter varying fastest), columns in ``params`` order."""
    text, name = _source_text(source)
    m = _method(method, samples)
    pts = _native.scan_plan(text, name, _axes(params, m != "grid"), m, samples, seed)
    return np.asarray(pts, dtype=np.float64).reshape(len(pts), len(params))


def _rows(
    text: str,
    name: str,
    axes: list[tuple[str, float, float, int]],
    method: str,
    samples: Optional[int],
    seed: int,
    indices: list[int],
    threads: Optional[int],
) -> dict[str, Any]:
    """One Dask task (or the whole local run): the rows of the points ``indices``."""
    return dict(_native.scan_rows(text, name, axes, method, samples, seed, indices, threads))


def _ensemble_rows(text: str, name: str, samples: int, seed: int, indices: list[int], threads: Optional[int]) -> dict[str, Any]:
    """One Dask task of an ensemble: the rows of the junctions ``indices``."""
    return dict(_native.ensemble_rows(text, name, samples, seed, indices, threads))


def _concat(parts: Sequence[Mapping[str, Any]], index: str) -> dict[str, np.ndarray]:
    """Join row blocks (each sorted by ``index``, blocks of disjoint indices) sorted by ``index``;
    the rows of one index keep their order."""
    parts = [p for p in parts if len(p[index])]
    if not parts:
        raise SpinpathError("no rows came back from the workers")
    cols = {k: np.concatenate([np.asarray(p[k]) for p in parts]) for k in parts[0]}
    order = np.argsort(cols[index], kind="stable")
    return {k: v[order] for k, v in cols.items()}


def _chunks(n: int, parts: int) -> list[list[int]]:
    """Point indices 0..n-1 cut into ``parts`` interleaved chunks (index % parts), as shards."""
    parts = max(1, min(parts, n))
    return [list(range(k, n, parts)) for k in range(parts)]


def _workers(client: Any) -> int:
    try:
        return max(1, len(client.scheduler_info().get("workers", {})))
    except Exception:  # pragma: no cover - any client without scheduler_info
        return 1


def _distribute(client: Any, fn: Any, n: int, chunks: Optional[int], args: tuple[Any, ...], threads: Optional[int], index: str) -> dict[str, np.ndarray]:
    k = chunks if chunks is not None else 4 * _workers(client)
    if k < 1:
        raise SpinpathError(f"chunks = {k}: give at least 1")
    futures = [client.submit(fn, *args, idx, threads, pure=False) for idx in _chunks(n, k)]
    return _concat(client.gather(futures), index)


def scan(
    source: Any,
    params: Mapping[str, Range],
    *,
    method: Optional[str] = None,
    samples: Optional[int] = None,
    seed: int = 1,
    client: Any = None,
    chunks: Optional[int] = None,
    threads: Optional[int] = None,
) -> Columns:
    """Scan a coherent device over several parameters; the columns of ``scan.csv``.

    ``source``: a :class:`spinpath.Device`, a run-file dict, TOML text or a path (a ``[spin_engine]``
    or ``[chain]`` device; each point is the file's whole ``[run]``). ``params``:
    ``{name: (from, to, n)}`` for a grid of ``n`` values, ends included (names as in fits, unit in
    the name, e.g. ``spin_accumulation_meV``); with ``samples`` the ``(from, to)`` intervals are
    sampled instead -- ``method`` ``"lhs"`` (Latin hypercube, the default with samples) or
    ``"random"``, drawn with ``seed`` (the command line's ``--samples/--sampling/--seed``).

    ``client``: a ``dask.distributed.Client``; the points go to its workers in ``chunks`` tasks
    (default 4 per worker), each running its points on ``threads`` cores (default all). Without a
    client everything runs here. The result does not depend on the client, chunks or threads.

    Returns a :class:`spinpath.Columns` (``.to_dataframe()`` gives a pandas DataFrame).
    """
    text, name = _source_text(source)
    m = _method(method, samples)
    axes = _axes(params, m != "grid")
    n = len(_native.scan_plan(text, name, axes, m, samples, seed))
    if client is None:
        rows = _rows(text, name, axes, m, samples, seed, list(range(n)), threads)
    else:
        rows = _distribute(client, _rows, n, chunks, (text, name, axes, m, samples, seed), threads, "point")
    return Columns(rows)


class Ensemble(Columns):
    """The columns of ``ensemble.csv`` (one row per junction, see :func:`ensemble`) and
    ``summary``, the content of the command line's ``summary.json``: the model, the yield of
    working spin engines with its binomial standard error and exact 95 % interval, the yields of
    engine candidates and transport/gating pairs, paper 1's 1/168, and the spread (n, mean,
    median, range) of I(0) per state (nA), maximum power (nW) and TMR of the working engines and of
    the Coulomb gaps and writing shifts (mV)."""

    def __init__(self, data: Mapping[str, Any], summary: dict[str, Any]):
        super().__init__(data)
        self.summary: dict[str, Any] = summary


def ensemble(
    source: Any,
    samples: int,
    *,
    seed: int = 1,
    client: Any = None,
    chunks: Optional[int] = None,
    threads: Optional[int] = None,
) -> Ensemble:
    """Sample ``samples`` junctions of a device ensemble (a run file with ``[ensemble]``,
    docs/ensembles.md) with ``seed`` and run each through the engines: the columns of the command
    line's ``ensemble.csv`` (one row per junction, ``junction`` from 0), the same numbers as
    ``spinpath ensemble FILE --samples N --seed S``. ``client``: a ``dask.distributed.Client``
    to spread the junctions over its workers (in ``chunks`` tasks, default 4 per worker).
    ``source``: the ensemble file's path, its TOML text or a dict with its schema. Returns an
    :class:`Ensemble` (the columns and ``summary``)."""
    text, name = _source_text(source)
    if client is None:
        rows = _ensemble_rows(text, name, samples, seed, list(range(samples)), threads)
    else:
        _native.ensemble_rows(text, name, samples, seed, [], threads)  # check the file here first
        rows = _distribute(client, _ensemble_rows, samples, chunks, (text, name, samples, seed), threads, "junction")
    cols = [(k, np.asarray(v, dtype=np.float64).tolist()) for k, v in rows.items()]
    return Ensemble(rows, _native.ensemble_summary(text, name, seed, cols))
