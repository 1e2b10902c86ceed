"""Type stubs of the native module ``spinpath._spinpath`` (Rust, PyO3).

The public API is ``spinpath`` (``__init__.py``, fully annotated); these are the low-level calls it
wraps. Arrays are 1-D ``float64``; tables are dicts of columns (numbers as ``float64`` arrays with
NaN for undefined values, text as lists of ``str``), keys carrying their unit.
Units: meV, mV, K, Oe, nA, nW, s.
"""

from os import PathLike
from typing import Any, Callable, Optional, Sequence, Union

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]
Table = dict[str, Any]
_Path = Union[str, PathLike[str]]
#: Called as ``f(done, total)`` from the calling thread while a long run works.
_Progress = Optional[Callable[[int, int], object]]

class SpinpathError(ValueError):
    """Bad input; the message is the command line's (file:line:column, key, what is allowed)."""

def version() -> str:
    """The spinpath library version."""

def to_toml(d: dict[str, Any]) -> str:
    """TOML text of a dict (None values left out); raises SpinpathError for values TOML cannot hold."""

def read_text(path: _Path) -> str:
    """A text file's content (errors as the command line's)."""

def presets() -> list[str]:
    """Names of the bundled presets (coherent and interacting-dot run files)."""

def is_dots_file(text: str) -> bool:
    """Whether run-file text has a ``[dots]`` table (an interacting-dot device)."""

def has_protocol(text: str) -> bool:
    """Whether run-file text has a ``[protocol]`` table."""

def preset_toml(name: str) -> str:
    """The run-file text of a bundled preset."""

class Device:
    """A validated coherent-chain device with its run settings."""

    @staticmethod
    def from_toml(text: str, name: str = "<string>") -> Device:
        """Parse run-file text; ``name`` names it in messages."""
    @staticmethod
    def from_file(path: _Path) -> Device:
        """Read a run file."""
    @staticmethod
    def from_dict(d: dict[str, Any], name: str = "<dict>") -> Device:
        """Build from a dict with the run file's schema."""
    @staticmethod
    def preset(name: str) -> Device:
        """A bundled preset."""
    @property
    def toml(self) -> str:
        """The run file's TOML text."""
    @property
    def source(self) -> str:
        """File path, ``<dict>``, ``<string>`` or ``preset NAME``."""
    @property
    def title(self) -> Optional[str]:
        """The run file's title."""
    @property
    def states(self) -> list[str]:
        """Magnetic states run, in order."""
    @property
    def angles_deg(self) -> list[float]:
        """Right-electrode angle per state, degrees."""
    @property
    def sites(self) -> list[str]:
        """Chain site names, left to right."""
    @property
    def bias_mV(self) -> F64:
        """Bias grid, mV."""
    @property
    def integration(self) -> dict[str, float]:
        """``rel_tol`` (fraction) and ``abs_tol_nA`` (nA)."""
    @property
    def parameters(self) -> Optional[dict[str, float]]:
        """Spin-engine parameters by fit key (units in the names), None for a [chain] device."""
    def with_parameters(self, values: dict[str, float]) -> Device:
        """A copy with spin-engine parameters changed."""
    def sweep(
        self,
        states: Optional[Sequence[str]] = None,
        bias_mV: Optional[F64] = None,
        threads: Optional[int] = None,
        progress: _Progress = None,
    ) -> tuple[Table, Optional[Table], dict[str, Any]]:
        """Bias sweep without the GIL: (iv.csv columns, tmr.csv columns or None, summary.json)."""
    def spectra(
        self,
        bias_mV: Optional[F64] = None,
        energies_meV: Optional[F64] = None,
        states: Optional[Sequence[str]] = None,
        dos: Optional[bool] = None,
        threads: Optional[int] = None,
    ) -> tuple[Table, Optional[Table]]:
        """(transmission.csv columns, dos.csv columns or None)."""

