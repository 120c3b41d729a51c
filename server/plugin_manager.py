"""The plugin system: one `pluggy.PluginManager("tally")` per application.

Contract used by the core:
- `setup_plugins(app)` is called by `create_app` (synchronous, no I/O besides importing the
  enabled plugin packages). It stores a `Plugins` object under `keys.PLUGINS` and adds the
  plugins' routes to the app's router.
- `Plugins.write_hook(applied) -> list[Update]` is called by the write path inside the device
  transition (pure, no I/O); it is None when no enabled plugin writes.
- `Plugins.readers` maps extra `/o?method=` names to readers
  `async (request, params, app, window) -> data` (see `server/read/routes.py`).
- `Plugins.bucket_collections()` / `Plugins.app_collections(app_id)` name what app deletion and
  reset must clear besides the core's data.

Which plugins: the `plugins` setting lists folder names under `plugins/`; `"*"` means every
folder holding an `__init__.py` whose name does not start with `_`. The hook specifications are
in `server/hookspecs.py`.

Failure isolation: every plugin's write hooks are called one plugin at a time. A plugin that
raises (or returns something that is not a list of updates to its own collections) is logged
with its name and its contribution to that request is dropped; the core's updates and the other
plugins' are kept. In strict mode (`plugins_strict` setting, or `Plugins(strict=True)`) the
error propagates, which makes the request fail — meant for tests.
"""
from __future__ import annotations

import importlib
import logging
import pkgutil
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Any

import pluggy
from aiohttp import web

from server import hookspecs, keys
from server.settings import SettingsError
from server.storage.merge import Update

if TYPE_CHECKING:
    from server.hookspecs import Reader
    from server.ingest.process import Applied

log = logging.getLogger(__name__)

PLUGIN_PACKAGE = "plugins"

# Device-document fields the core (and Countly's user profile) use: plugins may not set them.
CORE_DEVICE_FIELDS = frozenset({
    "_id", "v", "uid", "did", "fs", "ls", "lbst", "lest", "lac", "hos", "sd", "tsd", "sc", "pc", "cc",
    "cty", "rgn", "tz", "loc", "p", "pv", "av", "d", "dt", "mnf", "c", "r", "lp", "pe", "lsid", "last_req",
    "data", "ornt", "rq", "ev", "first_req_get", "first_req_post", "name", "username", "email",
    "organization", "phone", "picture", "gender", "byear", "custom",
})


class PluginError(RuntimeError):
    """A plugin broke the plugin contract at set-up (conflicting reader, bad return value)."""


def available_plugins() -> list[str]:
    """Folder names under `plugins/` that are plugins (a package, name not starting with `_`)."""
    package = importlib.import_module(PLUGIN_PACKAGE)
    return sorted(m.name for m in pkgutil.iter_modules(package.__path__)
                  if m.ispkg and not m.name.startswith(("_", ".")) and m.name != "tests")


def enabled_plugins(wanted: tuple[str, ...] | list[str]) -> list[str]:
    """The plugin names a `plugins` setting selects; an unknown name is a settings error."""
    known = available_plugins()
    if "*" in wanted:
        return known
    chosen: list[str] = []
    for name in wanted:
        if name not in known:
            raise SettingsError(f"setting 'plugins': invalid value {name!r} (no plugin of that name; "
                                f"available: {', '.join(known) or 'none'})")
        if name not in chosen:
            chosen.append(name)
    return chosen


def new_manager() -> pluggy.PluginManager:
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    return pm


def _owned_collection(collection: str, app_id: str) -> bool:
    return collection.startswith("plugin_") and collection.endswith(app_id)


@dataclass(frozen=True)
class _Writer:
    name: str
    write: Callable[..., Any] | None    # the plugin's tally_write, called with `write_args`
    write_args: tuple[str, ...]
    fields: Callable[..., Any] | None   # the plugin's tally_device_fields
    fields_args: tuple[str, ...]


