"""How well would openbureau score a lender's table? Factor maps, cross-validation, reports.

``load_factor_map`` reads and checks the YAML that maps columns to the five factors;
``evaluate_table`` cross-validates the five-factor model and an unconstrained LightGBM
reference on the same folds; ``command.evaluate`` is the ``openbureau evaluate`` command.
"""

from openbureau.evaluate.crossval import CVResult, ModelResult, cross_validate, fold_assignment
from openbureau.evaluate.factormap import (
    FactorMap,
    FactorMapError,
    MappedFeature,
    SegmentRule,
    load_factor_map,
    parse_factor_map,
)
from openbureau.evaluate.metrics import ks, scores
from openbureau.evaluate.run import evaluate_table, load_inputs
from openbureau.evaluate.table import Prepared, TableError, TextCoder, prepare, read_table

__all__ = [
    "CVResult",
    "FactorMap",
    "FactorMapError",
    "MappedFeature",
    "ModelResult",
    "Prepared",
    "SegmentRule",
    "TableError",
    "TextCoder",
    "cross_validate",
    "evaluate_table",
    "fold_assignment",
    "ks",
    "load_factor_map",
    "load_inputs",
    "parse_factor_map",
    "prepare",
    "read_table",
    "scores",
]
