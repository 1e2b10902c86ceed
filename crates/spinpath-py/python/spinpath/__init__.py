"""spinpath from Python: spin-polarised quantum transport in magnetic tunnel junctions.

The physics, analyses and fits run in Rust (the ``spinpath`` library, the same code as the
``spinpath`` command line); this package converts numpy arrays in and out. Long runs release the
GIL and use all cores (rayon), or ``threads`` workers when given.

Units everywhere: meV, mV, K, Oe, nA, nW, s. Every table comes back as a :class:`Columns` -- a
``dict`` of numpy arrays whose keys carry their unit (``bias_mV``, ``current_nA``, ``power_nW``),
ready for ``pandas.DataFrame(columns)``. Text columns (``state``) are numpy ``str`` arrays;
undefined numbers are NaN (the CSV files' empty cells).

Quick start::

    import spinpath
    dev = spinpath.preset("spin-engine")          # or spinpath.Device("run.toml"), or a dict
    iv = dev.sweep()                              # I(V) of the P and AP states, as iv.csv
    p = iv.state("P")                             # {"bias_mV": ..., "current_nA": ..., ...}
    tmr = iv.tmr()                                # tmr.csv: TMR = I_P / I_AP - 1

    cb = spinpath.preset("memristive-cb")         # interacting dots ([dots] run file): a Dots
    s = cb.sweep(solver="steady", step_mV=5.0)    # iv.csv of `spinpath run` + .details, .occupations
    r = spinpath.run_protocol("examples/write-read.toml")   # any [protocol]: tables, summary, seed

Bad input raises :class:`SpinpathError` (a ``ValueError``) with the command line's message, naming
the file, line and key where known.
"""

from __future__ import annotations

import os
import sys
import tempfile
import tomllib
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import (
    Any,
    Callable,
    Iterable,
    Iterator,
    Literal,
    Mapping,
    Optional,
    Sequence,
    Union,
    overload,
)

import numpy as np

from . import _spinpath as _native
from ._spinpath import SpinpathError

__all__ = [
    "SpinpathError",
    "Progress",
    "Columns",
    "Device",
    "Sweep",
    "Dots",
    "DotsSweep",
    "ProtocolResult",
    "run_protocol",
    "capacitance",
    "Spectra",
    "presets",
    "preset",
    "preset_toml",
    "load",
    "to_toml",
    "read",
    "read_columns",
    "didv",
    "tmr",
    "power",
    "peaks",
    "shift",
    "stats",
    "jumps",
    "ih",
    "fit",
    "FitResult",
    "FitParameter",
    "FitParameters",
    "DidvResult",
    "TmrResult",
    "PowerResult",
    "PeaksResult",
    "ShiftResult",
    "StatsResult",
    "JumpsResult",
    "IhResult",
    "scan",
    "scan_points",
    "ensemble",
    "Ensemble",
]

__version__: str = _native.version()

PathLike = Union[str, "os.PathLike[str]"]
ArrayLike = Union[np.ndarray, Sequence[float]]


# ---------------------------------------------------------------------------------------------
# Tables


class Columns(dict[str, Any]):
    """A table: an ordered ``dict`` of equally long columns, names carrying their unit.

    Numeric columns are 1-D ``float64`` numpy arrays (NaN where a value is undefined); text columns
    are numpy ``str`` arrays. ``pandas.DataFrame(columns)`` makes a data frame of it.
    """

    def __init__(self, data: Mapping[str, Any] | None = None):
        super().__init__()
        for k, v in (data or {}).items():
            self[k] = v if isinstance(v, np.ndarray) else np.asarray(v)

    @property
    def n_rows(self) -> int:
        """Number of rows (0 for a table without columns)."""
        for v in self.values():
            return len(v)
        return 0

    def where(self, mask: np.ndarray) -> "Columns":
        """The rows where the boolean ``mask`` is true."""
        return Columns({k: v[mask] for k, v in self.items()})

    def to_dataframe(self) -> Any:
        """A ``pandas.DataFrame`` of the columns (needs pandas)."""
        import pandas as pd  # type: ignore[import-untyped,unused-ignore]

        return pd.DataFrame(dict(self))

    def to_csv(self, path: PathLike) -> None:
        """Write as CSV: a header line, then the rows; NaN as an empty field (as the command line)."""
        names = list(self)
        with open(path, "w", encoding="utf-8", newline="") as f:
            f.write(",".join(names) + "\n")
            for i in range(self.n_rows):
                cells = []
                for n in names:
                    v = self[n][i]
                    if isinstance(v, (str, np.str_)):
                        cells.append(str(v))
                    elif isinstance(v, (bool, np.bool_)):
                        cells.append("true" if v else "false")
                    elif isinstance(v, (int, np.integer)):
                        cells.append(str(int(v)))
                    elif np.isnan(v):
                        cells.append("")
                    else:
                        cells.append(repr(float(v)))
                f.write(",".join(cells) + "\n")

    def __missing__(self, key: str) -> np.ndarray:
        # Former names (see _RENAMED) still read, with a DeprecationWarning.
        new = _RENAMED.get(key)
        if new is not None and new in self:
            warnings.warn(
                f"column `{key}` is now `{new}` (one name across engines)", DeprecationWarning, stacklevel=2
            )
            col: np.ndarray = self[new]
            return col
        raise KeyError(key)

    def __repr__(self) -> str:
        return f"Columns({self.n_rows} rows: {', '.join(self)})"


#: Columns and summary keys renamed in Python so that every engine spells them alike (the command
#: line's files keep their names): the former name reads the new column, with a DeprecationWarning.
_RENAMED = {"dIdV_uS": "didv_nA_per_mV"}


def _renamed(d: Mapping[str, Any]) -> dict[str, Any]:
    """A table's columns under their Python names (see ``_RENAMED``)."""
    return {_RENAMED.get(k, k): v for k, v in d.items()}


def _unit_keys(x: Any) -> Any:
    """A summary with one unit spelling: keys ending ``_mv`` end ``_mV`` and ``didv_us`` (uS =
    nA/mV) is ``didv_nA_per_mV``, as in the coherent engine's summaries."""
    if isinstance(x, dict):
        out = {}
        for k, v in x.items():
            if k == "didv_us":
                k = "didv_nA_per_mV"
            elif k.endswith("_mv"):
                k = k[:-3] + "_mV"
            out[k] = _unit_keys(v)
        return out
    if isinstance(x, list):
        return [_unit_keys(v) for v in x]
    return x


def _cols(d: Optional[Mapping[str, Any]]) -> Optional[Columns]:
    return None if d is None else Columns(d)


# ---------------------------------------------------------------------------------------------
# Progress and Ctrl-C

#: ``progress=`` of long runs: ``True`` for a progress bar (tqdm's, notebook-aware, when tqdm is
#: installed; else a line on stderr), a callable ``f(done, total)``, or None/False for none.
Progress = Union[bool, Callable[[int, int], object], None]


class _Bar:
    """A progress display for ``progress=True``: tqdm.auto when installed, else a stderr line."""

    def __init__(self, desc: str):
        self._desc = desc
        self._tqdm: Any = None
        try:
            from tqdm.auto import tqdm  # type: ignore[import-untyped,unused-ignore]
        except ImportError:
            pass
        else:
            self._tqdm = tqdm(total=None, desc=desc)

    def __call__(self, done: int, total: int) -> None:
        if self._tqdm is not None:
            if self._tqdm.total != total:
                self._tqdm.total = total
            self._tqdm.update(done - self._tqdm.n)
        else:
            sys.stderr.write(f"\r{self._desc}: {done}/{total}")
            sys.stderr.flush()

    def close(self) -> None:
        if self._tqdm is not None:
            self._tqdm.close()
        else:
            sys.stderr.write("\n")


def _threads(threads: Optional[int]) -> Optional[int]:
    """Check a ``threads=`` argument: None (one worker per core) or a whole number 1..4096."""
    if threads is None:
        return None
    if isinstance(threads, bool) or not isinstance(threads, (int, np.integer)) or not 1 <= threads <= 4096:
        raise SpinpathError(
            "threads: the number of worker threads must be a whole number from 1 to 4096 (or None "
            f"for one per core), got {threads!r}"
        )
    return int(threads)


