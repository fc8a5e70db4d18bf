"""Shared values of the feedback tests."""

from __future__ import annotations

from datetime import UTC, datetime

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
