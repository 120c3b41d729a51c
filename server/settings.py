"""Typed settings: `config/default.toml`, an optional `--config` file, then `TALLY_<NAME>` variables.

Every field has a default and a help text. A bad value stops start-up with a `SettingsError`
naming the setting and the value.
"""
from __future__ import annotations

import dataclasses
import os
import tomllib
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_CONFIG = Path(__file__).resolve().parent.parent / "config" / "default.toml"


class SettingsError(ValueError):
    """A setting has a value Tally cannot use."""


def _help(text: str, default: Any) -> Any:
    if isinstance(default, (list, tuple)):
        return field(default_factory=lambda: tuple(default), metadata={"help": text})
    return field(default=default, metadata={"help": text})


@dataclass(frozen=True)
class Settings:
    mongo_url: str = _help("mongodb://… for a real MongoDB (motor); memory:// for the embedded store", "memory://")
    mongo_database: str = _help("database name used when the URL names none", "tally")
    admin_api_key: str = _help("api_key of a global admin created at start-up if missing", "")
    session_cooldown: int = _help("seconds after end_session during which a begin_session extends it", 15)
    session_duration_limit: int = _help("largest accepted session_duration value (seconds)", 86400)
    session_timeout: int = _help("seconds of inactivity after which an open session is closed", 1800)
    closer_interval: float = _help("seconds between two runs of the session closer (in-memory check)", 5.0)
    closer_scan_interval: float = _help("seconds between two database scans for sessions to close "
                                        "(also at start-up: sessions of other or stopped processes)", 600.0)
    default_timezone: str = _help("timezone of apps created without one", "UTC")
    default_country: str = _help("country of apps created without one ('' = none)", "")
    batch_interval_ms: float = _help("group commit: longest wait before pending updates are written", 5.0)
    batch_max_updates: int = _help("group commit: flush at once when this many updates are pending", 2000)
    max_pending_updates: int = _help("back-pressure: /i answers 503 while this many updates are unwritten",
                                     200000)
    write_timeout: float = _help("seconds a request waits for its data to be written before a 503", 10.0)
    bulk_write: str = _help("group commit: 'client' = one client-level bulkWrite per flush for all collections "
                            "(MongoDB 8.0+), 'collection' = one bulk_write per collection, 'auto' = client "
                            "when the server supports it", "auto")
    retry_backoff_max: float = _help("longest pause between two attempts to write a failed batch", 5.0)
    device_cache_size: int = _help("device documents kept in memory (saves one read per request)", 200000)
    app_cache_ttl: float = _help("seconds an app document is cached by key", 5.0)
    access_log: bool = _help("log every HTTP request (costs about half the throughput)", False)
    log_level: str = _help("DEBUG, INFO, WARNING or ERROR", "INFO")
    metric_limit: int = _help("distinct values kept per metric and year", 1000)
    event_limit: int = _help("distinct event keys per app", 500)
    event_segmentation_limit: int = _help("segment keys per event", 100)
    event_segmentation_value_limit: int = _help("distinct values per segment key and year", 1000)
    country_data: bool = _help("record countries (false: every user is Unknown)", True)
    city_data: bool = _help("record cities (false: every city is Unknown)", True)
    prevent_duplicate_requests: bool = _help("ignore SDK retries of a request already stored", True)
    duplicate_window: int = _help("recent request fingerprints remembered per device", 32)
    cors_origin: str = _help("Access-Control-Allow-Origin sent with every reply", "*")
    plugins: tuple[str, ...] = _help("enabled plugins (names of folders under plugins/); ['*'] = all", ["*"])
    plugins_strict: bool = _help("a plugin that fails on a request fails the request (tests); false: it is "
                                 "logged and only its own updates are dropped", False)
    stats_max_range_days: int = _help("longest from/to range the statistics plugins accept (days)", 400)
    workers: int = _help("pre-forked server processes sharing the port (real MongoDB only)", 1)

    @property
    def embedded(self) -> bool:
        return self.mongo_url.startswith("memory://")


