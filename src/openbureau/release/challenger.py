"""Champion-challenger: where the candidate's decisions differ from the champion's.

Both models score the same population. At each benefit threshold a swap-in is a person the
candidate approves and the champion declines, a swap-out the reverse. Swaps are counted by
the champion's score band (50 points wide) and by the reason of the side that declines
(its top reason code), so an analyst sees who gains, who loses, and why.
Swap-ins minus swap-outs is exactly the change in approvals.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from openbureau.release.rules import BENEFIT_THRESHOLDS, check_thresholds

BAND_WIDTH = 50
NO_REASON = "(no reason)"


def _band_labels(score: np.ndarray) -> np.ndarray:
    low = (np.floor(score / BAND_WIDTH) * BAND_WIDTH).astype(np.int64)
    low = np.minimum(low, 900)  # 950 belongs to the top band
    return low


def _tally(keys: np.ndarray) -> list[tuple[int, int, int]]:
    """(key, count, first position) per distinct integer key, largest count first."""
    if keys.size == 0:
        return []
    values, first, counts = np.unique(keys, return_index=True, return_counts=True)
    order = np.lexsort((values, -counts))
    return [(int(values[i]), int(counts[i]), int(first[i])) for i in order]


class _Reasons:
    """Top reason codes as integers (dictionary-encoded), with their names and texts."""

    def __init__(self, table: pa.Table) -> None:
        enc = pc.dictionary_encode(table.column("reason_1")).combine_chunks()
        self.codes = enc.indices.to_numpy(zero_copy_only=False).astype(np.int64)
        self.names = enc.dictionary.to_pylist()
        self.texts = table.column("reason_1_text").combine_chunks()

    def tally(self, mask: np.ndarray) -> list[dict[str, Any]]:
        where = np.flatnonzero(mask)
        return [
            {"reason": self.names[k], "text": self.texts[int(where[i])].as_py(), "count": c}
            for k, c, i in _tally(self.codes[where])
        ]


def _prepare(table: pa.Table, side: str) -> pa.Table:
    if not isinstance(table, pa.Table):
        raise TypeError(f"{side} scores must be a pyarrow Table, got {type(table).__name__}")
    for c in ("person_id", "score"):
        if c not in table.column_names:
            raise ValueError(f"{side} scores: no {c} column (columns: {table.column_names})")
    cols = {
        "person_id": pc.cast(table.column("person_id"), pa.string()),
        "score": pc.cast(table.column("score"), pa.float64()),
    }
    for c in ("reason_1", "reason_1_text"):
        if c in table.column_names:
            col = pc.cast(table.column(c), pa.string())
            cols[c] = pc.fill_null(col, NO_REASON if c == "reason_1" else "")
        else:
            fill = NO_REASON if c == "reason_1" else ""
            cols[c] = pa.array([fill] * table.num_rows, pa.string())
    return pa.table(cols).sort_by("person_id")


def compare_decisions(
    champion: pa.Table,
    candidate: pa.Table,
    thresholds: tuple[float, ...] | list[float] = BENEFIT_THRESHOLDS,
) -> dict[str, Any]:
    """Swap-ins and swap-outs of ``candidate`` against ``champion`` at each threshold.

    Both tables hold ``person_id`` and ``score`` (``reason_1``/``reason_1_text`` if known,
    as ``openbureau score`` writes) for the same people. Returns JSON-ready data: per
    threshold the approvals of each, swap-in/swap-out counts, their breakdown by the
    champion's band and by the declining side's top reason, and the decision-change rate.
    """
    ths = check_thresholds(thresholds)
    a, b = _prepare(champion, "champion"), _prepare(candidate, "candidate")
    if a.num_rows != b.num_rows or not a.column("person_id").equals(b.column("person_id")):
        only_a = a.num_rows - pc.sum(pc.is_in(a.column("person_id"), b.column("person_id"))).as_py()
        only_b = b.num_rows - pc.sum(pc.is_in(b.column("person_id"), a.column("person_id"))).as_py()
        raise ValueError(
            f"champion and candidate scored different people ({only_a} only by the champion, "
            f"{only_b} only by the candidate): compare them on the same population"
        )
    n = a.num_rows
    if n == 0:
        raise ValueError("no people to compare")
    s_a, s_b = a.column("score").to_numpy(), b.column("score").to_numpy()
    band = _band_labels(s_a)
    reasons_a, reasons_b = _Reasons(a), _Reasons(b)
    rows = []
    for th in ths:
        ok_a, ok_b = s_a >= th, s_b >= th
        swap_in, swap_out = ok_b & ~ok_a, ok_a & ~ok_b
        si, so = int(swap_in.sum()), int(swap_out.sum())
        by_band: dict[int, dict[str, Any]] = {}
        for name, mask in (("swap_in", swap_in), ("swap_out", swap_out)):
            for low, count, _ in _tally(band[mask]):
                entry = by_band.setdefault(
                    low, {"band": f"{low}-{low + BAND_WIDTH - 1}", "swap_in": 0, "swap_out": 0}
                )
                entry[name] = count
        rows.append(
            {
                "threshold": th,
                "people": n,
                "champion_approved": int(ok_a.sum()),
                "candidate_approved": int(ok_b.sum()),
                "swap_in": si,
                "swap_out": so,
                "change_rate": (si + so) / n,
                "by_band": [by_band[k] for k in sorted(by_band)],
                # a swap-in was declined by the champion: its reason; a swap-out by the candidate
                "swap_in_reasons": reasons_a.tally(swap_in),
                "swap_out_reasons": reasons_b.tally(swap_out),
            }
        )
    changed = np.zeros(n, dtype=bool)
    for th in ths:
        changed |= (s_a >= th) != (s_b >= th)
    return {
        "applicable": True,
        "people": n,
        "thresholds": list(ths),
        "decisions": rows,
        "any_change_rate": float(changed.mean()),
    }
