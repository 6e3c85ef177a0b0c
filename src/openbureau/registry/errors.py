"""The registry's one error type: every refusal says which model, report or check, and why."""

from __future__ import annotations


class RegistryError(ValueError):
    """A registration, promotion or retirement that cannot be done, and why.

    ``status`` is the HTTP status the admin API answers with (404 unknown model,
    409 a state conflict, 422 a report that does not allow the change)."""

    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.status = status
