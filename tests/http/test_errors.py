"""Every error path of /i, /i/bulk, /o/sdk and /o with its exact status and JSON; JSONP, escaping,
CORS; malformed parts (200 with warnings); SDK retries; and every transport giving the same numbers.
"""
from __future__ import annotations

import hashlib
import json
from typing import Any

import aiohttp
import pytest

from tests.http.util_http import (
    LIMITS,
    T0,
    metric_obj,
    new_app,
    query_string,
    raw,
    read_ok,
    same_timeobj,
    sessions,
    write_ok,
)

MISSING = {"result": 'Missing parameter "app_key" or "device_id"'}
NO_APP = {"result": "App does not exist"}


async def _get_i(tally: Any, qs: str, path: str = "/i") -> tuple[int, Any]:
    status, text, _ = await raw(tally, "GET", path, qs)
    return status, json.loads(text)


async def _is_empty(tally: Any, app_id: str, method: str = "sessions") -> bool:
    r = await tally.client.get("/o", params={"api_key": tally.admin_key, "app_id": app_id, "method": method})
    return r.status == 200 and await r.text() == "{}"


# ---- /i: identity, app, paused ----

@pytest.mark.parametrize("qs", ["", "app_key={key}", "device_id=d", "app_key=&device_id=d", "app_key={key}&device_id=",
                                "begin_session=1"])
async def test_i_missing_app_key_or_device_id(tally, qs):
    app_id, key = await new_app(tally)
    assert await _get_i(tally, qs.format(key=key)) == (400, MISSING)
    status, text, _ = await raw(tally, "POST", "/i", body=qs.format(key=key),
                                content_type="application/x-www-form-urlencoded")
    assert (status, json.loads(text)) == (400, MISSING)
    assert await _is_empty(tally, app_id)


async def test_i_unknown_app(tally):
    assert await _get_i(tally, "app_key=nope&device_id=d&begin_session=1") == (400, NO_APP)
    assert await _get_i(tally, "app_key=nope&device_id=d", "/o/sdk") == (400, NO_APP)


async def test_operator_app_key_never_matches(tally):
    app_id, key = await new_app(tally)
    qs = f"app_key[$regex]=^{key[0]}&device_id=d&begin_session=1"
    assert await _get_i(tally, qs) == (400, NO_APP)
    assert await _get_i(tally, f"app_key[$regex]=^{key[0]}&device_id=d&method=sc", "/o/sdk") == (400, NO_APP)
    r = await tally.client.post("/i", json={"app_key": {"$regex": f"^{key[0]}"}, "device_id": "d", "begin_session": 1})
    assert (r.status, await r.json()) == (400, NO_APP)
    r = await tally.client.post("/i", json={"app_key": {"$ne": None}, "device_id": "d", "begin_session": 1})
    assert (r.status, await r.json()) == (400, NO_APP)
    assert await _is_empty(tally, app_id)


async def test_i_paused_app(tally):
    app_id, key = await new_app(tally, paused=True)
    assert await tally.write(app_key=key, device_id="d", begin_session=1) == (
        400, {"result": "App is currently not accepting data"})
    assert await _is_empty(tally, app_id)


async def test_i_app_id_of_wrong_length(tally):
    # contract §1.3: the early global check applies to every request, /i included
    _, key = await new_app(tally)
    assert await tally.write(app_key=key, device_id="d", app_id="123") == (
        400, {"result": 'Invalid parameter "app_id"'})


# ---- checksums ----

SALT = "s3cret-salt"


def sha1(text: str) -> str:
    return hashlib.sha1((text + SALT).encode()).hexdigest().upper()


def sha256(text: str) -> str:
    return hashlib.sha256((text + SALT).encode()).hexdigest()