@contextmanager
def _progress(progress: Progress, desc: str) -> Iterator[Optional[Callable[[int, int], object]]]:
    """The native ``progress`` callback for a ``progress=`` argument (closing a bar at the end)."""
    if progress is None or progress is False:
        yield None
    elif progress is True:
        bar = _Bar(desc)
        try:
            yield bar
        finally:
            bar.close()
    elif callable(progress):
        yield progress
    else:
        raise TypeError(f"progress: True, False, None or a callable f(done, total), not {progress!r}")


# ---------------------------------------------------------------------------------------------
# Devices and runs


def _looks_like_toml(s: str) -> bool:
    """TOML text rather than a path: several lines, or a `key = value` that is not an existing file."""
    return "\n" in s or ("=" in s and not os.path.exists(s))


class _ByState(Columns):
    """A table with a ``state`` column (the magnetic state of each row)."""

    @property
    def states(self) -> list[str]:
        """State names in run order."""
        return list(dict.fromkeys(self["state"].tolist()))

    def where(self, mask: np.ndarray) -> "_ByState":
        """The rows where the boolean ``mask`` is true (still with ``.states`` and ``.state()``)."""
        return _ByState({k: v[mask] for k, v in self.items()})

    def state(self, name: str) -> Columns:
        """The rows of one state (without the ``state`` column)."""
        if name not in self.states:
            raise SpinpathError(f"no state `{name}` in this sweep; states: {self.states}")
        mask = self["state"] == name
        return Columns({k: v[mask] for k, v in self.items() if k != "state"})


class Sweep(_ByState):
    """The I(V) of every state run: the columns of the command line's ``iv.csv``.

    Columns: ``state``, ``bias_mV``, ``current_nA``, ``current_up_nA``, ``current_down_nA``,
    ``power_nW`` (output power -I*V), ``spin_current_left_nA``, ``spin_current_right_nA``,
    ``energy_current_left_nW``, ``energy_current_right_nW``, ``heat_current_left_nW``,
    ``heat_current_right_nW``, ``spin_free_energy_nW``, ``dissipation_nW``, ``efficiency``
    (fraction, NaN when not a generator), ``integration_error_nA``, ``didv_nA_per_mV`` (differential conductance, nA/mV).
    """

    def __init__(self, iv: Mapping[str, Any], tmr_table: Optional[Mapping[str, Any]], summary: dict[str, Any]):
        super().__init__(iv)
        self._tmr = _cols(tmr_table)
        #: The content of ``summary.json``: per-state figures of merit (I(0) in nA, open-circuit
        #: voltages in mV, maximum power in nW and its bias, efficiency) and the TMR summary.
        self.summary: dict[str, Any] = summary

    def to_xarray(self) -> Any:
        """An ``xarray.Dataset`` with dimensions ``state`` x ``bias_mV`` and one variable per
        numeric column (units in the names; needs xarray). Every state must share the bias grid."""
        import xarray as xr  # type: ignore[import-not-found,import-untyped,unused-ignore]

        states = self.states
        bias = self.state(states[0])["bias_mV"]
        data: dict[str, Any] = {}
        for st in states:
            rows = self.state(st)
            if rows["bias_mV"].shape != bias.shape or not np.array_equal(rows["bias_mV"], bias):
                raise SpinpathError("to_xarray: the states have different bias grids")
        for k, v in self.items():
            if k in ("state", "bias_mV") or v.dtype.kind not in "fiub":
                continue
            data[k] = (("state", "bias_mV"), np.stack([self.state(st)[k] for st in states]))
        return xr.Dataset(data, coords={"state": states, "bias_mV": bias})

    def tmr(self) -> Columns:
        """The command line's ``tmr.csv``: ``bias_mV``, ``current_p_nA``, ``current_ap_nA``,
        ``tmr_percent``, ``tmr`` (fraction; NaN where |I_AP| < 1e-9 nA), ``opposite_signs``
        ('true'/'false'). Needs both the P and the AP state."""
        if self._tmr is None:
            raise SpinpathError("TMR needs both the P and the AP state in the sweep")
        return self._tmr


@dataclass
class Spectra:
    """Spectra at chosen biases: ``transmission`` has ``state``, ``bias_mV``, ``energy_meV``,
    ``transmission_up``, ``transmission_down`` (dimensionless); ``dos`` (None unless asked for) has
    ``state``, ``bias_mV``, ``energy_meV``, ``site``, ``dos_up_per_meV``, ``dos_down_per_meV``."""

    transmission: Columns
    dos: Optional[Columns]


def _native_from(native: Any, source: Any, what: str) -> Any:
    """The native object for a dict, a path, TOML text or an existing native object."""
    if isinstance(source, native):
        return source
    if isinstance(source, Mapping):
        return native.from_dict(dict(source))
    if isinstance(source, str) and _looks_like_toml(source):
        return native.from_toml(source)
    if isinstance(source, (str, os.PathLike)):
        return native.from_file(os.fspath(source))
    raise TypeError(f"{what}() takes a dict, a path or TOML text, not {type(source).__name__}")


class Device:
    """A coherent-chain device with its run settings, as described by a run file (docs/config.md).

    ``Device(source)`` accepts a dict with the run file's schema, a path to a TOML run file, or TOML
    text. Presets: :func:`preset`. Errors name the file (or ``<dict>``), line and key. A ``[dots]``
    run file is a :class:`Dots` (:func:`load` picks the class from the file); a ``[protocol]`` table
    runs with :meth:`protocol`.
    """

    def __init__(self, source: Union[Mapping[str, Any], PathLike, "_native.Device"]):
        self._d: _native.Device = _native_from(_native.Device, source, "Device")

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], name: str = "<dict>") -> "Device":
        """Build from a dict with the run file's schema; ``name`` names it in error messages."""
        return cls(_native.Device.from_dict(dict(d), name))

    @classmethod
    def from_toml(cls, text: str, name: str = "<string>") -> "Device":
        """Build from run-file TOML text; ``name`` names it in error messages."""
        return cls(_native.Device.from_toml(text, name))

    @classmethod
    def from_file(cls, path: PathLike) -> "Device":
        """Read a TOML run file (errors name it as given, like the command line)."""
        return cls(_native.Device.from_file(os.fspath(path)))

    @classmethod
    def preset(cls, name: str) -> "Device":
        """A bundled preset (see :func:`presets`)."""
        return cls(_native.Device.preset(name))

    # -- description
    @property
    def toml(self) -> str:
        """The run file's TOML text (write it to a file to run it with ``spinpath run``)."""
        return self._d.toml

    @property
    def source(self) -> str:
        """Where the device came from: a file path, ``<dict>``, ``<string>`` or ``preset NAME``."""
        return self._d.source

    @property
    def title(self) -> Optional[str]:
        """The run file's title."""
        return self._d.title

    @property
    def states(self) -> list[str]:
        """Magnetic states that are run (e.g. ``['P', 'AP']``)."""
        return self._d.states

    @property
    def angles_deg(self) -> list[float]:
        """Angle of the right electrode's magnetisation per state, degrees."""
        return self._d.angles_deg

    @property
    def sites(self) -> list[str]:
        """The chain's site names, left to right."""
        return self._d.sites

    @property
    def bias_mV(self) -> np.ndarray:
        """The run file's bias grid, mV."""
        return self._d.bias_mV

    @property
    def integration(self) -> dict[str, Any]:
        """Energy-integration settings: ``rel_tol`` (fraction) and ``abs_tol_nA`` (nA)."""
        return self._d.integration

    @property
    def parameters(self) -> Optional[dict[str, Any]]:
        """The device's parameters by fit key: paper 1's spin engine (``spin_accumulation_meV``,
        ``temperature_K``, ``P.dimer_energy_meV``, ``hoppings_meV.0``, ...) or a ``[chain]``'s
        site, lead, hopping and per-state names; units in the names."""
        return self._d.parameters

    def with_parameters(self, values: Mapping[str, float] | None = None, **kw: float) -> "Device":
        """A copy with parameters changed (names as in :attr:`parameters`; a misspelt name is an
        error suggesting the closest), e.g.
        ``dev.with_parameters({"P.dimer_energy_meV": -2.0}, temperature_K=300.0)``."""
        v = dict(values or {})
        v.update(kw)
        return Device(self._d.with_parameters(v))

    # -- runs
    def sweep(
        self,
        states: Optional[Sequence[str]] = None,
        bias_mV: Optional[ArrayLike] = None,
        threads: Optional[int] = None,
        progress: Progress = None,
    ) -> Sweep:
        """Run the bias sweep: every state (or ``states``) over the run file's grid (or the strictly
        ascending ``bias_mV``, mV). Runs in parallel without the GIL, on ``threads`` workers when
        given. Returns the ``iv.csv`` columns as a :class:`Sweep` (with ``.tmr()`` and
        ``.summary``); the numbers equal the command line's. Ctrl-C stops it within a fraction of
        a second (``KeyboardInterrupt``); ``progress``: see :data:`Progress` (bias points)."""
        b = None if bias_mV is None else np.ascontiguousarray(bias_mV, dtype=np.float64)
        with _progress(progress, "sweep") as cb:
            iv, t, summary = self._d.sweep(
                list(states) if states is not None else None, b, _threads(threads), cb
            )
        return Sweep(iv, t, summary)

    def spectra(
        self,
        bias_mV: Optional[ArrayLike] = None,
        energies_meV: Optional[ArrayLike] = None,
        states: Optional[Sequence[str]] = None,
        dos: Optional[bool] = None,
        threads: Optional[int] = None,
    ) -> Spectra:
        """Transmission T_up/down(E) and (with ``dos``) the site-resolved density of states, at the
        biases ``bias_mV`` (mV) and energies ``energies_meV`` (meV, ascending), defaulting to the run
        file's ``[run.spectra]``. Same numbers as ``transmission.csv`` and ``dos.csv``."""
        b = None if bias_mV is None else np.ascontiguousarray(np.atleast_1d(bias_mV), dtype=np.float64)
        e = None if energies_meV is None else np.ascontiguousarray(energies_meV, dtype=np.float64)
        t, d = self._d.spectra(b, e, list(states) if states is not None else None, dos, _threads(threads))
        return Spectra(Columns(t), _cols(d))

    def protocol(
        self,
        protocol: Optional[Mapping[str, Any]] = None,
        seed: Optional[int] = None,
        progress: Progress = None,
    ) -> "ProtocolResult":
        """Run the run file's ``[protocol]`` on this device (see :func:`run_protocol`)."""
        return run_protocol(self, protocol=protocol, seed=seed, progress=progress)

    def __repr__(self) -> str:
        return repr(self._d)

    def __reduce__(self) -> Any:
        # Pickled as its TOML text and name (with_parameters' changes are in the text), so a
        # device goes to worker processes (ProcessPoolExecutor, Dask) and gives the same results.
        return (_device_from_toml, (self.toml, self.source))

    def point(
        self,
        bias_mV: float,
        states: Optional[Sequence[str]] = None,
        threads: Optional[int] = None,
    ) -> Sweep:
        """One operating point: the ``iv.csv`` row of every state (or of ``states``) at the bias
        ``bias_mV`` (mV), as a :class:`Sweep` of one row per state."""
        b = float(bias_mV)
        if not np.isfinite(b):
            raise SpinpathError(f"bias_mV: a finite bias in mV, got {bias_mV!r}")
        return self.sweep(states=states, bias_mV=[b], threads=threads)


