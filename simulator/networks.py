"""Networks traffic comes from, and the enrichment Okta writes for each.

A `Network` is an egress block with one owner: a household's ISP, a mobile carrier,
an office line, the corporate VPN, a cloud region, a hosting provider or a proxy.
Okta enriches every event from the client address alone (GeoIP city, AS number and
organisation, ISP, domain, proxy flag), so everything an event says about "where"
derives from the network its address was drawn from.

The address blocks are plausible for their owners but this is a simulation: they
only need to be disjoint from each other (a test checks that) so an address always
resolves to exactly one network.
"""

from __future__ import annotations

import ipaddress
import random
from dataclasses import dataclass, field
from typing import Any

from simulator.places import DATACENTER_CITIES, Place

NULL_ZONE = "null"  # what Okta writes in client.zone outside every network zone
OFFICE_ZONE = "Corporate Offices"
VPN_ZONE = "Corporate VPN"


@dataclass(frozen=True, slots=True)
class Operator:
    """Who runs a network, as `securityContext` names it."""

    asn: int
    as_org: str
    isp: str
    domain: str


@dataclass(frozen=True, slots=True)
class Network:
    """An egress address block at one place, run by one operator."""

    name: str
    kind: str  # residential, mobile, office, vpn, cloud, hosting, proxy
    cidr: str
    operator: Operator
    place: Place
    is_proxy: bool = False
    zone: str = NULL_ZONE
    _block: Any = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_block", ipaddress.ip_network(self.cidr))

    def address(self, rng: random.Random) -> str:
        """A host address in the block (never the network or broadcast address)."""
        block = self._block
        offset = rng.randrange(1, block.num_addresses - 1)
        return str(ipaddress.IPv4Address(int(block.network_address) + offset))

    def contains(self, ip: str) -> bool:
        return ipaddress.ip_address(ip) in self._block

    def subnet(self, rng: random.Random, prefix: int) -> Network:
        """A random smaller block inside this one, e.g. an agent's NAT range."""
        block = self._block
        count = 2 ** (prefix - block.prefixlen)
        index = rng.randrange(count)
        size = 2 ** (32 - prefix)
        start = ipaddress.IPv4Address(int(block.network_address) + index * size)
        return Network(
            name=self.name,
            kind=self.kind,
            cidr=f"{start}/{prefix}",
            operator=self.operator,
            place=self.place,
            is_proxy=self.is_proxy,
            zone=self.zone,
        )


@dataclass(frozen=True, slots=True)
class CloudRegion:
    """A region of a cloud provider, with the blocks its public addresses use."""

    provider: str
    region: str
    operator: Operator
    place: Place
    cidrs: tuple[str, ...]

    def networks(self) -> tuple[Network, ...]:
        return tuple(
            Network(
                name=f"{self.provider}-{self.region}",
                kind="cloud",
                cidr=cidr,
                operator=self.operator,
                place=self.place,
            )
            for cidr in self.cidrs
        )


def _isp(asn: int, as_org: str, isp: str, domain: str) -> Operator:
    return Operator(asn=asn, as_org=as_org, isp=isp, domain=domain)


def _operators(table: str) -> dict[str, list[tuple[Operator, tuple[str, ...]]]]:
    """Read `country;asn;as org;isp;domain;blocks` rows, grouped by country."""
    found: dict[str, list[tuple[Operator, tuple[str, ...]]]] = {}
    for line in table.strip().splitlines():
        country, asn, as_org, isp, domain, blocks = line.split(";")
        operator = Operator(asn=int(asn), as_org=as_org, isp=isp, domain=domain)
        found.setdefault(country, []).append((operator, tuple(blocks.split())))
    return found