class Plugins:
    """What the core sees of the plugins of one application."""

    def __init__(self, pm: pluggy.PluginManager | None = None, *, strict: bool = False,
                 app: web.Application | None = None) -> None:
        self.pm = pm if pm is not None else new_manager()
        self.strict = strict
        self.app = app
        self.failures: Counter[str] = Counter()  # plugin name → write-hook failures since start
        # plugin name → that plugin's private state for this application (caches; never shared)
        self.state: dict[str, Any] = {}
        self.readers: dict[str, Reader] = {}
        self.write_hook: Callable[[Applied], list[Update]] | None = None
        self._writers: list[_Writer] = []
        self._buckets: dict[str, frozenset[str]] = {}
        self._bucket_collections: tuple[str, ...] = ()
        self._app_collections: dict[tuple[str, str], frozenset[str]] = {}
        self.refresh()

    # ---- registration ------------------------------------------------------------------------
    @property
    def names(self) -> list[str]:
        """Registered plugin names, in registration order."""
        return [name for name, _ in self.pm.list_name_plugin()]

    def register(self, plugin: ModuleType | object, name: str) -> None:
        """Register a plugin (module or object with hook implementations) and rebuild the hooks."""
        self.pm.register(plugin, name=name)
        self.refresh()

    def unregister(self, name: str) -> None:
        self.pm.unregister(name=name)
        self.refresh()

    def refresh(self) -> None:
        """Recompute the write hook and the collection ownership after (un)registration."""
        writes = {i.plugin_name: i for i in self.pm.hook.tally_write.get_hookimpls()}
        fields = {i.plugin_name: i for i in self.pm.hook.tally_device_fields.get_hookimpls()}
        self._writers = []
        for n in self.names:
            w, f = writes.get(n), fields.get(n)
            if w is not None or f is not None:
                self._writers.append(_Writer(n, w.function if w else None, tuple(w.argnames) if w else (),
                                             f.function if f else None, tuple(f.argnames) if f else ()))
        self.write_hook = self._write if self._writers else None
        self._buckets = {}
        for name, result in self._each("tally_bucket_collections"):
            self._buckets[name] = frozenset(_names_list(result, name, "tally_bucket_collections"))
        self._bucket_collections = tuple(sorted(set().union(*self._buckets.values())))
        self._app_collections.clear()

    def _each(self, hook: str, **kwargs: Any) -> Iterator[tuple[str, Any]]:
        """(plugin name, result) of one hook for every plugin implementing it, in registration order."""
        caller = getattr(self.pm.hook, hook)
        order = {n: i for i, n in enumerate(self.names)}
        for impl in sorted(caller.get_hookimpls(), key=lambda i: order.get(i.plugin_name, 0)):
            yield impl.plugin_name, impl.function(**{a: kwargs[a] for a in impl.argnames})

    # ---- collections ---------------------------------------------------------------------------
    def bucket_collections(self) -> tuple[str, ...]:
        """Shared time-bucket collections of all plugins (documents `<appId>_…` per app)."""
        return self._bucket_collections

    def app_collections(self, app_id: str) -> list[str]:
        """Per-app collections the plugins declared for `app_id` (besides `plugin_…<appId>`)."""
        found: set[str] = set()
        for name, result in self._each("tally_app_collections", app_id=app_id):
            found.update(_names_list(result, name, "tally_app_collections"))
        return sorted(found)

    def _owns(self, plugin: str, app_id: str, collection: str) -> bool:
        if collection in self._buckets.get(plugin, ()) or _owned_collection(collection, app_id):
            return True
        key = (plugin, app_id)
        owned = self._app_collections.get(key)
        if owned is None:
            impls = [i for i in self.pm.hook.tally_app_collections.get_hookimpls() if i.plugin_name == plugin]
            owned = frozenset(n for i in impls for n in _names_list(
                i.function(**{a: app_id for a in i.argnames}), plugin, "tally_app_collections"))
            if len(self._app_collections) > 10000:
                self._app_collections.clear()
            self._app_collections[key] = owned
        return collection in owned

    # ---- the write path ------------------------------------------------------------------------
    def allows(self, collection: str, zero_id: str, set_name: str, value: str) -> bool:
        """The core's metric-limit check for plugin metrics (everything allowed without an app)."""
        if self.app is None:
            return True
        meta = self.app.get(keys.META)
        if meta is None:
            return True
        return bool(meta.allows(collection, zero_id, set_name, value, self.app[keys.SETTINGS].metric_limit))

    def _write(self, applied: Applied) -> list[Update]:
        out: list[Update] = []
        app_id = applied.work.app_id
        args = {"applied": applied, "allows": self.allows}
        for w in self._writers:
            try:
                updates: list[Update] = []
                if w.write is not None:
                    updates = _checked_updates(w.write(*[args[a] for a in w.write_args]), w.name)
                    for u in updates:
                        if not self._owns(w.name, app_id, u.collection):
                            raise PluginError(f"plugin {w.name!r} wrote to {u.collection!r}, a collection it "
                                              "does not own (name it plugin_…<appId> or declare it)")
                fields: Mapping[str, Any] = {}
                if w.fields is not None:
                    fields = _checked_fields(w.fields(*[args[a] for a in w.fields_args]), w.name)
            except Exception:
                self.failures[w.name] += 1
                if self.strict:
                    raise
                log.exception("plugin %r failed on a request of app %s; its updates for that request are "
                              "dropped (core counts kept)", w.name, app_id)
                continue
            out.extend(updates)
            if fields:
                applied.after.update(fields)
        return out


