"""Model release governance: the release gate, the fairness audit, champion-challenger.

``run_release`` judges a candidate model against the champion on an out-of-time sample
and writes release.json / release.html; ``audit_fairness`` and ``compare_decisions`` are
usable alone. See docs/release.md for what each check means and its defaults.

Names are imported on first use, so ``openbureau --help`` does not load numpy and Arrow.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "compare_decisions": "openbureau.release.challenger",
    "FairnessRules": "openbureau.release.fairness",
    "audit_fairness": "openbureau.release.fairness",
    "check_audit_groups": "openbureau.release.fairness",
    "read_audit_groups": "openbureau.release.fairness",
    "ReleaseResult": "openbureau.release.gate",
    "run_release": "openbureau.release.gate",
    "BENEFIT_THRESHOLDS": "openbureau.release.rules",
    "GateRules": "openbureau.release.rules",
    "Tolerance": "openbureau.release.rules",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'openbureau.release' has no attribute {name!r}")
