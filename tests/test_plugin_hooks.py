"""The plugin system's rules, checked over every shipped plugin, and its failure isolation.

Convention checked here (see `plugins/README.md`): every hook implementation of a shipped plugin
is exercised by at least one test in `plugins/<name>/tests/` marked `@pytest.mark.hook("<hook>")`
(a decorator, or a module-level `pytestmark`). Write-path hooks are pure: they do not await and
do not change what they are given.
"""
from __future__ import annotations

import ast
import copy
import inspect
import logging
from pathlib import Path
from typing import Any

import pytest

from server import hookspecs, keys
from server.app import create_app
from server.hookspecs import hookimpl
from server.ingest.process import Applied, Context, transition
from server.ingest.request import parse
from server.plugin_manager import (
    CORE_DEVICE_FIELDS,
    Plugins,
    available_plugins,
    enabled_plugins,
    load_plugins,
    new_manager,
)
from server.settings import SettingsError, load_settings
from server.storage.merge import Update
from server.storage.meta import Registry
from tests.conftest import Tally

PLUGINS_DIR = Path(__file__).resolve().parent.parent / "plugins"
WRITE_HOOKS = ("tally_write", "tally_device_fields")
NOW = 1_731_000_000.0
APP_ID = "0123456789abcdef01234567"


def hook_names() -> set[str]:
    return {name for name, fn in vars(hookspecs).items()
            if name.startswith("tally_") and callable(fn) and hasattr(fn, "tally_spec")}


def implemented(name: str) -> dict[str, Any]:
    """hook name → implementation of one shipped plugin (registered on a fresh manager)."""
    pm = new_manager()
    load_plugins(pm, [name])
    pm.check_pending()   # an implementation named like no specification fails here
    return {caller_name: impl.function for caller_name in hook_names()
            for impl in getattr(pm.hook, caller_name).get_hookimpls()}


def marked_hooks(tests_dir: Path) -> set[str]:
    """Hook names given to `pytest.mark.hook(...)` anywhere in a plugin's tests."""
    found: set[str] = set()
    for path in tests_dir.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "hook"
                    and isinstance(node.func.value, ast.Attribute) and node.func.value.attr == "mark"):
                found.update(a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str))
    return found


SHIPPED = available_plugins()


def test_plugins_are_shipped() -> None:
    assert {"density", "locale", "sources", "browser", "times_of_day", "activity", "stats"} <= set(SHIPPED)


def test_every_specification_is_documented() -> None:
    for name in hook_names():
        doc = inspect.getdoc(getattr(hookspecs, name)) or ""
        assert "When:" in doc and "I/O:" in doc, name


@pytest.mark.parametrize("name", SHIPPED)
def test_every_hook_implementation_has_a_marked_test(name: str) -> None:
    folder = PLUGINS_DIR / name
    assert (folder / "README.md").is_file(), f"plugin {name!r} has no README.md"
    assert (folder / "tests").is_dir(), f"plugin {name!r} has no tests/ folder"
    hooks = implemented(name)
    assert hooks, f"plugin {name!r} implements no hook"
    missing = sorted(set(hooks) - marked_hooks(folder / "tests"))
    assert not missing, (f"plugin {name!r}: no test marked @pytest.mark.hook(...) for {missing}; "
                         "add a test that exercises each of them")


@pytest.mark.parametrize("name", SHIPPED)
def test_write_hooks_are_synchronous(name: str) -> None:
    for hook, fn in implemented(name).items():
        assert not inspect.iscoroutinefunction(fn) and not inspect.isasyncgenfunction(fn), (name, hook)


# ---- purity over realistic requests ----------------------------------------------------------------

REQUESTS: list[dict[str, Any]] = [
    # the Node SDK (sdk-traffic/nodejs-basic.jsonl): session with every metric, events, duration, end
    {"begin_session": "1", "metrics": '{"_os":"Linux","_os_version":"6.1.0","_device":"ci-runner",'
     '"_resolution":"1920x1080","_carrier":"none","_density":"1.0","_locale":"en_US","_store":"npm",'
     '"_app_version":"1.2.3"}', "hour": "6", "dow": "1", "tz": "120", "country_code": "LV", "city": "Riga"},
    {"events": '[{"key":"purchase","count":3,"sum":29.97,"dur":12,"segmentation":{"item":"sword"},'
     '"hour":6,"dow":1},{"key":"button_click","count":1,"segmentation":{}}]', "hour": "6", "dow": "1"},
    {"session_duration": "3", "hour": "6", "dow": "1"},
    {"events": '[{"key":"[CLY]_view","count":1,"dur":1,"segmentation":{"name":"home"}}]', "hour": "6", "dow": "1"},
    {"begin_session": "1", "metrics": '{"_app_version":"7.8.9","_density":1,"_locale":"en-US","_os":"Linux",'
     '"_browser":"HeadlessChrome","_browser_version":"156.0.8078.79"}', "hour": "4", "dow": "1", "tz": "0"},
    {"end_session": "1", "session_duration": "1"},
    {"begin_session": "1", "metrics": '{"_browser":null,"_locale":"zh"}'},
    {"metrics": "not json", "events": "[1, {\"count\": 2}]"},
]