# ---------------------------------------------------------------------------------------------
# Interacting dots


class DotsSweep(_ByState):
    """A dots bias sweep: the columns of the command line's ``iv.csv`` for a ``[dots]`` run.

    Columns: ``state`` (P/AP), ``bias_mV``, ``current_nA``, ``current_up_nA``,
    ``current_down_nA`` (spin-resolved, left lead), ``power_nW`` (output power -I*V), ``branch``
    (``ON``/``OFF`` by the gating dot's charge, ``-`` without one), ``direction`` (``up``/``down``:
    the sweep direction of the segment). Rows follow the sweep in time, state after state.

    Attributes: ``details`` (``dots.csv``: ``didv_nA_per_mV`` (nA/mV = uS; the file's
    ``dIdV_uS``, which still reads with a DeprecationWarning), the right lead's currents,
    ``current_err_nA``, ``current_noise_nA``, ``charge_<dot>_e`` mean charges in e);
    ``occupations`` (``occupations.csv``: ``p_<label>`` probability of every many-body state, None
    above 256 states); ``trace`` and ``history`` (``kmc_trace.csv``: ``bias_mV``, ``time_s``,
    ``current_nA``, ``state``; ``kmc_history.csv``; None without ``[dots_run.monte_carlo]`` /
    ``history_events``); ``summary`` (``summary.json``: solver, seed, dwell, conductance peaks,
    Coulomb-gap edges in mV, writing events and shifts; keys spelt ``_mV`` and
    ``didv_nA_per_mV`` like the coherent summaries, where the file has ``_mv`` and ``didv_us``); ``settings`` (the run settings used).
    """

    def __init__(
        self,
        iv: Mapping[str, Any],
        details: Mapping[str, Any],
        occupations: Optional[Mapping[str, Any]],
        trace: Optional[Mapping[str, Any]],
        history: Optional[Mapping[str, Any]],
        summary: dict[str, Any],
        settings: dict[str, Any],
    ):
        super().__init__(iv)
        self.details: Columns = Columns(_renamed(details))
        self.occupations: Optional[Columns] = _cols(occupations)
        self.trace: Optional[Columns] = _cols(trace)
        self.history: Optional[Columns] = _cols(history)
        self.summary: dict[str, Any] = _unit_keys(summary)
        self.settings: dict[str, Any] = settings

    def tmr(self, **kw: Any) -> "TmrResult":
        """TMR = I_P/I_AP - 1 of the P and AP sweeps on a common bias grid, repeated sweeps
        averaged (see :func:`tmr`; keyword arguments go to it). Needs both states."""
        if not {"P", "AP"} <= set(self.states):
            raise SpinpathError(f"TMR needs both the P and the AP state in the sweep; it has {self.states}")
        return tmr(self.state("P"), self.state("AP"), **kw)


_SWEEP_KEYS = (
    "states", "sweep_mV", "step_mV", "dwell_s", "solver", "gating_dot", "seed",
    "integration_time_s", "max_events_per_point", "peak_threshold",
)