async def test_checksum_missing_or_wrong_is_200_with_a_message_and_not_stored(tally):
    app_id, key = await new_app(tally, salt=SALT)
    base = f"app_key={key}&device_id=d&begin_session=1"
    assert await _get_i(tally, base) == (200, {"result": "Request does not have checksum"})
    assert await _get_i(tally, base + "&checksum=ABCDEF") == (200, {"result": "Request does not match checksum"})
    assert await _get_i(tally, base + "&checksum256=abcdef") == (200, {"result": "Request does not match checksum"})
    assert await _get_i(tally, base + "&checksum=" + sha1(base + "x")) == (
        200, {"result": "Request does not match checksum"})
    assert await _get_i(tally, f"app_key={key}&device_id=d&method=sc", "/o/sdk") == (
        200, {"result": "Request does not have checksum"})
    assert await _is_empty(tally, app_id)


async def test_checksum_correct_sha1_and_sha256(tally):
    app_id, key = await new_app(tally, salt=SALT)
    one = f"app_key={key}&device_id=d1&begin_session=1"
    assert await _get_i(tally, one + "&checksum=" + sha1(one)) == (200, {"result": "Success"})
    # checksum in the middle (Countly's example): the hash is over the rest, joined again
    two = f"app_key={key}&device_id=d2&begin_session=1"
    assert await _get_i(tally, f"app_key={key}&checksum={sha1(two)}&device_id=d2&begin_session=1") == (
        200, {"result": "Success"})
    three = f"app_key={key}&device_id=d3&begin_session=1"
    assert await _get_i(tally, three + "&checksum=" + sha1(three).lower()) == (200, {"result": "Success"})
    four = f"app_key={key}&device_id=d4&begin_session=1"
    assert await _get_i(tally, four + "&checksum256=" + sha256(four)) == (200, {"result": "Success"})
    five = f"app_key={key}&device_id=d5&begin_session=1"
    assert await _get_i(tally, five + "&checksum256=" + sha256(five).upper()) == (200, {"result": "Success"})
    # POST form body, as the SDKs send it with force_post
    six = f"app_key={key}&device_id=d6&begin_session=1"
    status, text, _ = await raw(tally, "POST", "/i", body=six + "&checksum256=" + sha256(six),
                                content_type="application/x-www-form-urlencoded")
    assert (status, json.loads(text)) == (200, {"result": "Success"})
    assert (await sessions(tally, app_id))["2024"]["t"] == 6


async def test_checksum_over_the_raw_percent_encoded_query(tally):
    # SDKs hash the query string exactly as sent (percent-encoded JSON), not a decoded form
    app_id, key = await new_app(tally, salt=SALT)
    qs = query_string([("app_key", key), ("device_id", "enc"), ("begin_session", 1),
                       ("metrics", {"_os": "Android", "_app_version": "1.0"}), ("timestamp", (T0 - 5) * 1000)])
    assert "%7B%22_os%22" in qs
    assert await _get_i(tally, qs + "&checksum256=" + sha256(qs)) == (200, {"result": "Success"})
    assert await sessions(tally, app_id, "device_details") == metric_obj(
        {"Android": 1, "1:0": 1}, {"os": ["Android"], "app_versions": ["1:0"]})


# ---- /o ----

async def test_o_errors(tally):
    app_id, _ = await new_app(tally)
    r = await tally.client.get("/o")
    assert (r.status, await r.json()) == (400, {"result": 'Missing parameter "app_id"'})
    assert await tally.read(method="sessions") == (400, {"result": 'Missing parameter "app_id"'})
    assert await tally.read(app_id=app_id) == (400, {"result": "Invalid method"})
    assert await tally.read(app_id=app_id, method="no_such_method") == (400, {"result": "Invalid method"})
    # the method is checked before the credentials
    r = await tally.client.get("/o", params={"app_id": app_id, "method": "nope"})
    assert (r.status, await r.json()) == (400, {"result": "Invalid method"})
    for bad in ("123", app_id + "0", app_id[:-1]):
        assert await tally.read(app_id=bad, method="sessions") == (400, {"result": 'Invalid parameter "app_id"'})
    assert await tally.read(app_id=app_id, method="sessions", user_id="short") == (
        400, {"result": 'Invalid parameter "user_id"'})
    # a global admin asking for an app that does not exist
    assert await tally.read(app_id="0123456789abcdef01234567", method="sessions") == (
        401, {"result": "App does not exist"})
    r = await tally.client.get("/o", params={"app_id": app_id, "method": "sessions"})
    assert (r.status, await r.json()) == (400, {"result": 'Missing parameter "api_key" or "auth_token"'})
    r = await tally.client.get("/o", params={"app_id": app_id, "method": "sessions", "api_key": "b" * 32})
    assert (r.status, await r.json()) == (401, {"result": "User does not exist"})


