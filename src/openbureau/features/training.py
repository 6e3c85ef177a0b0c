"""Training sets: features as of each date, and the label from the window after it.

A person enters at as_of if the bureau knew them before it and they had not defaulted yet
(a past default is not something to predict). The label is 1 if any outcome falls in
[as_of, as_of + horizon_months); outcomes are never read as features.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import pyarrow as pa

from openbureau.features.build import DATES, Source, as_date, execute, finish
from openbureau.features.catalog import CATALOG
from openbureau.features.spec import FeatureParams

LABEL = pa.schema([pa.field("label", pa.int8(), nullable=False)])


def training_set(
    source: Source,
    as_of_dates: dt.date | str | Iterable[dt.date | str],
    *,
    horizon_months: int = 12,
    params: FeatureParams | None = None,
) -> pa.Table:
    """person_id, as_of, segment, every feature, then ``label`` (int8), for each as_of."""
    if isinstance(horizon_months, bool) or not isinstance(horizon_months, int):
        raise TypeError("horizon_months must be an int")
    if horizon_months < 1:
        raise ValueError(f"horizon_months must be at least 1, got {horizon_months}")
    if isinstance(as_of_dates, dt.date | str):
        as_of_dates = [as_of_dates]
    dates = sorted({as_date(d) for d in as_of_dates})
    if not dates:
        raise ValueError("as_of_dates is empty")
    inputs = pa.table({"as_of": pa.array(dates, pa.date32())})
    result = execute(source, DATES, inputs, params or FeatureParams(), horizon_months)
    return finish(result, CATALOG, LABEL)
