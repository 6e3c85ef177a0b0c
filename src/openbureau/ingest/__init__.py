"""Safe ingest: every row accepted or quarantined with its reason, batches atomic."""

from openbureau.ingest.batch import ingest
from openbureau.ingest.errors import FILE_REASONS, ROW_REASONS, FileRejected
from openbureau.ingest.report import FileReport, IngestReport

__all__ = ["FILE_REASONS", "ROW_REASONS", "FileRejected", "FileReport", "IngestReport", "ingest"]
