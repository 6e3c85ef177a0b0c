"""Simulation parameters, checked once so every generator can trust them."""

from __future__ import annotations

import datetime as dt
import math
import numbers
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

# People are simulated in fixed blocks, each with its own random stream, so the output does
# not depend on how blocks are grouped into chunks (part files).
BLOCK_SIZE = 1_000
MAX_MONTHS = 600
# A default needs a missed payment, 90 days past due and a little room after it.
MIN_LABEL_MONTHS = 6


@dataclass(frozen=True)
class SimConfig:
    """The validated parameters of one simulation run."""

    people: int
    months: int
    seed: int
    end: dt.date
    label_months: int
    chunk_size: int
    txn_per_month: float
    mean_contacts: float
    target_default_rate: float

    @property
    def blocks(self) -> int:
        return math.ceil(self.people / BLOCK_SIZE)

    @property
    def blocks_per_chunk(self) -> int:
        return max(1, math.ceil(self.chunk_size / BLOCK_SIZE))

    @property
    def chunks(self) -> int:
        return math.ceil(self.blocks / self.blocks_per_chunk)

    def chunk_people(self, chunk: int) -> tuple[int, int]:
        """Person index range [lo, hi) of a chunk."""
        size = self.blocks_per_chunk * BLOCK_SIZE
        return chunk * size, min(self.people, (chunk + 1) * size)

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["end"] = self.end.isoformat()
        d["block_size"] = BLOCK_SIZE
        d["effective_chunk_size"] = self.blocks_per_chunk * BLOCK_SIZE
        return d


def _int(name: str, value: object, minimum: int, maximum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    v = int(value)
    if v < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {v}")
    if maximum is not None and v > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {v}")
    return v


def _float(name: str, value: object, low: float, high: float, *, open_low: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    v = float(value)
    if not math.isfinite(v) or v > high or v < low or (open_low and v == low):
        bracket = "(" if open_low else "["
        raise ValueError(f"{name} must be in {bracket}{low}, {high}], got {value!r}")
    return v


def validate(
    out: object,
    people: object,
    months: object,
    seed: object,
    end: object,
    label_months: object,
    chunk_size: object,
    progress: object,
    txn_per_month: object,
    mean_contacts: object,
    target_default_rate: object,
    today: dt.date | None = None,
) -> tuple[Path, SimConfig]:
    """Check every argument of ``simulate`` and say precisely what is wrong."""
    if not isinstance(out, str | Path):
        raise TypeError(f"out must be a path (str or pathlib.Path), got {type(out).__name__}")
    if progress is not None and not callable(progress):
        raise TypeError(f"progress must be callable or None, got {type(progress).__name__}")
    n = _int("people", people, 1)
    m = _int("months", months, 2, MAX_MONTHS)
    s = _int("seed", seed, 0)
    lm = _int("label_months", label_months, MIN_LABEL_MONTHS)
    if m <= lm:
        raise ValueError(
            f"months must be greater than label_months so some history precedes as_of, "
            f"got months={m}, label_months={lm}"
        )
    cs = _int("chunk_size", chunk_size, 1)
    if isinstance(end, dt.datetime) or not isinstance(end, dt.date):
        raise TypeError(f"end must be a datetime.date, got {type(end).__name__}")
    today = today or dt.date.today()
    if end > today:
        raise ValueError(f"end must not be in the future, got {end.isoformat()} > {today}")
    return Path(out), SimConfig(
        people=n,
        months=m,
        seed=s,
        end=end,
        label_months=lm,
        chunk_size=cs,
        txn_per_month=_float("txn_per_month", txn_per_month, 0.0, 100.0, open_low=True),
        mean_contacts=_float("mean_contacts", mean_contacts, 0.0, 1000.0),
        target_default_rate=_float(
            "target_default_rate", target_default_rate, 0.0, 0.5, open_low=True
        ),
    )


ProgressFn = Callable[[int], None]