def captured() -> list[Applied]:
    """The `Applied` of each request above, as the core builds it (one device, in order)."""
    settings = load_settings(env={}, session_cooldown=0)
    seen: list[Applied] = []

    def record(applied: Applied) -> list[Update]:
        seen.append(applied)
        return []

    ctx = Context(app_id=APP_ID, tz="Europe/Riga", app_country="", settings=settings, registry=Registry(),
                  allows=lambda *a: True, write_hook=record)
    state = None
    for n, values in enumerate(REQUESTS):
        req = parse({"app_key": "k", "device_id": "d", "timestamp": str(int(NOW) + 60 * n), **values}, NOW + 3600,
                    duration_limit=86400, client_ip=None)
        state, _ = transition(state, req, ctx)
    return seen


def snapshot(applied: Applied) -> Any:
    return copy.deepcopy((applied.before, applied.after, dict(applied.request.params), applied.request.metrics,
                          [(u.collection, u.id, u.ops) for u in applied.work.extra], applied.levels,
                          applied.is_new_user, applied.country))


WRITERS = [name for name in SHIPPED if any(h in WRITE_HOOKS for h in implemented(name))]


@pytest.mark.parametrize("name", WRITERS)
def test_write_hooks_are_pure_and_write_only_their_collections(name: str) -> None:
    hooks = {h: fn for h, fn in implemented(name).items() if h in WRITE_HOOKS}
    assert hooks
    plugins = Plugins(new_manager())
    load_plugins(plugins.pm, [name])
    plugins.refresh()
    for applied in captured():
        before = snapshot(applied)
        for hook, fn in hooks.items():
            args = {"applied": applied, "allows": lambda *a: True}
            first = fn(**{a: args[a] for a in inspect.signature(fn).parameters})
            again = fn(**{a: args[a] for a in inspect.signature(fn).parameters})
            assert snapshot(applied) == before, f"{name}.{hook} changed its arguments"
            if hook == "tally_write":
                assert [(u.collection, u.id, u.ops) for u in first] == [(u.collection, u.id, u.ops) for u in again]
                for u in first:
                    assert plugins._owns(name, APP_ID, u.collection), (name, u.collection)
            else:
                assert first == again
                assert not set(first or {}) & CORE_DEVICE_FIELDS, (name, first)


# ---- set-up ------------------------------------------------------------------------------------------

def test_enabled_plugins_setting() -> None:
    assert enabled_plugins(("*",)) == SHIPPED
    assert enabled_plugins(("stats", "activity", "stats")) == ["stats", "activity"]
    with pytest.raises(SettingsError, match="'nope'"):
        enabled_plugins(("nope",))


def test_requirements_and_selection_at_start_up(make_settings: Any) -> None:
    with pytest.raises(SettingsError, match="'stats' needs plugin 'activity'"):
        create_app(make_settings(plugins=("stats",)), start_background=False)
    app = create_app(make_settings(plugins=("density",)), start_background=False)
    plugins = app[keys.PLUGINS]
    assert plugins.names == ["density"] and set(plugins.readers) == {"densities", "density"}
    assert plugins.bucket_collections() == ("densities",)
    bare = create_app(make_settings(plugins=()), start_background=False)
    assert bare[keys.PLUGINS].names == [] and bare[keys.PLUGINS].write_hook is None


def test_each_app_has_its_own_manager(make_settings: Any) -> None:
    one = create_app(make_settings(), start_background=False)
    two = create_app(make_settings(), start_background=False)
    assert one[keys.PLUGINS].pm is not two[keys.PLUGINS].pm
    one[keys.PLUGINS].register(Boom(), "boom")
    assert "boom" not in two[keys.PLUGINS].names


def test_reader_conflicts_are_refused(make_settings: Any) -> None:
    class Clash:
        @hookimpl
        def tally_readers(self) -> dict[str, Any]:
            async def read(*_: Any) -> Any:
                return {}
            return {"sessions": read}

    from server.plugin_manager import PluginError, _collect_readers

    plugins = Plugins(new_manager())
    plugins.register(Clash(), "clash")
    with pytest.raises(PluginError, match="served by the core"):
        _collect_readers(plugins)


# ---- failure isolation ---------------------------------------------------------------------------

class Boom:
    """A plugin whose write hook always fails."""

    @hookimpl
    def tally_write(self, applied: Applied) -> list[Update]:
        raise RuntimeError("boom on purpose")


class Rogue:
    """A plugin that writes to a core collection and sets a core device field."""

    @hookimpl
    def tally_write(self, applied: Applied) -> list[Update]:
        return [Update("users", f"{applied.work.app_id}_2024:11", {"$inc": {"d.7.t": 100}})]


class Squatter:
    @hookimpl
    def tally_device_fields(self, applied: Applied) -> dict[str, Any]:
        return {"ls": 0}


