"""Monitoring: population stability, drift against the development sample
(``openbureau monitor``, docs/monitor.md) and the analyst's model report."""

from typing import Any

from openbureau.monitor.stability import Bins, psi
from openbureau.monitor.thresholds import Thresholds

_DRIFT = ("compare", "monitor_files", "run_monitor")

__all__ = ["Bins", "Thresholds", "compare", "monitor_files", "psi", "run_monitor"]


def __getattr__(name: str) -> Any:
    """The drift functions, imported on first use (Arrow is not needed to start the CLI)."""
    if name in _DRIFT:
        from openbureau.monitor import drift

        return getattr(drift, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
