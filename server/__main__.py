"""Command line: `python -m server [serve] --host --port --config --workers`, `python -m server create-admin`."""
from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from pathlib import Path

from aiohttp import web

from server.settings import Settings, SettingsError, load_settings

log = logging.getLogger("server")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m server", description="Tally analytics server")
    p.add_argument("command", nargs="?", default="serve", choices=["serve", "create-admin"])
    p.add_argument("--host", default="0.0.0.0", help="address to listen on (default 0.0.0.0)")
    p.add_argument("--port", type=int, default=8080, help="port to listen on (default 8080)")
    p.add_argument("--config", type=Path, default=None, help="a TOML file with settings")
    p.add_argument("--workers", type=int, default=None, help="pre-forked processes (real MongoDB only)")
    p.add_argument("--username", help="create-admin: user name")
    p.add_argument("--email", help="create-admin: e-mail")
    p.add_argument("--password", help="create-admin: password")
    p.add_argument("--full-name", default="Administrator", help="create-admin: full name")
    return p


def _serve(settings: Settings, host: str, port: int) -> None:
    from server.app import create_app, tune_gc

    access_log = log if settings.access_log else None
    shutdown = settings.write_timeout + 5
    if settings.workers == 1:
        tune_gc()
        web.run_app(create_app(settings), host=host, port=port, access_log=access_log, print=None,
                    shutdown_timeout=shutdown)
        return
    # Pre-forked workers, each with its own SO_REUSEPORT socket: the kernel spreads new
    # connections over them (one shared socket lets a burst of keep-alive connections pile
    # onto a single worker).
    children = []
    for _ in range(settings.workers):
        pid = os.fork()
        if pid == 0:
            tune_gc()
            web.run_app(create_app(settings), host=host, port=port, reuse_port=True, access_log=access_log,
                        print=None, shutdown_timeout=shutdown)
            os._exit(0)
        children.append(pid)
    log.info("started %d workers on %s:%d", settings.workers, host, port)
    status = supervise(children)
    if status:
        sys.exit(status)


def supervise(children: list[int]) -> int:
    """Forward SIGTERM/SIGINT to forked workers and wait for them; the first non-zero exit code."""
    def forward(signum: int, _frame: object) -> None:
        for child in children:
            try:
                os.kill(child, signum)
            except ProcessLookupError:
                pass

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    status = 0
    for child in children:
        _, code = os.waitpid(child, 0)
        status = status or os.waitstatus_to_exitcode(code)
    return status


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        overrides = {"workers": args.workers} if args.workers is not None else {}
        settings = load_settings(args.config, **overrides)
    except SettingsError as exc:
        print(f"tally: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if settings.workers > 1 and settings.embedded:
        print("tally: setting 'workers': invalid value "
              f"{settings.workers} (memory:// keeps data inside one process; use a real MongoDB "
              "with TALLY_MONGO_URL=mongodb://… for several workers)", file=sys.stderr)
        return 2
    if args.command == "create-admin":
        from server.manage.cli import create_admin

        return asyncio.run(create_admin(settings, args))
    _serve(settings, args.host, args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
