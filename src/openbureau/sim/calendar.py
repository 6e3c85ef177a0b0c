"""Dates as integer days since 1970-01-01, so every generator can do date arithmetic in numpy."""

from __future__ import annotations

import calendar as _cal
import datetime as dt
from dataclasses import dataclass

import numpy as np

EPOCH = dt.date(1970, 1, 1)
DAY_US = 86_400_000_000


def to_days(d: dt.date) -> int:
    return (d - EPOCH).days


def from_days(days: int) -> dt.date:
    return EPOCH + dt.timedelta(days=int(days))


def add_months(d: dt.date, n: int) -> dt.date:
    """``d`` shifted by ``n`` calendar months, the day clipped to the month's length."""
    total = d.year * 12 + d.month - 1 + n
    year, month = divmod(total, 12)
    return dt.date(year, month + 1, min(d.day, _cal.monthrange(year, month + 1)[1]))


def month_of(days: np.ndarray) -> np.ndarray:
    """Months since 1970-01 of each day."""
    return np.asarray(days).astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)


def month_start(months: np.ndarray) -> np.ndarray:
    """First day (days since epoch) of each month (months since 1970-01)."""
    return np.asarray(months).astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)


def due_on_or_after(days: np.ndarray, due_day: np.ndarray) -> np.ndarray:
    """The first date on or after ``days`` that falls on day-of-month ``due_day`` (1..28)."""
    m = month_of(days)
    this = month_start(m) + due_day - 1
    return np.where(this >= days, this, month_start(m + 1) + due_day - 1)


@dataclass(frozen=True)
class Calendar:
    """The simulated window: ``months`` calendar months ending at ``end``; labels after as_of."""

    end: int
    as_of: int
    start: int
    first_month: int  # months since 1970-01 of the window's first month
    months: int

    @classmethod
    def build(cls, end: dt.date, months: int, label_months: int) -> Calendar:
        first = end.year * 12 + end.month - 1 - (months - 1) - 1970 * 12
        return cls(
            end=to_days(end),
            as_of=to_days(add_months(end, -label_months)),
            start=int(month_start(np.array([first]))[0]),
            first_month=first,
            months=months,
        )

    def month_starts(self, extra: int = 1) -> np.ndarray:
        """First day of every window month, plus ``extra`` months after the window."""
        return month_start(self.first_month + np.arange(self.months + extra))

    def month_index(self, days: np.ndarray) -> np.ndarray:
        """Window month of each day (negative before the window)."""
        return month_of(days) - self.first_month

    @property
    def as_of_date(self) -> dt.date:
        return from_days(self.as_of)

    @property
    def end_date(self) -> dt.date:
        return from_days(self.end)
