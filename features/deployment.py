"""The deployment map: what the organisation expects of its identities.

Loaded from YAML and validated strictly: an unknown field, a bad CIDR, a duplicate
agent or a malformed schedule is rejected with the file, the path inside it and what
is wrong, because a silently misread map would turn expected behaviour into alerts
(or hide real ones).
"""

from __future__ import annotations

import fnmatch
import ipaddress
import re
from collections.abc import Callable
from datetime import datetime
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

import pycountry
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from credwatch.errors import DeploymentMapError

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AgentMatch(_Strict):
    actor_ids: list[str] = Field(default_factory=list)
    api_token_ids: list[str] = Field(default_factory=list)
    client_ids: list[str] = Field(default_factory=list)

    def is_empty(self) -> bool:
        return not (self.actor_ids or self.api_token_ids or self.client_ids)


class Schedule(_Strict):
    """Days and UTC hours an agent is expected to run; END hour is exclusive."""

    days: str = "mon-sun"
    hours_utc: str = "00-24"

    @field_validator("days")
    @classmethod
    def _check_days(cls, value: str) -> str:
        parse_days(value)
        return value

    @field_validator("hours_utc")
    @classmethod
    def _check_hours(cls, value: str) -> str:
        parse_hours(value)
        return value

    @cached_property
    def day_set(self) -> frozenset[int]:
        return parse_days(self.days)

    @cached_property
    def hour_set(self) -> frozenset[int]:
        return parse_hours(self.hours_utc)

    def allows(self, moment: datetime) -> bool:
        return moment.weekday() in self.day_set and moment.hour in self.hour_set


class Agent(_Strict):
    name: str
    match: AgentMatch
    owner: str | None = None
    jira_assignee: str | None = None
    networks: list[str] = Field(default_factory=list)
    asns: list[int] = Field(default_factory=list)
    countries: list[str] = Field(default_factory=list)
    schedule: Schedule | None = None
    max_concurrent_sessions: int | None = Field(default=None, ge=1)
    api_endpoints: list[str] = Field(default_factory=list)

    @field_validator("networks")
    @classmethod
    def _check_networks(cls, value: list[str]) -> list[str]:
        for cidr in value:
            try:
                ipaddress.ip_network(cidr, strict=False)
            except ValueError:
                raise ValueError(f"{cidr!r} is not a CIDR block") from None
        return value

    @field_validator("countries")
    @classmethod
    def _check_countries(cls, value: list[str]) -> list[str]:
        for code in value:
            if len(code) != 2 or pycountry.countries.get(alpha_2=code.upper()) is None:
                hint = " (the United Kingdom is GB)" if code.upper() == "UK" else ""
                raise ValueError(
                    f"{code!r} is not an ISO 3166-1 alpha-2 country code{hint}"
                )
        return [code.upper() for code in value]

    @field_validator("api_endpoints")
    @classmethod
    def _check_endpoints(cls, value: list[str]) -> list[str]:
        for pattern in value:
            # Request URIs start with a slash; a pattern without one matches nothing.
            if not pattern.startswith(("/", "*")):
                raise ValueError(
                    f"{pattern!r} must start with / (it is matched against request "
                    "paths such as /api/v1/users)"
                )
        return value

    @cached_property
    def parsed_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        return tuple(ipaddress.ip_network(cidr, strict=False) for cidr in self.networks)

    def declares_network(self) -> bool:
        return bool(self.networks or self.asns)

    def in_networks(self, ip: str | None, asn: int | None) -> bool:
        """True when the address or AS is one the agent is declared to run from."""
        if asn is not None and asn in self.asns:
            return True
        return ip_in(ip, self.parsed_networks)

    @cached_property
    def _endpoint_matcher(self) -> Callable[[str], re.Match[str] | None]:
        """One regular expression for all declared endpoint patterns.

        Matching it is what `any(fnmatchcase(path, p) for p in api_endpoints)`
        answers, in one call: rules ask it for every API call an agent makes.
        """
        pattern = "|".join(fnmatch.translate(item) for item in self.api_endpoints)
        return re.compile(pattern).match

    def allows_endpoint(self, uri: str | None) -> bool:
        if not self.api_endpoints or not uri:
            return True
        path = uri.split("?", 1)[0]
        return self._endpoint_matcher(path) is not None


