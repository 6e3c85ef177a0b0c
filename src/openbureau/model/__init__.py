"""The factor-additive credit model, its WoE scorecard twin, scaling and artifacts.

``FactorAdditiveClassifier`` (LightGBM, one shape per feature and segment, monotone) and
``WoEScorecardClassifier`` (optbinning) both compile to step-function tables; a ``Scorer``
turns those into 350-950 scores, five factor sub-scores and reasons at numpy speed.
``save``/``load`` write and read a versioned folder with no pickles.
"""

from openbureau.model.artifact import load, save
from openbureau.model.base import AdditiveModel
from openbureau.model.gbm import FactorAdditiveClassifier
from openbureau.model.meta import DIRECTIONS, FACTORS, FeatureLike, FeatureMeta
from openbureau.model.scaling import Calibration, Scaling
from openbureau.model.scorecard import WoEScorecardClassifier
from openbureau.model.scorer import Scorer, ScoreResult

__all__ = [
    "DIRECTIONS",
    "FACTORS",
    "AdditiveModel",
    "Calibration",
    "FactorAdditiveClassifier",
    "FeatureLike",
    "FeatureMeta",
    "Scaling",
    "ScoreResult",
    "Scorer",
    "WoEScorecardClassifier",
    "load",
    "save",
]
