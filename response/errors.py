"""Errors of the response stage; all are `CredwatchError`s so commands report them."""

from __future__ import annotations

from credwatch.errors import CredwatchError


class ResponseError(CredwatchError):
    """Root of the response stage's errors."""


class PolicyError(ResponseError, ValueError):
    """A response policy file that cannot be read or is not a valid policy."""


class UnknownIncident(ResponseError, LookupError):
    """No incident has the given id."""


class InvalidVerdict(ResponseError, ValueError):
    """A verdict that is not one of `VERDICTS`."""