class KnownNetwork(_Strict):
    name: str
    cidrs: list[str] = Field(default_factory=list)
    asns: list[int] = Field(default_factory=list)

    @field_validator("cidrs")
    @classmethod
    def _check_cidrs(cls, value: list[str]) -> list[str]:
        return Agent._check_networks(value)

    @cached_property
    def parsed_cidrs(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        return tuple(ipaddress.ip_network(cidr, strict=False) for cidr in self.cidrs)


class SharedAccess(_Strict):
    actor_ids: list[str] = Field(default_factory=list)


class DeploymentMap(_Strict):
    agents: list[Agent] = Field(default_factory=list)
    known_networks: list[KnownNetwork] = Field(default_factory=list)
    shared_access_expected: SharedAccess = Field(default_factory=SharedAccess)
    protected_identities: list[str] = Field(default_factory=list)

    def known_network_of(self, ip: str | None, asn: int | None) -> str | None:
        """Name of the organisation's own network the address belongs to, if any."""
        for network in self.known_networks:
            if (asn is not None and asn in network.asns) or ip_in(ip, network.parsed_cidrs):
                return network.name
        return None


def parse_days(text: str) -> frozenset[int]:
    days: set[int] = set()
    for part in text.lower().replace(" ", "").split(","):
        first, _, last = part.partition("-")
        if first not in DAY_NAMES or (last and last not in DAY_NAMES):
            raise ValueError(f"{text!r} is not a list of days or ranges of mon..sun")
        start = DAY_NAMES.index(first)
        end = DAY_NAMES.index(last) if last else start
        span = range(start, end + 1) if start <= end else [*range(start, 7), *range(end + 1)]
        days.update(span)
    return frozenset(days)


def parse_hours(text: str) -> frozenset[int]:
    first, sep, last = text.partition("-")
    if not (sep and first.strip().isdigit() and last.strip().isdigit()):
        raise ValueError(f"{text!r} is not START-END in whole UTC hours")
    start, end = int(first), int(last)
    if not (0 <= start <= 24 and 0 <= end <= 24) or start == end:
        raise ValueError(f"{text!r} needs two different hours between 0 and 24")
    if start < end:
        return frozenset(range(start, end))
    return frozenset([*range(start, 24), *range(0, end)])


def ip_in(ip: str | None, networks: tuple[Any, ...]) -> bool:
    if not ip or not networks:
        return False
    address = parse_ip(ip)
    if address is None:
        return False
    return any(address.version == net.version and address in net for net in networks)


@lru_cache(maxsize=65536)
def parse_ip(ip: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address, or None for text that is not one; cached, as every event asks."""
    try:
        return ipaddress.ip_address(ip)
    except ValueError:
        return None


class _StrictLoader(yaml.SafeLoader):
    """YAML's safe loader, refusing a key given twice in one mapping (plain YAML
    keeps the last, so one of two `networks:` lists would vanish unseen)."""

    def construct_mapping(self, node, deep=False):  # type: ignore[no-untyped-def]
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            try:
                repeated = key in seen
            except TypeError:
                continue  # an unhashable key: the base constructor refuses it
            if repeated:
                raise yaml.constructor.ConstructorError(
                    None, None, f"the key {key!r} is given twice", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _yaml_fault(exc: yaml.YAMLError) -> str:
    """One line: where and what, without PyYAML's quoted excerpt of the text."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    if mark is None:
        return problem
    return f"line {mark.line + 1}, column {mark.column + 1}: {problem}"


def load_deployment_map(path: str | Path) -> DeploymentMap:
    """Read and validate a deployment map; raise DeploymentMapError naming the fault."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
        document = yaml.load(text, Loader=_StrictLoader) or {}  # a safe loader
    except OSError as exc:
        raise DeploymentMapError(f"{path}: cannot read: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise DeploymentMapError(
            f"{path}: not UTF-8 text (byte offset {exc.start})"
        ) from None
    except yaml.YAMLError as exc:
        raise DeploymentMapError(f"{path}: not valid YAML: {_yaml_fault(exc)}") from None
    except RecursionError:
        # PyYAML composes nested collections recursively.
        raise DeploymentMapError(f"{path}: nested too deeply to be a map") from None
    return parse_deployment_map(document, source=str(path))


def parse_deployment_map(document: Any, *, source: str = "<map>") -> DeploymentMap:
    if not isinstance(document, dict):
        raise DeploymentMapError(f"{source}: the top level must be a mapping")
    try:
        deployment = DeploymentMap.model_validate(document)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"]) or "(top level)"
        raise DeploymentMapError(f"{source}: {where}: {error['msg']}") from None

    _check_agents_are_distinct(deployment, source)
    return deployment


def _check_agents_are_distinct(deployment: DeploymentMap, source: str) -> None:
    seen_names: set[str] = set()
    seen_ids: dict[str, str] = {}
    for index, agent in enumerate(deployment.agents):
        where = f"{source}: agents.{index}"
        if agent.match.is_empty():
            raise DeploymentMapError(f"{where}.match: names no actor, token or client id")
        if agent.name in seen_names:
            raise DeploymentMapError(f"{where}.name: duplicate agent {agent.name!r}")
        seen_names.add(agent.name)

        match = agent.match
        for identifier in [*match.actor_ids, *match.api_token_ids, *match.client_ids]:
            if identifier in seen_ids:
                raise DeploymentMapError(
                    f"{where}.match: id {identifier!r} already belongs to agent "
                    f"{seen_ids[identifier]!r}"
                )
            seen_ids[identifier] = agent.name