class Dots:
    """A validated interacting-dot model with its ``[dots_run]`` settings (if any)."""

    @staticmethod
    def from_toml(text: str, name: str = "<string>") -> Dots:
        """Parse ``[dots]`` run-file text; ``name`` names it in messages."""
    @staticmethod
    def from_file(path: _Path) -> Dots:
        """Read a ``[dots]`` run file."""
    @staticmethod
    def from_dict(d: dict[str, Any], name: str = "<dict>") -> Dots:
        """Build from a dict with the ``[dots]`` run file's schema."""
    @property
    def toml(self) -> str:
        """The run file's TOML text."""
    @property
    def source(self) -> str:
        """File path, ``<dict>``, ``<string>`` or ``preset NAME``."""
    @property
    def dots(self) -> list[str]:
        """Dot names, in file order."""
    @property
    def n_states(self) -> int:
        """Number of many-body states."""
    @property
    def state_labels(self) -> list[str]:
        """Labels of the many-body states."""
    @property
    def settings(self) -> Optional[dict[str, Any]]:
        """The validated ``[dots_run]`` (units in the keys), None without one."""
    @property
    def parameters(self) -> dict[str, float]:
        """The model's parameters by name (units in the names)."""
    def with_parameters(self, values: dict[str, float]) -> Dots:
        """A copy with parameters changed (a misspelt name suggests the closest)."""
    @property
    def has_protocol(self) -> bool:
        """Whether the file has a ``[protocol]`` table."""
    def sweep(
        self,
        overrides: Optional[dict[str, Any]] = None,
        threads: Optional[int] = None,
        progress: _Progress = None,
    ) -> tuple[
        Table,
        Table,
        Optional[Table],
        Optional[Table],
        Optional[Table],
        dict[str, Any],
        dict[str, Any],
    ]:
        """Bias sweep without the GIL, ``[dots_run]`` keys replaced by ``overrides`` (None removes
        one): (iv.csv, dots.csv, occupations.csv or None, kmc_trace.csv or None, kmc_history.csv
        or None, summary.json, settings used)."""

def capacitance(
    gap_mV: Optional[float] = None,
    radius_nm: Optional[float] = None,
    distance_nm: float = 1.0,
    spacing_nm: float = 3.0,
    permittivity: float = 9.0,
    shift_mV: Optional[float] = None,
    separation_nm: Optional[float] = None,
) -> dict[str, float]:
    """``spinpath capacitance --json``: radius (nm), capacitance (aF), Coulomb gap (mV), ..."""

def run_protocol(
    text: str, name: str = "<string>", seed: Optional[int] = None, progress: _Progress = None
) -> dict[str, Any]:
    """Run the ``[protocol]`` of run-file text without the GIL: ``kind``, ``seed``, ``n_points``,
    ``main``, ``tables`` (list of (file name, columns)), ``summary``, ``text``."""

def read_trace(
    path: _Path,
    x_quantity: str = "voltage",
    x: Union[str, int, None] = None,
    y: Union[str, int, None] = None,
    x_unit: Optional[str] = None,
    y_unit: Optional[str] = None,
    y_quantity: str = "current",
    min_rows: int = 2,
) -> tuple[F64, F64, str, str, list[str]]:
    """(x in mV/Oe/s, y in nA, how x was read, how y was read, comment lines)."""

def read_report(
    path: _Path,
    x_quantity: str = "voltage",
    x: Union[str, int, None] = None,
    y: Union[str, int, None] = None,
    x_unit: Optional[str] = None,
    y_unit: Optional[str] = None,
    y_quantity: str = "current",
) -> dict[str, Any]:
    """What the reader decided: encoding, format, header line, columns with units and their
    sources, rows used and dropped, warnings (the ``read`` entry of ``summary.json``)."""

def read_columns(path: _Path) -> tuple[list[str], list[F64], list[str]]:
    """(names, raw columns, comment lines)."""

def didv(
    bias_mV: F64,
    current_nA: F64,
    method_name: str = "sg",
    window: int = 7,
    order: int = 2,
    grid_step_mV: Optional[float] = None,
) -> tuple[Table, Table, dict[str, Any]]:
    """(didv_points.csv columns, didv.csv columns, summary); dI/dV in nA/mV."""

def didv_curve(
    bias_mV: F64,
    current_nA: F64,
    method_name: str = "sg",
    window: int = 7,
    order: int = 2,
    grid_step_mV: Optional[float] = None,
) -> tuple[F64, F64]:
    """Averaged dI/dV (nA/mV) on the covered grid points (mV)."""

