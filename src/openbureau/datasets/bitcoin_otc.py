"""Bitcoin-OTC's who-trusts-whom ratings as a node table and an edge list, split in time.

    python -m openbureau.datasets.bitcoin_otc SRC OUT [--cutoff 2013-07-01] [--horizon-days 365]
    openbureau evaluate OUT/table.csv --factors OUT/factors.yaml --edges OUT/edges.csv --id id

SRC is SNAP's ``soc-sign-bitcoinotc.csv(.gz)``: no header, one rating per line as
``source,target,rating,time`` (user ids, an integer from -10 to +10, epoch seconds). Cite
Kumar et al. (ICDM 2016; WSDM 2018) when using it, as SNAP asks.

Why this shape: a credit bureau sees a person's history up to ``as_of`` and asks what
happens after it. Here ``cutoff`` plays ``as_of``:

* the **node table** holds every user who rated or was rated before the cutoff, with *own*
  features computed only from ratings before it (what others said about them: history;
  what they said about others and how active they are: behaviour; how long they have been
  on the platform: identity), and the label ``distrusted`` = 1 if they receive at least one
  negative rating in the ``horizon_days`` after the cutoff;
* by default only users who **receive some rating in that window** are kept
  (``rated_after_only``): a user nobody rated afterwards was not observed, and calling them
  trustworthy would mix "left the platform" with "behaved well". Credit does the same when
  it labels only accounts that were open through the performance window.
* the **edges table** (source, target, weight, timestamp) holds the ratings before the
  cutoff only, so network features see no more than own features do.

The default cutoff, 2013-07-01, is a fixed calendar date (reproducible, readable) by which
68% of the 35,592 ratings exist; the 12-month window after it holds most of what remains
(ratings thin out after mid-2014). Nothing here reads the future: a rating at exactly the
cutoff belongs to the window, not the history.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from openbureau.datasets.adapters import Dataset, factor_map_path

NAME = "bitcoin_otc"
LABEL = "distrusted"
ID = "id"
DEFAULT_CUTOFF = dt.date(2013, 7, 1)
DEFAULT_HORIZON_DAYS = 365
COLUMNS = ("source", "target", "rating", "time")
RATING_MIN, RATING_MAX = -10, 10
SECONDS_PER_DAY = 86_400.0
DAYS_PER_MONTH = 30.4375
FEATURES = (
    "ratings_received",
    "received_mean",
    "received_share_negative",
    "received_negatives",
    "ratings_given",
    "given_mean",
    "given_share_negative",
    "account_age_days",
    "days_since_last_rating",
    "ratings_per_month",
)
EDGE_COLUMNS = ("source", "target", "weight", "timestamp")


@dataclass(frozen=True)
class BitcoinOTC:
    """The node table (``id``, own features, ``distrusted``), the pre-cutoff edges, and
    the settings that produced them."""

    nodes: pd.DataFrame
    edges: pd.DataFrame
    cutoff: dt.datetime
    horizon_days: int
    rated_after_only: bool
    source: str

    @property
    def factor_map(self) -> Path:
        return factor_map_path(NAME)

    @property
    def base_rate(self) -> float:
        return float(self.nodes[LABEL].mean()) if len(self.nodes) else float("nan")

    def dataset(self) -> Dataset:
        """The node table as a ``Dataset`` (what the ``datasets`` registry returns)."""
        return Dataset(NAME, self.nodes, LABEL, ID, self.factor_map)

    def write(self, out: str | Path) -> tuple[Path, Path, Path]:
        """``table.csv``, ``edges.csv`` and ``factors.yaml`` in folder ``out``."""
        folder = Path(out)
        folder.mkdir(parents=True, exist_ok=True)
        table, edges, fmap = folder / "table.csv", folder / "edges.csv", folder / "factors.yaml"
        self.nodes.to_csv(table, index=False, na_rep="")
        self.edges.to_csv(edges, index=False)
        fmap.write_text(self.factor_map.read_text(encoding="utf-8"), encoding="utf-8")
        return table, edges, fmap


def _bad(path: Path, rows: np.ndarray, why: str, values: pd.Series | None = None) -> ValueError:
    """'file: line 12: why (got '...')' for the first offending row, and how many there are."""
    first = int(rows[0])
    got = "" if values is None else f" (got {values.iloc[first]!r})"
    more = f"; {rows.size - 1} more line(s) like it" if rows.size > 1 else ""
    return ValueError(f"{path}: line {first + 1}: {why}{got}{more}")


def read_ratings(path: str | Path) -> pd.DataFrame:
    """SNAP's rating file as (source, target, rating, time), every row checked.

    Refused with the file, the line and why: a header or text in a number column, ids that
    are not non-negative integers, ratings outside -10..+10 or not whole, times that are not
    finite non-negative epoch seconds, a user rating themselves, a line with a field missing
    or too many.
    """
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{p}: no such file")
    try:
        raw = pd.read_csv(p, header=None, dtype=str, keep_default_na=False, skip_blank_lines=True)
    except pd.errors.EmptyDataError:
        raise ValueError(f"{p}: empty file; expected lines source,target,rating,time") from None
    except pd.errors.ParserError as exc:
        raise ValueError(f"{p}: not a 4-column CSV: {exc}") from None
    except (UnicodeDecodeError, OSError, EOFError) as exc:
        raise ValueError(f"{p}: cannot be read as (gzipped) CSV text: {exc}") from None
    if raw.shape[1] != len(COLUMNS):
        raise ValueError(
            f"{p}: {raw.shape[1]} columns, expected {len(COLUMNS)} without a header: "
            + ",".join(COLUMNS)
        )
    raw.columns = list(COLUMNS)
    out = {}
    for col in COLUMNS:
        text = raw[col].str.strip()
        empty = np.flatnonzero((text == "").to_numpy())
        if empty.size:
            raise _bad(p, empty, f"{col} is empty")
        num = pd.to_numeric(text, errors="coerce").to_numpy(np.float64)
        nan = np.flatnonzero(~np.isfinite(num))
        if nan.size:
            hint = " (the file must have no header)" if nan[0] == 0 else ""
            raise _bad(p, nan, f"{col} is not a finite number{hint}", raw[col])
        out[col] = num
    for col in ("source", "target"):
        bad = np.flatnonzero((out[col] < 0) | (out[col] != np.round(out[col])))
        if bad.size:
            raise _bad(p, bad, f"{col} must be a non-negative integer user id", raw[col])
    r = out["rating"]
    bad = np.flatnonzero((r != np.round(r)) | (r < RATING_MIN) | (r > RATING_MAX))
    if bad.size:
        raise _bad(
            p,
            bad,
            f"rating must be a whole number from {RATING_MIN} to {RATING_MAX}",
            raw["rating"],
        )
    bad = np.flatnonzero(out["time"] < 0)
    if bad.size:
        raise _bad(p, bad, "time must be epoch seconds >= 0", raw["time"])
    loops = np.flatnonzero(out["source"] == out["target"])
    if loops.size:
        raise _bad(p, loops, "a user rates themselves", raw["source"])
    return pd.DataFrame(
        {
            "source": out["source"].astype(np.int64),
            "target": out["target"].astype(np.int64),
            "rating": out["rating"].astype(np.int64),
            "time": out["time"],
        }
    )


def _cutoff(value: dt.date | dt.datetime | str) -> dt.datetime:
    """A naive-UTC datetime from a date (midnight UTC), a datetime, or an ISO string."""
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(f"cutoff {value!r} is not an ISO date (YYYY-MM-DD)") from None
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return value
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day)
    raise TypeError(f"cutoff must be a date, datetime or ISO string, got {type(value).__name__}")


def _epoch(when: dt.datetime) -> float:
    return (when - dt.datetime(1970, 1, 1)).total_seconds()


def _per_user(keys: np.ndarray, ids: np.ndarray, values: np.ndarray | None = None) -> np.ndarray:
    """Sum of ``values`` (or counts) per id in ``ids`` over rows keyed by ``keys``."""
    pos = np.searchsorted(ids, keys)
    return np.bincount(pos, weights=values, minlength=ids.size)


def own_features(history: pd.DataFrame, ids: np.ndarray, cutoff: float) -> pd.DataFrame:
    """Features of users ``ids`` (sorted) from ratings ``history`` (all before ``cutoff``).

    NaN where undefined (a mean of no ratings); counts are 0 then. Ages are in days up to
    the cutoff; ``ratings_per_month`` counts given and received over the account's life
    (at least one day, so a first-day user is not divided by zero).
    """
    src = history["source"].to_numpy()
    dst = history["target"].to_numpy()
    rating = history["rating"].to_numpy(np.float64)
    neg = (rating < 0).astype(np.float64)
    t = history["time"].to_numpy(np.float64)
    given = _per_user(src, ids)
    received = _per_user(dst, ids)
    with np.errstate(invalid="ignore", divide="ignore"):
        frame = pd.DataFrame(
            {
                ID: ids,
                "ratings_received": received,
                "received_mean": _per_user(dst, ids, rating) / received,
                "received_share_negative": _per_user(dst, ids, neg) / received,
                "received_negatives": _per_user(dst, ids, neg),
                "ratings_given": given,
                "given_mean": _per_user(src, ids, rating) / given,
                "given_share_negative": _per_user(src, ids, neg) / given,
            }
        )
    both = np.concatenate([src, dst])
    when = np.concatenate([t, t])
    first = pd.Series(when).groupby(both).min().reindex(ids).to_numpy()
    last = pd.Series(when).groupby(both).max().reindex(ids).to_numpy()
    age = (cutoff - first) / SECONDS_PER_DAY
    frame["account_age_days"] = age
    frame["days_since_last_rating"] = (cutoff - last) / SECONDS_PER_DAY
    frame["ratings_per_month"] = (given + received) / np.maximum(age, 1.0) * DAYS_PER_MONTH
    for col in ("ratings_received", "received_negatives", "ratings_given"):
        frame[col] = frame[col].astype(np.int64)
    return frame


def split(
    ratings: pd.DataFrame,
    cutoff: dt.date | dt.datetime | str = DEFAULT_CUTOFF,
    horizon_days: int = DEFAULT_HORIZON_DAYS,
    *,
    rated_after_only: bool = True,
    source: str = "<ratings>",
) -> BitcoinOTC:
    """The node table and pre-cutoff edges of ``ratings`` (as ``read_ratings`` returns)."""
    if isinstance(horizon_days, bool) or not isinstance(horizon_days, int) or horizon_days < 1:
        raise ValueError(f"horizon_days must be a positive int, got {horizon_days!r}")
    when = _cutoff(cutoff)
    cut = _epoch(when)
    end = cut + horizon_days * SECONDS_PER_DAY
    t = ratings["time"].to_numpy(np.float64)
    history = ratings[t < cut]
    window = ratings[(t >= cut) & (t < end)]
    if history.empty:
        raise ValueError(f"{source}: no rating before the cutoff {when:%Y-%m-%d}")
    ids = np.unique(np.concatenate([history["source"], history["target"]]))
    nodes = own_features(history, ids, cut)
    rated = np.isin(ids, window["target"].to_numpy())
    negative = np.isin(ids, window.loc[window["rating"] < 0, "target"].to_numpy())
    nodes[LABEL] = negative.astype(np.int8)
    if rated_after_only:
        nodes = nodes[rated].reset_index(drop=True)
    if nodes.empty:
        raise ValueError(
            f"{source}: no user active before {when:%Y-%m-%d} was rated in the "
            f"{horizon_days} days after it"
        )
    stamp = pd.to_datetime(history["time"].to_numpy(), unit="s").strftime("%Y-%m-%dT%H:%M:%SZ")
    edges = pd.DataFrame(
        {
            "source": history["source"].to_numpy(),
            "target": history["target"].to_numpy(),
            "weight": history["rating"].to_numpy(),
            "timestamp": np.asarray(stamp, dtype=object),
        }
    )
    return BitcoinOTC(nodes, edges, when, horizon_days, rated_after_only, source)


def load(
    path: str | Path,
    cutoff: dt.date | dt.datetime | str = DEFAULT_CUTOFF,
    horizon_days: int = DEFAULT_HORIZON_DAYS,
    *,
    rated_after_only: bool = True,
) -> BitcoinOTC:
    """Read SNAP's Bitcoin-OTC file (or the folder holding it) and split it at ``cutoff``."""
    p = Path(path)
    if p.is_dir():
        hits = sorted(p.glob("**/soc-sign-bitcoinotc.csv*"))
        if not hits:
            raise FileNotFoundError(f"{p}: no soc-sign-bitcoinotc.csv(.gz) found")
        p = hits[0]
    return split(
        read_ratings(p), cutoff, horizon_days, rated_after_only=rated_after_only, source=str(p)
    )


