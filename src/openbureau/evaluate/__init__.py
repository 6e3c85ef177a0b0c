"""How well would openbureau score a lender's table? Factor maps, cross-validation, reports.

``load_factor_map`` reads and checks the YAML that maps columns to the five factors;
``evaluate_table`` cross-validates the five-factor model and an unconstrained LightGBM
reference on the same folds; ``command.evaluate`` is the ``openbureau evaluate`` command.
Names are imported on first use, so the CLI can import the command without pandas and
scikit-learn.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "CVResult": "crossval",
    "ModelResult": "crossval",
    "cross_validate": "crossval",
    "fold_assignment": "crossval",
    "FactorMap": "factormap",
    "FactorMapError": "factormap",
    "MappedFeature": "factormap",
    "SegmentRule": "factormap",
    "load_factor_map": "factormap",
    "parse_factor_map": "factormap",
    "ks": "metrics",
    "scores": "metrics",
    "evaluate_table": "run",
    "load_inputs": "run",
    "Prepared": "table",
    "TableError": "table",
    "TextCoder": "table",
    "prepare": "table",
    "read_table": "table",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'openbureau.evaluate' has no attribute {name!r}")
    value = getattr(import_module(f"openbureau.evaluate.{_EXPORTS[name]}"), name)
    globals()[name] = value
    return value
