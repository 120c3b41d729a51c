"""Plugin system entry point (the plugins work fills this in).

Contract used by the core:
- `setup_plugins(app)` is called by `create_app` (synchronous, no I/O) and stores a `Plugins`
  object under `keys.PLUGINS`.
- `Plugins.write_hook(applied) -> list[Update]` is called by the write path inside the device
  transition (pure, no I/O; may be None when no plugin writes).
- `Plugins.readers` maps extra `/o?method=` names to readers
  `async (request, params, app, window) -> data` (see `server/read/routes.py`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from aiohttp import web

from server import keys


@dataclass
class Plugins:
    write_hook: Callable[..., list[Any]] | None = None
    readers: dict[str, Callable[..., Any]] = field(default_factory=dict)


def setup_plugins(app: web.Application) -> None:
    """Create the app's plugin manager and let enabled plugins register hooks and routes."""
    app[keys.PLUGINS] = Plugins()