# Household broadband by country, with the blocks each ISP hands out. The last
# countries only appear as homes of residential proxies.
RESIDENTIAL_ISPS = _operators(
    """
US;7922;comcast;comcast cable communications, llc;comcast.net;73.0.0.0/10 98.192.0.0/12
US;701;verizon;verizon fios;verizon.net;108.16.0.0/12
US;20115;charter communications;spectrum;spectrum.com;24.176.0.0/12 47.32.0.0/12
US;7018;at&t services, inc.;at&t corp.;att.net;99.0.0.0/11 107.192.0.0/12
CA;812;rogers communications canada inc.;rogers cable;rogers.com;99.224.0.0/11
CA;577;bell canada;bell canada;bell.ca;70.48.0.0/13
GB;2856;british telecommunications plc;bt;btcentralplus.com;86.128.0.0/10
GB;5089;virgin media limited;virgin media;virginm.net;82.0.0.0/14
GB;5607;sky uk limited;sky broadband;sky.com;90.192.0.0/11
IE;5466;eircom limited;eir;eircom.net;86.40.0.0/13
IE;6830;liberty global b.v.;virgin media ireland;virginmedia.ie;89.100.0.0/16
DE;3320;deutsche telekom ag;telekom;t-ipconnect.de;79.192.0.0/10 87.128.0.0/10
DE;3209;vodafone gmbh;vodafone germany;vodafone.de;88.64.0.0/12
FR;3215;orange s.a.;orange;orange.fr;90.0.0.0/9
FR;12322;free sas;free sas;proxad.net;82.64.0.0/14
NL;1136;kpn b.v.;kpn;kpn.net;77.160.0.0/12
NL;33915;vodafoneziggo;ziggo;ziggo.nl;84.24.0.0/13
ES;3352;telefonica de espana s.a.u.;movistar;telefonica.es;83.32.0.0/11
IN;55836;reliance jio infocomm limited;reliance jio;jio.com;49.32.0.0/11
IN;24560;bharti airtel ltd.;airtel broadband;airtel.in;122.160.0.0/12
IN;24309;atria convergence technologies ltd.;act fibernet;actcorp.in;106.51.0.0/16
NG;29465;mtn nigeria communication limited;mtn nigeria;mtnnigeria.net;102.88.0.0/16
RO;8708;rcs & rds s.a.;digi romania;rdsnet.ro;86.120.0.0/13
VN;7552;viettel group;viettel;viettel.vn;27.64.0.0/12
RU;12389;pjsc rostelecom;rostelecom;rt.ru;178.64.0.0/12
BR;28573;claro nxt telecomunicacoes ltda;claro;claro.com.br;177.32.0.0/12
TR;9121;turk telekomunikasyon anonim sirketi;turk telekom;ttnet.com.tr;78.160.0.0/11
ID;7713;pt telekomunikasi indonesia;telkom indonesia;telkom.net.id;36.64.0.0/11
"""
)

# Mobile carriers; phones on cellular data come from these (others use home Wi-Fi).
MOBILE_CARRIERS = _operators(
    """
US;21928;t-mobile usa, inc.;t-mobile usa;tmodns.net;172.56.0.0/14
US;6167;cellco partnership;verizon wireless;myvzw.com;174.192.0.0/10
GB;12576;ee limited;ee;ee.co.uk;31.94.0.0/17
DE;6805;telefonica germany gmbh & co.ohg;o2 germany;o2online.de;176.0.0.0/13
IN;45609;bharti airtel ltd.;airtel mobile;airtel.in;106.192.0.0/11
"""
)

# The organisation's own egress: office lines (a static block from each office's
# business ISP) and the corporate VPN, which has its own AS.
CORP_ASN = 401234
OFFICES: dict[str, tuple[Operator, str]] = {
    "sf": (
        _isp(6461, "zayo bandwidth", "zayo bandwidth", "zayo.com"),
        "64.125.148.0/26",
    ),
    "nyc": (
        _isp(174, "cogent communications", "cogent communications", "cogentco.com"),
        "38.104.36.0/26",
    ),
    "london": (
        _isp(8220, "colt technology services group limited", "colt", "colt.net"),
        "212.74.52.0/26",
    ),
    "berlin": (
        _isp(1299, "arelion sweden ab", "arelion", "arelion.com"),
        "62.115.46.0/26",
    ),
    "bangalore": (
        _isp(9498, "bharti airtel ltd.", "airtel business", "airtel.com"),
        "182.74.18.0/26",
    ),
    "toronto": (
        _isp(6327, "shaw communications inc.", "shaw business", "shaw.ca"),
        "64.114.22.0/26",
    ),
}
CORP_VPN_OPERATOR = _isp(CORP_ASN, "example corp", "example corp", "example.com")
# VPN points of presence: (datacenter city key, block).
VPN_POPS: tuple[tuple[str, str], ...] = (
    ("san_jose", "162.250.16.0/26"),
    ("ashburn", "162.250.16.64/26"),
    ("frankfurt", "162.250.16.128/26"),
    ("singapore", "162.250.16.192/26"),
)
VPN_CIDR = "162.250.16.0/24"

