"""Attributes openbureau refuses to hold, whatever file they arrive in.

A column whose name says it carries one of these is refused before a single row
is read, so such data never reaches the store, the quarantine or a model. The
match works on the words of a column name (``Religion``, ``voter_party``,
``ethnic-group``, ``tweetText`` all match) rather than on exact names, because
lenders name columns in many ways.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# category -> words that mark a column as carrying it. Multi-word markers are
# matched as consecutive words of the column name.
PROHIBITED_MARKERS: dict[str, tuple[str, ...]] = {
    "political opinion": (
        "political",
        "politics",
        "party affiliation",
        "voter party",
        "voting",
        "vote",
        "ideology",
        "party member",
    ),
    "religion or belief": (
        "religion",
        "religious",
        "faith",
        "belief",
        "church",
        "mosque",
        "synagogue",
        "temple",
        "denomination",
        "caste",
    ),
    "ethnicity or race": (
        "ethnicity",
        "ethnic",
        "race",
        "racial",
        "nationality origin",
        "skin",
        "tribe",
        "hukou ethnic",
    ),
    "health": (
        "health",
        "medical",
        "diagnosis",
        "disease",
        "disability",
        "illness",
        "pregnancy",
        "pregnant",
        "prescription",
        "hiv",
        "mental",
    ),
    "biometrics": (
        "biometric",
        "biometrics",
        "fingerprint",
        "face id",
        "face scan",
        "face image",
        "facial",
        "iris",
        "retina",
        "voiceprint",
        "dna",
        "genetic",
    ),
    "sexual orientation or sex life": (
        "sexual",
        "sexuality",
        "orientation",
        "lgbt",
        "gay",
        "lesbian",
    ),
    # sex is a protected ground of credit law (ECOA; EU Charter Art. 21): audit-only data
    "sex or gender": (
        "sex",
        "gender",
    ),
    "trade-union membership": (
        "union member",
        "union membership",
        "trade union",
        "labour union",
        "labor union",
    ),
    "speech or post content": (
        "speech",
        "post",
        "posts",
        "post content",
        "tweet",
        "tweets",
        "comment",
        "comments",
        "message text",
        "message content",
        "chat",
        "opinion",
        "blog",
    ),
}

_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")


def column_words(name: str) -> list[str]:
    """Split a column name into lower-case words (snake, kebab, camel and Pascal case).

    >>> column_words("voterPartyAffiliation")
    ['voter', 'party', 'affiliation']
    >>> column_words("ETHNIC_GROUP")
    ['ethnic', 'group']
    """
    return [w.lower() for w in _WORD.findall(name)]


def _contains(words: list[str], marker: list[str]) -> bool:
    n = len(marker)
    return any(words[i : i + n] == marker for i in range(len(words) - n + 1))


@dataclass(frozen=True)
class ProhibitedColumn:
    column: str
    category: str
    marker: str

    def __str__(self) -> str:
        return f"column {self.column!r} carries {self.category} (matched {self.marker!r})"


def prohibited_category(column: str) -> ProhibitedColumn | None:
    """The prohibited category a column name carries, or None.

    >>> prohibited_category("Religion").category
    'religion or belief'
    >>> prohibited_category("monthly_income") is None
    True
    """
    words = column_words(column)
    for category, markers in PROHIBITED_MARKERS.items():
        for marker in markers:
            if _contains(words, marker.split()):
                return ProhibitedColumn(column, category, marker)
    return None


def find_prohibited(columns: list[str]) -> list[ProhibitedColumn]:
    """Every column of ``columns`` that carries a prohibited attribute."""
    found = (prohibited_category(c) for c in columns)
    return [p for p in found if p is not None]