def _names_list(result: Any, plugin: str, hook: str) -> list[str]:
    if result is None:
        return []
    if not isinstance(result, (list, tuple, set, frozenset)) or not all(isinstance(n, str) and n for n in result):
        raise PluginError(f"plugin {plugin!r}: {hook} must return a list of collection names")
    return list(result)


def _checked_updates(result: Any, plugin: str) -> list[Update]:
    if result is None:
        return []
    if not isinstance(result, list) or not all(isinstance(u, Update) for u in result):
        raise PluginError(f"plugin {plugin!r}: tally_write must return a list of Update")
    return result


def _checked_fields(result: Any, plugin: str) -> Mapping[str, Any]:
    if result is None:
        return {}
    if not isinstance(result, Mapping):
        raise PluginError(f"plugin {plugin!r}: tally_device_fields must return a mapping")
    for name in result:
        if not isinstance(name, str) or not name or name in CORE_DEVICE_FIELDS or "." in name or name.startswith("$"):
            raise PluginError(f"plugin {plugin!r}: device field {name!r} is not allowed")
    return result


def load_plugins(pm: pluggy.PluginManager, names: list[str]) -> None:
    """Import `plugins.<name>` for every name and register the module under that name."""
    for name in names:
        module = importlib.import_module(f"{PLUGIN_PACKAGE}.{name}")
        pm.register(module, name=name)


def _check_requirements(plugins: Plugins) -> None:
    enabled = set(plugins.names)
    for name, needed in plugins._each("tally_requires"):
        for other in needed or ():
            if other not in enabled:
                raise SettingsError(f"setting 'plugins': plugin {name!r} needs plugin {other!r}, which is not enabled")


def _collect_readers(plugins: Plugins) -> dict[str, Reader]:
    from server.read.routes import READERS as CORE_READERS

    readers: dict[str, Reader] = {}
    owner: dict[str, str] = {}
    for name, result in plugins._each("tally_readers"):
        if result is None:
            continue
        if not isinstance(result, Mapping):
            raise PluginError(f"plugin {name!r}: tally_readers must return a mapping")
        for method, reader in result.items():
            if method in CORE_READERS:
                raise PluginError(f"plugin {name!r}: /o?method={method} is served by the core")
            if method in readers:
                raise PluginError(f"plugins {owner[method]!r} and {name!r} both serve /o?method={method}")
            if not callable(reader):
                raise PluginError(f"plugin {name!r}: reader for {method!r} is not callable")
            readers[method] = reader
            owner[method] = name
    return readers


def setup_plugins(app: web.Application, *, strict: bool | None = None) -> Plugins:
    """Create the app's plugin manager, register the enabled plugins, add their routes.

    Synchronous and free of store or network I/O (plugin packages are imported). `strict`
    overrides the `plugins_strict` setting.
    """
    settings = app[keys.SETTINGS]
    pm = new_manager()
    load_plugins(pm, enabled_plugins(settings.plugins))
    plugins = Plugins(pm, strict=settings.plugins_strict if strict is None else strict, app=app)
    _check_requirements(plugins)
    plugins.readers = _collect_readers(plugins)
    for name, table in plugins._each("tally_routes"):
        if table is None:
            continue
        if not isinstance(table, (web.RouteTableDef, list, tuple)) or not all(
                isinstance(r, web.AbstractRouteDef) for r in table):
            raise PluginError(f"plugin {name!r}: tally_routes must return aiohttp route definitions")
        app.router.add_routes(table)
    app[keys.PLUGINS] = plugins
    if plugins.names:
        log.debug("plugins enabled: %s", ", ".join(plugins.names))
    return plugins
