"""Places the simulated world lives in: cities, their time zones and countries.

Okta writes full country names in `geographicalContext.country` ("United States"),
while the deployment map speaks ISO 3166-1 alpha-2 ("US"); `COUNTRY_CODES` keeps the
two in step. Time zones are a standard offset plus a daylight-saving rule computed
here, not looked up in the system's tz database, so the same seed gives the same
bytes on every machine.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta

COUNTRY_NAMES: dict[str, str] = {
    "US": "United States",
    "CA": "Canada",
    "GB": "United Kingdom",
    "IE": "Ireland",
    "DE": "Germany",
    "FR": "France",
    "NL": "Netherlands",
    "BE": "Belgium",
    "ES": "Spain",
    "FI": "Finland",
    "IN": "India",
    "JP": "Japan",
    "SG": "Singapore",
    "AU": "Australia",
    "BR": "Brazil",
    "NG": "Nigeria",
    "RO": "Romania",
    "VN": "Vietnam",
    "RU": "Russia",
    "HK": "Hong Kong",
    "TR": "Turkey",
    "ID": "Indonesia",
}

COUNTRY_CODES: dict[str, str] = {name: code for code, name in COUNTRY_NAMES.items()}


@dataclass(frozen=True, slots=True)
class Place:
    """A city as Okta's GeoIP enrichment names it."""

    city: str
    state: str
    country: str
    postal_code: str
    lat: float
    lon: float
    utc_offset: float
    dst: str | None = None  # "us", "eu" or "au": which daylight-saving rule applies

    @property
    def country_code(self) -> str:
        return COUNTRY_CODES[self.country]

    def offset_on(self, day: date) -> float:
        """Hours east of UTC on a local calendar day, daylight saving included."""
        if self.dst is None:
            return self.utc_offset
        start, end = _dst_bounds(self.dst, day.year)
        if self.dst == "au":
            # Southern hemisphere: summer time runs across the new year.
            in_dst = day < end or day >= start
        else:
            in_dst = start <= day < end
        return self.utc_offset + (1.0 if in_dst else 0.0)


def _nth_sunday(year: int, month: int, n: int) -> date:
    first = date(year, month, 1)
    return first + timedelta(days=(6 - first.weekday()) % 7 + 7 * (n - 1))


