"""The point-in-time feature catalog: declared once, computed as of any date, on any engine."""

from openbureau.features.build import build_features, feature_schema
from openbureau.features.catalog import (
    CATALOG,
    GROUPS,
    catalog_problems,
    catalog_version,
    feature_names,
    feature_specs,
)
from openbureau.features.spec import (
    DIRECTIONS,
    SEGMENTS,
    FeatureGroup,
    FeatureParams,
    FeatureSpec,
)
from openbureau.features.training import training_set

__all__ = [
    "CATALOG",
    "DIRECTIONS",
    "GROUPS",
    "SEGMENTS",
    "FeatureGroup",
    "FeatureParams",
    "FeatureSpec",
    "build_features",
    "catalog_problems",
    "catalog_version",
    "feature_names",
    "feature_schema",
    "feature_specs",
    "training_set",
]
