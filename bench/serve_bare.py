"""The ceiling: a bare aiohttp server that parses what Tally parses and answers Success.

`python -m bench.serve_bare --host 127.0.0.1 --port N`

For `/i` and `/i/bulk` it reads the query string (GET) or the form-urlencoded body (POST), decodes
the JSON-valued parameters an SDK sends (`metrics`, `events`, `user_details`, `crash`, `requests`)
with orjson, and answers `{"result":"Success"}`. No app lookup, no device state, no storage: the
least any server must do for these requests with the same stack (aiohttp + orjson), run the same
way as Tally (`web.run_app`, access log off).
"""
from __future__ import annotations

import argparse
import os
from typing import Any

import orjson
from aiohttp import web

JSON_PARAMS = ("metrics", "events", "user_details", "crash", "requests")
SUCCESS = b'{"result":"Success"}'


async def ingest(request: web.Request) -> web.Response:
    params: Any = request.query
    if request.method == "POST" and request.can_read_body:
        form = await request.post()
        if form:
            params = {**request.query, **form}
    for name in JSON_PARAMS:
        raw = params.get(name)
        if raw:
            try:
                orjson.loads(raw)
            except orjson.JSONDecodeError:
                pass
    if "app_key" not in params:
        return web.Response(status=400, body=b'{"result":"Missing parameter \\"app_key\\" or \\"device_id\\""}',
                            content_type="application/json")
    return web.Response(body=SUCCESS, content_type="application/json")


async def ping(_request: web.Request) -> web.Response:
    return web.Response(body=SUCCESS, content_type="application/json")


async def counters(_request: web.Request) -> web.Response:
    return web.Response(body=orjson.dumps({"pid": os.getpid(), "store": None, "tally": None}),
                        content_type="application/json")


def make_app() -> web.Application:
    app = web.Application(client_max_size=8 * 1024 * 1024)
    for path in ("/i", "/i/bulk"):
        app.router.add_get(path, ingest)
        app.router.add_post(path, ingest)
    app.router.add_get("/o/ping", ping)
    app.router.add_get("/bench/counters", counters)
    return app


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m bench.serve_bare")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8081)
    args = p.parse_args()
    web.run_app(make_app(), host=args.host, port=args.port, access_log=None, print=None)


if __name__ == "__main__":
    main()
