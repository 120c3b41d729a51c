"""Tally's plugin hooks: the pluggy specifications (project name "tally").

A plugin is a package `plugins/<name>/` whose `__init__.py` holds functions decorated with
`hookimpl` and named after a specification below. `server.plugin_manager` registers every
enabled plugin on the application's own `pluggy.PluginManager` (one per app, never global) and
turns the hooks into what the core uses: one write hook for the ingest path, extra `/o?method=`
readers, extra routes, and the collections that app deletion and reset must clear.

Rules that hold for every hook:
- Set-up hooks (`tally_routes`, `tally_readers`, `tally_bucket_collections`,
  `tally_app_collections`, `tally_requires`) are called synchronously while the application is
  built or an app's data is removed: they return data and do no I/O.
- Write-path hooks (`tally_write`, `tally_device_fields`) run inside the atomic device
  transition of one SDK request. They are pure: no I/O, no awaiting, no clocks, no mutation of
  their arguments (the `Applied` they get is shared by every plugin and by the core). What they
  want stored they return; the write batcher merges it with the core's updates.
- A hook implementation may take any subset of the specification's arguments (pluggy rule).

When a write-path hook raises, the plugin manager logs it with the plugin's name and drops that
plugin's updates and device fields for the request; the core's counts and other plugins' updates
are kept. With the `plugins_strict` setting (tests), the exception propagates instead.
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from aiohttp import web

    from server.ingest.process import Applied
    from server.params import Params
    from server.read.periods import Window
    from server.storage.apps import App
    from server.storage.merge import Update

PROJECT = "tally"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)

# allows(collection, zero_doc_id, meta_set_name, value) -> bool: the `metric_limit` check, exactly
# as the core's metrics use it (a value already known, or room for a new one; admitting records it).
Allows = Callable[[str, str, str, str], bool]
# An extra `/o?method=` reader: called after `validate_read` with the parsed period window.
Reader = Callable[["web.Request", "Params", "App", "Window"], Awaitable[Any]]


@hookspec
def tally_write(applied: Applied, allows: Allows) -> list[Update]:
    """Aggregate updates for one applied SDK request.

    When: once per accepted `/i` request and per `/i/bulk` item, after the core rules ran on
    the device state, inside the device's atomic transition (never for duplicates).
    Arguments: `applied` (`server.ingest.process.Applied`: the parsed request, the device state
    before and after, the core's `Work` (use `work.time(ts)`, `work.app_id`, `work.tz`; build
    your own `Work(app_id, tz)` for your buckets), the unique-user `levels` of a counted session
    (None otherwise), `is_new_user`, `country`); `allows`, the metric-limit check.
    Returns: a list of `server.storage.merge.Update` for collections this plugin owns (named
    `plugin_…<appId>`, or declared by `tally_app_collections` / `tally_bucket_collections`);
    an update to any other collection is refused like an exception.
    I/O: none (pure).
    """
    raise NotImplementedError  # a specification: pluggy never calls it


@hookspec
def tally_device_fields(applied: Applied) -> Mapping[str, Any] | None:
    """Fields this plugin keeps on the device document (`app_users<appId>`).

    When: right after `tally_write` for the same request, in the same transition.
    Arguments: `applied` as for `tally_write` (`applied.before` holds the values this hook
    returned for earlier requests).
    Returns: {field: value} to set on the device state (top-level fields, short names such as
    Countly's `dnst`, `la`; never a core field), or None. They are written atomically with the
    core's state change, so the next request's `applied.before` sees them.
    I/O: none (pure).
    """
    raise NotImplementedError  # a specification: pluggy never calls it


@hookspec
def tally_routes() -> web.RouteTableDef | list[web.AbstractRouteDef] | None:
    """HTTP routes this plugin serves (e.g. `/o/stats/chart`).

    When: once, while `create_app` builds the application (synchronously).
    Returns: an `aiohttp.web.RouteTableDef` or a list of route definitions (added to the app's
    router), or None. Handlers use
    `request.app[keys.…]` for resources, raise `server.errors.ApiError`s for `{"result": …}`
    replies, authenticate with `server.auth`, and keep driver calls in the plugin's `storage.py`.
    I/O: none at set-up; handlers are ordinary async aiohttp handlers.
    """
    raise NotImplementedError  # a specification: pluggy never calls it


@hookspec
def tally_readers() -> Mapping[str, Reader] | None:
    """Extra `/o?method=<name>` readers.

    When: once, while the application is built.
    Returns: {method name: async reader(request, params, app, window) -> data}. `/o` checks
    `app_id`, authenticates with `validate_read` and parses `period` before calling the reader;
    the reader's result is sent as JSON (HTML-escaped, JSONP when asked). A name the core or
    another plugin already serves is a start-up error.
    I/O: none at set-up; readers may read the store.
    """
    raise NotImplementedError  # a specification: pluggy never calls it


@hookspec
def tally_bucket_collections() -> list[str] | None:
    """Shared time-bucket collections this plugin writes (ids `<appId>_<YYYY>:<M>` / `:0`).

    When: at set-up (to check updates) and when an app is deleted or reset.
    Returns: collection names (e.g. `["densities"]`); an app's documents in them are removed
    with the app's core buckets (`_id` prefix `<appId>_`).
    I/O: none.
    """
    raise NotImplementedError  # a specification: pluggy never calls it


@hookspec
def tally_app_collections(app_id: str) -> list[str] | None:
    """Collections holding only this app's data, dropped when the app is deleted or reset.

    When: when checking a write's target and when an app's data is removed.
    Arguments: `app_id`, the app's 24-hex id.
    Returns: collection names. Collections named `plugin_…<appId>` need not be listed (they are
    always dropped with the app).
    I/O: none.
    """
    raise NotImplementedError  # a specification: pluggy never calls it


@hookspec
def tally_requires() -> list[str] | None:
    """Other plugins this one needs (folder names under `plugins/`).

    When: once at set-up; a required plugin that is not enabled stops start-up naming both.
    Returns: plugin names, or None.
    I/O: none.
    """
    raise NotImplementedError  # a specification: pluggy never calls it