class Dots:
    """An interacting-dot device (sequential-tunnelling master equation), as described by a run
    file with ``[dots]`` and optionally ``[dots_run]`` and ``[protocol]`` (docs/dots.md).

    ``Dots(source)`` accepts a dict with the file's schema, a path to a TOML file, or TOML text;
    :func:`load` and :func:`preset` pick ``Dots`` or :class:`Device` from the file. Errors name the
    file (or ``<dict>``), line and key, like the command line.
    """

    def __init__(self, source: Union[Mapping[str, Any], PathLike, "_native.Dots"]):
        self._d: _native.Dots = _native_from(_native.Dots, source, "Dots")

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], name: str = "<dict>") -> "Dots":
        """Build from a dict with the ``[dots]`` file's schema; ``name`` names it in messages."""
        return cls(_native.Dots.from_dict(dict(d), name))

    @classmethod
    def from_toml(cls, text: str, name: str = "<string>") -> "Dots":
        """Build from ``[dots]`` TOML text; ``name`` names it in error messages."""
        return cls(_native.Dots.from_toml(text, name))

    @classmethod
    def from_file(cls, path: PathLike) -> "Dots":
        """Read a ``[dots]`` TOML file (errors name it as given, like the command line)."""
        return cls(_native.Dots.from_file(os.fspath(path)))

    @classmethod
    def preset(cls, name: str) -> "Dots":
        """A bundled ``[dots]`` preset: ``memristive-cb`` or ``write-read``."""
        return cls(_native.Dots.from_toml(_native.preset_toml(name), f"preset {name}"))

    @property
    def toml(self) -> str:
        """The run file's TOML text (write it to a file to run it with ``spinpath run``)."""
        return self._d.toml

    @property
    def source(self) -> str:
        """Where the device came from: a file path, ``<dict>``, ``<string>`` or ``preset NAME``."""
        return self._d.source

    @property
    def dots(self) -> list[str]:
        """Dot names, in file order (the ``charge_<dot>_e`` columns of ``details``)."""
        return self._d.dots

    @property
    def n_states(self) -> int:
        """Number of many-body (Fock) states of the model."""
        return self._d.n_states

    @property
    def state_labels(self) -> list[str]:
        """Labels of the many-body states (the ``p_<label>`` columns of ``occupations``)."""
        return self._d.state_labels

    @property
    def settings(self) -> Optional[dict[str, Any]]:
        """The validated ``[dots_run]``: ``states``, ``solver``, ``sweep_mV`` (turning points, mV),
        ``step_mV``, ``dwell_s``, ``gating_dot``, ``seed``, ``integration_time_s`` (s),
        ``max_events_per_point``, ``peak_threshold`` (fraction), ``n_points`` (per state); None
        when the file has no ``[dots_run]``."""
        return self._d.settings

    @property
    def parameters(self) -> dict[str, float]:
        """The model's parameters by name (dot energies, charging energies, couplings, lever arms,
        temperature; units in the names): the names fits, scans and :meth:`with_parameters` use."""
        return self._d.parameters

    def with_parameters(self, values: Mapping[str, float] | None = None, **kw: float) -> "Dots":
        """A copy with parameters changed (names as in :attr:`parameters`; a misspelt name is an
        error suggesting the closest), e.g. ``cb.with_parameters(temperature_K=10.0)``."""
        v = dict(values or {})
        v.update(kw)
        return Dots(self._d.with_parameters(v))

    @property
    def has_protocol(self) -> bool:
        """Whether the file has a ``[protocol]`` table (run it with :meth:`protocol`)."""
        return self._d.has_protocol

    def sweep(
        self,
        *,
        states: Optional[Sequence[str]] = None,
        sweep_mV: Optional[ArrayLike] = None,
        step_mV: Optional[float] = None,
        dwell_s: Optional[float] = None,
        solver: Optional[str] = None,
        gating_dot: Optional[str] = None,
        seed: Optional[int] = None,
        integration_time_s: Optional[float] = None,
        max_events_per_point: Optional[int] = None,
        peak_threshold: Optional[float] = None,
        monte_carlo: Union[Mapping[str, Any], Literal[False], None] = None,
        threads: Optional[int] = None,
        progress: Progress = None,
    ) -> DotsSweep:
        """Run the ``[dots_run]`` bias sweep, every magnetic state in parallel without the GIL.

        Keyword arguments replace the file's ``[dots_run]`` keys (they are validated like the
        file's own; a file without ``[dots_run]`` needs ``sweep_mV``, ``step_mV`` and ``dwell_s``):
        ``states`` (``"P"``, ``"AP"``), ``sweep_mV`` (turning points, mV), ``step_mV`` (mV),
        ``dwell_s`` (s per point), ``solver`` (``"steady"``, ``"transient"`` or
        ``"monte-carlo"``), ``gating_dot`` (the dot whose charge labels the ON/OFF branch),
        ``seed`` (Monte Carlo), ``integration_time_s`` (s, Monte Carlo), ``max_events_per_point``,
        ``peak_threshold`` (fraction of the largest dI/dV), ``monte_carlo`` (a
        ``[dots_run.monte_carlo]`` table of fixed-bias time traces, or ``False`` to drop it).
        Returns a :class:`DotsSweep`; the numbers equal the command line's files. Ctrl-C stops it
        within a fraction of a second (``KeyboardInterrupt``); ``progress``: see :data:`Progress`
        (magnetic states)."""
        over: dict[str, Any] = {}
        given = dict(
            states=None if states is None else list(states),
            sweep_mV=None if sweep_mV is None else _f64(sweep_mV).tolist(),
            step_mV=step_mV, dwell_s=dwell_s,
            solver=None if solver is None else solver.replace("_", "-"),
            gating_dot=gating_dot, seed=seed, integration_time_s=integration_time_s,
            max_events_per_point=max_events_per_point, peak_threshold=peak_threshold,
        )
        for k in _SWEEP_KEYS:
            if given[k] is not None:
                over[k] = given[k]
        if monte_carlo is False:
            over["monte_carlo"] = None
        elif monte_carlo is not None:
            over["monte_carlo"] = dict(monte_carlo)
        with _progress(progress, "dots sweep") as cb:
            return DotsSweep(*self._d.sweep(over or None, _threads(threads), cb))

    def protocol(
        self,
        protocol: Optional[Mapping[str, Any]] = None,
        seed: Optional[int] = None,
        progress: Progress = None,
    ) -> "ProtocolResult":
        """Run the file's ``[protocol]`` on this dot model (see :func:`run_protocol`)."""
        return run_protocol(self, protocol=protocol, seed=seed, progress=progress)

    def __repr__(self) -> str:
        return repr(self._d)

    def __reduce__(self) -> Any:
        # Pickled as its TOML text and name (overrides are in the text): same results after.
        return (_dots_from_toml, (self.toml, self.source))

    def point(self, bias_mV: float, *, threads: Optional[int] = None, **settings: Any) -> Columns:
        """The steady state at one bias (mV): one row per magnetic state with the ``iv.csv``
        columns (``state``, ``bias_mV``, ``current_nA``, ...). ``settings`` replace other
        ``[dots_run]`` keys as in :meth:`sweep` (the solver is ``steady``: no history)."""
        b = float(bias_mV)
        if not np.isfinite(b):
            raise SpinpathError(f"bias_mV: a finite bias in mV, got {bias_mV!r}")
        s = self.sweep(
            sweep_mV=[b, b], step_mV=1.0, dwell_s=settings.pop("dwell_s", 1e-3), solver="steady",
            threads=threads, **settings,
        )
        first = np.unique(np.asarray(s["state"]), return_index=True)[1]
        rows = np.sort(first)
        return Columns({k: v[rows] for k, v in s.items()})


def _device_from_toml(text: str, name: str) -> "Device":
    return Device(_native.Device.from_toml(text, name))


def _dots_from_toml(text: str, name: str) -> "Dots":
    return Dots(_native.Dots.from_toml(text, name))


def capacitance(
    *,
    gap_mV: Optional[float] = None,
    radius_nm: Optional[float] = None,
    distance_nm: float = 1.0,
    spacing_nm: float = 3.0,
    permittivity: float = 9.0,
    shift_mV: Optional[float] = None,
    separation_nm: Optional[float] = None,
) -> dict[str, float]:
    """Paper 2's capacitance estimates (SI Note 5), as ``spinpath capacitance --json``.

    A metal sphere of radius ``radius_nm`` at ``distance_nm`` from one electrode of a junction
    with electrode spacing ``spacing_nm`` in a barrier of relative ``permittivity``. Give exactly
    one of ``gap_mV`` (the Coulomb gap, solve for the radius) or ``radius_nm`` (solve for the
    gap); optionally one of ``shift_mV`` (the writing shift, solve for the centre distance to the
    gating sphere) or ``separation_nm`` (solve for the shift). Returns ``radius_nm``,
    ``capacitance_aF``, ``coulomb_gap_mV``, ``charging_energy_meV``, ``image_factor_half``, the
    geometry, and with a pair ``separation_nm``, ``writing_shift_mV``, ``point_charge_shift_mV``
    (e/(4πεε₀s), for comparison: the two-sphere shift rises with s), ``pair_capacitance_aF``."""
    return _native.capacitance(
        gap_mV, radius_nm, distance_nm, spacing_nm, permittivity, shift_mV, separation_nm
    )


# ---------------------------------------------------------------------------------------------
# Protocols


@dataclass
class ProtocolResult:
    """A finished measurement protocol (``[protocol]`` of a run file).

    ``kind``: ``iv_sweep``, ``ih_loop``, ``statistics`` or ``write_read``. ``tables``: the
    command line's CSV files by name (``iv.csv``; ``ih.csv``; ``samples.csv``,
    ``histogram_*.csv``, ``stats_*.csv``, ``branches_*.csv``; ``points.csv``, ``cycles.csv``,
    ``sequences.csv``) as :class:`Columns`. Every point table has ``index``, ``set``, ``repeat``,
    ``segment``, ``direction``, ``sample``, ``time_s`` (elapsed, s), ``temperature_K`` (NaN: the
    device's), ``field_Oe`` (NaN outside I(H) loops), ``state``, ``bias_mV``, ``current_nA`` (the
    instrument's reading), ``current_true_nA`` (the junction's), ``current_up_nA``,
    ``current_down_nA``, ``clipped`` (``true``/``false``), ``branch``. ``summary``: the
    ``summary.json`` content; ``seed``: the seed of every random stream; ``text``: the printed
    summary; ``n_points``: points measured."""

    kind: str
    seed: int
    n_points: int
    tables: dict[str, Columns]
    summary: dict[str, Any]
    text: str = field(repr=False)
    main: str = field(repr=False)

    @property
    def points(self) -> Columns:
        """The table of every measured point (``iv.csv``, ``ih.csv``, ``samples.csv`` or
        ``points.csv``)."""
        return self.tables[self.main]

    def table(self, name: str) -> Columns:
        """One table by its file name (``.csv`` may be left out)."""
        for n in (name, name + ".csv"):
            if n in self.tables:
                return self.tables[n]
        raise SpinpathError(f"no table `{name}`; tables: {list(self.tables)}")


