"""Offline IP enrichment: the network (AS) and place of an address Okta left bare.

Many real System Log events carry no `securityContext.asNumber`, and some no
geolocation. `IpEnricher.lookup` answers both from the plevin databases, which ship
as Python packages (`plevin-db-network`: origin AS from BGP tables and the AS
holder's name; `plevin-db-place`: country, city and coordinates), so nothing is
fetched at run time. docs/enrichment.md gives the sources, their licences and age.

The databases are opened on the first lookup, once per process (`default_enricher`),
and every answer is cached: a log repeats the same few thousand addresses, and a
lookup that decodes a fresh block of the file costs up to a millisecond.
"""

from __future__ import annotations

import importlib
import ipaddress
import logging
import threading
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

import pycountry

from features.geo_names import country_code

logger = logging.getLogger(__name__)

CACHE_SIZE = 65_536
# Most addresses are placed within 200 km; cloud ranges and whole-country answers
# within 500-1,000 km, too loose to compute a travel speed from.
MAX_ACCURACY_KM = 250
STALE_AFTER_DAYS = 180
# Okta writes MaxMind's English country names; where ISO's name differs (and
# pycountry has no common name), use Okta's, so that an inferred country compares
# equal to the one Okta writes for the same place.
_OKTA_COUNTRY_NAMES = {
    "RU": "Russia",
    "BN": "Brunei",
    "CD": "DR Congo",
    "CG": "Congo Republic",
    "PS": "Palestine",
    "FM": "Federated States of Micronesia",
    "VA": "Vatican City",
    "VG": "British Virgin Islands",
    "VI": "U.S. Virgin Islands",
    "MF": "Saint Martin",
    "SX": "Sint Maarten",
    "FK": "Falkland Islands",
    "XK": "Kosovo",
}


@dataclass(frozen=True, slots=True)
class IpInfo:
    """What the offline databases say about one public address; any part may be None."""

    asn: int | None
    as_org: str | None
    country_code: str | None
    country_name: str | None
    city: str | None
    lat: float | None
    lon: float | None
    # Radius in km within which the address is placed; large for whole-country or
    # cloud-region answers.
    accuracy_km: int | None = None

    @property
    def coordinates(self) -> tuple[float, float] | None:
        if self.lat is None or self.lon is None:
            return None
        return self.lat, self.lon

    def fill_network(
        self, asn: int | None, as_org: str | None
    ) -> tuple[int | None, str | None, bool]:
        """(asn, as_org, inferred): Okta's AS where it gave one, else this one's."""
        if asn is not None or self.asn is None:
            return asn, as_org, False
        return self.asn, as_org or self.as_org, True

    def fill_place(
        self,
        country: str | None,
        city: str | None,
        coordinates: tuple[float, float] | None,
    ) -> tuple[str | None, str | None, tuple[float, float] | None, bool]:
        """(country, city, coordinates, inferred): Okta's values, gaps filled from here.

        Coordinates are taken only from a city-level answer (`MAX_ACCURACY_KM`): the
        travel rule turns two points into a speed, and a point only known to lie
        somewhere in a country would make travel out of nothing. Where Okta named a
        country, a place in another country fills nothing.
        """
        precise = self.accuracy_km is not None and self.accuracy_km <= MAX_ACCURACY_KM
        if country is None:
            if self.country_name is None:
                return country, city, coordinates, False
            if coordinates is None and precise:
                coordinates = self.coordinates
            return self.country_name, city or self.city, coordinates, True
        if coordinates is not None or not precise or self.coordinates is None:
            return country, city, coordinates, False
        if country_code(country) != self.country_code:
            return country, city, coordinates, False
        return country, city or self.city, self.coordinates, True