_AWS = _isp(16509, "amazon.com, inc.", "amazon.com, inc.", "amazonaws.com")
_GCP = _isp(15169, "google llc", "google llc", "googleusercontent.com")
_AZURE = _isp(8075, "microsoft corporation", "microsoft corporation", "microsoft.com")


def _region(provider: str, region: str, city: str, *cidrs: str) -> CloudRegion:
    operator = {"aws": _AWS, "gcp": _GCP, "azure": _AZURE}[provider]
    return CloudRegion(provider, region, operator, DATACENTER_CITIES[city], cidrs)


# Regions agents are deployed to.
CLOUD_REGIONS: tuple[CloudRegion, ...] = (
    _region("aws", "us-east-1", "ashburn", "3.208.0.0/12", "54.80.0.0/13"),
    _region("aws", "us-east-2", "columbus", "3.128.0.0/13", "18.216.0.0/14"),
    _region("aws", "us-west-2", "boardman", "34.208.0.0/12", "44.224.0.0/12"),
    _region("aws", "eu-west-1", "dublin", "34.240.0.0/13", "52.208.0.0/13"),
    _region("aws", "eu-central-1", "frankfurt", "3.120.0.0/14", "18.184.0.0/15"),
    _region("aws", "ap-south-1", "mumbai", "13.232.0.0/14"),
    _region("gcp", "us-central1", "council_bluffs", "35.192.0.0/14", "34.66.0.0/15"),
    _region("gcp", "us-west1", "the_dalles", "34.82.0.0/15", "35.197.0.0/17"),
    _region("gcp", "us-east4", "ashburn", "35.245.0.0/16", "34.86.0.0/16"),
    _region("gcp", "europe-west1", "st_ghislain", "34.76.0.0/14"),
    _region("gcp", "europe-west4", "eemshaven", "34.90.0.0/15"),
    _region("azure", "eastus", "boydton", "40.71.0.0/16", "20.42.0.0/16"),
    _region("azure", "westus2", "quincy", "52.183.0.0/16", "20.51.0.0/16"),
    _region("azure", "westeurope", "amsterdam_dc", "40.74.0.0/16", "20.50.0.0/16"),
    _region("azure", "northeurope", "dublin", "20.54.0.0/16", "52.164.0.0/16"),
    _region("azure", "centralindia", "pune_dc", "20.192.0.0/16"),
)

# A second region each region fails over to: same provider, nearby.
FAILOVER: dict[str, str] = {
    "us-east-1": "us-east-2",
    "us-east-2": "us-east-1",
    "us-west-2": "us-east-1",
    "eu-west-1": "eu-central-1",
    "eu-central-1": "eu-west-1",
    "ap-south-1": "eu-central-1",
    "us-central1": "us-east4",
    "us-west1": "us-central1",
    "us-east4": "us-central1",
    "europe-west1": "europe-west4",
    "europe-west4": "europe-west1",
    "eastus": "westus2",
    "westus2": "eastus",
    "westeurope": "northeurope",
    "northeurope": "westeurope",
    "centralindia": "westeurope",
}


def _hosting(
    name: str,
    operator: Operator,
    city: str,
    cidr: str,
    kind: str = "hosting",
    is_proxy: bool = False,
) -> Network:
    return Network(
        name=name,
        kind=kind,
        cidr=cidr,
        operator=operator,
        place=DATACENTER_CITIES[city],
        is_proxy=is_proxy,
    )


_DO = _isp(14061, "digitalocean, llc", "digitalocean, llc", "digitalocean.com")
_VULTR = _isp(20473, "the constant company, llc", "vultr holdings llc", "vultr.com")