def _merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        if isinstance(v, Mapping) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        else:
            out[k] = v
    return out


def run_protocol(
    source: Union[Device, Dots, Mapping[str, Any], PathLike],
    *,
    protocol: Optional[Mapping[str, Any]] = None,
    seed: Optional[int] = None,
    progress: Progress = None,
) -> ProtocolResult:
    """Run the ``[protocol]`` of a run file on the junction it describes, as ``spinpath run`` does:
    a coherent chain (``[spin_engine]``/``[chain]``) or interacting dots (``[dots]``, transient
    or Monte Carlo dynamics). Runs without the GIL (a protocol is one sequence in time, so it runs
    on one core).

    ``source``: a :class:`Device`, a :class:`Dots`, a dict with the file's schema, a TOML file path
    or TOML text. ``protocol``: keys merged into the file's ``[protocol]`` table (nested tables
    merged key by key; a file without one takes it whole), e.g.
    ``{"write_read": {"cycles": 12}}``. ``seed``: replaces the protocol's seed. Returns a
    :class:`ProtocolResult` whose tables equal the command line's files. Ctrl-C stops it within a
    fraction of a second (``KeyboardInterrupt``); ``progress``: see :data:`Progress` (points)."""
    if isinstance(source, (Device, Dots)):
        text, name = source.toml, source.source
    elif isinstance(source, Mapping):
        text, name = _native.to_toml(dict(source)), "<dict>"
    elif isinstance(source, str) and _looks_like_toml(source):
        text, name = source, "<string>"
    elif isinstance(source, (str, os.PathLike)):
        name = os.fspath(source)
        text = _native.read_text(name)
    else:
        raise TypeError(
            f"run_protocol() takes a Device, Dots, dict, path or TOML text, not {type(source).__name__}"
        )
    if protocol:
        try:
            doc = tomllib.loads(text)
        except tomllib.TOMLDecodeError as e:
            raise SpinpathError(f"{name}: {e}") from None
        doc["protocol"] = _merge(doc.get("protocol", {}), protocol)
        text, name = _native.to_toml(doc), f"{name} (with protocol settings)"
    with _progress(progress, "protocol") as cb:
        r = _native.run_protocol(text, name, seed, cb)
    return ProtocolResult(
        kind=r["kind"],
        seed=r["seed"],
        n_points=r["n_points"],
        tables={n: Columns(t) for n, t in r["tables"]},
        summary=r["summary"],
        text=r["text"],
        main=r["main"],
    )


# ---------------------------------------------------------------------------------------------
# Presets and loading

DevicePresetName = Literal["spin-engine", "iv-sweeps", "ih-loop"]
DotsPresetName = Literal["memristive-cb", "write-read", "spin-engine-interacting", "memristive-cb-cotunneling", "memristor-c5"]


def presets() -> list[str]:
    """Names of the bundled presets (the run files in ``examples/``): ``spin-engine`` (paper 1's
    spin engine), ``iv-sweeps`` and ``ih-loop`` (its protocols), ``memristive-cb`` (paper 2's
    memristive Coulomb blockade, interacting dots) and ``write-read`` (its write/read protocol)."""
    return list(_native.presets())


def preset_toml(name: str) -> str:
    """The TOML text of a bundled preset."""
    return _native.preset_toml(name)


@overload
def preset(name: DevicePresetName) -> Device: ...
@overload
def preset(name: DotsPresetName) -> Dots: ...
@overload
def preset(name: str) -> Union[Device, Dots]: ...
def preset(name: str) -> Union[Device, Dots]:
    """A bundled preset: a :class:`Device` for a coherent-chain file (``spin-engine``: paper 1's
    spin engine, 295 K, P and AP, 2001 biases from -10 to +10 mV), a :class:`Dots` for a
    ``[dots]`` file (``memristive-cb``, ``write-read``, ``memristive-cb-cotunneling``,
    ``memristor-c5``: paper 2's junctions; ``spin-engine-interacting``: paper 1's interacting
    dimer). Protocol presets run with
    ``.protocol()``."""
    if name not in _native.presets():
        return Device.preset(name)  # raises the "no preset" error
    if _native.is_dots_file(_native.preset_toml(name)):
        return Dots.preset(name)
    return Device.preset(name)


def load(source: Union[Mapping[str, Any], PathLike]) -> Union[Device, Dots]:
    """A device from a dict, a TOML file path or TOML text: a :class:`Dots` when it has a
    ``[dots]`` table, else a :class:`Device`."""
    if isinstance(source, Mapping):
        return Dots(source) if "dots" in source else Device(source)
    if isinstance(source, str) and _looks_like_toml(source):
        return Dots(source) if _native.is_dots_file(source) else Device(source)
    if isinstance(source, (str, os.PathLike)):
        text = _native.read_text(os.fspath(source))
        return Dots(source) if _native.is_dots_file(text) else Device(source)
    raise TypeError(f"load() takes a dict, a path or TOML text, not {type(source).__name__}")


def to_toml(d: Mapping[str, Any]) -> str:
    """The TOML text of a dict with a run (or fit) file's schema; None values are left out."""
    return _native.to_toml(dict(d))


# ---------------------------------------------------------------------------------------------
# Reading data and the analyses

_X_NAMES = {"voltage": "bias_mV", "bias": "bias_mV", "field": "field_Oe", "time": "time_s"}


def _f64(a: Any) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(a, dtype=np.float64).ravel())


def read(
    path: PathLike,
    quantity: str = "voltage",
    x: Union[str, int, None] = None,
    y: Union[str, int, None] = None,
    x_unit: Optional[str] = None,
    y_unit: Optional[str] = None,
) -> Columns:
    """Read a measured x and a current column from a CSV/TSV/whitespace file (``#``, ``%``, ``//``
    comments), as ``spinpath analyze`` does: columns found from header units and names, or chosen
    by name or 0-based index; units (V, mV, uV, A, mA, uA, nA, pA, T, mT, Oe, kOe, s, ms, us) from
    the header or ``x_unit``/``y_unit``. ``quantity`` of x: ``voltage`` (-> ``bias_mV``),
    ``field`` (-> ``field_Oe``) or ``time`` (-> ``time_s``); y is ``current_nA``. The result's
    ``notes`` attribute says how each column was read, ``comments`` holds the comment lines."""
    xs, ys, xn, yn, comments = _native.read_trace(
        os.fspath(path), quantity, x, y, x_unit, y_unit
    )
    c = Columns({_X_NAMES.get(quantity, "x"): xs, "current_nA": ys})
    c.notes = {"x": xn, "y": yn}  # type: ignore[attr-defined]
    c.comments = list(comments)  # type: ignore[attr-defined]
    return c


def read_columns(path: PathLike) -> Columns:
    """Every column of a data file as written (no unit conversion; NaN for empty cells), keyed by
    the header names (or ``column_0``, ... without a header)."""
    names, cols, comments = _native.read_columns(os.fspath(path))
    c = Columns(dict(zip(names, cols)))
    c.comments = list(comments)  # type: ignore[attr-defined]
    return c


DataLike = Union[PathLike, Mapping[str, Any], tuple[Any, Any]]


def _xy(data: DataLike, y: Any = None, quantity: str = "voltage", **read_kw: Any) -> tuple[np.ndarray, np.ndarray]:
    """(x, current) from a path, a mapping (``bias_mV``/``field_Oe``/``time_s`` and ``current_nA``)
    or an x array with ``y``."""
    xname = _X_NAMES.get(quantity, "x")
    if y is not None:
        return _f64(data), _f64(y)
    if isinstance(data, (str, os.PathLike)):
        c = read(data, quantity, **read_kw)
        return c[xname], c["current_nA"]
    if isinstance(data, Mapping):
        if xname not in data or "current_nA" not in data:
            raise SpinpathError(f"the data needs `{xname}` and `current_nA` columns; it has {list(data)}")
        return _f64(data[xname]), _f64(data["current_nA"])
    if isinstance(data, tuple) and len(data) == 2:
        return _f64(data[0]), _f64(data[1])
    raise TypeError("data: a file path, a mapping of columns, an (x, current_nA) tuple, or x with current_nA=")