async def test_sdk_endpoint_errors(tally):
    _, key = await new_app(tally)
    assert await _get_i(tally, "method=sc", "/o/sdk") == (400, MISSING)
    assert await _get_i(tally, f"app_key={key}&device_id=d&method=nope", "/o/sdk") == (400, {"result": "Invalid method"})
    status, text, _ = await raw(tally, "GET", "/o/sdk", f"app_key={key}&device_id=d&method=sc")
    assert status == 200 and isinstance(json.loads(text), (dict, list))


async def test_unknown_paths(tally):
    for method, path in (("GET", "/nope"), ("GET", "/x/y/z"), ("POST", "/nope"), ("GET", "/i/nope"),
                         ("GET", "/o/nope")):
        status, text, _ = await raw(tally, method, path)
        assert (status, json.loads(text)) == (400, {"result": "Invalid path"}), path


# ---- JSONP ----

def _unwrap(text: str, name: str) -> Any:
    assert text.startswith(name + "(") and text.endswith(");"), text
    return json.loads(text[len(name) + 1:-2])


async def test_jsonp_wraps_reads_writes_and_errors(tally):
    app_id, key = await new_app(tally)
    status, text, _ = await raw(tally, "GET", "/i", f"app_key={key}&device_id=d&begin_session=1&callback=cb")
    assert (status, text) == (200, 'cb({"result":"Success"});')
    status, text, _ = await raw(tally, "GET", "/i", "device_id=d&callback=cb")
    assert status == 400 and _unwrap(text, "cb") == MISSING
    status, text, _ = await raw(tally, "GET", "/o",
                                f"api_key={tally.admin_key}&app_id={app_id}&method=sessions&callback=jQuery.cb_1$")
    assert status == 200
    assert _unwrap(text, "jQuery.cb_1$") == await sessions(tally, app_id)
    status, text, _ = await raw(tally, "GET", "/o", f"api_key={tally.admin_key}&app_id={app_id}&callback=cb")
    assert status == 400 and _unwrap(text, "cb") == {"result": "Invalid method"}


@pytest.mark.parametrize("callback", ["alert(1)", "a-b", "1abc", "%3Cscript%3E", "cb%3Bx", "a%20b", "a..b"])
async def test_bad_jsonp_callback_is_rejected(tally, callback):
    app_id, key = await new_app(tally)
    for path, qs in (("/i", f"app_key={key}&device_id=d&begin_session=1&callback={callback}"),
                     ("/o", f"api_key={tally.admin_key}&app_id={app_id}&method=sessions&callback={callback}")):
        status, text, _ = await raw(tally, "GET", path, qs)
        assert status == 400, (path, text)
        body = json.loads(text)                      # plain JSON, never wrapped in the bad name
        assert set(body) == {"result"} and isinstance(body["result"], str)


async def test_a_write_answered_400_for_its_callback_stores_nothing(tally):
    # A 4xx tells the SDK the request failed: it resends it (sdk-clients §5.5), so a rejected
    # request must not have been counted already.
    app_id, key = await new_app(tally)
    status, _, _ = await raw(tally, "GET", "/i", f"app_key={key}&device_id=d&begin_session=1&callback=alert(1)")
    assert status == 400
    assert await _is_empty(tally, app_id)