# Where stolen credentials get used from when not from a residential proxy:
# rented servers of providers the organisation does not deploy to, VPN services
# and Tor exits.
FOREIGN_HOSTING: tuple[Network, ...] = (
    _hosting("digitalocean-fra", _DO, "frankfurt", "159.89.0.0/17"),
    _hosting("digitalocean-nyc", _DO, "new_jersey", "167.99.0.0/17"),
    _hosting("digitalocean-sgp", _DO, "singapore", "128.199.0.0/17"),
    _hosting(
        "ovh-rbx",
        _isp(16276, "ovh sas", "ovh sas", "ovh.net"),
        "roubaix",
        "51.68.0.0/16",
    ),
    _hosting(
        "hetzner-hel",
        _isp(24940, "hetzner online gmbh", "hetzner online gmbh", "your-server.de"),
        "helsinki",
        "65.108.0.0/16",
    ),
    _hosting("vultr-nj", _VULTR, "new_jersey", "45.76.0.0/16"),
    _hosting("vultr-tyo", _VULTR, "tokyo", "45.32.0.0/16"),
    _hosting(
        "linode-lon",
        _isp(63949, "akamai connected cloud", "linode", "linode.com"),
        "london_dc",
        "172.105.0.0/17",
    ),
    _hosting(
        "alibaba-hkg",
        _isp(45102, "alibaba us technology co., ltd.", "alibaba.com llc", "aliyun.com"),
        "hong_kong",
        "47.242.0.0/15",
    ),
)
PROXY_SERVICES: tuple[Network, ...] = (
    _hosting(
        "vpn-service-ams",
        _isp(60068, "datacamp limited", "cdn77", "cdn77.com"),
        "amsterdam_dc",
        "185.59.220.0/22",
        kind="proxy",
        is_proxy=True,
    ),
    _hosting(
        "vpn-service-nj",
        _isp(62240, "packethub s.a.", "clouvider limited", "."),
        "new_jersey",
        "193.37.252.0/22",
        kind="proxy",
        is_proxy=True,
    ),
    _hosting(
        "vpn-service-lon",
        _isp(9009, "m247 europe srl", "m247 ltd", "m247.com"),
        "london_dc",
        "185.156.172.0/22",
        kind="proxy",
        is_proxy=True,
    ),
    _hosting(
        "tor-exit",
        _isp(
            60729, "stiftung erneuerbare freiheit", "stiftung erneuerbare freiheit", "."
        ),
        "frankfurt",
        "185.220.100.0/22",
        kind="proxy",
        is_proxy=True,
    ),
)


def residential_network(*, rng: random.Random, place: Place) -> Network:
    """A household connection at `place` from one of its country's ISPs."""
    operator, cidrs = rng.choice(RESIDENTIAL_ISPS[place.country_code])
    return Network(
        name=f"{operator.isp}-{place.city}",
        kind="residential",
        cidr=rng.choice(cidrs),
        operator=operator,
        place=place,
    )


def mobile_network(*, rng: random.Random, place: Place) -> Network | None:
    """A cellular carrier at `place`, or None where none is modelled."""
    carriers = MOBILE_CARRIERS.get(place.country_code)
    if not carriers:
        return None
    operator, cidrs = rng.choice(carriers)
    return Network(
        name=f"{operator.isp}-{place.city}",
        kind="mobile",
        cidr=rng.choice(cidrs),
        operator=operator,
        place=place,
    )


def office_network(*, metro: str, place: Place) -> Network:
    operator, cidr = OFFICES[metro]
    return Network(
        name=f"office-{metro}",
        kind="office",
        cidr=cidr,
        operator=operator,
        place=place,
        zone=OFFICE_ZONE,
    )


def vpn_networks() -> tuple[Network, ...]:
    return tuple(
        Network(
            name=f"corp-vpn-{city}",
            kind="vpn",
            cidr=cidr,
            operator=CORP_VPN_OPERATOR,
            place=DATACENTER_CITIES[city],
            zone=VPN_ZONE,
        )
        for city, cidr in VPN_POPS
    )


def all_catalogue_cidrs() -> list[str]:
    """Every block in the catalogue, for the disjointness check."""
    cidrs = [
        cidr for isps in RESIDENTIAL_ISPS.values() for _, cs in isps for cidr in cs
    ]
    cidrs += [cidr for ops in MOBILE_CARRIERS.values() for _, cs in ops for cidr in cs]
    cidrs += [cidr for _, cidr in OFFICES.values()]
    cidrs.append(VPN_CIDR)
    cidrs += [cidr for region in CLOUD_REGIONS for cidr in region.cidrs]
    cidrs += [net.cidr for net in (*FOREIGN_HOSTING, *PROXY_SERVICES)]
    return cidrs