def _last_sunday(year: int, month: int) -> date:
    following = date(year + month // 12, month % 12 + 1, 1)
    last = following - timedelta(days=1)
    return last - timedelta(days=(last.weekday() + 1) % 7)


def _dst_bounds(rule: str, year: int) -> tuple[date, date]:
    if rule == "us":
        return _nth_sunday(year, 3, 2), _nth_sunday(year, 11, 1)
    if rule == "eu":
        return _last_sunday(year, 3), _last_sunday(year, 10)
    # "au": summer time starts in October and ends in April.
    return _nth_sunday(year, 10, 1), _nth_sunday(year, 4, 1)


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance, as an impossible-travel check would compute it."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0 * math.asin(min(1.0, math.sqrt(h)))


def _parse(table: str) -> list[tuple[str, Place]]:
    """Read `tag;city;state;CC;postal;lat;lon;utc_offset;dst` rows."""
    rows = []
    for line in table.strip().splitlines():
        tag, city, state, code, postal, lat, lon, offset, dst = line.split(";")
        place = Place(
            city=city,
            state=state,
            country=COUNTRY_NAMES[code],
            postal_code=postal,
            lat=float(lat),
            lon=float(lon),
            utc_offset=float(offset),
            dst=None if dst == "-" else dst,
        )
        rows.append((tag, place))
    return rows


# Cities people live in, tagged with the office metro they belong to.
_HOME = """
sf;San Francisco;California;US;94107;37.7642;-122.3993;-8;us
sf;Oakland;California;US;94612;37.808;-122.27;-8;us
sf;San Jose;California;US;95113;37.3337;-121.8907;-8;us
sf;Berkeley;California;US;94704;37.8668;-122.2588;-8;us
nyc;New York;New York;US;10013;40.7209;-74.005;-5;us
nyc;Brooklyn;New York;US;11201;40.695;-73.989;-5;us
nyc;Jersey City;New Jersey;US;07302;40.7196;-74.0431;-5;us
nyc;Hoboken;New Jersey;US;07030;40.744;-74.0324;-5;us
london;London;England;GB;EC2A;51.5237;-0.083;0;eu
london;Croydon;England;GB;CR0;51.3762;-0.0982;0;eu
london;Reading;England;GB;RG1;51.4542;-0.9731;0;eu
berlin;Berlin;Land Berlin;DE;10115;52.5321;13.3849;1;eu
berlin;Potsdam;Brandenburg;DE;14467;52.3989;13.0657;1;eu
bangalore;Bengaluru;Karnataka;IN;560001;12.9762;77.6033;5.5;-
bangalore;Whitefield;Karnataka;IN;560066;12.9698;77.75;5.5;-
toronto;Toronto;Ontario;CA;M5H;43.6511;-79.3832;-5;us
toronto;Mississauga;Ontario;CA;L5B;43.589;-79.6441;-5;us
"""

# Fully remote staff live in one of these.
_REMOTE = """
-;Seattle;Washington;US;98101;47.6101;-122.3344;-8;us
-;Portland;Oregon;US;97205;45.5202;-122.6742;-8;us
-;Denver;Colorado;US;80202;39.7525;-104.9995;-7;us
-;Austin;Texas;US;78701;30.2711;-97.7437;-6;us
-;Chicago;Illinois;US;60601;41.8858;-87.6181;-6;us
-;Boston;Massachusetts;US;02108;42.3578;-71.0617;-5;us
-;Atlanta;Georgia;US;30303;33.7529;-84.3925;-5;us
-;Raleigh;North Carolina;US;27601;35.7721;-78.6386;-5;us
-;Vancouver;British Columbia;CA;V6B;49.2788;-123.1139;-8;us
-;Manchester;England;GB;M1;53.4794;-2.2453;0;eu
-;Edinburgh;Scotland;GB;EH1;55.95;-3.1875;0;eu
-;Dublin;Leinster;IE;D02;53.3382;-6.2591;0;eu
-;Munich;Bavaria;DE;80331;48.1374;11.5755;1;eu
-;Paris;Ile-de-France;FR;75001;48.8607;2.3413;1;eu
-;Amsterdam;North Holland;NL;1012;52.374;4.8897;1;eu
-;Madrid;Madrid;ES;28013;40.4165;-3.7026;1;eu
-;Pune;Maharashtra;IN;411001;18.5196;73.8553;5.5;-
"""

# Where people travel to on business.
_TRAVEL = """
-;Chicago;Illinois;US;60601;41.8858;-87.6181;-6;us
-;Las Vegas;Nevada;US;89109;36.1215;-115.1739;-8;us
-;Boston;Massachusetts;US;02108;42.3578;-71.0617;-5;us
-;Austin;Texas;US;78701;30.2711;-97.7437;-6;us
-;New York;New York;US;10013;40.7209;-74.005;-5;us
-;San Francisco;California;US;94107;37.7642;-122.3993;-8;us
-;London;England;GB;EC2A;51.5237;-0.083;0;eu
-;Paris;Ile-de-France;FR;75001;48.8607;2.3413;1;eu
-;Berlin;Land Berlin;DE;10115;52.5321;13.3849;1;eu
-;Amsterdam;North Holland;NL;1012;52.374;4.8897;1;eu
-;Mumbai;Maharashtra;IN;400001;18.9388;72.8354;5.5;-
-;Toronto;Ontario;CA;M5H;43.6511;-79.3832;-5;us
"""

# Hosting cities that cloud and hosting addresses geolocate to, by key.
_DATACENTERS = """
ashburn;Ashburn;Virginia;US;20147;39.0437;-77.4875;-5;us
columbus;Columbus;Ohio;US;43215;39.9612;-82.9988;-5;us
boardman;Boardman;Oregon;US;97818;45.8399;-119.7006;-8;us
the_dalles;The Dalles;Oregon;US;97058;45.5946;-121.1787;-8;us
council_bluffs;Council Bluffs;Iowa;US;51501;41.2619;-95.8608;-6;us
boydton;Boydton;Virginia;US;23917;36.6676;-78.3875;-5;us
quincy;Quincy;Washington;US;98848;47.2343;-119.8526;-8;us
san_jose;San Jose;California;US;95141;37.1835;-121.7714;-8;us
dublin;Dublin;Leinster;IE;D02;53.3331;-6.2489;0;eu
frankfurt;Frankfurt am Main;Hesse;DE;60313;50.1188;8.6843;1;eu
st_ghislain;Saint-Ghislain;Wallonia;BE;7330;50.4541;3.8186;1;eu
eemshaven;Groningen;Groningen;NL;9979;53.4386;6.8355;1;eu
amsterdam_dc;Amsterdam;North Holland;NL;1098;52.352;4.9392;1;eu
mumbai;Mumbai;Maharashtra;IN;400070;19.0748;72.8856;5.5;-
pune_dc;Pune;Maharashtra;IN;411057;18.5913;73.7389;5.5;-
tokyo;Tokyo;Tokyo;JP;102-0082;35.6893;139.6899;9;-
singapore;Singapore;Central Singapore;SG;018989;1.2868;103.8545;8;-
sydney;Sydney;New South Wales;AU;2000;-33.8715;151.2006;10;au
helsinki;Helsinki;Uusimaa;FI;00100;60.1695;24.9354;2;eu
roubaix;Roubaix;Hauts-de-France;FR;59100;50.6942;3.1746;1;eu
new_jersey;Piscataway;New Jersey;US;08854;40.5511;-74.4606;-5;us
london_dc;London;England;GB;E14;51.5088;-0.02;0;eu
hong_kong;Hong Kong;Central and Western;HK;;22.2783;114.1747;8;-
"""

# Cities stolen credentials are used from: residential proxies, attacker homes.
_ABUSE = """
-;Lagos;Lagos;NG;100001;6.4541;3.3947;1;-
-;Bucharest;Bucuresti;RO;010011;44.4323;26.1063;2;eu
-;Ho Chi Minh City;Ho Chi Minh;VN;700000;10.823;106.6296;7;-
-;Moscow;Moscow;RU;101000;55.7522;37.6156;3;-
-;Sao Paulo;Sao Paulo;BR;01310;-23.5475;-46.6361;-3;-
-;Istanbul;Istanbul;TR;34122;41.0138;28.9497;3;-
-;Jakarta;Jakarta;ID;10110;-6.2146;106.8451;7;-
"""

HOME_CITIES: dict[str, tuple[Place, ...]] = {}
for _tag, _place in _parse(_HOME):
    HOME_CITIES[_tag] = (*HOME_CITIES.get(_tag, ()), _place)
REMOTE_CITIES: tuple[Place, ...] = tuple(place for _, place in _parse(_REMOTE))
TRAVEL_CITIES: tuple[Place, ...] = tuple(place for _, place in _parse(_TRAVEL))
DATACENTER_CITIES: dict[str, Place] = dict(_parse(_DATACENTERS))
ABUSE_CITIES: tuple[Place, ...] = tuple(place for _, place in _parse(_ABUSE))
