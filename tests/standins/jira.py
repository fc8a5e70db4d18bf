"""A loopback Jira (Cloud or Data Center) answering what the `jira` package sends.

Follows api-contracts section 2 and the checklist in section 5: `serverInfo` with
`versionNumbers` and a chosen `deploymentType`; Basic auth in Cloud mode, Bearer
in Data Center mode; `POST issue` validated (summary, project, issue type, known
priority, assignee shape per deployment) with Jira's ErrorCollection body;
`search/jql` (Cloud: `nextPageToken`, no total) and legacy `search` (Data Center;
410 on Cloud); comments; `PUT issue`; a field the tests make Jira refuse; 429s
with `Retry-After`.
"""

from __future__ import annotations

import base64
import itertools
import re
import threading
from dataclasses import dataclass, field
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
        self.issues[key] = Issue(id=str(number), key=key, fields=dict(fields))
        return Response.json(201, {"id": str(number), "key": key, "self": f"{self.url}/rest/api/2/issue/{number}"})

    def _search(self, request: Request, *, enhanced: bool) -> Response:
        if enhanced and not self.cloud:
            return Response.json(404, {"errorMessages": ["no such resource"]})
        if not enhanced and self.cloud:
            return Response.json(410, {"errorMessages": ["The requested API has been removed. Please use /rest/api/3/search/jql."]})
        jql = request.param("jql") or ""
        if not jql.strip():
            return Response.json(400, {"errorMessages": ["Unbounded JQL queries are not allowed here."]})
        label = re.search(r'labels\s*=\s*"([^"]+)"', jql)
        found = [
            issue for issue in self.issues.values()
            if label is None or label.group(1) in (issue.fields.get("labels") or [])
        ]
        limit = int(request.param("maxResults") or 50)
        page = [self._issue_json(issue, minimal=True) for issue in found[:limit]]
        if enhanced:
            return Response.json(200, {"issues": page, "isLast": True})
        return Response.json(200, {"startAt": 0, "maxResults": limit, "total": len(found), "issues": page})

    def _issue_json(self, issue: Issue, minimal: bool = False) -> dict[str, Any]:
        document = {"id": issue.id, "key": issue.key, "self": f"{self.url}/rest/api/2/issue/{issue.id}"}
        if not minimal:
            document["fields"] = {**issue.fields, "comment": {"comments": issue.comments, "total": len(issue.comments)}}
        else:
            document["fields"] = {}
        return document
