"""Training at population scale: simulate → ingest → train through the CLI, timed per phase.

Each phase is the command a user would run (``openbureau simulate``, ``ingest``, ``train``)
in its own process, so the peak resident memory reported for it (from ``wait4``) is that
phase's alone. The question it answers: does training on a million simulated people fit in
this machine's memory, and how long does the whole path take?

    python benchmarks/bench_train.py [--people 1000000] [--months 24] [--seed 0]
                                     [--keep DIR] [--json benchmarks/results/train.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parent
CLI = [str(Path(sys.executable).with_name("openbureau"))]  # the installed console script


def run_phase(name: str, args: list[str], console: Console) -> dict[str, Any]:
    """Run one CLI command; its wall time and the peak RSS of its process tree's leader."""
    console.print(f"[bold]{name}[/]: openbureau {' '.join(args)}")
    env = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE"}
    started = time.perf_counter()
    proc = subprocess.Popen([*CLI, *args], env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):  # 1 = some rows quarantined, still a usable store
        raise SystemExit(f"{name} failed with exit code {code}")
    return {"phase": name, "seconds": seconds, "peak_rss_bytes": usage.ru_maxrss * 1024}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=1_000_000)
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", type=Path, help="work here and keep the store and model")
    parser.add_argument("--reuse", action="store_true", help="reuse a simulation in --keep")
    parser.add_argument("--json", type=Path, default=ROOT / "results" / "train.json")
    args = parser.parse_args(argv)
    console = Console(stderr=True)

    work = args.keep or Path(tempfile.mkdtemp(prefix="openbureau-bench-train-"))
    work.mkdir(parents=True, exist_ok=True)
    sim, store, model = work / "sim", work / "store", work / "model"
    try:
        phases = []
        if args.reuse and (sim / "_manifest.json").exists():
            console.print(f"reusing the simulation in {sim}")
        else:
            phases.append(
                run_phase(
                    "simulate",
                    [
                        "simulate",
                        "--out",
                        str(sim),
                        "--people",
                        str(args.people),
                        "--months",
                        str(args.months),
                        "--seed",
                        str(args.seed),
                        "--overwrite",
                    ],
                    console,
                )
            )
        shutil.rmtree(store, ignore_errors=True)
        as_of = json.loads((sim / "_manifest.json").read_text())["window"]["as_of"]
        phases.append(run_phase("ingest", ["ingest", str(sim), "--store", str(store)], console))
        phases.append(
            run_phase(
                "train",
                [
                    "train",
                    "--store",
                    str(store),
                    "--as-of",
                    as_of,
                    "--out",
                    str(model),
                    "--overwrite",
                ],
                console,
            )
        )
        artifact = json.loads((model / "artifact.json").read_text())
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)

    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    result = {
        "people": args.people,
        "months": args.months,
        "as_of": as_of,
        "phases": phases,
        "total_seconds": sum(p["seconds"] for p in phases),
        "machine_memory_bytes": memory,
        "metrics": artifact.get("metrics", {}),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
    }
    table = Table(title=f"openbureau train at scale — {args.people:,} people, {args.months} months")
    for col in ("phase", "seconds", "peak RSS", "share of RAM"):
        table.add_column(col, justify="left" if col == "phase" else "right")
    for p in phases:
        table.add_row(
            p["phase"],
            f"{p['seconds']:.1f}",
            f"{p['peak_rss_bytes'] / 2**30:.2f} GiB",
            f"{p['peak_rss_bytes'] / memory:.0%}",
        )
    Console().print(table)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2))
    console.print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
