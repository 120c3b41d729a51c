"""Serves the widget script and a demo page that embeds it (`/widget/demo?app_id=…&token=…`)."""
from __future__ import annotations

import html
from pathlib import Path

from aiohttp import web

routes = web.RouteTableDef()
SCRIPT = Path(__file__).with_name("tally-widget.js")


@routes.get("/widget/tally-widget.js")
async def script(request: web.Request) -> web.StreamResponse:
    return web.FileResponse(SCRIPT, headers={"Content-Type": "application/javascript; charset=utf-8",
                                             "Cache-Control": "public, max-age=300"})


@routes.get("/widget/demo")
async def demo(request: web.Request) -> web.Response:
    """A page embedding the widget the way a customer's page would."""
    app_id = html.escape(request.query.get("app_id", ""), quote=True)
    token = html.escape(request.query.get("token", ""), quote=True)
    page = f"""<!doctype html>
<html><head><meta charset="utf-8"><title>Tally widget</title></head>
<body>
<div id="tally" data-tally-app="{app_id}" data-tally-token="{token}"></div>
<script src="/widget/tally-widget.js"></script>
</body></html>"""
    return web.Response(text=page, content_type="text/html", headers={"X-Frame-Options": "sameorigin"})