def averaged_curve(x: F64, y: F64, grid_step: Optional[float] = None) -> tuple[F64, F64]:
    """A curve averaged over repeated sweeps on a common grid (covered points)."""

def tmr_curve(
    p_bias_mV: F64,
    p_current_nA: F64,
    ap_bias_mV: F64,
    ap_current_nA: F64,
    grid_step_mV: Optional[float] = None,
    min_ap_current_nA: Optional[float] = None,
) -> tuple[Table, dict[str, Any]]:
    """(tmr.csv columns, summary)."""

def power_curve(bias_mV: F64, current_nA: F64) -> tuple[Table, dict[str, Any]]:
    """(power.csv columns with power_nW = -I*V, summary)."""

def find_peaks(
    curves: Sequence[tuple[str, F64, F64]],
    min_prominence: Optional[float] = None,
    dips: bool = False,
    half_level: str = "prominence",
    spacing_tol: Optional[float] = None,
    x_unit: str = "mV",
    y_unit: str = "nA_per_mV",
    didv_method: Optional[str] = None,
    window: int = 7,
    order: int = 2,
) -> tuple[Table, Optional[Table], dict[str, Any]]:
    """(peaks.csv columns, pairs.csv columns or None, summary); with ``didv_method`` the curves
    are that derivative's dI/dV and the widths are corrected for its smoothing."""

def rolling_shift(
    p_bias_mV: F64,
    p_signal: F64,
    ap_bias_mV: F64,
    ap_signal: F64,
    window_mV: float = 40.0,
    step_mV: Optional[float] = None,
    max_shift_mV: Optional[float] = None,
) -> tuple[Table, float]:
    """(shift.csv columns, weighted mean shift in mV)."""

def current_stats(
    bias_mV: F64,
    current_nA: F64,
    bin_nA: Optional[float] = None,
    bias_tol_mV: float = 1e-6,
    min_occupation: float = 0.05,
) -> tuple[Table, Table, Table]:
    """(histogram.csv, stats.csv, branches.csv columns)."""

def detect_jumps(
    x: F64,
    current_nA: F64,
    threshold: float = 6.0,
    cycle: Optional[Sequence[int]] = None,
    expect: Optional[str] = None,
    x_name: str = "x",
) -> tuple[Table, Table, Table, float, float, str]:
    """(jumps, cycles, success tables, success rate, noise sigma in nA, sign sequence)."""

def ih_loop(field_Oe: F64, current_nA: F64, p_level: str = "auto") -> tuple[Table, Table, dict[str, Any]]:
    """(ih.csv columns, switches.csv columns, summary)."""

def run_fit(
    text: str,
    path: _Path,
    data: Optional[Sequence[tuple[str, F64, F64, Optional[float]]]] = None,
    threads: Optional[int] = None,
    progress: _Progress = None,
) -> dict[str, Any]:
    """Run a fit file's fit without the GIL; the fields of ``spinpath.FitResult``."""

# Scans and ensembles (src/scan.rs; wrapped by spinpath/scan.py)

def scan_plan(
    text: str,
    file: str,
    axes: list[tuple[str, float, float, int]],
    method: str,
    samples: Optional[int] = None,
    seed: int = 1,
) -> list[list[float]]:
    """Parameter values of every point of a scan plan (axes ``(name, from, to, n)``; method
    ``grid``, ``random`` or ``lhs``), after checking the names against the device in ``text``."""

def scan_rows(
    text: str,
    file: str,
    axes: list[tuple[str, float, float, int]],
    method: str,
    samples: Optional[int] = None,
    seed: int = 1,
    indices: Optional[list[int]] = None,
    threads: Optional[int] = None,
) -> Table:
    """The ``scan.csv`` rows of the points ``indices`` (all when None)."""

def ensemble_rows(
    text: str,
    file: str,
    samples: int,
    seed: int = 1,
    indices: Optional[list[int]] = None,
    threads: Optional[int] = None,
) -> Table:
    """The ``ensemble.csv`` rows of the junctions ``indices`` (all when None)."""

def ensemble_summary(
    text: str, file: str, seed: int, columns: list[tuple[str, list[float]]]
) -> dict[str, Any]:
    """``summary.json`` of an ensemble table given as (name, values) columns."""
