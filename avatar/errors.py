"""Errors that carry where bad data came from, so users can fix the file they wrote."""

from __future__ import annotations

from pathlib import Path


class DataError(ValueError):
    """A scene, catalog or voice file that cannot be used.

    The message always reads ``file: field: problem`` so an operator can go straight to the line.
    """

    def __init__(self, file: Path | str, field: str, problem: str) -> None:
        self.file = str(file)
        self.field = field
        self.problem = problem
        super().__init__(f"{self.file}: {field}: {problem}")
