"""MongoDB client lifecycle: motor for mongodb:// URLs, mongomock-motor for memory://.

Every driver call lives here or in `server/storage/`, so moving from motor (deprecated upstream,
critical fixes until May 2027) to PyMongo's async client is a small change.
"""
from __future__ import annotations

import hashlib
import logging
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from server.settings import Settings, SettingsError

log = logging.getLogger(__name__)

Database = Any  # motor AsyncIOMotorDatabase, mongomock-motor's, or a test/bench stand-in
Client = Any

# Collections holding time-bucket documents shared by all apps (`<appId>_<YYYY>:<M>` ids).
AGGREGATE_COLLECTIONS = ("users", "device_details", "devices", "carriers", "cities")


def open_client(settings: Settings) -> tuple[Client, Database]:
    """Create the client (no I/O yet) and pick the database."""
    if settings.embedded:
        from mongomock_motor import AsyncMongoMockClient

        from server import embedded

        embedded.install()

        log.warning("TALLY_MONGO_URL is memory://: the embedded store keeps data in this process only; "
                    "nothing is persisted and everything is lost when the server stops")
        mock: Client = AsyncMongoMockClient()
        return mock, mock[settings.mongo_database]
    from motor.motor_asyncio import AsyncIOMotorClient

    client: Client = AsyncIOMotorClient(settings.mongo_url, serverSelectionTimeoutMS=5000, tz_aware=False)
    name = urlsplit(settings.mongo_url).path.lstrip("/").split("?")[0] or settings.mongo_database
    return client, client[name]


def close_client(client: Client) -> None:
    close = getattr(client, "close", None)
    if callable(close):
        close()


async def ping(db: Database) -> None:
    await db.command("ping")


CLIENT_BULK_WRITE_WIRE_VERSION = 25  # MongoDB 8.0: the bulkWrite command across collections


async def client_bulk_write(db: Database, mode: str) -> bool:
    """Whether the batcher writes a flush with one client-level bulkWrite (`bulk_write` setting:
    'auto' → when the server is MongoDB 8.0+ and the driver has it; 'client' → must be; 'collection')."""
    if mode == "collection":
        return False
    supported = False
    if callable(getattr(getattr(db, "client", None), "bulk_write", None)):
        try:
            hello = await db.command("hello")
            supported = int(hello.get("maxWireVersion", 0)) >= CLIENT_BULK_WRITE_WIRE_VERSION
        except Exception:  # noqa: BLE001 - no `hello` (embedded store): not supported
            supported = False
    if mode == "client" and not supported:
        raise SettingsError("setting 'bulk_write': invalid value 'client' (the server does not support the "
                            "client-level bulkWrite of MongoDB 8.0; use auto or collection)")
    return supported


async def create_indexes(db: Database) -> None:
    """Indexes Tally's queries need; app_users indexes are created per app (`ensure_app_indexes`)."""
    await db["members"].create_index("api_key", unique=True)
    await db["members"].create_index("username", unique=True)
    await db["members"].create_index("email", unique=True)
    await db["apps"].create_index("key", unique=True)
    await db["auth_tokens"].create_index("ends")


async def ensure_app_indexes(db: Database, app_id: str) -> None:
    coll = db[app_users_name(app_id)]
    for field in ("ls", "lac", "pc", "did"):
        await coll.create_index(field)


def app_users_name(app_id: str) -> str:
    return f"app_users{app_id}"


@lru_cache(maxsize=65536)
def event_collection_name(app_id: str, key: str) -> str:
    """Countly's per-event collection: `events` + sha1(key + appId)."""
    return "events" + hashlib.sha1((key + app_id).encode()).hexdigest()
