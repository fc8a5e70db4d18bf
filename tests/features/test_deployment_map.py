from pathlib import Path

import pytest

from credwatch.errors import DeploymentMapError
from features.deployment import load_deployment_map, parse_deployment_map

GOOD = """
agents:
  - name: invoice-summarizer
    match: {actor_ids: ["00uAGENT1"], api_token_ids: ["00TTOKEN1"]}
    owner: finance-ml
    networks: ["34.82.0.0/16"]
    asns: [15169]
    countries: ["us"]
    schedule: {days: "mon-fri,sun", hours_utc: "22-06"}
    max_concurrent_sessions: 4
    api_endpoints: ["/api/v1/users*"]
known_networks:
  - {name: corp-vpn, cidrs: ["198.51.100.0/24"], asns: [64500]}
protected_identities: ["00uBREAKGLASS"]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "deployment.yaml"
    path.write_text(text)
    return path


def test_loads_the_documented_example(tmp_path):
    deployment = load_deployment_map(write(tmp_path, GOOD))

    agent = deployment.agents[0]
    assert agent.countries == ["US"]
    assert agent.in_networks("34.82.9.9", None)
    assert agent.in_networks("8.8.8.8", 15169)
    assert not agent.in_networks("8.8.8.8", 1)
    assert agent.schedule.hour_set == frozenset([22, 23, 0, 1, 2, 3, 4, 5])
    assert agent.schedule.day_set == frozenset([0, 1, 2, 3, 4, 6])
    assert agent.allows_endpoint("/api/v1/users/00u1?expand=x")
    assert not agent.allows_endpoint("/api/v1/groups")
    assert deployment.known_network_of("198.51.100.4", None) == "corp-vpn"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("agents:\n  - name: a\n    match: {actor_ids: [x]}\n    networks: ['10.0.0.0/33']\n",
         r"agents\.0\.networks.*'10\.0\.0\.0/33' is not a CIDR block"),
        ("agents:\n  - name: a\n    match: {actor_ids: [x]}\n    colour: red\n",
         r"agents\.0\.colour: Extra inputs are not permitted"),
        ("agents:\n  - {name: a, match: {actor_ids: [x]}}\n  - {name: a, match: {actor_ids: [y]}}\n",
         r"agents\.1\.name: duplicate agent 'a'"),
        ("agents:\n  - {name: a, match: {actor_ids: [x]}}\n  - {name: b, match: {actor_ids: [x]}}\n",
         r"agents\.1\.match: id 'x' already belongs to agent 'a'"),
        ("agents:\n  - name: a\n    match: {actor_ids: [x]}\n    schedule: {days: 'mon-fry'}\n",
         r"agents\.0\.schedule\.days.*not a list of days"),
        ("agents:\n  - name: a\n    match: {actor_ids: [x]}\n    schedule: {hours_utc: '9-25'}\n",
         r"agents\.0\.schedule\.hours_utc"),
        ("agents:\n  - {name: a, match: {}}\n", r"agents\.0\.match: names no actor"),
        ("agents:\n  - {name: a}\n", r"agents\.0\.match: Field required"),
        ("- just a list\n", r"top level must be a mapping"),
        ("agents: [\n", r"not valid YAML: line 2, column 1: "),
        ("agents:\n  - name: a\n    match: {actor_ids: [x]}\n    networks: []\n    networks: []\n",
         r"line 5, column 5: the key 'networks' is given twice"),
        ("agents:\n  - {name: a, match: {actor_ids: [x]}, countries: [UK]}\n",
         r"agents\.0\.countries.*'UK' is not an ISO 3166-1 alpha-2 country code \(the United Kingdom is GB\)"),
        ("agents:\n  - {name: a, match: {actor_ids: [x]}, countries: [XX]}\n",
         r"'XX' is not an ISO 3166-1"),
        ("agents:\n  - {name: a, match: {actor_ids: [x]}, api_endpoints: [api/v1/users]}\n",
         r"agents\.0\.api_endpoints.*'api/v1/users' must start with /"),
    ],
)
def test_rejects_a_wrong_map_naming_file_and_path(tmp_path, text, message):
    path = write(tmp_path, text)

    with pytest.raises(DeploymentMapError, match=message) as caught:
        load_deployment_map(path)
    assert str(path) in str(caught.value)
    assert "\n" not in str(caught.value)


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(DeploymentMapError, match="cannot read"):
        load_deployment_map(tmp_path / "absent.yaml")


def test_empty_map_is_valid():
    assert parse_deployment_map({}).agents == []