@dataclass
class DidvResult:
    """dI/dV of I(V) sweeps. ``points``: per measured point (``bias_mV``, ``current_nA``,
    ``didv_nA_per_mV``, ``segment``, ``direction``), as ``didv_points.csv``; ``averaged``: on a
    common bias grid, averaged over repeated sweeps (``bias_mV``, ``didv_nA_per_mV``, its standard
    error, sweep count, up/down means), as ``didv.csv``; ``summary``: dI/dV(0) and the maximum
    (nA/mV, at mV), segment counts."""

    points: Columns
    averaged: Columns
    summary: dict[str, Any]


def didv(
    data: DataLike,
    current_nA: Optional[ArrayLike] = None,
    *,
    method: str = "sg",
    window: int = 7,
    order: int = 2,
    grid_step_mV: Optional[float] = None,
    **read_kw: Any,
) -> DidvResult:
    """dI/dV (nA/mV) of I(V) data: ``data`` is a file path, a mapping with ``bias_mV`` and
    ``current_nA`` (e.g. ``sweep.state("P")``), or bias in mV with ``current_nA``. ``method``:
    ``sg`` (Savitzky-Golay, ``window`` points, polynomial ``order``) or ``fd`` (finite difference).
    Repeated sweeps are split into monotonic segments and averaged on a grid of ``grid_step_mV``
    (default: the median step)."""
    x, y = _xy(data, current_nA, **read_kw)
    pts, avg, summary = _native.didv(x, y, method, window, order, grid_step_mV)
    return DidvResult(Columns(pts), Columns(avg), summary)


@dataclass
class TmrResult:
    """TMR(V) from a P and an AP sweep. ``table``: ``bias_mV``, ``current_p_nA``,
    ``current_ap_nA``, ``tmr_percent`` (NaN where |I_AP| is at the noise floor), ... as the
    command line's ``tmr.csv``; ``summary``: extremes (percent, at mV), undefined points, the
    bias ranges (mV) where I_P and I_AP have opposite signs."""

    table: Columns
    summary: dict[str, Any]


def tmr(
    p: DataLike,
    ap: DataLike,
    *,
    grid_step_mV: Optional[float] = None,
    min_ap_current_nA: Optional[float] = None,
    **read_kw: Any,
) -> TmrResult:
    """TMR = I_P/I_AP - 1 on a common bias grid (sweeps averaged), from a P and an AP I(V) (each a
    path, a mapping with ``bias_mV``/``current_nA``, or a ``(bias_mV, current_nA)`` tuple).
    ``min_ap_current_nA``: |I_AP| at or below which TMR is undefined (default 3 sigma of the AP
    noise)."""
    px, py = _xy(p, **read_kw)
    ax, ay = _xy(ap, **read_kw)
    t, s = _native.tmr_curve(px, py, ax, ay, grid_step_mV, min_ap_current_nA)
    return TmrResult(Columns(t), s)


@dataclass
class PowerResult:
    """Output power of I(V) sweeps. ``table``: ``bias_mV``, ``current_nA``, ``power_nW`` (-I*V),
    segment and direction, as ``power.csv``; ``summary``: the maximum power (nW) and its bias (mV),
    and per segment the open-circuit voltages (mV), short-circuit current (nA) and generating
    ranges (mV)."""

    table: Columns
    summary: dict[str, Any]


def power(data: DataLike, current_nA: Optional[ArrayLike] = None, **read_kw: Any) -> PowerResult:
    """Output power P = -I*V (nW), open-circuit voltages and short-circuit currents of I(V) data
    (a path, a mapping with ``bias_mV``/``current_nA``, or bias in mV with ``current_nA``)."""
    x, y = _xy(data, current_nA, **read_kw)
    t, s = _native.power_curve(x, y)
    return PowerResult(Columns(t), s)


@dataclass
class PeaksResult:
    """Peaks of one or more curves. ``peaks``: one row per peak (dataset, position, height,
    prominence, FWHM, ...; x in mV), as ``peaks.csv``; ``pairs``: the peak pair with a common
    spacing in each dataset (None without one), as ``pairs.csv``; ``summary``: the common spacing
    and its standard deviation (mV)."""

    peaks: Columns
    pairs: Optional[Columns]
    summary: dict[str, Any]


def _signal(
    d: DataLike,
    signal: str,
    method: str,
    window: int,
    order: int,
    grid_step_mV: Optional[float],
    read_kw: dict[str, Any],
) -> tuple[np.ndarray, np.ndarray]:
    if signal == "didv":
        x, y = _xy(d, **read_kw)
        return _native.didv_curve(x, y, method, window, order, grid_step_mV)
    if signal == "raw":
        if isinstance(d, (str, os.PathLike)):
            c = read_columns(d)
            names = list(c)
            xs = read_kw.get("x", 0)
            ys = read_kw.get("y", 1)
            x = c[names[xs] if isinstance(xs, int) else xs]
            y = c[names[ys] if isinstance(ys, int) else ys]
        elif isinstance(d, tuple) and len(d) == 2:
            x, y = d
        else:
            raise TypeError("signal='raw' takes a path or an (x_mV, signal) tuple")
        x, y = _f64(x), _f64(y)
        ok = ~(np.isnan(x) | np.isnan(y))
        return _native.averaged_curve(x[ok], y[ok], grid_step_mV)
    raise SpinpathError(f"signal `{signal}`: `didv` or `raw`")


def _name(d: Any, k: int) -> str:
    if isinstance(d, (str, os.PathLike)):
        return Path(d).stem
    return f"data{k}"


def peaks(
    *data: DataLike,
    names: Optional[Sequence[str]] = None,
    signal: str = "didv",
    min_prominence: Optional[float] = None,
    dips: bool = False,
    half_level: str = "prominence",
    spacing_tol_mV: Optional[float] = None,
    method: str = "sg",
    window: int = 7,
    order: int = 2,
    grid_step_mV: Optional[float] = None,
    **read_kw: Any,
) -> PeaksResult:
    """Peaks (or ``dips``) of the averaged dI/dV (``signal='didv'``, nA/mV) or of a raw signal
    column (``signal='raw'``) of one or more datasets, and a peak pair with a common spacing across
    them (within ``spacing_tol_mV``, default 3 grid steps). ``min_prominence`` in the signal's unit
    (default max(5 sigma noise, 5 % of the range)); ``half_level``: ``prominence`` or ``zero`` for
    the FWHM."""
    if not data:
        raise SpinpathError("peaks: give at least one dataset")
    curves = []
    for k, d in enumerate(data):
        x, y = _signal(d, signal, method, window, order, grid_step_mV, read_kw)
        curves.append((names[k] if names else _name(d, k), x, y))
    unit = "nA_per_mV" if signal == "didv" else "signal"
    deriv = method if signal == "didv" else None
    p, pairs, s = _native.find_peaks(
        curves, min_prominence, dips, half_level, spacing_tol_mV, "mV", unit, deriv, window, order
    )
    return PeaksResult(Columns(p), _cols(pairs), s)


@dataclass
class ShiftResult:
    """Voltage shift of the AP curve onto the P curve, G_AP(V) ~ G_P(V - shift). ``table``: one
    row per window (start, end, mean bias, shift and its error in mV, points, rms, at-bound flag),
    as ``shift.csv``; ``mean_shift_mV``: their inverse-variance weighted mean."""

    table: Columns
    mean_shift_mV: float


def shift(
    p: DataLike,
    ap: DataLike,
    *,
    signal: str = "didv",
    window_mV: float = 40.0,
    step_mV: Optional[float] = None,
    max_shift_mV: Optional[float] = None,
    method: str = "sg",
    window: int = 7,
    order: int = 2,
    grid_step_mV: Optional[float] = None,
    **read_kw: Any,
) -> ShiftResult:
    """Rolling voltage shift (mV) between the P and AP dI/dV (or raw signal) curves, in windows of
    ``window_mV`` every ``step_mV`` (default a quarter window), searching |shift| <= ``max_shift_mV``."""
    px, py = _signal(p, signal, method, window, order, grid_step_mV, read_kw)
    ax, ay = _signal(ap, signal, method, window, order, grid_step_mV, read_kw)
    t, m = _native.rolling_shift(px, py, ax, ay, window_mV, step_mV, max_shift_mV)
    return ShiftResult(Columns(t), m)


