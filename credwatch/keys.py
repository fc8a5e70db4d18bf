"""API keys for the scoring service: created, listed, revoked and checked.

A key is 32 random bytes (`secrets.token_urlsafe`) behind the prefix `cwk_`. Only
its SHA-256 is stored: a key that random cannot be guessed from its hash, so a slow
password hash would buy nothing and cost a millisecond per request. The first
characters after the prefix are kept in the clear so that people can tell their
keys apart in `credwatch keys list`.

Scopes: `score` may call `POST /v1/score`; `read` may read identities and
incidents; `admin` may do both.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from sqlalchemy import CheckConstraint, Integer, String, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from credwatch.db import Base, UTCDateTime
from credwatch.errors import CredwatchError
from credwatch.settings import Settings

logger = logging.getLogger(__name__)

Scope = Literal["score", "read", "admin"]
SCOPES: tuple[Scope, ...] = ("score", "read", "admin")
KEY_PREFIX = "cwk_"
SHOWN_CHARACTERS = 8
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class ApiKeyError(CredwatchError):
    """A key command that cannot be carried out (unknown name, name taken)."""


class ApiKey(Base):
    """One API key: who it is for, what it may do, and its hash."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    scope: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    shown: Mapped[str] = mapped_column(String(32))
    rate_per_minute: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        CheckConstraint("scope IN ('score', 'read', 'admin')", name="scope"),
    )


@dataclass(frozen=True)
class KeyInfo:
    """What the service knows about a caller once its key is checked."""

    id: int
    name: str
    scope: str
    rate_per_minute: int | None

    def allows(self, scope: str) -> bool:
        return self.scope == "admin" or self.scope == scope


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def create_key(
    settings: Settings,
    name: str,
    *,
    scope: str = "score",
    rate_per_minute: int | None = None,
    now: datetime | None = None,
) -> tuple[str, dict[str, object]]:
    """Create a key; return it (shown once, never stored) and its description."""
    if not _NAME.match(name):
        raise ApiKeyError(
            f"key name {name!r}: use 1-64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    if scope not in SCOPES:
        raise ApiKeyError(f"scope {scope!r}: expected one of {', '.join(SCOPES)}")
    if rate_per_minute is not None and rate_per_minute < 1:
        raise ApiKeyError("the rate limit must be at least 1 request per minute")
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    row = ApiKey(
        name=name,
        scope=scope,
        key_hash=hash_key(key),
        shown=key[: len(KEY_PREFIX) + SHOWN_CHARACTERS],
        rate_per_minute=rate_per_minute,
        created_at=now or datetime.now(UTC),
    )
    with _sessions(settings)() as session:
        session.add(row)
        try:
            session.commit()
        except IntegrityError:
            raise ApiKeyError(f"a key named {name!r} exists already") from None
        logger.info("created API key %s with scope %s", name, scope)
        return key, key_as_dict(row)


def list_keys(settings: Settings) -> list[dict[str, object]]:
    """Every key, revoked ones included, oldest first; never the key itself."""
    with _sessions(settings)() as session:
        rows = session.scalars(select(ApiKey).order_by(ApiKey.id))
        return [key_as_dict(row) for row in rows]


def revoke_key(
    settings: Settings, name: str, *, now: datetime | None = None
) -> dict[str, object]:
    """Revoke the key called `name`; revoking twice keeps the first time."""
    with _sessions(settings)() as session:
        row = session.scalars(select(ApiKey).where(ApiKey.name == name)).one_or_none()
        if row is None:
            raise ApiKeyError(f"no API key named {name!r}")
        if row.revoked_at is None:
            row.revoked_at = now or datetime.now(UTC)
            session.commit()
            logger.info("revoked API key %s", name)
        return key_as_dict(row)


def check_key(settings: Settings, key: str) -> KeyInfo | None:
    """The live key matching `key`, or None for an unknown or revoked one."""
    if not key.startswith(KEY_PREFIX) or len(key) > 256:
        return None
    digest = hash_key(key)
    with _sessions(settings)() as session:
        row = session.scalars(
            select(ApiKey).where(ApiKey.key_hash == digest)
        ).one_or_none()
        # The lookup is by hash, so timing reveals nothing about the key; the
        # explicit constant-time comparison keeps it that way whatever the index does.
        if row is None or not hmac.compare_digest(row.key_hash, digest):
            return None
        if row.revoked_at is not None:
            return None
        return KeyInfo(row.id, row.name, row.scope, row.rate_per_minute)


def key_as_dict(row: ApiKey) -> dict[str, object]:
    return {
        "name": row.name,
        "scope": row.scope,
        "key_starts": row.shown,
        "rate_per_minute": row.rate_per_minute,
        "created_at": _zulu(row.created_at),
        "revoked_at": _zulu(row.revoked_at),
    }


def _sessions(settings: Settings):
    from response.flows import session_factory

    return session_factory(settings)


def _zulu(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None
