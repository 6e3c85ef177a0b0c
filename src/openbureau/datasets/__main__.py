"""Write a public dataset as an evaluate-ready table with its factor map.

    python -m openbureau.datasets NAME SRC OUT
    openbureau evaluate OUT/table.csv --factors OUT/factors.yaml

NAME is one of give_me_some_credit, home_credit, german_credit, lending_club; SRC the file
or folder as published (see ../shared/data/PROVENANCE.md); OUT the folder to write.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from openbureau.datasets.adapters import ADAPTERS, load_dataset


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m openbureau.datasets",
        description="Write a public credit dataset as table.csv + factors.yaml.",
    )
    parser.add_argument("name", choices=sorted(ADAPTERS))
    parser.add_argument("src", type=Path, help="the dataset file or its folder")
    parser.add_argument("out", type=Path, help="folder to write table.csv and factors.yaml to")
    args = parser.parse_args(argv)
    try:
        ds = load_dataset(args.name, args.src)
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    table, fmap = ds.write(args.out)
    print(f"{table}: {len(ds.table):,} rows, label {ds.label!r}, id {ds.id!r}")
    print(f"{fmap}: the shipped factor map")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
