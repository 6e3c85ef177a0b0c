"""What every command of the CLI shares: date options, usage errors, progress bars.

One place, so that a bad date or a missing file reads and exits the same way (one red
line, exit code 2) in ``train``, ``score``, ``rescore``, ``monitor`` and ``release``.
Light imports only (typer and rich): ``openbureau --help`` stays fast.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

EXIT_USAGE = 2
# What a command reports as a usage error instead of a traceback; PolicyError and
# PolicyPackError are ValueErrors.
USAGE_ERRORS: tuple[type[Exception], ...] = (ValueError, FileExistsError, FileNotFoundError)

err = Console(stderr=True)


def fail(message: str, console: Console | None = None) -> typer.Exit:
    """Print one red error line; the caller raises what this returns (exit 2)."""
    (console or err).print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(EXIT_USAGE)


def parse_date(value: str, option: str = "--as-of") -> dt.date:
    """An ISO date from an option, or a usage error naming the option."""
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise fail(f"{option} {value!r} is not a date (YYYY-MM-DD)") from None


def optional_date(value: str | None, option: str) -> dt.date | None:
    return None if value is None or value == "" else parse_date(value, option)


@contextmanager
def usage_errors(
    errors: tuple[type[Exception], ...] = USAGE_ERRORS, console: Console | None = None
) -> Iterator[None]:
    """Turn the errors a person can fix (bad date, missing model, forbidden factor) into
    one red line and exit code 2."""
    try:
        yield
    except errors as exc:
        raise fail(str(exc), console) from None


def progress_bar(enabled: bool, console: Console | None = None) -> Progress:
    """The bar every long command shows on stderr (hidden for --json)."""
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console or err,
        disable=not enabled,
        transient=False,
    )


class StepBar:
    """One bar per step, fed by a ``progress(step, done, total)`` callback, as the
    workflows (rescore, release) report it."""

    def __init__(self, *, enabled: bool, console: Console | None = None) -> None:
        self.progress = progress_bar(enabled, console)
        self.tasks: dict[str, Any] = {}  # step -> Rich TaskID

    def __enter__(self) -> Callable[[str, int, int], None]:
        self.progress.__enter__()
        return self.tick

    def __exit__(self, *exc: Any) -> None:
        self.progress.__exit__(*exc)

    def tick(self, step: str, done: int, total: int) -> None:
        if step not in self.tasks:
            self.tasks[step] = self.progress.add_task(step, total=total)
        self.progress.update(self.tasks[step], completed=done, total=total)