FOUNDER = 1  # the platform founder's account in SNAP's ids
STRONG = 5  # |rating| >= 5: the strong ratings REV2's ground truth uses (0.5 once scaled)


def founder_ground_truth(
    ratings: pd.DataFrame, founder: int = FOUNDER, strong: int = STRONG
) -> pd.DataFrame:
    """REV2's Bitcoin-OTC ground truth rebuilt from the ratings: ``id``, ``fraudulent``.

    Trusted raters are the founder and everyone the founder rated >= ``strong``; a user any
    of them rated <= -``strong`` is fraudulent (1), >= ``strong`` benign (0). Where trusted
    raters disagree, the founder's own rating decides, else the majority of their strong
    ratings, else the earliest. On SNAP's file this gives exactly the 316 users (136 benign,
    180 fraudulent) of the ground-truth file published with the paper's code.
    """
    own = ratings[ratings["source"] == founder]
    trusted = np.union1d([founder], own.loc[own["rating"] >= strong, "target"].to_numpy())
    s = ratings[ratings["source"].isin(trusted) & (ratings["rating"].abs() >= strong)].copy()
    s["bad"] = (s["rating"] < 0).astype(np.int8)
    s["by_founder"] = s["source"] == founder
    s = s.sort_values(["target", "time"], kind="stable")
    g = s.groupby("target", sort=True)
    votes = g["bad"].mean()
    earliest = g["bad"].first()
    founder_says = s[s["by_founder"]].groupby("target")["bad"].last()
    label = np.where(votes > 0.5, 1, np.where(votes < 0.5, 0, earliest)).astype(np.int8)
    out = pd.Series(label, index=votes.index)
    out.loc[founder_says.index] = founder_says.to_numpy()
    return pd.DataFrame({ID: out.index.to_numpy(), "fraudulent": out.to_numpy().astype(np.int8)})


