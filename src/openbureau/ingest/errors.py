"""Errors raised while reading a file: a whole file refused, or one row unparseable."""

from __future__ import annotations

from dataclasses import dataclass

from openbureau.contract.reasons import FILE_REASONS, ROW_REASONS

__all__ = ["FILE_REASONS", "ROW_REASONS", "FileRejected", "RowError"]


@dataclass
class FileRejected(Exception):
    """A file refused as a whole, with where and why."""

    path: str
    code: str
    message: str

    def __post_init__(self) -> None:
        if self.code not in FILE_REASONS:
            raise ValueError(f"unknown file rejection code {self.code!r}")

    def __str__(self) -> str:
        return f"{self.path}: {self.code}: {self.message}"


@dataclass(frozen=True)
class RowError:
    """A structural problem found while parsing, before any field is checked."""

    row: int
    reason: str
    message: str
    raw: str
