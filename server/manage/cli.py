"""`python -m server create-admin`: create a global admin in the configured MongoDB.

Prints the new member's api_key on stdout (the only output, so scripts can capture it) and
returns 0; on a problem it prints the reason on stderr and returns 2. The same rules as
`/i/users/create` apply (required fields, password strength, unique e-mail and username).
"""
from __future__ import annotations

import argparse
import logging
import sys
import time
from typing import Any

from server import mongo
from server.errors import ApiError
from server.manage.users import create_member
from server.settings import Settings
from server.storage.members import MemberStore
from server.storage.stats import StoreStats

log = logging.getLogger(__name__)

MEMORY_REFUSED = ("tally create-admin: TALLY_MONGO_URL is memory://, whose data lives only inside one "
                  "server process, so an admin created here would vanish at once. Point TALLY_MONGO_URL "
                  "at a real MongoDB (mongodb://…), or, for memory://, set TALLY_ADMIN_API_KEY when "
                  "starting the server to get a global admin with that key.")


def _fail(text: str) -> int:
    print(text, file=sys.stderr)
    return 2


def _describe(result: Any) -> str:
    return "; ".join(str(r) for r in result) if isinstance(result, list) else str(result)


async def create_admin(settings: Settings, args: argparse.Namespace, *, database: mongo.Database | None = None,
                       now: float | None = None) -> int:
    """Create the admin; `database` replaces the configured MongoDB (tests)."""
    if database is None and settings.embedded:
        return _fail(MEMORY_REFUSED)
    fields = {"full_name": args.full_name, "username": args.username, "email": args.email,
              "password": args.password}
    missing = [f"--{name.replace('_', '-')}" for name, value in fields.items() if not value]
    if missing:
        return _fail("tally create-admin: missing " + ", ".join(missing))
    client = None
    if database is None:
        client, database = mongo.open_client(settings)
    try:
        await mongo.ping(database)
        await mongo.create_indexes(database)
        store = MemberStore(database, StoreStats())
        member = await create_member(store, {**fields, "global_admin": True},
                                     int(time.time() if now is None else now))
    except ApiError as exc:
        return _fail(f"tally create-admin: {_describe(exc.result)}")
    except Exception as exc:  # noqa: BLE001 - e.g. MongoDB unreachable: say so, no traceback
        return _fail(f"tally create-admin: cannot create the admin in MongoDB: {exc}")
    finally:
        if client is not None:
            mongo.close_client(client)
    log.info("global admin %s created", member["username"])
    print(member["api_key"])
    return 0
