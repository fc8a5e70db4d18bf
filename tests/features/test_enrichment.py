"""Offline IP enrichment: lookups in the shipped databases, filling only Okta's gaps."""

from __future__ import annotations

import logging

import pytest
from builders import build_event

from features.deployment import parse_deployment_map
from features.enrichment import IpEnricher, IpInfo, country_name, default_enricher
from features.facts import extract_facts
from features.identity import IdentityResolver


@pytest.fixture(scope="module")
def enricher() -> IpEnricher:
    return IpEnricher()


# Addresses whose operator has announced them for many years; the countries are
# the ones the providers register and locate them in.
@pytest.mark.parametrize(
    ("ip", "asn", "country"),
    [
        ("8.8.8.8", 15169, "US"),
        ("2001:4860:4860::8888", 15169, "US"),
        ("1.1.1.1", 13335, None),
        ("2606:4700:4700::1111", 13335, None),
        ("9.9.9.9", 19281, None),
        ("17.253.144.10", 714, "US"),
        ("13.107.42.14", 8068, "US"),
        ("52.94.236.248", 16509, "US"),
        ("176.9.1.1", 24940, "DE"),
        ("2a01:4f8::1", 24940, "DE"),
    ],
)
def test_public_addresses_of_big_providers(enricher, ip, asn, country):
    info = enricher.lookup(ip)

    assert info is not None
    assert info.asn == asn
    assert info.as_org
    assert info.country_code is not None and len(info.country_code) == 2
    if country is not None:
        assert info.country_code == country
    assert info.country_name == country_name(info.country_code)


@pytest.mark.parametrize(
    "ip",
    [
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.20",
        "127.0.0.1",
        "100.64.0.1",
        "169.254.10.20",
        "0.0.0.0",
        "255.255.255.255",
        "224.0.0.1",
        "192.0.2.1",
        "::1",
        "fe80::1",
        "fc00::1",
        "2001:db8::1",
        "::ffff:10.0.0.1",
        "",
        None,
        "not-an-ip",
        "999.1.1.1",
        "8.8.8.8/24",
        "redacted",
    ],
)
def test_private_reserved_and_bad_input_give_none(enricher, ip):
    assert enricher.lookup(ip) is None


def test_ipv4_written_as_ipv6_is_the_ipv4_address(enricher):
    assert enricher.lookup("::ffff:8.8.8.8") == enricher.lookup("8.8.8.8")


def test_lookups_are_cached():
    enricher = IpEnricher()
    first = enricher.lookup("8.8.8.8")
    second = enricher.lookup("8.8.8.8")

    assert first is second
    assert enricher.cache_info().hits == 1


def test_the_process_has_one_enricher():
    assert default_enricher() is default_enricher()


def test_databases_are_dated(enricher):
    built = enricher.built

    assert set(built) == {"network", "place"}
    assert all(date[:4].isdigit() and int(date[:4]) >= 2026 for date in built.values())


def test_a_missing_database_leaves_its_fields_empty(tmp_path, caplog):
    enricher = IpEnricher(network_db=tmp_path / "absent.plv")
    with caplog.at_level(logging.WARNING, logger="features.enrichment"):
        info = enricher.lookup("8.8.8.8")

    assert info is not None and info.asn is None and info.as_org is None
    assert info.country_code == "US"
    assert "network database" in caplog.text


def test_country_names_are_the_ones_okta_writes():
    assert country_name("US") == "United States"
    assert country_name("kr") == "South Korea"
    assert country_name("RU") == "Russia"
    assert country_name("XK") == "Kosovo"
    assert country_name("ZZ") is None
    assert country_name(None) is None


# Filling gaps: Okta's values always win.

INFO = IpInfo(
    asn=15169,
    as_org="Google LLC",
    country_code="US",
    country_name="United States",
    city="Mountain View",
    lat=37.39,
    lon=-122.08,
    accuracy_km=200,
)
COARSE = IpInfo(
    asn=16509,
    as_org="Amazon.com, Inc.",
    country_code="US",
    country_name="United States",
    city="Ashburn",
    lat=39.05,
    lon=-77.49,
    accuracy_km=1000,
)


def test_okta_network_wins():
    assert INFO.fill_network(7922, "comcast") == (7922, "comcast", False)
    assert INFO.fill_network(7922, None) == (7922, None, False)
    assert INFO.fill_network(None, None) == (15169, "Google LLC", True)
    assert INFO.fill_network(None, "okta's org") == (15169, "okta's org", True)


def test_okta_place_wins():
    okta = ("Canada", "Toronto", (43.65, -79.38))
    assert INFO.fill_place(*okta) == (*okta, False)


def test_missing_place_is_filled():
    assert INFO.fill_place(None, None, None) == (
        "United States",
        "Mountain View",
        (37.39, -122.08),
        True,
    )


def test_missing_coordinates_are_filled_only_in_okta_country():
    assert INFO.fill_place("United States", None, None) == (
        "United States",
        "Mountain View",
        (37.39, -122.08),
        True,
    )
    assert INFO.fill_place("Canada", "Toronto", None) == (
        "Canada",
        "Toronto",
        None,
        False,
    )


def test_coarse_answers_give_no_coordinates():
    assert COARSE.fill_place(None, None, None) == (
        "United States",
        "Ashburn",
        None,
        True,
    )
    assert COARSE.fill_place("United States", None, None) == (
        "United States",
        None,
        None,
        False,
    )


# Through extract_facts, as every feature and rule sees the event.


def facts_of(event, resolver=None):
    resolver = resolver or IdentityResolver()
    return extract_facts(event, resolver.resolve(event), resolver, event.published)


def test_missing_asn_is_inferred_and_names_the_network():
    facts = facts_of(build_event(ip="8.8.8.8", asn=None))

    assert (facts.asn, facts.network, facts.asn_org) == (15169, "AS15169", "Google LLC")
    assert facts.inferred_network
    # Okta's place was complete, so it stays.
    assert (facts.country, facts.city) == ("United States", "Denver")
    assert not facts.inferred_place


def test_okta_asn_is_kept():
    facts = facts_of(build_event(ip="8.8.8.8", asn=7922))

    assert (facts.asn, facts.network) == (7922, "AS7922")
    assert not facts.inferred_network and not facts.inferred_place


def test_missing_place_is_inferred():
    facts = facts_of(
        build_event(
            ip="176.9.1.1", asn=None, country=None, city=None, lat=None, lon=None
        )
    )

    assert facts.network == "AS24940" and facts.inferred_network
    assert facts.country == "Germany" and facts.inferred_place
    assert facts.coordinates is not None


def test_private_address_keeps_the_block_key():
    facts = facts_of(build_event(ip="10.20.30.40", asn=None))

    assert facts.asn is None and facts.network == "10.20.0.0/16"
    assert not facts.inferred_network


def test_inferred_asn_counts_for_declared_networks():
    deployment = parse_deployment_map(
        {
            "agents": [
                {
                    "name": "sync",
                    "match": {"api_token_ids": ["00TSYNC"]},
                    "asns": [15169],
                }
            ]
        }
    )
    event = build_event(actor_id="00uSVC", token_id="00TSYNC", ip="8.8.8.8", asn=None)

    facts = facts_of(event, IdentityResolver(deployment))

    assert facts.in_declared_network and facts.expected_network
