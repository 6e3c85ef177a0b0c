"""The content of an adverse-action notice: what a declined person must be told.

Under FCRA §1681m(a) and Reg B §1002.9 a person refused on the strength of a score gets the
score, its range, the date, the key factors (at most four under the US pack) and their
rights: a free copy of their report and to dispute what is in it. The partner delivers the
notice; the bureau writes its content so every partner says the same true thing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from openbureau.benefits.tiers import SCORE_HIGH, SCORE_LOW

RIGHTS = (
    "You have the right to a free copy of your openbureau report within 60 days of this "
    "notice: sign in and open your score page, or ask the bureau.",
    "You have the right to dispute the accuracy or completeness of anything in your report; "
    "the bureau must reinvestigate and correct or delete what it cannot verify.",
    "The partner, not the bureau, made this decision, and the bureau cannot tell you why "
    "beyond the key factors listed here.",
)


def adverse_action_notice(
    *,
    score: float,
    scored_on: dt.date,
    reasons: Sequence[dict[str, Any]],
    offer_title: str,
    threshold: float,
    max_reasons: int = 4,
    jurisdiction_notice: str = "",
) -> dict[str, Any]:
    """The notice as plain data: score and range, date, up to ``max_reasons`` key factors
    (ranked by the points they cost), the rights, and the pack's own notice rule."""
    return {
        "decision": f"declined: {offer_title} needs a score of at least {threshold:g}",
        "score": score,
        "score_range": {"low": SCORE_LOW, "high": SCORE_HIGH},
        "scored_on": scored_on.isoformat(),
        "key_factors": [
            {"rank": i + 1, "text": r["text"], "factor": r["factor"], "points": r["points"]}
            for i, r in enumerate(list(reasons)[:max_reasons])
        ],
        "rights": list(RIGHTS),
        "jurisdiction_notice": jurisdiction_notice,
    }
