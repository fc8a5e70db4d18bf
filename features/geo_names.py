"""Country names as Okta writes them ("United States") to ISO 3166-1 alpha-2 codes."""

from __future__ import annotations

from functools import lru_cache

import pycountry


@lru_cache(maxsize=512)
def country_code(name: str | None) -> str | None:
    """The alpha-2 code of a country name or code, or None when unknown."""
    if not name:
        return None
    try:
        return pycountry.countries.lookup(name.strip()).alpha_2
    except LookupError:
        pass
    # Okta writes common names ("Russia") where ISO has official ones
    # ("Russian Federation"); a fuzzy search finds those.
    try:
        matches = pycountry.countries.search_fuzzy(name.strip())
    except LookupError:
        return None
    return matches[0].alpha_2 if matches else None