async def sessions_t(tally: Tally, app_id: str) -> Any:
    status, body = await tally.read(app_id=app_id, method="sessions")
    assert status == 200, body
    return body["2024"]["t"]


async def test_a_failing_plugin_is_logged_and_core_counts_are_kept(tally: Tally,
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    plugins = tally.app[keys.PLUGINS]
    for plugin, name in ((Boom(), "boom"), (Rogue(), "rogue"), (Squatter(), "squatter")):
        plugins.register(plugin, name)
    app = await tally.create_app("isolation")
    with caplog.at_level(logging.ERROR, logger="server.plugin_manager"):
        status, body = await tally.write(app_key=app["key"], device_id="d", begin_session=1,
                                         metrics={"_density": "2.0"})
    assert (status, body) == (200, {"result": "Success"})
    await tally.flush()
    assert await sessions_t(tally, app["_id"]) == 1                           # core kept, rogue's +100 dropped
    _, densities = await tally.read(app_id=app["_id"], method="densities")    # other plugins kept
    assert densities["2024"]["2:00"]["t"] == 1
    messages = [r.getMessage() for r in caplog.records]
    for name in ("boom", "rogue", "squatter"):
        assert any(f"plugin {name!r} failed" in m for m in messages), (name, messages)
    assert plugins.failures == {"boom": 1, "rogue": 1, "squatter": 1}
    device = await tally.app[keys.DEVICES].find(app["_id"], _device_key(app["key"], "d"))
    assert device is not None and device["ls"] != 0


async def test_strict_mode_re_raises(tally_factory: Any) -> None:
    tally = await tally_factory(plugins_strict=True)
    tally.app[keys.PLUGINS].register(Boom(), "boom")
    app = await tally.create_app("strict")
    r = await tally.client.get("/i", params={"app_key": app["key"], "device_id": "d", "begin_session": "1"})
    assert r.status == 500
    await tally.flush()
    status, body = await tally.read(app_id=app["_id"], method="sessions")
    assert (status, body) == (200, {})                                       # the request was not applied
    plugins = Plugins(new_manager(), strict=True)
    plugins.register(Boom(), "boom")
    assert plugins.write_hook is not None
    with pytest.raises(RuntimeError, match="boom on purpose"):
        plugins.write_hook(captured()[0])


async def test_device_fields_are_stored_with_the_device(tally: Tally) -> None:
    """Plugin device fields ride on the core's atomic device write (the next request sees them)."""
    app = await tally.create_app("fields")
    await tally.write(app_key=app["key"], device_id="d", begin_session=1, metrics={"_locale": "lv_LV"})
    device = await tally.app[keys.DEVICES].find(app["_id"], _device_key(app["key"], "d"))
    assert device is not None and (device["la"], device["lo"]) == ("lv", "lv_LV")


# ---- collections and app deletion ----------------------------------------------------------------

CORE_COLLECTIONS = {"apps", "members", "auth_tokens", "events", "users", "device_details", "devices", "carriers",
                    "cities"}


async def test_every_written_collection_is_owned(tally: Tally) -> None:
    app = await tally.create_app("owned")
    for n, values in enumerate(REQUESTS):
        status, _ = await tally.write(app_key=app["key"], device_id="d", timestamp=int(NOW) - 3600 + n, **values)
        assert status == 200
    await tally.flush()
    db = tally.app[keys.DB]
    plugins = tally.app[keys.PLUGINS]
    names = set(await db.list_collection_names())
    app_id = app["_id"]
    extra = {n for n in names if n not in CORE_COLLECTIONS and not n.startswith(("events", "app_users",
                                                                                  "metric_changes"))}
    assert extra, "the plugins wrote nothing"
    for name in extra:
        assert name in plugins.bucket_collections() or (name.startswith("plugin_") and name.endswith(app_id)) \
            or name in plugins.app_collections(app_id), name
    assert {"densities", "langs", "sources", "browser", f"plugin_activity_{app_id}",
            f"plugin_times_of_day_{app_id}"} <= names


async def test_app_delete_removes_plugin_data(tally: Tally) -> None:
    app = await tally.create_app("doomed")
    await tally.write(app_key=app["key"], device_id="d", begin_session=1, metrics={"_density": "2.0"}, hour=1, dow=1)
    await tally.flush()
    r = await tally.client.get("/i/apps/delete", params={"api_key": tally.admin_key,
                                                         "args": f'{{"app_id": "{app["_id"]}"}}'})
    assert r.status == 200, await r.text()
    db = tally.app[keys.DB]
    names = await db.list_collection_names()
    assert not [n for n in names if n.startswith("plugin_") and n.endswith(app["_id"])]
    for name in tally.app[keys.PLUGINS].bucket_collections():
        assert await db[name].count_documents({"_id": {"$regex": f"^{app['_id']}_"}}) == 0, name


def _device_key(app_key: str, device_id: str) -> str:
    from server.ingest.pipeline import device_key

    return device_key(app_key, device_id)
