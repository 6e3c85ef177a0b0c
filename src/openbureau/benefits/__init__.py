"""Score bands, benefit tiers and partner offers, and explained eligibility decisions.

The defaults mirror the public accounts of Sesame Credit's benefits: an instant credit line
from 600, deposit-free car rental from 650, travel-document fast tracks from 700 and 750.
A benefit is only ever a convenience unlocked by a score, never a sanction below it.
"""

from openbureau.benefits.notice import RIGHTS, adverse_action_notice
from openbureau.benefits.tiers import (
    BANDS,
    DEFAULT_OFFERS,
    SCORE_HIGH,
    SCORE_LOW,
    Decision,
    Offer,
    band,
    decide,
    next_offer,
)

__all__ = [
    "BANDS",
    "DEFAULT_OFFERS",
    "RIGHTS",
    "SCORE_HIGH",
    "SCORE_LOW",
    "Decision",
    "Offer",
    "adverse_action_notice",
    "band",
    "decide",
    "next_offer",
]