def dataset(src: str | Path) -> Dataset:
    """The node table with the default split, for the ``datasets`` registry."""
    return load(src).dataset()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m openbureau.datasets.bitcoin_otc",
        description="Write Bitcoin-OTC as table.csv + edges.csv + factors.yaml, split in time.",
    )
    parser.add_argument("src", type=Path, help="soc-sign-bitcoinotc.csv(.gz) or its folder")
    parser.add_argument("out", type=Path, help="folder to write to")
    parser.add_argument("--cutoff", default=DEFAULT_CUTOFF.isoformat(), help="ISO date")
    parser.add_argument("--horizon-days", type=int, default=DEFAULT_HORIZON_DAYS)
    parser.add_argument(
        "--all-active",
        action="store_true",
        help="keep users nobody rated after the cutoff (labelled 0)",
    )
    args = parser.parse_args(argv)
    try:
        data = load(args.src, args.cutoff, args.horizon_days, rated_after_only=not args.all_active)
    except (FileNotFoundError, ValueError, TypeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    table, edges, fmap = data.write(args.out)
    n, pos = len(data.nodes), int(data.nodes[LABEL].sum())
    print(f"{table}: {n:,} users, {pos:,} distrusted ({pos / n:.1%}), id {ID!r}")
    print(f"{edges}: {len(data.edges):,} ratings before {data.cutoff:%Y-%m-%d}")
    print(f"{fmap}: the shipped factor map")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
