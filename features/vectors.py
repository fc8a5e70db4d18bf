"""The feature vector of an identity's window, and the names of its columns."""

from __future__ import annotations

FEATURE_NAMES: tuple[str, ...] = (
    "events",
    "distinct_ips",
    "distinct_networks",
    "distinct_countries",
    "distinct_user_agents",
    "distinct_devices",
    "distinct_sessions",
    "max_travel_kmh",
    "outside_network_share",
    "failure_ratio",
    "threat_signals",
    "okta_positive_behaviors",
    "okta_risk_level",
    "new_ip_share",
    "new_networks",
    "new_countries",
    "new_devices",
    "new_user_agents",
    "new_endpoints",
    "rare_hour_share",
    "rate_ratio",
    "concurrent_networks",
    "session_changes",
)

FEATURE_INDEX = {name: index for index, name in enumerate(FEATURE_NAMES)}

FEATURE_DESCRIPTIONS = {
    "events": "events in the window",
    "distinct_ips": "distinct IP addresses",
    "distinct_networks": "distinct networks (AS or address block)",
    "distinct_countries": "distinct countries",
    "distinct_user_agents": "distinct user agents",
    "distinct_devices": "distinct device fingerprints",
    "distinct_sessions": "distinct sessions",
    "max_travel_kmh": "fastest travel between consecutive events (km/h)",
    "outside_network_share": "share of an agent's events outside its declared networks",
    "failure_ratio": "share of failed or denied events",
    "threat_signals": "events Okta flagged as a suspected threat",
    "okta_positive_behaviors": "most Okta behaviour detections on one event",
    "okta_risk_level": "highest Okta risk level (1 low, 2 medium, 3 high)",
    "new_ip_share": "share of events from addresses never seen for this identity",
    "new_networks": "networks never seen for this identity",
    "new_countries": "countries never seen for this identity",
    "new_devices": "device fingerprints never seen for this identity",
    "new_user_agents": "client families never seen for this identity",
    "new_endpoints": "API endpoints never used by this identity",
    "rare_hour_share": "share of events at hours of the week this identity rarely acts",
    "rate_ratio": "events against the identity's usual events per active hour",
    "concurrent_networks": "most networks in use within ten minutes",
    "session_changes": "sessions that moved to another network, device or client",
}
