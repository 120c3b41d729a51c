"""Plugin system entry point (filled in by the plugins work)."""
from __future__ import annotations

from aiohttp import web


def setup_plugins(app: web.Application) -> None:
    """Create the app's plugin manager and let enabled plugins register hooks and routes."""