@dataclass
class StatsResult:
    """Current statistics per bias. ``histogram``: ``bias_mV``, ``deviation_nA`` (bin centre),
    ``count``, ``fraction``; ``per_bias``: ``bias_mV``, ``n_samples``, ``mean_nA``, ``sd_nA``,
    ``n_branches``; ``branches``: ``bias_mV``, ``branch`` (OFF/MID/ON/SINGLE), ``current_nA``,
    ``sd_nA``, ``occupation``, ``n_samples``."""

    histogram: Columns
    per_bias: Columns
    branches: Columns


def stats(
    data: DataLike,
    current_nA: Optional[ArrayLike] = None,
    *,
    bin_nA: Optional[float] = None,
    bias_tol_mV: float = 1e-6,
    min_occupation: float = 0.05,
    **read_kw: Any,
) -> StatsResult:
    """Histogram the current (nA, bins of ``bin_nA``, default 1.5 sigma of the reading noise) at each bias (samples within
    ``bias_tol_mV`` share a bias) and find its branches (at least ``min_occupation`` of the
    samples each)."""
    x, y = _xy(data, current_nA, **read_kw)
    h, s, b = _native.current_stats(x, y, bin_nA, bias_tol_mV, min_occupation)
    return StatsResult(Columns(h), Columns(s), Columns(b))


@dataclass
class JumpsResult:
    """Current jumps. ``jumps``: index, x, size (nA), sign (P/N), levels before and after (nA);
    ``cycles``: the sign sequence of each write/read cycle; ``success``: how often each sequence
    occurs; ``success_rate``: fraction of cycles equal to ``expect`` (0 without it);
    ``noise_sigma_nA``: robust noise of the differences; ``sequence``: all signs in order."""

    jumps: Columns
    cycles: Columns
    success: Columns
    success_rate: float
    noise_sigma_nA: float
    sequence: str


