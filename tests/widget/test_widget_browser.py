"""The embeddable widget in a real headless Chromium: figures equal /o/analytics/dashboard."""
from __future__ import annotations

import asyncio
import html.parser
import shutil
import tempfile
from pathlib import Path

from tests.conftest import Tally

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
DAY = 86400


def chromium() -> str:
    for name in ("chromium-headless-shell", "chromium"):
        path = shutil.which(name)
        if path:
            return path
    raise AssertionError("no Chromium found: install Debian's chromium-headless-shell (tests/run.sh does)")


async def render(url: str, screenshot: Path | None = None) -> str:
    """The page's DOM after its scripts ran (virtual time lets the fetches finish, no sleeping)."""
    with tempfile.TemporaryDirectory() as profile:
        args = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
                "--virtual-time-budget=15000", "--window-size=800,600"]
        if screenshot is not None:
            args.append(f"--screenshot={screenshot}")
        else:
            args.append("--dump-dom")
        proc = await asyncio.create_subprocess_exec(*args, url, stdout=asyncio.subprocess.PIPE,
                                                    stderr=asyncio.subprocess.PIPE)
        out, err = await asyncio.wait_for(proc.communicate(), 60)
        assert proc.returncode == 0, err.decode()[-2000:]
        return out.decode()


class Collect(html.parser.HTMLParser):
    """Widget elements by their data attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.figures: dict[str, str] = {}
        self.bars: list[tuple[str, int]] = []
        self.state = ""
        self.error = ""
        self._figure: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if "data-figure" in a:
            self._figure = a["data-figure"]
        if tag == "rect" and "data-day" in a:
            self.bars.append((a["data-day"] or "", int(a["data-value"] or 0)))
        if a.get("id") == "tally":
            self.state = a.get("data-state") or ""
        if "data-error" in a:
            self.error = a["data-error"] or ""

    def handle_data(self, data: str) -> None:
        if self._figure is not None:
            self.figures[self._figure] = data
            self._figure = None


def parse(dom: str) -> Collect:
    c = Collect()
    c.feed(dom)
    return c


async def token(tally: Tally, app_id: str) -> str:
    r = await tally.client.get("/i/token/create", params={
        "api_key": tally.admin_key, "ttl": "0", "apps": app_id, "endpoint": "^/o/analytics/"})
    assert r.status == 200, await r.text()
    return (await r.json())["result"]  # type: ignore[no-any-return]


async def test_widget_shows_the_dashboard_figures_and_refuses_a_foreign_token(tally: Tally) -> None:
    app = await tally.create_app("shop")
    other = await tally.create_app("other")
    now = int(tally.clock.now)
    sent: dict[int, int] = {}
    for days_ago, devices in ((0, 3), (1, 2), (6, 4), (20, 1)):
        for i in range(devices):
            ts = now - days_ago * DAY - i * 60
            for params in ({"begin_session": 1, "metrics": {"_os": "Android" if i % 2 else "iOS"}},
                           {"session_duration": 45 + i, "end_session": 1}):
                status, body = await tally.write(app_key=app["key"], device_id=f"d{days_ago}-{i}", timestamp=ts,
                                                 **params)
                assert (status, body) == (200, {"result": "Success"})
        sent[days_ago] = devices
    status, dashboard = await tally.read("/o/analytics/dashboard", app_id=app["_id"], period="30days")
    assert status == 200
    expected = dashboard["30days"]["dashboard"]
    assert expected["total_sessions"]["total"] == sum(sent.values())

    root = str(tally.client.make_url("/widget/demo"))
    good = await token(tally, app["_id"])
    page = parse(await render(f"{root}?app_id={app['_id']}&token={good}"))
    assert page.state == "ready", page.error
    assert page.figures == {k: str(expected[k]["total"]) for k in
                            ("total_sessions", "total_users", "new_users", "total_time", "avg_time", "avg_requests")}
    assert len(page.bars) == 30
    by_day = dict(page.bars)
    assert sum(by_day.values()) == sum(sent.values())
    assert sorted(v for v in by_day.values() if v) == sorted(sent.values())

    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "widget.png"
    await render(f"{root}?app_id={app['_id']}&token={good}", screenshot=shot)
    assert shot.stat().st_size > 1000

    foreign = await token(tally, other["_id"])
    page = parse(await render(f"{root}?app_id={app['_id']}&token={foreign}"))
    assert page.state == "error"
    assert page.error == "Token not valid"
    assert page.figures == {} and page.bars == []
