"""Request checksums of salted apps (`checksum` SHA-1, `checksum256` SHA-256), as Countly checks them.

The hash is over the raw query string (or the raw body of a POST) with the checksum parameter
removed, followed by the app's salt; hex digits compare case-insensitively (the Node SDK sends
lower case, the web SDK upper case).
"""
from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

MISSING = "Request does not have checksum"
MISMATCH = "Request does not match checksum"
ALGORITHMS = (("checksum256", hashlib.sha256), ("checksum", hashlib.sha1))


def app_salt(app: Mapping[str, Any]) -> str:
    return str(app.get("salt") or app.get("checksum_salt") or "")


def verify(salt: str, values: Mapping[str, Any], payloads: list[str]) -> str | None:
    """None when the request is signed correctly, else Countly's message."""
    for name, algorithm in ALGORITHMS:
        given = values.get(name)
        if not isinstance(given, str) or not given:
            continue
        for payload in payloads:
            stripped = payload.replace(f"&{name}={given}", "").replace(f"{name}={given}", "")
            expected = algorithm((stripped + salt).encode()).hexdigest()
            if hmac.compare_digest(expected.upper(), given.upper()):
                return None
        return MISMATCH
    return MISSING
