"""Where a device is: explicit `country_code`/`city`/`location`, else GeoIP of its address.

GeoIP uses `iptocc` (country only, data shipped in the PyPI package, no network). A device that
opted out (`location=` empty on begin_session) or that cannot be placed is `Unknown`.
"""
from __future__ import annotations

import ipaddress
import logging
from functools import lru_cache
from typing import Any

from server.ingest.request import SdkRequest
from server.settings import Settings

log = logging.getLogger(__name__)
UNKNOWN = "Unknown"
State = dict[str, Any]


@lru_cache(maxsize=65536)
def country_of_ip(ip: str) -> str | None:
    try:
        address = ipaddress.ip_address(ip.strip().split("%")[0])
    except ValueError:
        return None
    if address.is_private or address.is_loopback or address.is_reserved or address.is_link_local:
        return None
    try:
        import iptocc

        code = iptocc.country_code(str(address))
    except Exception:
        log.debug("GeoIP lookup failed for %s", ip, exc_info=True)
        return None
    return code.upper() if isinstance(code, str) and len(code) == 2 and code.upper() != "ZZ" else None


def valid_country(code: str | None) -> str | None:
    if code and len(code) == 2 and code.isalpha():
        return code.upper()
    return None


def apply(state: State, req: SdkRequest, settings: Settings, warnings: list[str]) -> None:
    """Update the device's `cc`, `cty`, `rgn`, `loc` from the request (every request)."""
    country = valid_country(req.country_code)
    if req.country_code and country is None:
        warnings.append(f'"country_code" {req.country_code!r} is not an ISO country code: ignored')
    if req.begin and req.location == "":
        state.update(cc=UNKNOWN, cty=UNKNOWN, rgn=UNKNOWN)
        state.pop("loc", None)
        return
    if req.location:
        try:
            lat, lon = (float(p) for p in req.location.split(","))
            state["loc"] = {"type": "Point", "coordinates": [lon, lat], "gps": True}
        except ValueError:
            warnings.append(f'"location" {req.location!r} is not "lat,lon": ignored')
    if country:
        state["cc"] = country
    if req.city:
        state["cty"] = req.city
    if req.region:
        state["rgn"] = req.region
    if req.begin:
        if not country:
            state["cc"] = (country_of_ip(req.ip) if req.ip else None) or UNKNOWN
            if not req.city:
                state["cty"] = UNKNOWN
        state.setdefault("cty", UNKNOWN)
    if not settings.country_data:
        state["cc"] = UNKNOWN
        state["cty"] = UNKNOWN
    elif not settings.city_data and "cty" in state:
        state["cty"] = UNKNOWN


def country(state: State) -> str:
    return state.get("cc") or UNKNOWN


def city(state: State) -> str:
    return state.get("cty") or UNKNOWN
