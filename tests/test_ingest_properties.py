"""Property: whatever mix of good and bad rows a file holds, the good ones land, the bad
ones are quarantined, and read = accepted + quarantined."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openbureau.ingest import ingest
from openbureau.store import Store

from factories import person, write_csv, write_jsonl

BAD_VARIANTS = {
    "wrong_type": {"first_seen": "not-a-date"},
    "future_date": {"first_seen": "2999-12-31"},
    "out_of_range": {"birth_year": 1500},
    "missing_value": {"first_seen": None},
}

rows_strategy = st.lists(
    st.tuples(st.integers(0, 40), st.sampled_from([None, *BAD_VARIANTS])),
    min_size=1,
    max_size=60,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=rows_strategy, fmt=st.sampled_from(["csv", "jsonl"]))
def test_good_rows_land_and_bad_rows_are_quarantined(rows, fmt):
    data = [person(i, **(BAD_VARIANTS[bad] if bad else {})) for i, bad in rows]
    expected_accepted: list[str] = []
    for i, bad in rows:
        pid = person(i)["person_id"]
        if bad is None and pid not in expected_accepted:
            expected_accepted.append(pid)
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        path = tmp_path / f"people.{fmt}"
        if fmt == "csv":
            write_csv(path, data, header=list(person(0)))
        else:
            write_jsonl(path, data)
        with Store(tmp_path / "store") as store:
            report = ingest([path], store)
            stored = [
                r["person_id"]
                for r in store.records('SELECT person_id FROM people ORDER BY "_row"')
            ]
            quarantined = store.scalar("SELECT count(*) FROM quarantine")
    assert report.read == len(rows) == report.accepted + report.quarantined
    assert stored == expected_accepted
    assert quarantined == report.quarantined == len(rows) - len(expected_accepted)
