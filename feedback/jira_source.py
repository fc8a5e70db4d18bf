"""Resolved incident tickets from Jira, page by page, through the `jira` package.

Cloud answers JQL on `search/jql` (pages linked by `nextPageToken`, no total);
Data Center only has the older `search` (pages by `startAt` up to `total`). The
`jira` package picks the endpoint from `serverInfo.deploymentType`; this module
pages itself with `json_result=True`, so a long backlog is read in bounded pages.

The query names a relative time (`updated >= "-90m"`): Jira reads absolute dates
in the searching user's time zone, minutes ago mean the same everywhere.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from pydantic import SecretStr

from integrations.jira_tickets import JiraError, as_jira_error, connect_jira

logger = logging.getLogger(__name__)

# What a verdict reading needs; `*all` would also carry descriptions and comments.
BASE_FIELDS = ("labels", "resolution", "resolutiondate", "updated", "status")
# Jira's `updated` is to the second and JQL to the minute; reading a few minutes
# twice is harmless, since applying a verdict again changes nothing.
OVERLAP_MINUTES = 5
# Pages fetched in one run at most: a runaway query stops rather than loops.
MAX_PAGES = 1000


class JiraVerdictSource:
    """Searches one Jira project for resolved credwatch tickets."""

    def __init__(
        self,
        *,
        url: str,
        user: str | None,
        token: SecretStr,
        project: str,
        timeout: float = 15.0,
        max_retries: int = 3,
        page_size: int = 50,
        client_factory: Callable[..., Any] | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self._user = user
        self._token = token
        self._project = project
        self._timeout = timeout
        self._max_retries = max_retries
        self._page_size = page_size
        self._client_factory = client_factory
        self._client: Any = None

    def __repr__(self) -> str:
        return f"JiraVerdictSource(url={self.url!r}, project={self._project!r})"

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def jql(self, *, minutes_back: int) -> str:
        """Resolved credwatch tickets of the project updated in the last minutes."""
        return (
            f'project = "{self._project}" AND labels = "credwatch" '
            f'AND resolution != Unresolved AND updated >= "-{minutes_back}m" '
            "ORDER BY updated ASC, key ASC"
        )

    def resolved_since(
        self,
        *,
        since: datetime,
        now: datetime,
        extra_fields: tuple[str, ...] = (),
    ) -> Iterator[dict[str, Any]]:
        """Raw issues resolved and last updated since `since`, oldest update first."""
        minutes = (
            max(1, math.ceil((now - since).total_seconds() / 60)) + OVERLAP_MINUTES
        )
        jql = self.jql(minutes_back=minutes)
        fields = [*BASE_FIELDS, *extra_fields]
        jira = self._jira()
        pages = self._cloud_pages if _is_cloud(jira) else self._datacenter_pages
        yield from pages(jira, jql=jql, fields=fields)

    def _cloud_pages(
        self, jira: Any, *, jql: str, fields: list[str]
    ) -> Iterator[dict[str, Any]]:
        token: str | None = None
        for _ in range(MAX_PAGES):
            page = self._call(
                "search",
                lambda token=token: jira.enhanced_search_issues(
                    jql,
                    nextPageToken=token,
                    maxResults=self._page_size,
                    fields=list(fields),
                    json_result=True,
                ),
            )
            yield from page.get("issues") or []
            # The last page has no token at all (and `isLast` true).
            token = page.get("nextPageToken")
            if not token or page.get("isLast"):
                return
        logger.warning("stopped after %d pages of Jira results", MAX_PAGES)

    def _datacenter_pages(
        self, jira: Any, *, jql: str, fields: list[str]
    ) -> Iterator[dict[str, Any]]:
        start = 0
        for _ in range(MAX_PAGES):
            page = self._call(
                "search",
                lambda start=start: jira.search_issues(
                    jql,
                    startAt=start,
                    maxResults=self._page_size,
                    fields=list(fields),
                    json_result=True,
                ),
            )
            issues = page.get("issues") or []
            yield from issues
            start += len(issues)
            # The server may return fewer than asked; `total` says when to stop.
            if not issues or start >= int(page.get("total") or 0):
                return
        logger.warning("stopped after %d pages of Jira results", MAX_PAGES)

    def _jira(self) -> Any:
        if self._client is None:
            self._client = connect_jira(
                url=self.url, user=self._user, token=self._token,
                timeout=self._timeout, max_retries=self._max_retries,
                factory=self._client_factory,
            )
        return self._client

    def _call(self, what: str, work: Callable[[], Any]) -> Any:
        try:
            return work()
        except Exception as exc:
            raise as_jira_error(what, exc) from None


def _is_cloud(jira: Any) -> bool:
    return getattr(jira, "deploymentType", None) == "Cloud"

