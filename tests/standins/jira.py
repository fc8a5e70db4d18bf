"""A loopback Jira (Cloud or Data Center) answering what the `jira` package sends.

Follows api-contracts section 2 and the checklist in section 5: `serverInfo` with
`versionNumbers` and a chosen `deploymentType`; Basic auth in Cloud mode, Bearer
in Data Center mode; `POST issue` validated (summary, project, issue type, known
priority, assignee shape per deployment) with Jira's ErrorCollection body;
`search/jql` (Cloud: `nextPageToken`, absent on the last page, `isLast`, no total,
`id` only unless fields are asked for) and legacy `search` (Data Center: `startAt`,
`maxResults`, `total`; 410 on Cloud), both paged at most `page_cap` issues at a
time and filtering the JQL credwatch writes (project, labels, resolution, updated,
relative or absolute); comments; `PUT issue`; a field the tests make Jira refuse;
429s with `Retry-After`. `resolve` closes a ticket the way an analyst would.
"""

from __future__ import annotations

import base64
import itertools
import re
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from .http import LoopbackServer, Request, Response

PRIORITIES = ("Highest", "High", "Medium", "Low", "Lowest")


@dataclass
class Issue:
    id: str
    key: str
    fields: dict[str, Any]
    comments: list[dict[str, Any]] = field(default_factory=list)


