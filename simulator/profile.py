"""Okta's behaviour detection and risk level, replayed from an identity's history.

Okta compares each sign-in with the identity's earlier successful sign-ins and writes
the verdicts into `debugData.behaviors` (New City, New Device, Velocity, ...) and a
risk level into `debugData.risk`. Computing them from the simulated history, rather
than drawing them at random, keeps them honest: POSITIVE means really new.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from simulator.places import Place, distance_km

# Okta's defaults: a new geo-location is one farther than this from every earlier
# one, and Velocity fires above this speed.
GEO_RADIUS_KM = 20.0
VELOCITY_KMH = 805.0
# GeoIP places nearby cities apart by tens of kilometres; ignore shorter hops.
VELOCITY_MIN_KM = 100.0


@dataclass(frozen=True, slots=True)
class Assessment:
    """The behaviours and risk of one sign-in, in Okta's map-string form."""

    behaviors: str
    risk: str
    level: str
    new_device: bool
    new_country: bool
    velocity: bool


@dataclass(slots=True)
class SignInProfile:
    """What Okta remembers of an identity's successful sign-ins."""

    cities: set[tuple[str, str]] = field(default_factory=set)
    states: set[tuple[str, str]] = field(default_factory=set)
    countries: set[str] = field(default_factory=set)
    ips: set[str] = field(default_factory=set)
    devices: set[str] = field(default_factory=set)
    places: list[tuple[float, float]] = field(default_factory=list)
    last: tuple[int, float, float] | None = None  # (ms, lat, lon) of the last success

    def remember(self, *, ip: str, place: Place, device: str, ts: int | None) -> None:
        """Add a successful sign-in (ts None: known before the simulation began)."""
        self.cities.add((place.country, place.city))
        self.states.add((place.country, place.state))
        self.countries.add(place.country)
        self.ips.add(ip)
        self.devices.add(device)
        if (place.lat, place.lon) not in self.places:
            self.places.append((place.lat, place.lon))
        if ts is not None:
            self.last = (ts, place.lat, place.lon)

    def assess(
        self, *, ip: str, place: Place, device: str, ts: int, threat: bool = False
    ) -> Assessment:
        """Okta's behaviours and risk for a sign-in attempt now."""
        new_geo = all(
            distance_km(lat, lon, place.lat, place.lon) > GEO_RADIUS_KM
            for lat, lon in self.places
        )
        new_device = device not in self.devices
        new_ip = ip not in self.ips
        new_state = (place.country, place.state) not in self.states
        new_country = place.country not in self.countries
        new_city = (place.country, place.city) not in self.cities
        velocity = False
        if self.last is not None:
            last_ts, lat, lon = self.last
            km = distance_km(lat, lon, place.lat, place.lon)
            hours = max(ts - last_ts, 60_000) / 3_600_000
            velocity = km > VELOCITY_MIN_KM and km / hours > VELOCITY_KMH

        flags = (
            ("New Geo-Location", new_geo),
            ("New Device", new_device),
            ("New IP", new_ip),
            ("New State", new_state),
            ("New Country", new_country),
            ("Velocity", velocity),
            ("New City", new_city),
        )
        behaviors = ", ".join(
            f"{name}={'POSITIVE' if on else 'NEGATIVE'}" for name, on in flags
        )

        location = new_geo or new_city
        score = (
            int(new_device) + int(location) + 2 * int(new_country) + 2 * int(velocity)
        )
        reasons = []
        if new_device:
            reasons.append("Anomalous Device")
        if location or new_country or velocity:
            reasons.append("Anomalous Location")
        if threat:
            reasons.append("Suspected Threat")
            score += 4
        level = "HIGH" if score >= 4 else "MEDIUM" if score >= 1 else "LOW"
        if level == "LOW":
            risk = "{level=LOW}"
        else:
            risk = "{reasons=" + ", ".join(reasons) + ", level=" + level + "}"
        return Assessment(
            behaviors="{" + behaviors + "}",
            risk=risk,
            level=level,
            new_device=new_device,
            new_country=new_country,
            velocity=velocity,
        )
