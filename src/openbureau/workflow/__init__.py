"""End-to-end jobs over a store: train a model as of a date, score a population, re-score.

Names load on first use (PEP 562), so the CLI can register commands from this package
without importing DuckDB and Arrow before a command runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from openbureau._lazy import lazy_exports

if TYPE_CHECKING:
    from openbureau.workflow.score import ScoreRunReport, score_store
    from openbureau.workflow.train import TrainReport, train_from_store

_EXPORTS = {
    "ScoreRunReport": "openbureau.workflow.score",
    "score_store": "openbureau.workflow.score",
    "TrainReport": "openbureau.workflow.train",
    "train_from_store": "openbureau.workflow.train",
}

__all__ = ["ScoreRunReport", "TrainReport", "score_store", "train_from_store"]

__getattr__ = lazy_exports(__name__, _EXPORTS)
