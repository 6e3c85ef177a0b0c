"""Incremental re-scoring against a full run: time ratio and people per second.

Each run is ``openbureau rescore`` in its own process, as a scheduler runs it (start-up and
imports count), timed in wall and CPU seconds (wait4).

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
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
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
        accounts = db.con.sql(
            "SELECT person_id, min(account_id) AS account_id FROM accounts "
            "WHERE opened < $due AND account_id NOT IN "
            "(SELECT account_id FROM repayments WHERE due_date = $due) "
            "GROUP BY person_id ORDER BY person_id",
            params={"due": due},
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


@dataclass(frozen=True)
class Timed:
    """One ``openbureau rescore`` process: its report, wall seconds and CPU seconds (user +
    system of the process and its threads, from wait4: on a shared machine the wall
    clock also measures the neighbours)."""

    report: dict[str, Any]
    seconds: float
    cpu_seconds: float

    @property
    def run(self) -> Path:
        return Path(self.report["run"])


def rescore_cli(store: Path, model: Path, as_of: dt.date, runs: Path, mode: str) -> Timed:
    """Run the command a scheduler runs, in its own process (imports and start-up count)."""
    command = [str(Path(sys.executable).with_name("openbureau")), "rescore", f"--{mode}"]
    command += ["--store", str(store), "--model", str(model), "--as-of", as_of.isoformat()]
    command += ["--runs", str(runs), "--json"]
    env = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE"}
    started = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, env=env)
    out = proc.stdout.read() if proc.stdout else b""
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"openbureau rescore --{mode} failed: {' '.join(command)}")
    return Timed(json.loads(out), seconds, usage.ru_utime + usage.ru_stime)


def run(
    store: Path, model: Path, as_of: dt.date, share: float, seed: int, work: Path, kind: str
) -> dict[str, Any]:
    runs = work / "runs"
    full1 = rescore_cli(store, model, as_of, runs, "full")
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
    inc = rescore_cli(store, model, as_of, runs, "incremental")
    full2 = rescore_cli(store, model, as_of, runs, "full")
    equal = pq.read_table(inc.run / SCORES_FILE).equals(pq.read_table(full2.run / SCORES_FILE))
    people = full1.report["people"]
    return {
        "people": people,
        "changed_people": batch.num_rows,
        "kind": kind,
        "network_recomputed": kind != "bills",
        "share": share,
        "seed": seed,
        "as_of": as_of.isoformat(),
        "model_id": full1.report["model_id"],
        "policy": full1.report["policy"],
        "full_1_s": full1.seconds,
        "full_1_cpu_s": full1.cpu_seconds,
        "ingest_s": ingest_s,
        "incremental_s": inc.seconds,
        "incremental_cpu_s": inc.cpu_seconds,
        "full_2_s": full2.seconds,
        "full_2_cpu_s": full2.cpu_seconds,
        "rescored": inc.report["rescored"],
        "rescored_by_events": inc.report["changed_by_events"],
        "rescored_by_network": inc.report["changed_by_network"],
        "carried_over": inc.report["carried_over"],
        "incremental_equals_full": equal,
        "time_ratio_full_over_incremental": _mean(full1.seconds, full2.seconds) / inc.seconds,
        "cpu_ratio_full_over_incremental": _mean(full1.cpu_seconds, full2.cpu_seconds)
        / inc.cpu_seconds,
        "full_people_per_s": people / _mean(full1.seconds, full2.seconds),
        "incremental_rescored_per_s": inc.report["rescored"] / inc.seconds,
        "incremental_population_per_s": people / inc.seconds,
        "load_average_after": os.getloadavg(),
    }


def _mean(a: float, b: float) -> float:
    return (a + b) / 2


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
    for col in ("run", "wall s", "CPU s", "people re-scored", "re-scored per wall s"):
        table.add_column(col, justify="left" if col == "run" else "right")
    rows = [
        ("full", "full_1", result["people"]),
        ("incremental", "incremental", result["rescored"]),
        ("full again", "full_2", result["people"]),
    ]
    for name, key, people in rows:
        wall, cpu = result[f"{key}_s"], result[f"{key}_cpu_s"]
        table.add_row(name, f"{wall:.1f}", f"{cpu:.1f}", f"{people:,}", f"{people / wall:,.0f}")
    table.add_row("ingest (1 batch)", f"{result['ingest_s']:.1f}", "", "", "")
    console.print(table)
    console.print(
        "full (mean of two) / incremental: wall "
        f"{result['time_ratio_full_over_incremental']:.1f}x, "
        f"CPU {result['cpu_ratio_full_over_incremental']:.1f}x; "
        f"incremental equals full: {result['incremental_equals_full']}; "
        f"load average after {result['load_average_after']}"
    )
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2) + "\n")
    if not result["incremental_equals_full"]:
        raise SystemExit("the incremental run differs from the full run")


if __name__ == "__main__":
    main()
