"""The runs folder of ``openbureau rescore``: numbered runs that appear only when complete.

A run is written into a hidden ``.run-NNNN.partial`` folder and renamed to ``run-NNNN``
at the end (a rename is atomic on one file system), so a run killed midway leaves no run
folder, only a hidden partial one that the next run removes. One run at a time writes to
a runs folder: an exclusive lock (``.lock``, released by the kernel even after ``kill -9``)
keeps two re-scores from numbering the same run or continuing the same base.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

RUN_FILE = "run.json"
FEATURES_FILE = "features.parquet"
SCORES_FILE = "scores.parquet"
RESCORED_FILE = "rescored.parquet"
LOCK_FILE = ".lock"
_RUN_NAME = re.compile(r"^run-(\d{4,})$")
_PARTIAL = re.compile(r"^\.run-\d{4,}\.partial$")


class RescoreError(ValueError):
    """A re-score that must not run as asked, and why (a usage error: exit code 2)."""


@dataclass(frozen=True)
class Run:
    """A complete run: its folder and what its run.json records."""

    path: Path
    record: dict[str, Any]

    @property
    def name(self) -> str:
        return self.path.name


@dataclass(frozen=True)
class PendingRun:
    """A run being written: files go to ``partial``; ``commit`` makes it ``final``."""

    name: str
    partial: Path
    final: Path

    def commit(self) -> Path:
        """Flush every file, then rename the folder into place (the run becomes visible)."""
        for file in self.partial.iterdir():
            with file.open("rb") as fh:
                os.fsync(fh.fileno())
        os.rename(self.partial, self.final)
        _fsync_dir(self.final.parent)
        return self.final


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def complete_runs(runs_dir: Path) -> list[Run]:
    """Every complete run in ``runs_dir``, oldest first (by number)."""
    if not runs_dir.is_dir():
        return []
    found = []
    for child in runs_dir.iterdir():
        match = _RUN_NAME.match(child.name)
        if match and (child / RUN_FILE).is_file():
            found.append((int(match.group(1)), child))
    runs = []
    for _, folder in sorted(found):
        try:
            record = json.loads((folder / RUN_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise RescoreError(f"{folder / RUN_FILE} is not readable JSON: {exc}") from None
        runs.append(Run(folder, record))
    return runs


def latest_run(runs_dir: Path) -> Run | None:
    runs = complete_runs(runs_dir)
    return runs[-1] if runs else None


@contextmanager
def runs_lock(runs_dir: Path) -> Iterator[None]:
    """Hold the runs folder's exclusive lock, or refuse at once if another run holds it."""
    runs_dir.mkdir(parents=True, exist_ok=True)
    with (runs_dir / LOCK_FILE).open("a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "unknown"
            raise RescoreError(
                f"another rescore is writing to {runs_dir} (process {holder}); wait for it"
            ) from None
        fh.seek(0)
        fh.truncate()
        fh.write(str(os.getpid()))
        fh.flush()
        try:
            yield
        finally:
            fh.truncate(0)
            fcntl.flock(fh, fcntl.LOCK_UN)


def remove_partials(runs_dir: Path) -> list[str]:
    """Delete partial folders of killed runs (only safe under the lock)."""
    removed = []
    for child in runs_dir.iterdir():
        if child.is_dir() and _PARTIAL.match(child.name):
            shutil.rmtree(child)
            removed.append(child.name)
    return removed


@contextmanager
def pending_run(runs_dir: Path) -> Iterator[PendingRun]:
    """A new, numbered partial run folder (call under ``runs_lock``); removed if the block
    raises, so a failed run leaves nothing behind."""
    numbers = [int(_RUN_NAME.match(r.name).group(1)) for r in complete_runs(runs_dir)]  # type: ignore[union-attr]
    name = f"run-{(max(numbers) if numbers else 0) + 1:04d}"
    final = runs_dir / name
    if final.exists():
        raise RescoreError(
            f"{final} exists but holds no {RUN_FILE}: it is not a run; move it out of {runs_dir}"
        )
    partial = runs_dir / f".{name}.partial"
    partial.mkdir()
    try:
        yield PendingRun(name, partial, final)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    if partial.exists():  # the caller did not commit: nothing was meant to be kept
        shutil.rmtree(partial, ignore_errors=True)
