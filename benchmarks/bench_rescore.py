"""Incremental re-scoring against a full run: time ratio and people per second.

On a store and a model: a full run; then one ingest batch for a random share of the
population (seeded): late-reported bill payments (``--kind bills``, the default), or late
repayments (``--kind repayments``); an incremental run; a second full run; the
incremental run's scores must equal the second full run's exactly. The network reads no
bills, so with bills the walk is skipped; repayments are a network input, so it runs
again (none is 90+ days late, so no new seed: the same people are re-scored). A new
default or a new borrower would also move the network's population rate, and so the
network features of nearly everyone; see docs/rescore.md.

The store is copied first (the batch is not left in it) unless --in-place is given.

    OMP_WAIT_POLICY=PASSIVE python benchmarks/bench_rescore.py --store STORE --model MODEL
        [--as-of 2025-12-31] [--share 0.01] [--seed 0] [--kind bills|repayments]
        [--work DIR] [--in-place]
        [--json benchmarks/results/rescore.json]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from rich.console import Console
from rich.table import Table

from openbureau.contract import get_table
from openbureau.ingest import ingest
from openbureau.store import Store
from openbureau.store.database import DB_FILE
from openbureau.workflow.rescore import rescore
from openbureau.workflow.rescore_runs import SCORES_FILE


def late_bills(people: pa.Array, share: float, seed: int, as_of: dt.date) -> pa.Table:
    """One late-reported, late-paid phone bill for a random ``share`` of ``people``."""
    rng = np.random.default_rng(seed)
    n = max(1, round(len(people) * share))
    chosen = people.take(pa.array(np.sort(rng.choice(len(people), n, replace=False))))
    due = as_of - dt.timedelta(days=45)
    late = rng.integers(1, 40, n)
    schema = get_table("bills").schema
    return pa.table(
        {
            "bill_id": pa.array([f"BENCH{seed}-{i:08d}" for i in range(n)]),
            "person_id": chosen.cast(pa.string()),
            "kind": pa.array(["phone"] * n),
            "due_date": pa.array([due] * n, pa.date32()),
            "amount_due": pa.array(rng.integers(20, 80, n).astype(float)),
            "paid_date": pa.array([due + dt.timedelta(days=int(d)) for d in late], pa.date32()),
            "amount_paid": pa.array(rng.integers(20, 80, n).astype(float)),
        }
    ).cast(schema)


def late_repayments(
    store: Path, people: pa.Array, share: float, seed: int, as_of: dt.date
) -> pa.Table:
    """One late (1-39 days, so no new default) repayment on an account of each of a random
    ``share`` of the borrowers: a table the network reads, so the walk runs again."""
    rng = np.random.default_rng(seed)
    due = as_of - dt.timedelta(days=43)
    with Store(store, read_only=True) as db:
        accounts = db.con.execute(
            "SELECT person_id, min(account_id) AS account_id FROM accounts "
            "WHERE opened < $1 AND account_id NOT IN "
            "(SELECT account_id FROM repayments WHERE due_date = $1) "
            "GROUP BY person_id ORDER BY person_id",
            [due],
        ).to_arrow_table()
    n = max(1, round(len(people) * share))
    chosen = np.sort(rng.choice(accounts.num_rows, min(n, accounts.num_rows), replace=False))
    picked = accounts.take(pa.array(chosen))
    n = picked.num_rows
    late = rng.integers(1, 40, n)
    schema = get_table("repayments").schema
    return pa.table(
        {
            "account_id": picked["account_id"],
            "due_date": pa.array([due] * n, pa.date32()),
            "amount_due": pa.array(rng.integers(50, 400, n).astype(float)),
            "paid_date": pa.array([due + dt.timedelta(days=int(d)) for d in late], pa.date32()),
            "amount_paid": pa.array(rng.integers(50, 400, n).astype(float)),
            "balance": pa.array(rng.integers(500, 5000, n).astype(float)),
        }
    ).cast(schema)


def run(
    store: Path, model: Path, as_of: dt.date, share: float, seed: int, work: Path, kind: str
) -> dict[str, Any]:
    runs = work / "runs"
    full1 = rescore(store, model, as_of, runs, mode="full")
    people = pq.read_table(full1.run / SCORES_FILE, columns=["person_id"])["person_id"]
    if kind == "bills":
        batch = late_bills(people.combine_chunks(), share, seed, as_of)
    else:
        batch = late_repayments(store, people.combine_chunks(), share, seed, as_of)
    (work / "batch").mkdir(exist_ok=True)
    pq.write_table(batch, work / "batch" / f"{kind}.parquet")
    t = time.perf_counter()
    with Store(store) as db:
        accounting = ingest([work / "batch"], db)
    ingest_s = time.perf_counter() - t
    if not accounting.clean:
        raise RuntimeError(f"the benchmark batch was not ingested cleanly: {accounting}")
    inc = rescore(store, model, as_of, runs, mode="incremental")
    full2 = rescore(store, model, as_of, runs, mode="full")
    equal = pq.read_table(inc.run / SCORES_FILE).equals(pq.read_table(full2.run / SCORES_FILE))
    return {
        "people": full1.people,
        "changed_people": batch.num_rows,
        "kind": kind,
        "network_recomputed": kind != "bills",
        "share": share,
        "seed": seed,
        "as_of": as_of.isoformat(),
        "model_id": full1.model_id,
        "policy": full1.policy,
        "full_1_s": full1.seconds,
        "ingest_s": ingest_s,
        "incremental_s": inc.seconds,
        "full_2_s": full2.seconds,
        "rescored": inc.rescored,
        "rescored_by_events": inc.changed_by_events,
        "rescored_by_network": inc.changed_by_network,
        "carried_over": inc.carried_over,
        "incremental_equals_full": equal,
        "time_ratio_full_over_incremental": full2.seconds / inc.seconds,
        "full_people_per_s": full2.people / full2.seconds,
        "incremental_rescored_per_s": inc.rescored / inc.seconds,
        "incremental_population_per_s": inc.people / inc.seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", type=Path, required=True)
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--as-of", type=dt.date.fromisoformat, default=dt.date(2025, 12, 31))
    parser.add_argument("--share", type=float, default=0.01, help="Share of people changed.")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--kind",
        choices=("bills", "repayments"),
        default="bills",
        help="What the batch holds: late bills (no table the network reads: the walk is "
        "skipped) or late repayments (the network reads them: the walk runs again).",
    )
    parser.add_argument("--work", type=Path, default=None, help="Folder for the copy and runs.")
    parser.add_argument("--in-place", action="store_true", help="Ingest into --store itself.")
    parser.add_argument("--json", type=Path, default=Path("benchmarks/results/rescore.json"))
    args = parser.parse_args()
    if not 0.0 < args.share <= 1.0:
        parser.error(f"--share must be in (0, 1], got {args.share}")
    if not (args.store / DB_FILE).is_file():
        parser.error(f"--store {args.store} holds no {DB_FILE}")
    own_work = args.work is None
    work = (
        Path(tempfile.mkdtemp(prefix="bench-rescore-", dir=args.store.parent))
        if own_work
        else args.work
    )
    work.mkdir(parents=True, exist_ok=True)
    store = args.store
    console = Console()
    try:
        if not args.in_place:
            t = time.perf_counter()
            store = work / "store"
            store.mkdir()
            shutil.copy2(args.store / DB_FILE, store / DB_FILE)
            console.print(f"copied the store in {time.perf_counter() - t:.1f}s -> {store}")
        result = run(store, args.model, args.as_of, args.share, args.seed, work, args.kind)
    finally:
        if own_work:
            shutil.rmtree(work, ignore_errors=True)
    result.update(
        store=str(args.store),
        model=str(args.model),
        machine={"cpus": os.cpu_count(), "python": platform.python_version()},
        finished_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    )
    table = Table(
        title=f"rescore: {result['people']:,} people, {result['changed_people']:,} changed "
        f"by late {result['kind']}"
    )
    table.add_column("run")
    table.add_column("seconds", justify="right")
    table.add_column("people re-scored", justify="right")
    table.add_column("people/s", justify="right")
    table.add_row(
        "full",
        f"{result['full_1_s']:.1f}",
        f"{result['people']:,}",
        f"{result['people'] / result['full_1_s']:,.0f}",
    )
    table.add_row("ingest (1 batch)", f"{result['ingest_s']:.1f}", "", "")
    table.add_row(
        "incremental",
        f"{result['incremental_s']:.1f}",
        f"{result['rescored']:,}",
        f"{result['incremental_rescored_per_s']:,.0f}",
    )
    table.add_row(
        "full again",
        f"{result['full_2_s']:.1f}",
        f"{result['people']:,}",
        f"{result['full_people_per_s']:,.0f}",
    )
    console.print(table)
    console.print(
        f"full / incremental time ratio {result['time_ratio_full_over_incremental']:.1f}x; "
        f"incremental equals full: {result['incremental_equals_full']}"
    )
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2) + "\n")
    if not result["incremental_equals_full"]:
        raise SystemExit("the incremental run differs from the full run")


if __name__ == "__main__":
    main()
