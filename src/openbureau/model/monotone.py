"""Check the promise of each feature's direction on the compiled step functions."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from openbureau.model.meta import FeatureMeta
from openbureau.model.tables import Shape


def monotone_violations(
    shapes: Sequence[Shape], metas: Sequence[FeatureMeta], tol: float = 1e-12
) -> list[str]:
    """Features whose log-odds of default move against their declared direction.

    'increasing' (a higher value never lowers the score) means the log-odds of default never
    rise from one value bin to the next; 'decreasing' the reverse. The NaN bin has no order.
    """
    bad = []
    for sh, m in zip(shapes, metas, strict=True):
        if m.sign == 0:
            continue
        steps = np.diff(sh.values[:, :-1], axis=1) * m.sign  # > 0: log-odds rise against it
        if steps.size and steps.max() > tol:
            bad.append(f"{m.name} ({m.direction}) rises by {steps.max():.3g} log-odds")
    return bad
