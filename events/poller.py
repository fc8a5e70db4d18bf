"""Poll the Okta System Log with a saved cursor, so a restart neither misses nor
repeats an event.

Okta's polling query (`since` once, then the `next` link of each page; no
`until`, ascending) never ends: every page, even an empty one, has a `next` link,
and an empty page is asked for again after a pause (api-contracts 1.2).

The cursor lives in the database (`watch_cursors`): the URL of the page being
worked on and the uuids of its events already handled. Each handled event is
marked in the same transaction as the response to it (`mark_handled`), so after a
crash the page is fetched again and no response is repeated or lost. Events that
led to no response are marked in batches (see `credwatch.watch`), so a crash may
have the scorer see a few of those again, with no effect outside it. The page's
`next` link becomes the cursor once every event on it is handled. Okta may also
send an event twice across pages, so the uuids of two pages are kept and a repeat
is skipped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import JSON, String, Text
from sqlalchemy.orm import Mapped, Session, mapped_column

from credwatch.db import Base, UTCDateTime, ensure_utc
from events.readers import read_event_objects
from events.schemas import LogEvent
from integrations.okta import LogSource

logger = logging.getLogger(__name__)

# Two pages' worth: the current page, and the one before it for Okta's repeats.
SEEN_UUIDS_KEPT = 2000
DEFAULT_CURSOR = "okta-system-log"


class WatchCursor(Base):
    """Where the System Log poll stands."""

    __tablename__ = "watch_cursors"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    # The page being worked on (None before the first poll).
    page_url: Mapped[str | None] = mapped_column(Text)
    since: Mapped[datetime | None] = mapped_column(UTCDateTime())
    seen: Mapped[list[str]] = mapped_column(JSON, default=list)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


@dataclass(frozen=True)
class PolledEvent:
    event: LogEvent
    cursor: str


def load_cursor(session: Session, name: str = DEFAULT_CURSOR) -> WatchCursor | None:
    return session.get(WatchCursor, name)


def mark_handled(
    session: Session, *, uuids: list[str], name: str, now: datetime
) -> None:
    """Record that these events are handled, in the caller's transaction."""
    cursor = session.get(WatchCursor, name)
    if cursor is None or not uuids:
        return
    cursor.seen = [*cursor.seen, *uuids][-SEEN_UUIDS_KEPT:]
    cursor.updated_at = ensure_utc(now)


class SystemLogPoller:
    """Yields System Log events one page at a time, resuming from the saved cursor."""

    def __init__(
        self,
        *,
        source: LogSource,
        sessions: Callable[[], Session],
        since: datetime | None,
        now: Callable[[], datetime],
        page_limit: int = 1000,
        name: str = DEFAULT_CURSOR,
    ) -> None:
        self._source = source
        self._sessions = sessions
        self._since = since
        self._now = now
        self._limit = page_limit
        self.name = name
        self._pending_next: str | None = None

    def poll(self) -> list[LogEvent]:
        """The unhandled events of the current page; advances past finished pages.

        Returns an empty list when Okta has nothing new (the caller sleeps).
        """
        with self._sessions() as session:
            cursor = self._cursor(session)
            page_url, seen = cursor.page_url, set(cursor.seen)
            since = cursor.since
            session.commit()
        page = self._source.logs_page(url=page_url, since=since, limit=self._limit)
        events = [
            event
            for event in read_event_objects(page.raw, source=_describe(page.url))
            if event.uuid not in seen
        ]
        with self._sessions() as session:
            cursor = self._cursor(session)
            if cursor.page_url is None:
                # The first page's own URL, so a restart re-reads it, not `since`.
                cursor.page_url = page.url
            if not events and page.events and page.next_url:
                # Everything on this page was handled: move on.
                cursor.page_url = page.next_url
            elif not page.events and page.next_url and page_url is not None:
                # Okta's empty page: its `next` link is where new events will appear.
                cursor.page_url = page.next_url
            cursor.updated_at = ensure_utc(self._now())
            session.commit()
        self._pending_next = page.next_url
        return events

    def finish_page(self) -> None:
        """Move the cursor to the next page once the caller handled every event."""
        next_url = self._pending_next
        if not next_url:
            return
        with self._sessions() as session:
            cursor = self._cursor(session)
            cursor.page_url = next_url
            cursor.updated_at = ensure_utc(self._now())
            session.commit()
        self._pending_next = None

    def _cursor(self, session: Session) -> WatchCursor:
        cursor = session.get(WatchCursor, self.name)
        if cursor is None:
            cursor = WatchCursor(
                name=self.name,
                page_url=None,
                since=ensure_utc(self._since or self._now()),
                seen=[],
                updated_at=ensure_utc(self._now()),
            )
            session.add(cursor)
            session.flush()
            logger.info("System Log cursor %s starts at %s", self.name, cursor.since)
        return cursor


def _describe(url: str) -> str:
    # Names the page in reports without its query (the cursor is not a secret,
    # but it is long and says nothing to a reader).
    return "okta:" + url.split("?", 1)[0]