class JiraStandIn:
    def __init__(
        self,
        *,
        deployment: str = "Cloud",
        user: str = "bot@example.com",
        token: str = "jira-test-token",
        project: str = "SEC",
    ) -> None:
        self.deployment = deployment
        self.user = user
        self.token = token
        self.project = project
        self.issues: dict[str, Issue] = {}
        self.requests: list[tuple[str, str]] = []
        # Field name -> message: Jira refuses these on create (not on the screen).
        self.refused_fields: dict[str, str] = {}
        self.rate_limited = 0
        self.fail_creates = 0
        # Issues per search page at most, whatever the client asks for.
        self.page_cap = 50
        # The server's clock, for `updated` and relative JQL times.
        self.now: datetime | None = None
        self._ids = itertools.count(10000)
        self._lock = threading.RLock()
        self._server = LoopbackServer(self.handle)

    def start(self) -> JiraStandIn:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    @property
    def url(self) -> str:
        return self._server.url

    @property
    def cloud(self) -> bool:
        return self.deployment == "Cloud"

    def handle(self, request: Request) -> Response:
        with self._lock:
            self.requests.append((request.method, request.path))
            if not self._authorised(request):
                return Response(401, b"Unauthorized", [("Content-Type", "text/plain")])
            if self.rate_limited > 0:
                self.rate_limited -= 1
                return Response.json(
                    429,
                    {"errorMessages": ["Rate limit exceeded."]},
                    [("Retry-After", "0"), ("X-RateLimit-Limit", "100"), ("X-RateLimit-Remaining", "0"),
                     ("RateLimit-Reason", "jira-burst-based")],
                )
            match = re.fullmatch(r"/rest/api/(2|3|latest)/(.*)", request.path)
            if not match:
                return Response.json(404, {"errorMessages": ["not found"]})
            return self._route(request, match.group(2))

    def _authorised(self, request: Request) -> bool:
        header = request.headers.get("authorization", "")
        if self.cloud:
            expected = base64.b64encode(f"{self.user}:{self.token}".encode()).decode()
            return header == f"Basic {expected}"
        return header.lower() == f"bearer {self.token}"

    def _route(self, request: Request, path: str) -> Response:
        method = request.method
        if path == "serverInfo":
            return Response.json(200, {
                "baseUrl": self.url, "version": "1001.0.0" if self.cloud else "9.12.0",
                "versionNumbers": [1001, 0, 0] if self.cloud else [9, 12, 0],
                "deploymentType": self.deployment, "buildNumber": 100, "serverTitle": "Jira",
            })
        if path == "field":
            return Response.json(200, [
                {"id": "summary", "key": "summary", "name": "Summary", "custom": False, "clauseNames": ["summary"]},
                {"id": "labels", "key": "labels", "name": "Labels", "custom": False, "clauseNames": ["labels"]},
            ])
        if path == "myself":
            return Response.json(200, {"accountId": "5bot", "displayName": "credwatch"})
        if path == "issue" and method == "POST":
            return self._create(request)
        if path in ("search/jql", "search"):
            return self._search(request, enhanced=path == "search/jql")
        match = re.fullmatch(r"issue/([^/]+)(/comment)?", path)
        if match:
            wanted = match.group(1)
            issue = self.issues.get(wanted) or next(
                (item for item in self.issues.values() if item.id == wanted), None
            )
            if issue is None:
                return Response.json(404, {"errorMessages": ["Issue does not exist or you do not have permission to see it."], "errors": {}})
            if match.group(2) and method == "POST":
                body = request.json().get("body")
                if not isinstance(body, str):
                    return Response.json(400, {"errorMessages": [], "errors": {"comment": "Comment body must be text in REST v2."}})
                comment = {"id": str(len(issue.comments) + 1), "body": body}
                issue.comments.append(comment)
                return Response.json(201, comment)
            if method == "GET":
                return Response.json(200, self._issue_json(issue))
            if method == "PUT":
                fields = request.json().get("fields", {})
                if "priority" in fields and fields["priority"].get("name") not in PRIORITIES:
                    return Response.json(400, {"errorMessages": [], "errors": {"priority": "Specify a valid priority."}})
                issue.fields.update(fields)
                return Response(204)
        return Response.json(404, {"errorMessages": [f"no route {method} {path}"]})

    def _create(self, request: Request) -> Response:
        if self.fail_creates > 0:
            self.fail_creates -= 1
            return Response.json(503, {"errorMessages": ["Service unavailable"]}, [("Retry-After", "0")])
        fields = (request.json() or {}).get("fields", {})
        errors: dict[str, str] = {}
        if not fields.get("summary"):
            errors["summary"] = "You must specify a summary of the issue."
        if fields.get("project", {}).get("key") != self.project:
            errors["project"] = "valid project is required"
        if fields.get("issuetype", {}).get("name") not in ("Task", "Incident"):
            errors["issuetype"] = "valid issue type is required"
        if not isinstance(fields.get("description", ""), str):
            errors["description"] = "Operation value must be a string"
        priority = fields.get("priority")
        if priority is not None and priority.get("name") not in PRIORITIES:
            errors["priority"] = "Specify a valid priority."
        assignee = fields.get("assignee")
        if assignee is not None and ("accountId" not in assignee if self.cloud else "name" not in assignee):
            errors["assignee"] = "Specify a valid assignee."
        for name, message in self.refused_fields.items():
            if name in fields:
                errors[name] = message
        if errors:
            return Response.json(400, {"errorMessages": [], "errors": errors})
        number = next(self._ids)
        key = f"{self.project}-{len(self.issues) + 1}"
        stamp = _jira_stamp(self.clock())
        self.issues[key] = Issue(
            id=str(number), key=key,
            fields={"resolution": None, "created": stamp, "updated": stamp, **fields},
        )
        return Response.json(201, {"id": str(number), "key": key, "self": f"{self.url}/rest/api/2/issue/{number}"})

    def _search(self, request: Request, *, enhanced: bool) -> Response:
        if enhanced and not self.cloud:
            return Response.json(404, {"errorMessages": ["no such resource"]})
        if not enhanced and self.cloud:
            return Response.json(410, {"errorMessages": ["The requested API has been removed. Please use /rest/api/3/search/jql."]})
        params = self._search_params(request)
        jql = str(params.get("jql") or "")
        if not jql.strip():
            return Response.json(400, {"errorMessages": ["Unbounded JQL queries are not allowed here."]})
        found = [issue for issue in self.issues.values() if self._matches(issue, jql)]
        if re.search(r"ORDER BY updated", jql, re.IGNORECASE):
            found.sort(key=lambda issue: (issue.fields.get("updated") or "", _number(issue.key)))
        limit = min(int(params.get("maxResults") or 50), self.page_cap)
        wanted = params.get("fields")
        if enhanced:
            start = int(base64.b64decode(params["nextPageToken"]).decode()) if params.get("nextPageToken") else 0
        else:
            start = int(params.get("startAt") or 0)
        page = [self._issue_json(issue, fields=wanted, enhanced=enhanced) for issue in found[start : start + limit]]
        if enhanced:
            document: dict[str, Any] = {"issues": page, "isLast": start + limit >= len(found)}
            if not document["isLast"]:
                document["nextPageToken"] = base64.b64encode(str(start + limit).encode()).decode()
            return Response.json(200, document)
        return Response.json(200, {"startAt": start, "maxResults": limit, "total": len(found), "issues": page})

    def _search_params(self, request: Request) -> dict[str, Any]:
        if request.method == "POST":
            return dict(request.json() or {})
        params: dict[str, Any] = {name: values[0] for name, values in request.query.items()}
        fields = [part for value in request.query.get("fields", []) for part in value.split(",") if part]
        params["fields"] = fields or None
        return params

    def _matches(self, issue: Issue, jql: str) -> bool:
        fields = issue.fields
        project = re.search(r'project\s*=\s*"?([A-Z0-9]+)"?', jql)
        if project and project.group(1) != self.project:
            return False
        for label in re.findall(r'labels\s*=\s*"([^"]+)"', jql):
            if label not in (fields.get("labels") or []):
                return False
        if re.search(r"resolution\s*!=\s*Unresolved", jql, re.IGNORECASE) and not fields.get("resolution"):
            return False
        if re.search(r"resolution\s*=\s*Unresolved", jql, re.IGNORECASE) and fields.get("resolution"):
            return False
        updated = re.search(r'updated\s*>=\s*"([^"]+)"', jql)
        if updated:
            text = updated.group(1)
            relative = re.fullmatch(r"-(\d+)m", text)
            if relative:
                bound = self.clock() - timedelta(minutes=int(relative.group(1)))
            else:
                bound = datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=UTC)
            if _jira_time(fields.get("updated")) < bound:
                return False
        return True

    def clock(self) -> datetime:
        return self.now or datetime.now(UTC)

    def add_ticket(self, *, labels: list[str], summary: str = "credwatch incident", **fields: Any) -> Issue:
        """A ticket made outside credwatch (or by an earlier run)."""
        with self._lock:
            number = next(self._ids)
            key = f"{self.project}-{len(self.issues) + 1}"
            stamp = _jira_stamp(self.clock())
            issue = Issue(id=str(number), key=key, fields={
                "summary": summary, "labels": list(labels), "resolution": None,
                "created": stamp, "updated": stamp, **fields,
            })
            self.issues[key] = issue
            return issue

    def resolve(
        self,
        key: str,
        *,
        resolution: str = "Done",
        add_labels: tuple[str, ...] = (),
        fields: dict[str, Any] | None = None,
        at: datetime | None = None,
    ) -> Issue:
        """Resolve a ticket as an analyst would: resolution, labels, fields, `updated`."""
        with self._lock:
            issue = self.issues[key]
            stamp = _jira_stamp(at or self.clock())
            issue.fields["resolution"] = {"id": "10000", "name": resolution}
            issue.fields["resolutiondate"] = stamp
            issue.fields["labels"] = [*(issue.fields.get("labels") or []), *add_labels]
            issue.fields.update(fields or {})
            issue.fields["updated"] = stamp
            return issue

    def _issue_json(
        self, issue: Issue, minimal: bool = False, *, fields: list[str] | None = None,
        enhanced: bool = False,
    ) -> dict[str, Any]:
        document = {"id": issue.id, "key": issue.key, "self": f"{self.url}/rest/api/2/issue/{issue.id}"}
        every = {**issue.fields, "comment": {"comments": issue.comments, "total": len(issue.comments)}}
        if minimal:
            document["fields"] = {}
        elif fields is None:
            # search/jql answers with the id alone unless fields are asked for.
            document["fields"] = {} if enhanced else every
        elif "*all" in fields or "*navigable" in fields:
            document["fields"] = every
        else:
            document["fields"] = {name: every.get(name) for name in fields if name != "id"}
        return document


def _jira_stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def _jira_time(text: str | None) -> datetime:
    if not text:
        return datetime.min.replace(tzinfo=UTC)
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f%z")


def _number(key: str) -> int:
    return int(key.rsplit("-", 1)[-1])
