"""Hostile deployment maps: the loader returns a map or raises DeploymentMapError.

Never a crash: not for bytes that are not UTF-8, YAML nested past Python's
recursion limit, Python object tags, alias bombs, or any structure of the
wrong shape.
"""

from __future__ import annotations

import math

import pytest
import yaml
from hostile_tally import count
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from credwatch.errors import DeploymentMapError
from features.deployment import DeploymentMap, load_deployment_map

FUZZ = settings(
    max_examples=300,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

MAP_KEYS = [
    "agents",
    "known_networks",
    "shared_access_expected",
    "protected_identities",
    "name",
    "match",
    "actor_ids",
    "api_token_ids",
    "client_ids",
    "owner",
    "jira_assignee",
    "networks",
    "asns",
    "countries",
    "schedule",
    "days",
    "hours_utc",
    "max_concurrent_sessions",
    "api_endpoints",
    "cidrs",
]
SCALARS = [
    None,
    True,
    0,
    -1,
    2**70,
    math.nan,
    math.inf,
    "",
    "mon-fri",
    "sun-mon",
    "25-3",
    "09-17",
    "0-24",
    "10.0.0.0/8",
    "fe80::/10",
    "::/0",
    "0.0.0.0/0",
    "not-a-cidr",
    "US",
    "usa",
    "/api/v1/*",
    "00uAGENT",
    "a" * 10_000,
]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=30),
    st.sampled_from(SCALARS),
)
keys = st.one_of(st.sampled_from(MAP_KEYS), st.text(max_size=10), st.integers())
documents = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(keys, children, max_size=5)
    ),
    max_leaves=30,
)


def load(tmp_path, data: bytes, target: str) -> DeploymentMap | None:
    path = tmp_path / "map.yaml"
    path.write_bytes(data)
    try:
        loaded = load_deployment_map(path)
    except DeploymentMapError as exc:
        assert str(exc).startswith(str(path))
        count(target, "refused")
        return None
    count(target, "accepted")
    return loaded


@FUZZ
@given(documents)
def test_any_yaml_document_is_a_map_or_refused(tmp_path, document):
    load(tmp_path, yaml.safe_dump(document).encode(), "deployment map: YAML documents")


@FUZZ
@given(
    st.lists(
        st.tuples(st.sampled_from(["agents", "known_networks"]), documents), max_size=3
    )
)
def test_maps_with_hostile_entries_are_maps_or_refused(tmp_path, entries):
    document = {
        "agents": [{"name": "bot", "match": {"actor_ids": ["00uBOT"]}}],
        "known_networks": [{"name": "office", "cidrs": ["10.0.0.0/8"]}],
    }
    for section, value in entries:
        document[section] = [*document[section], value]
    load(tmp_path, yaml.safe_dump(document).encode(), "deployment map: hostile entries")


@FUZZ
@given(st.binary(max_size=2048))
def test_any_bytes_are_a_map_or_refused(tmp_path, data):
    load(tmp_path, data, "deployment map: random bytes")


BILLION_LAUGHS = "\n".join(
    [f"l0: &l0 [{', '.join(['lol'] * 9)}]"]
    + [f"l{n}: &l{n} [{', '.join([f'*l{n - 1}'] * 9)}]" for n in range(1, 9)]
    + ["protected_identities: *l8", ""]
)


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"agents: []\n\xff\xfe", id="not UTF-8"),
        pytest.param(b"agents: " + b"[" * 5000 + b"]" * 5000, id="nested lists"),
        pytest.param(
            b"a:\n" + b"".join(b"  " * n + b"b:\n" for n in range(1, 3000)),
            id="nested maps",
        ),
        pytest.param(
            b"!!python/object/apply:os.system ['echo owned']", id="python tag"
        ),
        pytest.param(BILLION_LAUGHS.encode(), id="alias bomb"),
        pytest.param(b"agents: []\x00", id="NUL"),
        pytest.param(b"\x1f\x8b\x08\x00\x00", id="gzip"),
        pytest.param(
            b"agents:\n- name: a\n  match: {actor_ids: [x]}\n  networks: [.nan]\n",
            id="NaN network",
        ),
        pytest.param(
            b"agents:\n- name: a\n  match: {actor_ids: [x]}\n  asns: [.inf]\n",
            id="infinite AS",
        ),
        pytest.param(
            b"agents:\n- name: 2026-01-01\n  match: {actor_ids: [x]}\n",
            id="date as name",
        ),
    ],
)
def test_known_hostile_maps_are_refused_clearly(tmp_path, data):
    assert load(tmp_path, data, "deployment map: known hostile files") is None
