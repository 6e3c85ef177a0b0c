"""Ingest throughput: openbureau's validated ingest against a bare DuckDB load of the
same Parquet files (no checks), in the same run. The ratio is the price of validation,
quarantine and lineage.

    python benchmarks/bench_ingest.py [--people 100000] [--months 24] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

import duckdb
from rich.console import Console
from rich.table import Table

from openbureau.contract import TABLES
from openbureau.ingest import ingest
from openbureau.sim import simulate
from openbureau.store import Store


def bare_load(sim_dir: Path, db_path: Path) -> tuple[int, float]:
    """The peer: DuckDB reading the same files straight into tables, nothing checked."""
    start = time.perf_counter()
    con = duckdb.connect(str(db_path))
    rows = 0
    for table in TABLES:
        files = sorted((sim_dir / table.name).glob("*.parquet"))
        if not files:
            continue
        listing = ", ".join(f"'{f}'" for f in files)
        con.execute(f'CREATE TABLE "{table.name}" AS SELECT * FROM read_parquet([{listing}])')
        rows += con.execute(f'SELECT count(*) FROM "{table.name}"').fetchall()[0][0]
    con.close()
    return rows, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--json", type=Path, default=Path("benchmarks/results/ingest.json"))
    args = parser.parse_args()
    console = Console()
    work = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    try:
        sim_dir = work / "sim"
        console.print(f"simulating {args.people:,} people x {args.months} months ...")
        simulate(sim_dir, people=args.people, months=args.months, seed=1)
        bare_rows, bare_s = bare_load(sim_dir, work / "bare.duckdb")
        with Store(work / "store") as store:
            start = time.perf_counter()
            report = ingest([sim_dir], store)
            ob_s = time.perf_counter() - start
            start = time.perf_counter()
            again = ingest([sim_dir], store)
            noop_s = time.perf_counter() - start
        assert report.read == bare_rows, (report.read, bare_rows)
        results = {
            "people": args.people,
            "months": args.months,
            "rows": bare_rows,
            "bare_duckdb_seconds": round(bare_s, 3),
            "openbureau_seconds": round(ob_s, 3),
            "openbureau_rows_per_second": round(bare_rows / ob_s),
            "bare_rows_per_second": round(bare_rows / bare_s),
            "validation_overhead_ratio": round(ob_s / bare_s, 2),
            "quarantined": report.quarantined,
            "reingest_noop_seconds": round(noop_s, 3),
            "reingest_batch": again.batch_id,
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)
    table = Table(title=f"ingest of {args.people:,} simulated people ({bare_rows:,} rows)")
    for col in ("engine", "seconds", "rows/s", "ratio"):
        table.add_column(col, justify="right" if col != "engine" else "left")
    table.add_row(
        "bare DuckDB load (no checks)", f"{bare_s:.2f}", f"{bare_rows / bare_s:,.0f}", "1.00"
    )
    table.add_row(
        "openbureau ingest (validated)",
        f"{ob_s:.2f}",
        f"{bare_rows / ob_s:,.0f}",
        f"{ob_s / bare_s:.2f}",
    )
    table.add_row("openbureau re-ingest (no-op)", f"{noop_s:.2f}", "", f"{noop_s / bare_s:.2f}")
    console.print(table)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2))
    console.print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
