"""What an ingest did, file by file, with the accounting that must always balance."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class FileReport:
    path: str
    table: str | None
    format: str | None
    status: str  # ingested | rejected | skipped
    read: int = 0
    accepted: int = 0
    quarantined: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    error_code: str | None = None
    error_message: str | None = None
    ignored_columns: list[str] = field(default_factory=list)
    already_in_batch: int | None = None

    def __post_init__(self) -> None:
        if self.read != self.accepted + self.quarantined:
            raise AssertionError(
                f"{self.path}: accounting broken: read {self.read} != accepted "
                f"{self.accepted} + quarantined {self.quarantined}"
            )


@dataclass
class IngestReport:
    store: str
    batch_id: int | None  # None when nothing new was found (a no-op)
    files: list[FileReport]
    examples: list[dict[str, Any]]  # a few quarantined rows per reason, to show a person
    seconds: float

    @property
    def read(self) -> int:
        return sum(f.read for f in self.files)

    @property
    def accepted(self) -> int:
        return sum(f.accepted for f in self.files)

    @property
    def quarantined(self) -> int:
        return sum(f.quarantined for f in self.files)

    @property
    def reasons(self) -> dict[str, int]:
        total: Counter[str] = Counter()
        for f in self.files:
            total.update(f.reasons)
        return dict(total.most_common())

    @property
    def rejected_files(self) -> list[FileReport]:
        return [f for f in self.files if f.status == "rejected"]

    @property
    def skipped_files(self) -> list[FileReport]:
        return [f for f in self.files if f.status == "skipped"]

    @property
    def clean(self) -> bool:
        """True when every row was accepted and no file was refused."""
        return self.quarantined == 0 and not self.rejected_files

    def to_dict(self) -> dict[str, Any]:
        return {
            "store": self.store,
            "batch_id": self.batch_id,
            "read": self.read,
            "accepted": self.accepted,
            "quarantined": self.quarantined,
            "reasons": self.reasons,
            "files_read": len(self.files),
            "files_ingested": sum(f.status == "ingested" for f in self.files),
            "files_rejected": len(self.rejected_files),
            "files_skipped": len(self.skipped_files),
            "files": [asdict(f) for f in self.files],
            "examples": self.examples,
            "seconds": round(self.seconds, 3),
        }
