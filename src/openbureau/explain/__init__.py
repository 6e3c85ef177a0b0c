"""Why a score is what it is, and what would raise it.

``explain`` gives each person's factor breakdown and up to four adverse reasons, ranked by
the points each costs against the best attainable value; ``counterfactual`` the smallest
actionable changes that reach a target score; ``breakdown_table`` the same in bulk.
"""

from openbureau.explain.counterfactual import (
    THRESHOLDS,
    Change,
    Counterfactual,
    counterfactual,
    next_threshold,
)
from openbureau.explain.reasons import (
    Explanation,
    Reason,
    breakdown_table,
    explain,
    reason_text_columns,
    reason_variants,
)

__all__ = [
    "THRESHOLDS",
    "Change",
    "Counterfactual",
    "Explanation",
    "Reason",
    "breakdown_table",
    "counterfactual",
    "explain",
    "next_threshold",
    "reason_text_columns",
    "reason_variants",
]
