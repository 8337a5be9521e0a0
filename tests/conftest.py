"""Shared test helpers: requirements that skip locally but fail in CI."""

from __future__ import annotations

import os

import pytest


def require(condition: bool, what: str) -> None:
    """Skip when a slow test's real part (browser, model) is missing, but fail under CI=true."""
    if condition:
        return
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        pytest.fail(f"{what} is missing; CI must have it (run `make setup`)")
    pytest.skip(f"{what} is missing (run `make setup`)")
