"""End-to-end jobs over a store: train a model as of a date, score a population."""

from openbureau.workflow.score import ScoreRunReport, score_store
from openbureau.workflow.train import TrainReport, train_from_store

__all__ = ["ScoreRunReport", "TrainReport", "score_store", "train_from_store"]