def jumps(
    data: DataLike,
    current_nA: Optional[ArrayLike] = None,
    *,
    threshold: float = 6.0,
    cycle: Optional[ArrayLike] = None,
    cycle_samples: Optional[int] = None,
    expect: Optional[str] = None,
    **read_kw: Any,
) -> JumpsResult:
    """Detect current jumps larger than ``threshold`` robust sigmas of the point-to-point
    differences in a current record (x: time in s from a file's time column, or any array with
    ``current_nA``; a mapping needs ``time_s`` and ``current_nA``). ``cycle`` gives each sample's
    write/read cycle number, or ``cycle_samples`` cuts cycles of that many samples; ``expect`` is
    the sign sequence of a successful cycle, e.g. ``'PN'``."""
    if current_nA is None and isinstance(data, (str, os.PathLike, Mapping)):
        x, y = _xy(data, None, "time", **read_kw)
        x_name = "time_s"
    else:
        x, y = _xy(data, current_nA)
        x_name = "x"
    if cycle is not None:
        cyc = [int(round(c)) for c in np.asarray(cycle, dtype=float)]
    elif cycle_samples is not None:
        if cycle_samples < 1:
            raise SpinpathError("--cycle-samples must be at least 1")
        cyc = [i // cycle_samples for i in range(len(y))]
    else:
        cyc = None
    j, c, s, rate, sigma, seq = _native.detect_jumps(x, y, threshold, cyc, expect, x_name)
    return JumpsResult(Columns(j), Columns(c), Columns(s), rate, sigma, seq)


@dataclass
class IhResult:
    """An I(H) loop. ``points``: field (Oe), current (nA), state and sweep direction per point;
    ``switches``: switching fields (Oe) with direction; ``summary``: P and AP currents with standard
    errors (nA), TMR (percent) with its error, level threshold (nA)."""

    points: Columns
    switches: Columns
    summary: dict[str, Any]


def ih(data: DataLike, current_nA: Optional[ArrayLike] = None, *, p_level: str = "auto", **read_kw: Any) -> IhResult:
    """Analyse an I(H) loop (a path, a mapping with ``field_Oe``/``current_nA``, or field in Oe
    with ``current_nA``): P/AP levels, TMR and switching fields. ``p_level``: ``auto`` (level at the
    largest |H|), ``high`` or ``low``."""
    x, y = _xy(data, current_nA, "field", **read_kw)
    pts, sw, s = _native.ih_loop(x, y, p_level)
    return IhResult(Columns(pts), Columns(sw), s)


# ---------------------------------------------------------------------------------------------
# Fits


def _bound(x: Any, default: float) -> float:
    v = float(x)
    return default if np.isnan(v) else v


class FitParameter(float):
    """One fit parameter, lmfit-style: a ``float`` equal to its best-fit value (units in the name),
    with ``value``, ``stderr`` (NaN where not estimable or not free), ``min``/``max`` (bounds,
    +-inf without), ``vary`` (free in the fit), ``init_value`` (start) and ``kind`` (``free``,
    ``fixed`` or ``tied``)."""

    name: str
    stderr: float
    min: float
    max: float
    init_value: float
    kind: str

    def __new__(
        cls,
        name: str,
        value: float,
        *,
        stderr: float,
        kind: str,
        min: float,
        max: float,
        init_value: float,
    ) -> "FitParameter":
        p = super().__new__(cls, value)
        p.name, p.stderr, p.kind = name, stderr, kind
        p.min, p.max, p.init_value = min, max, init_value
        return p

    @property
    def value(self) -> float:
        """The best-fit value."""
        return float(self)

    @property
    def vary(self) -> bool:
        """Whether the fit varied it (``kind == 'free'``)."""
        return self.kind == "free"

    def __repr__(self) -> str:
        err = "" if np.isnan(self.stderr) else f" +/- {self.stderr:.6g}"
        return f"<FitParameter {self.name!r}, value={self.value:.8g}{err}, bounds=[{self.min}:{self.max}], {self.kind}>"

    def __reduce__(self) -> Any:
        return (
            _fit_parameter,
            (self.name, self.value, self.stderr, self.kind, self.min, self.max, self.init_value),
        )


def _fit_parameter(
    name: str, value: float, stderr: float, kind: str, lo: float, hi: float, init: float
) -> FitParameter:
    return FitParameter(name, value, stderr=stderr, kind=kind, min=lo, max=hi, init_value=init)


class FitParameters(dict[str, FitParameter]):
    """The parameters of a fit by name (lmfit's ``Parameters`` for reading a result)."""

    def valuesdict(self) -> dict[str, float]:
        """Best-fit value of every parameter by name."""
        return {k: p.value for k, p in self.items()}


def _lmfit_parameters(params: Any) -> dict[str, Any]:
    """A fit file's ``[parameters]`` from an ``lmfit.Parameters`` (or any mapping of objects with
    ``value``, ``min``, ``max``, ``vary`` and ``expr`` attributes). lmfit names must be Python
    identifiers: ``__`` in a name stands for the ``.`` of spinpath's names
    (``P__dimer_energy_meV`` is ``P.dimer_energy_meV``)."""
    out: dict[str, Any] = {}
    for name, p in params.items():
        key = str(name).replace("__", ".")
        entry: dict[str, Any] = {}
        expr = getattr(p, "expr", None)
        if expr:
            entry["expr"] = str(expr).replace("__", ".")
        else:
            v = getattr(p, "value", None)
            if v is not None and np.isfinite(v):
                entry["value"] = float(v)
            entry["vary"] = bool(getattr(p, "vary", True))
            for b in ("min", "max"):
                x = getattr(p, b, None)
                if x is not None and np.isfinite(x):
                    entry[b] = float(x)
        out[key] = entry
    return out


def _is_parameters_like(x: Any) -> bool:
    """An lmfit.Parameters-like mapping: values carry ``value`` and ``vary`` attributes."""
    if not hasattr(x, "items"):
        return False
    vals = list(x.values())
    return bool(vals) and all(hasattr(v, "value") and hasattr(v, "vary") for v in vals)


@dataclass
class FitResult:
    """The result of :func:`fit`.

    ``names``/``values``/``stderr``/``kind``: every parameter (model keys carry their unit, e.g.
    ``spin_accumulation_meV``; stderr NaN where not estimable; kind ``free``, ``fixed`` or
    ``tied``). ``correlation``: matrix of the free parameters (order ``free_names``). ``chi2`` and
    ``reduced_chi2`` (weighted by ``sigma_nA`` when given). ``curves``: per dataset ``state``,
    ``bias_mV``, ``current_nA``, ``model_nA``, ``residual_nA``. ``fit_table`` and
    ``parameter_table`` are the command line's ``fit.csv`` and ``parameters.csv``;
    ``best_fit_toml`` its ``best-fit.toml``. ``feature_table``: with ``[[feature]]`` targets in the
    fit file (docs/fitting.md), the command line's ``features.csv`` (target, σ, model value and
    deviation in σ per feature); empty columns otherwise.
    """

    names: list[str]
    values: np.ndarray
    stderr: np.ndarray
    kind: list[str]
    free_names: list[str]
    correlation: np.ndarray
    chi2: float
    reduced_chi2: float
    n_data: int
    n_free: int
    warnings: list[str]
    success: bool
    message: str
    evaluations: int
    best_start: int
    seed: int
    starts: int
    curves: list[dict[str, Any]] = field(repr=False)
    fit_table: Columns = field(repr=False)
    parameter_table: Columns = field(repr=False)
    best_fit_toml: str = field(repr=False)
    feature_table: Columns = field(repr=False, default_factory=lambda: Columns({}))

    @property
    def params(self) -> "FitParameters":
        """Every parameter by name, lmfit-style: ``res.params[name]`` is a :class:`FitParameter`, a
        ``float`` (the best-fit value) with ``.value``, ``.stderr``, ``.min``, ``.max``, ``.vary``,
        ``.init_value`` and ``.kind``."""
        t = self.parameter_table
        out = FitParameters()
        for i, name in enumerate(self.names):
            out[name] = FitParameter(
                name,
                float(self.values[i]),
                stderr=float(self.stderr[i]),
                kind=self.kind[i],
                min=_bound(t["min"][i], -np.inf),
                max=_bound(t["max"][i], np.inf),
                init_value=float(t["initial"][i]),
            )
        return out

    def fit_report(self, min_correl: float = 0.1) -> str:
        """A text report in lmfit's layout: fit statistics, every parameter with its standard
        error (and percent), start value and kind, and the correlations of the free parameters
        whose magnitude is at least ``min_correl``."""
        lines = [
            "[[Fit Statistics]]",
            f"    # fitting method   = Levenberg-Marquardt ({self.starts} start(s), seed {self.seed}, best start {self.best_start})",
            f"    # function evals   = {self.evaluations}",
            f"    # data points      = {self.n_data}",
            f"    # variables        = {self.n_free}",
            f"    chi-square         = {self.chi2:.8g}",
            f"    reduced chi-square = {self.reduced_chi2:.8g}",
            f"    success            = {self.success} ({self.message})",
        ]
        for w in self.warnings:
            lines.append(f"    warning: {w}")
        lines.append("[[Variables]]")
        params = self.params
        width = max((len(n) for n in params), default=0) + 1
        for name, p in params.items():
            head = f"    {name + ':':<{width}} {p.value:.8g}"
            if p.kind == "free":
                if np.isfinite(p.stderr):
                    rel = f" ({abs(p.stderr / p.value) * 100:.2f}%)" if p.value != 0 else ""
                    head += f" +/- {p.stderr:.8g}{rel}"
                else:
                    head += " +/- (not estimable)"
                head += f" (init = {p.init_value:.8g})"
            elif p.kind == "tied":
                head += " (tied by an expression)"
            else:
                head += " (fixed)"
            lines.append(head)
        pairs = []
        free = self.free_names
        for i in range(len(free)):
            for j in range(i + 1, len(free)):
                c = float(self.correlation[i, j])
                if np.isfinite(c) and abs(c) >= min_correl:
                    pairs.append((abs(c), f"    C({free[i]}, {free[j]})", c))
        if pairs:
            lines.append(f"[[Correlations]] (unreported correlations are < {min_correl:.3f})")
            width_c = max(len(p[1]) for p in pairs)
            for _, label, c in sorted(pairs, key=lambda p: -p[0]):
                lines.append(f"{label:<{width_c}} = {c:+.4f}")
        return "\n".join(lines)

    @property
    def values_by_name(self) -> dict[str, float]:
        """Best-fit value of every parameter by name (plain floats)."""
        return dict(zip(self.names, self.values.tolist()))

    @property
    def errors(self) -> dict[str, float]:
        """Standard error of every parameter by name (NaN where not estimable)."""
        return dict(zip(self.names, self.stderr.tolist()))

    def best_fit_device(self) -> Device:
        """The model with the best-fit values, as a :class:`Device` (run it with ``.sweep()``)."""
        return Device.from_toml(self.best_fit_toml, "best-fit.toml")


def fit(
    spec: Union[PathLike, Mapping[str, Any]],
    *,
    data: Optional[Iterable[Mapping[str, Any]]] = None,
    params: Any = None,
    base_dir: Optional[PathLike] = None,
    threads: Optional[int] = None,
    progress: Progress = None,
) -> FitResult:
    """Fit the spin-engine model to I(V) data (docs/fitting.md), in parallel without the GIL.

    ``spec``: a fit file path, its TOML text, or a dict with its schema (``model``, ``[fit]``,
    ``[[data]]``, ``[[feature]]``, ``[parameters]``). A dict's ``model`` may be a :class:`Device` instead of a path.
    Relative paths in text or a dict are resolved against ``base_dir`` (default: the working
    directory); in a file, against the file's folder, like the command line.

    ``data``: datasets given as arrays instead of the spec's files, each a mapping with ``state``
    (``P`` or ``AP``), ``bias_mV``, ``current_nA`` and optionally ``sigma_nA`` (1 sigma, nA).

    ``params``: the ``[parameters]`` table, replacing the spec's: a dict with its schema or an
    ``lmfit.Parameters`` (duck-typed; ``__`` in an lmfit name stands for ``.``, e.g.
    ``P__dimer_energy_meV``). A dict spec's ``parameters`` may be an ``lmfit.Parameters`` too.
    A name that is not a model parameter and that no ``expr`` uses is an error suggesting the
    closest names, as is a misspelt field (``mn`` for ``min``).

    Ctrl-C stops the fit within a fraction of a second (``KeyboardInterrupt``); ``progress``: see
    :data:`Progress` (starts).
    """
    # Without base_dir the spec is named `<dict>`/`<string>` and relative paths resolve against the
    # working directory.
    base = Path(base_dir) if base_dir is not None else Path()
    tmp: Optional[tempfile.TemporaryDirectory[str]] = None
    datasets = None
    if data is not None:
        datasets = []
        for d in data:
            sig = d.get("sigma_nA")
            datasets.append((str(d["state"]), _f64(d["bias_mV"]), _f64(d["current_nA"]), None if sig is None else float(sig)))
    if params is not None:
        if isinstance(spec, Mapping):
            spec = dict(spec)
        else:
            if isinstance(spec, str) and _looks_like_toml(spec):
                text0, base0 = spec, base
            else:
                text0 = _native.read_text(os.fspath(spec))
                base0 = Path(os.fspath(spec)).parent if base_dir is None else base
            spec = tomllib.loads(text0)
            base = base0
        spec["parameters"] = params
    try:
        if isinstance(spec, Mapping):
            spec = dict(spec)
            ps = spec.get("parameters")
            if ps is not None and _is_parameters_like(ps):
                spec["parameters"] = _lmfit_parameters(ps)
            if isinstance(spec.get("model"), Device):
                tmp = tempfile.TemporaryDirectory(prefix="spinpath-fit-")
                mp = Path(tmp.name) / "model.toml"
                mp.write_text(spec["model"].toml, encoding="utf-8")
                spec["model"] = str(mp)
            if datasets is not None and not spec.get("data"):
                spec["data"] = [{"state": s, "file": "<arrays>"} for s, *_ in datasets]
            text, path = _native.to_toml(spec), base / "<dict>"
        elif isinstance(spec, str) and _looks_like_toml(spec):
            text, path = spec, base / "<string>"
        else:
            path = Path(os.fspath(spec))
            text = _native.read_text(os.fspath(spec))
        with _progress(progress, "fit") as cb:
            r = _native.run_fit(text, os.fspath(path), datasets, _threads(threads), cb)
    finally:
        if tmp is not None:
            tmp.cleanup()
    r["curves"] = [dict(c) for c in r["curves"]]
    r["fit_table"] = Columns(r["fit_table"])
    r["feature_table"] = Columns(r["feature_table"])
    r["parameter_table"] = Columns(r["parameter_table"])
    return FitResult(**r)


# Scans and ensembles live in spinpath/scan.py; imported last (they use Columns).
from .scan import Ensemble, ensemble, scan, scan_points  # noqa: E402


def __dir__() -> list[str]:
    # The public API only (not the modules and helpers this file imports).
    return sorted([*__all__, "__version__"])