class IpEnricher:
    """Looks addresses up in the offline network and place databases.

    `network_db` and `place_db` name the database files; by default they are the
    ones the `plevin-db-network` and `plevin-db-place` packages install. A database
    that cannot be found is logged once and its fields stay None.
    """

    def __init__(
        self,
        *,
        network_db: str | Path | None = None,
        place_db: str | Path | None = None,
        cache_size: int = CACHE_SIZE,
    ) -> None:
        self._paths = {"network": network_db, "place": place_db}
        self._databases: dict[str, Any] | None = None
        self._lock = threading.Lock()
        self._cached = lru_cache(maxsize=cache_size)(self._lookup)

    def lookup(self, ip: str | None) -> IpInfo | None:
        """The address's network and place; None for private, reserved or bad input."""
        if not ip or not isinstance(ip, str):
            return None
        return self._cached(ip)

    @property
    def built(self) -> dict[str, str]:
        """The build date of each database opened, e.g. {"network": "2026-10-04"}."""
        return {name: db.built for name, db in self._open().items()}

    def cache_info(self):
        return self._cached.cache_info()

    def _lookup(self, ip: str) -> IpInfo | None:
        address = _public_address(ip)
        if address is None:
            return None
        databases = self._open()
        if not databases:
            return None
        text = str(address)
        network = (
            databases["network"].lookup(text).network
            if "network" in databases
            else None
        )
        place = databases["place"].lookup(text).place if "place" in databases else None
        asn = network.asn if network is not None else None
        operator = network.operator if network is not None else None
        code = _country_code_of(place)
        city = place.city.name if place is not None and place.city is not None else None
        if asn is None and code is None:
            return None
        return IpInfo(
            asn=asn,
            # An unannounced block has a registry holder but no AS; its holder is no
            # AS organisation.
            as_org=(operator.company or operator.brand) if operator and asn else None,
            country_code=code,
            country_name=country_name(code),
            city=city,
            lat=place.lat if place is not None else None,
            lon=place.lon if place is not None else None,
            accuracy_km=place.accuracy if place is not None else None,
        )

    def _open(self) -> dict[str, Any]:
        # Opening is cheap (the files are memory-mapped) but importing the reader
        # is not, so neither happens until an event actually needs a lookup.
        if self._databases is not None:
            return self._databases
        with self._lock:
            if self._databases is None:
                self._databases = _open_databases(self._paths)
        return self._databases


def _open_databases(paths: dict[str, str | Path | None]) -> dict[str, Any]:
    try:
        import plevin
    except ImportError:
        logger.warning("the plevin reader is not installed; IP enrichment is off")
        return {}
    packages = {"network": "plevin_db_network", "place": "plevin_db_place"}
    opened: dict[str, Any] = {}
    for name, package in packages.items():
        path = paths.get(name) or _package_path(package)
        if path is None:
            logger.warning(
                "no %s database (install %s); IP enrichment fills no %s fields",
                name,
                package.replace("_", "-"),
                name,
            )
            continue
        try:
            opened[name] = plevin.Plevin(path)
        except (OSError, ValueError) as exc:
            logger.warning("cannot open the %s database %s: %s", name, path, exc)
            continue
        _log_age(name, opened[name].built)
    return opened


def _log_age(name: str, built: str) -> None:
    # Addresses change hands and move; an old file misnames networks quietly.
    try:
        age = (date.today() - date.fromisoformat(built[:10])).days
    except ValueError:
        logger.warning(
            "the IP %s database has no readable build date (%r)", name, built
        )
        return
    if age > STALE_AFTER_DAYS:
        logger.warning(
            "the IP %s database was built %s, %d days ago; upgrade plevin-db-%s",
            name,
            built,
            age,
            name,
        )
    else:
        logger.info("IP %s database built %s", name, built)


def _package_path(package: str) -> Path | None:
    try:
        module = importlib.import_module(package)
    except ImportError:
        return None
    return Path(module.PATH)


def _public_address(ip: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(ip.strip())
    except ValueError:
        return None
    # An IPv4 address written as IPv6 (::ffff:a.b.c.d, as proxies often log it) is
    # the IPv4 address.
    if address.version == 6 and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address if address.is_global else None


def _country_code_of(place: Any) -> str | None:
    if place is None or place.country is None or not place.country.code:
        return None
    return place.country.code


@lru_cache(maxsize=512)
def country_name(code: str | None) -> str | None:
    """The English name Okta writes for an ISO alpha-2 code ("KR" -> "South Korea")."""
    if not code:
        return None
    code = code.upper()
    if code in _OKTA_COUNTRY_NAMES:
        return _OKTA_COUNTRY_NAMES[code]
    country = pycountry.countries.get(alpha_2=code)
    if country is None:
        return None
    return getattr(country, "common_name", None) or country.name


_default: IpEnricher | None = None
_default_lock = threading.Lock()


def default_enricher() -> IpEnricher:
    """The process's enricher, made on first use; its databases open on first lookup."""
    global _default
    if _default is None:
        with _default_lock:
            if _default is None:
                _default = IpEnricher()
    return _default