def _coerce(name: str, raw: Any, default: Any) -> Any:
    kind = type(default)
    try:
        if kind is bool:
            if isinstance(raw, bool):
                return raw
            text = str(raw).strip().lower()
            if text in ("1", "true", "yes", "on"):
                return True
            if text in ("0", "false", "no", "off"):
                return False
            raise ValueError
        if kind is int:
            if isinstance(raw, bool):
                raise ValueError
            return int(str(raw).strip())
        if kind is float:
            if isinstance(raw, bool):
                raise ValueError
            return float(str(raw).strip())
        if kind is tuple:
            items = raw if isinstance(raw, list) else [p for p in str(raw).split(",")]
            return tuple(str(p).strip() for p in items if str(p).strip())
        if not isinstance(raw, str):
            raise ValueError  # noqa: TRY004 - turned into the SettingsError below
        return raw
    except ValueError:
        raise SettingsError(f"setting {name!r}: invalid value {raw!r} (expected {kind.__name__})") from None


def _validate(s: Settings) -> None:
    def bad(name: str, why: str) -> SettingsError:
        return SettingsError(f"setting {name!r}: invalid value {getattr(s, name)!r} ({why})")

    if not (s.mongo_url.startswith("mongodb://") or s.mongo_url.startswith("mongodb+srv://")
            or s.mongo_url.startswith("memory://")):
        raise bad("mongo_url", "must start with mongodb://, mongodb+srv:// or memory://")
    try:
        zoneinfo.ZoneInfo(s.default_timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise bad("default_timezone", "unknown IANA timezone") from None
    for name in ("session_cooldown", "session_duration_limit", "session_timeout", "batch_max_updates",
                 "max_pending_updates", "device_cache_size", "metric_limit", "event_limit",
                 "event_segmentation_limit", "event_segmentation_value_limit", "stats_max_range_days"):
        if getattr(s, name) < 0 or (name != "session_cooldown" and getattr(s, name) == 0):
            raise bad(name, "must be positive")
    for name in ("batch_interval_ms", "write_timeout", "closer_interval", "closer_scan_interval",
                 "retry_backoff_max", "app_cache_ttl"):
        if getattr(s, name) < 0:
            raise bad(name, "must not be negative")
    if s.workers < 1:
        raise bad("workers", "must be at least 1")
    if s.bulk_write not in ("auto", "client", "collection"):
        raise bad("bulk_write", "one of auto, client, collection")
    if s.log_level.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise bad("log_level", "one of DEBUG, INFO, WARNING, ERROR")


def load_settings(config: Path | None = None, env: Mapping[str, str] | None = None,
                  **overrides: Any) -> Settings:
    """Read the default file, then `config`, then `TALLY_*` variables, then keyword overrides."""
    env = os.environ if env is None else env
    defaults = Settings()
    values: dict[str, Any] = {}
    # The shipped defaults file is optional (an installed wheel has the same defaults built in).
    for path in (DEFAULT_CONFIG if DEFAULT_CONFIG.exists() else None, config):
        if path is None:
            continue
        try:
            data = tomllib.loads(Path(path).read_text())
        except FileNotFoundError:
            raise SettingsError(f"config file not found: {path}") from None
        except tomllib.TOMLDecodeError as exc:
            raise SettingsError(f"config file {path}: {exc}") from None
        for key, raw in data.items():
            if key not in Settings.__dataclass_fields__:
                raise SettingsError(f"config file {path}: unknown setting {key!r}")
            values[key] = _coerce(key, raw, getattr(defaults, key))
    for f in dataclasses.fields(Settings):
        var = "TALLY_" + f.name.upper()
        if var in env:
            values[f.name] = _coerce(var, env[var], getattr(defaults, f.name))
    for key, raw in overrides.items():
        values[key] = raw if isinstance(raw, tuple) else _coerce(key, raw, getattr(defaults, key))
    settings = dataclasses.replace(defaults, **values)
    _validate(settings)
    return settings


def describe() -> list[tuple[str, Any, str]]:
    """(name, default, help) of every setting, for documentation and `config/default.toml`."""
    d = Settings()
    return [(f.name, getattr(d, f.name), f.metadata["help"]) for f in dataclasses.fields(Settings)]