# ---- HTML escaping of output ----

async def test_output_strings_are_html_escaped(tally):
    app_id, key = await new_app(tally)
    await write_ok(tally, app_key=key, device_id="x", begin_session=1,
                   metrics={"_device": "<b>Phone</b>", "_carrier": "O'Neil & Sons"},
                   events=[{"key": '<script>alert("x")</script>', "segmentation": {"q": "<i>"}},
                           {"key": "Tom & Jerry's"}])
    reg = await read_ok(tally, app_id, method="get_events")
    assert reg == {"_id": app_id,
                   "list": ["&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;", "Tom &amp; Jerry&#39;s"],
                   "segments": {"&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;": ["q"]}, "limits": LIMITS}
    assert await sessions(tally, app_id, "devices") == metric_obj(
        {"&lt;b&gt;Phone&lt;/b&gt;": 1}, {"devices": ["&lt;b&gt;Phone&lt;/b&gt;"]})
    assert await sessions(tally, app_id, "carriers") == metric_obj(
        {"O&#39;Neil &amp; Sons": 1}, {"carriers": ["O&#39;Neil &amp; Sons"]})
    seg = await read_ok(tally, app_id, method="events", event='<script>alert("x")</script>', segmentation="q")
    assert seg == {"2024": {"&lt;i&gt;": {"c": 1}, "11": {"&lt;i&gt;": {"c": 1}, "7": {"&lt;i&gt;": {"c": 1}}}},
                   "meta": {"segments": ["q"], "q": ["&lt;i&gt;"]}}
    # and nothing unescaped travels in the raw text
    _, text, _ = await raw(tally, "GET", "/o", f"api_key={tally.admin_key}&app_id={app_id}&method=devices")
    assert "<b>" not in text


# ---- CORS ----

