"""A batch is atomic: an ingest killed with SIGKILL midway leaves all of it or none."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from openbureau.contract import get_table
from openbureau.ingest.batch import FAULT_ENV
from openbureau.store import Store

PEOPLE = 60_000
TXN_PARTS = 6
TXN_PER_PART = 250_000


def _ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    return pc.binary_join_element_wise(
        prefix, pc.utf8_lpad(pa.array(numbers).cast(pa.string()), width, "0"), ""
    )


@pytest.fixture(scope="module")
def big_input(tmp_path_factory) -> Path:
    """People plus several parts of transactions, all valid."""
    root = tmp_path_factory.mktemp("atomic") / "in"
    (root / "transactions").mkdir(parents=True)
    rng = np.random.default_rng(1)
    people = pa.table(
        {
            "person_id": _ids("P", np.arange(PEOPLE), 7),
            "birth_year": pa.array(rng.integers(1940, 2005, PEOPLE)),
            "country": pa.array(["DE"] * PEOPLE),
            "first_seen": pa.array(np.full(PEOPLE, np.datetime64("2020-01-01"))).cast(pa.date32()),
        },
        schema=get_table("people").schema,
    )
    pq.write_table(people, root / "people.parquet")
    for part in range(TXN_PARTS):
        n = TXN_PER_PART
        start = part * n
        ts = np.datetime64("2023-01-01T00:00:00") + rng.integers(0, 365 * 86400, n).astype(
            "timedelta64[s]"
        )
        txns = pa.table(
            {
                "txn_id": _ids("T", np.arange(start, start + n), 9),
                "person_id": _ids("P", rng.integers(0, PEOPLE, n), 7),
                "ts": pa.array(ts).cast(pa.timestamp("us")),
                "amount": pa.array(rng.gamma(2.0, 20.0, n)),
                "direction": pa.array(["debit"] * n),
                "merchant_category": pa.array(["groceries"] * n),
                "channel": pa.array(["online"] * n),
            },
            schema=get_table("transactions").schema,
        )
        pq.write_table(txns, root / "transactions" / f"part-{part:05d}.parquet")
    return root


def _run_ingest(source: Path, store: Path, env_extra: dict[str, str] | None = None):
    env = {**os.environ, **(env_extra or {})}
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "openbureau",
            "ingest",
            str(source),
            "--store",
            str(store),
            "--json",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )


def _state(store: Path) -> tuple[int, int, int]:
    with Store(store) as s:
        counts = s.table_counts()
        batches = s.scalar("SELECT count(*) FROM ingest_batches")
    return counts["people"], counts["transactions"], batches


FULL = (PEOPLE, TXN_PARTS * TXN_PER_PART, 1)


def test_killed_after_some_files_leaves_nothing(big_input, tmp_path):
    store = tmp_path / "store"
    proc = _run_ingest(big_input, store, {FAULT_ENV: "3"})
    proc.communicate(timeout=300)
    assert proc.returncode == -signal.SIGKILL  # it really died midway, before COMMIT
    with pytest.raises(RuntimeError, match="interrupted ingest"):
        Store(store, read_only=True)  # a reader is never shown half a batch
    assert _state(store) == (0, 0, 0)
    # and the store is healthy: a fresh ingest lands the whole batch
    proc = _run_ingest(big_input, store)
    proc.communicate(timeout=300)
    assert proc.returncode == 0
    assert _state(store) == FULL


@pytest.mark.parametrize("delay", [0.8, 1.6, 2.4, 3.2])
def test_sigkill_at_any_moment_is_all_or_nothing(big_input, tmp_path, delay):
    store = tmp_path / "store"
    proc = _run_ingest(big_input, store)
    time.sleep(delay)
    was_running = proc.poll() is None
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=300)
    state = _state(store)
    assert state in ((0, 0, 0), FULL), f"partial batch after kill at {delay}s: {state}"
    if was_running:
        assert proc.returncode == -signal.SIGKILL