async def test_cors_headers_and_preflight(tally):
    _, key = await new_app(tally)
    origin = {"Origin": "http://shop.example"}
    for qs in (f"app_key={key}&device_id=d&begin_session=1", "device_id=d", "app_key=nope&device_id=d"):
        _, _, r = await raw(tally, "GET", "/i", qs, headers=origin)
        assert r.headers.get("Access-Control-Allow-Origin") == "*", qs
    _, _, r = await raw(tally, "POST", "/i/bulk", body=query_string({"app_key": key, "requests": []}),
                        content_type="application/x-www-form-urlencoded", headers=origin)
    assert r.headers.get("Access-Control-Allow-Origin") == "*"
    _, _, r = await raw(tally, "GET", "/o/sdk", f"app_key={key}&device_id=d&method=sc", headers=origin)
    assert r.headers.get("Access-Control-Allow-Origin") == "*"
    for path in ("/i", "/i/bulk", "/o/sdk"):
        status, _, r = await raw(tally, "OPTIONS", path, headers={
            **origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"})
        assert 200 <= status < 300, path
        assert r.headers.get("Access-Control-Allow-Origin") == "*"
        assert "POST" in r.headers.get("Access-Control-Allow-Methods", "")
        assert "content-type" in r.headers.get("Access-Control-Allow-Headers", "").lower()


# ---- malformed parts: 200 with warnings, the rest stored ----

def _warned(body: Any, n: int, *names: str) -> None:
    assert body["result"] == "Success" and set(body) == {"result", "warnings"}, body
    assert len(body["warnings"]) == n and all(isinstance(w, str) for w in body["warnings"]), body
    text = " ".join(body["warnings"])
    for name in names:
        assert name in text, (name, body)


async def test_bad_metrics_json(tally):
    app_id, key = await new_app(tally)
    status, body = await tally.write(app_key=key, device_id="m", begin_session=1, metrics="{bad json")
    assert status == 200
    _warned(body, 1, "metrics")
    assert (await sessions(tally, app_id))["2024"]["t"] == 1
    assert await _is_empty(tally, app_id, "device_details")


async def test_bad_events_json_and_events_not_an_array(tally):
    app_id, key = await new_app(tally)
    status, body = await tally.write(app_key=key, device_id="e", begin_session=1, events='[{"key": "x"')
    assert status == 200
    _warned(body, 1, "events")
    status, body = await tally.write(app_key=key, device_id="e", events='{"key": "x"}')
    assert status == 200
    _warned(body, 1, "events")
    assert await read_ok(tally, app_id, method="get_events") == {"limits": LIMITS}
    users = await sessions(tally, app_id)
    assert (users["2024"]["t"], users["2024"]["e"]) == (1, 2)


async def test_bad_user_details_json(tally):
    app_id, key = await new_app(tally)
    status, body = await tally.write(app_key=key, device_id="u", user_details="{oops")
    assert status == 200
    _warned(body, 1, "user_details")
    assert same_timeobj(await sessions(tally, app_id),
                        {"2024": {"11": {"7": {"17": {"e": 1}, "e": 1}, "e": 1}, "e": 1}, "meta": {}})


async def test_bad_events_inside_a_good_list(tally):
    app_id, key = await new_app(tally)
    status, body = await tally.write(app_key=key, device_id="e", events=[
        {"count": 1}, {"key": "ok", "count": 2}, {"key": "bad", "count": "abc"}, {"key": "", "count": 1},
        {"key": "fine"}, "not an object"])
    assert status == 200
    _warned(body, 4, "key", "count")
    assert await read_ok(tally, app_id, method="get_events") == {
        "_id": app_id, "list": ["ok", "fine"], "limits": LIMITS}
    two = {"c": 2}
    assert same_timeobj(await read_ok(tally, app_id, method="events", event="ok"),
                        {"2024": {"11": {"7": {"17": two, **two}, **two}, **two}, "meta": {}})


async def test_every_part_bad_at_once(tally):
    app_id, key = await new_app(tally)
    status, body = await tally.write(app_key=key, device_id="all", begin_session=1, session_duration=20,
                                     metrics="nope", events="nope", user_details="nope")
    assert status == 200
    _warned(body, 3, "metrics", "events", "user_details")
    users = await sessions(tally, app_id)
    assert (users["2024"]["t"], users["2024"]["d"], users["2024"]["e"]) == (1, 20, 2)


# ---- SDK retries ----

DUPLICATE = {"result": "Success", "info": "Request ignored: Duplicate request"}


async def test_duplicate_retry_with_a_different_rr_is_ignored(tally):
    app_id, key = await new_app(tally)
    first = {"app_key": key, "device_id": "r", "begin_session": 1, "timestamp": (T0 - 30) * 1000,
             "metrics": {"_os": "Android"}}
    assert await tally.write(**first, rr=1) == (200, {"result": "Success"})
    assert await tally.write(**first, rr=2) == (200, DUPLICATE)
    assert await tally.write(**first) == (200, DUPLICATE)
    status, text, _ = await raw(tally, "POST", "/i", body=query_string({**first, "rr": 5}),
                                content_type="application/x-www-form-urlencoded")
    assert (status, json.loads(text)) == (200, DUPLICATE)
    users = await sessions(tally, app_id)
    assert (users["2024"]["t"], users["2024"]["n"], users["2024"]["e"]) == (1, 1, 1)
    assert await sessions(tally, app_id, "device_details") == metric_obj({"Android": 1}, {"os": ["Android"]})


async def test_duplicate_detected_with_other_requests_in_between(tally):
    app_id, key = await new_app(tally)
    a = {"app_key": key, "device_id": "r", "begin_session": 1, "timestamp": (T0 - 30) * 1000}
    b = {"app_key": key, "device_id": "r", "events": [{"key": "buy", "count": 3, "timestamp": (T0 - 20) * 1000}],
         "timestamp": (T0 - 20) * 1000}
    c = {"app_key": key, "device_id": "r", "session_duration": 10, "timestamp": (T0 - 10) * 1000}
    for params in (a, b, c):
        assert await tally.write(**params, rr=1) == (200, {"result": "Success"})
    for params in (a, b, c, b):
        assert await tally.write(**params, rr=4) == (200, DUPLICATE)
    users = await sessions(tally, app_id)
    assert (users["2024"]["t"], users["2024"]["e"], users["2024"]["d"]) == (1, 3, 10)
    three = {"c": 3}
    assert same_timeobj(await read_ok(tally, app_id, method="events", event="buy"),
                        {"2024": {"11": {"7": {"17": three, **three}, **three}, **three}, "meta": {}})


async def test_same_request_with_another_timestamp_is_not_a_duplicate(tally):
    app_id, key = await new_app(tally)
    base = {"app_key": key, "events": [{"key": "buy"}]}
    assert await tally.write(**base, device_id="r", timestamp=(T0 - 30) * 1000) == (200, {"result": "Success"})
    assert await tally.write(**base, device_id="r", timestamp=(T0 - 29) * 1000) == (200, {"result": "Success"})
    assert await tally.write(**base, device_id="other", timestamp=(T0 - 29) * 1000) == (200, {"result": "Success"})
    users = await sessions(tally, app_id)
    assert users["2024"]["e"] == 3


# ---- transports: GET, POST form, POST with the query, JSON body, multipart ----

STEPS: list[dict[str, Any]] = [
    {"device_id": "t", "begin_session": 1, "metrics": {"_os": "Android", "_app_version": "1.0"},
     "timestamp": (T0 - 120) * 1000},
    {"device_id": "t", "events": [{"key": "buy", "count": 2, "sum": 3.5, "segmentation": {"k": "v"}}],
     "timestamp": (T0 - 60) * 1000},
    {"device_id": "t", "session_duration": 30, "end_session": 1, "timestamp": T0 * 1000},
]


async def _send(tally: Any, transport: str, key: str, step: dict[str, Any]) -> tuple[int, Any]:
    params = {"app_key": key, **step}
    if transport == "get":
        status, text, _ = await raw(tally, "GET", "/i", query_string(params))
    elif transport == "form":
        status, text, _ = await raw(tally, "POST", "/i", body=query_string(params),
                                    content_type="application/x-www-form-urlencoded")
    elif transport == "query-post":   # web SDK in worker mode: empty body, form content type
        status, text, _ = await raw(tally, "POST", "/i", query_string(params), body=b"",
                                    content_type="application/x-www-form-urlencoded")
    elif transport == "json":
        r = await tally.client.post("/i", json=params)
        status, text = r.status, await r.text()
    else:
        form = aiohttp.FormData()
        for k, v in params.items():
            form.add_field(k, json.dumps(v) if isinstance(v, (dict, list)) else str(v))
        form.add_field("user_picture", b"\x89PNG\r\n\x1a\n", filename="me.png", content_type="image/png")
        r = await tally.client.post("/i", data=form)
        status, text = r.status, await r.text()
    return status, json.loads(text)


async def test_every_transport_stores_the_same_numbers(tally):
    expected_users = {
        "2024": {
            "u": 1, "f": {"0": 1}, "ds": {"1": 1}, "Unknown": {"u": 1, "t": 1, "n": 1},
            "w45": {"u": 1, "f": {"0": 1}, "ds": {"1": 1}, "Unknown": {"u": 1}},
            "11": {
                "u": 1, "f": {"0": 1}, "ds": {"1": 1}, "Unknown": {"u": 1, "t": 1, "n": 1},
                "7": {"17": {"e": 3, "t": 1, "n": 1, "u": 1, "d": 30},
                      "e": 3, "t": 1, "n": 1, "u": 1, "d": 30, "Unknown": {"t": 1, "n": 1, "u": 1},
                      "f": {"0": 1}, "ds": {"1": 1}},
                "e": 3, "t": 1, "n": 1, "d": 30},
            "e": 3, "t": 1, "n": 1, "d": 30},
        "meta": {"countries": ["Unknown"], "f-ranges": ["0"], "d-ranges": ["1"]},
    }
    buy = {"c": 2, "s": 3.5}
    expected_buy = {"2024": {"11": {"7": {"17": buy, **buy}, **buy}, **buy},
                    "meta": {"segments": ["k"], "k": ["v"]}}
    for transport in ("get", "form", "query-post", "json", "multipart"):
        app_id, key = await new_app(tally, transport)
        for step in STEPS:
            assert await _send(tally, transport, key, step) == (200, {"result": "Success"}), (transport, step)
        assert await sessions(tally, app_id) == expected_users, transport
        assert await sessions(tally, app_id, "device_details") == metric_obj(
            {"Android": 1, "1:0": 1}, {"os": ["Android"], "app_versions": ["1:0"]}), transport
        assert await read_ok(tally, app_id, method="events", event="buy") == expected_buy, transport
        # the SDK retry of the last step is recognised whatever the transport
        assert await _send(tally, transport, key, STEPS[-1]) == (200, DUPLICATE), transport


async def test_body_overrides_the_query(tally):
    app_id, key = await new_app(tally)
    query = query_string({"app_key": "wrong", "device_id": "from-query", "begin_session": 1,
                          "metrics": {"_os": "Android"}})
    body = query_string({"app_key": key, "device_id": "from-body", "metrics": {"_os": "IOS"}})
    status, text, _ = await raw(tally, "POST", "/i", query, body=body, content_type="application/x-www-form-urlencoded")
    assert (status, json.loads(text)) == (200, {"result": "Success"})
    assert await sessions(tally, app_id, "device_details") == metric_obj({"IOS": 1}, {"os": ["IOS"]})
    # the session belongs to the body's device: its next session is a returning one
    await write_ok(tally, app_key=key, device_id="from-body", begin_session=1)
    users = await sessions(tally, app_id)
    assert (users["2024"]["t"], users["2024"]["n"], users["2024"]["u"]) == (2, 1, 1)
    r = await tally.client.post("/i?app_key=wrong&device_id=q&begin_session=1",
                                json={"app_key": key, "device_id": "from-json"})
    assert (r.status, await r.json()) == (200, {"result": "Success"})
    users = await sessions(tally, app_id)
    assert (users["2024"]["t"], users["2024"]["n"]) == (3, 2)


async def test_query_values_are_decoded_exactly_once(tally):
    # the SDKs encodeURIComponent every value once; a value that itself contains "%20", "%26" or
    # "+" (an URL in a segment, a phone number) must come out exactly as sent
    app_id, key = await new_app(tally)
    values = ["http://shop.example/a%20b?x=1&y=2", "100%41", "+371 2000", "a+b c"]
    qs = query_string([("app_key", key), ("device_id", "enc"),
                       ("events", [{"key": "link", "segmentation": {"href": v}} for v in values])])
    expected = sorted(["http://shop:example/a%20b?x=1&amp;y=2", "100%41", "+371 2000", "a+b c"])
    status, text, _ = await raw(tally, "POST", "/i", body=qs, content_type="application/x-www-form-urlencoded")
    assert (status, json.loads(text)) == (200, {"result": "Success"})
    body = await read_ok(tally, app_id, method="events", event="link")
    assert sorted(body["meta"]["href"]) == expected                           # form body
    other_id, other_key = await new_app(tally, "get")
    assert await _get_i(tally, qs.replace(key, other_key)) == (200, {"result": "Success"})
    body = await read_ok(tally, other_id, method="events", event="link")
    assert sorted(body["meta"]["href"]) == expected                           # query string
