"use strict";
/**
 * Driver for `Countly.Bulk` (the server-side importer of countly-sdk-nodejs 24.10.4), the only
 * official SDK code that uses /i/bulk.
 *
 * Scenario "import" (input: url, app_key, device_id (used as a prefix), base_ts (unix seconds,
 * back-dated by the test), force_post, salt, timeout_s):
 *   phase 1, one bulk of back-dated data (POST, because it is over 2000 characters):
 *     <prefix>-a  add_user(LV/Riga).begin_session(metrics, 150 s, base_ts): begin_session plus
 *                 session_duration 60/60/30 at base_ts+60/+120/+180 (seconds timestamps);
 *                 add_event purchase (ms timestamp base_ts+30); user_details; a raw
 *                 end_session at base_ts+200.
 *     <prefix>-b  add_user(US).begin_session(metrics, 45 s, base_ts+600); add_event level_up.
 *     <prefix>-c  raw add_request items: begin_session with metrics as a JSON string and a ms
 *                 timestamp; events as a JSON string whose event has no count (counts 1);
 *                 session_duration 20; end_session.
 *   phase 2, after phase 1 was accepted, a small bulk (GET): <prefix>-d begins a session now.
 * The driver waits until the Bulk queues are empty and nothing is in flight.
 */

const http = require("http");
const { log, waitFor, Ledger, instrumentHttp, runDriver } = require("./common");

runDriver(async (sc, setLedger) => {
    const ledger = new Ledger();
    setLedger(ledger);
    instrumentHttp(http, ledger);
    const Countly = require("countly-sdk-nodejs");

    const bulk = new Countly.Bulk({
        app_key: sc.app_key,
        url: sc.url,
        interval: 500,
        fail_timeout: 1,
        bulk_size: 50,
        force_post: !!sc.force_post,
        salt: sc.salt || undefined,
        debug: !!sc.debug,
    });
    const drained = (label) => waitFor(label, () => bulk._getBulkQueue().length === 0 && bulk._getBulkRequestQueue().length === 0
        && Object.values(bulk._getBulkEventQueue()).every((q) => q.length === 0) && ledger.inflight === 0,
    { timeoutMs: 20000, everyMs: 250, stableFor: 3 });

    const prefix = sc.device_id || "bulk";
    const t0 = sc.base_ts || Math.floor(Date.now() / 1000) - 3 * 3600;

    const a = bulk.add_user({ device_id: `${prefix}-a`, country_code: "LV", city: "Riga" });
    a.begin_session({ _os: "Android", _os_version: "14", _app_version: "1.2", _device: "Pixel 8" }, 150, t0);
    a.add_event({ key: "purchase", count: 2, sum: 5.5, dur: 30, segmentation: { item: "coin" }, timestamp: (t0 + 30) * 1000 });
    a.user_details({ name: "Bulk A", custom: { tier: "gold" } });
    bulk.add_request({ device_id: `${prefix}-a`, end_session: 1, timestamp: t0 + 200 });

    const b = bulk.add_user({ device_id: `${prefix}-b`, country_code: "US" });
    b.begin_session({ _os: "iOS", _os_version: "17.2", _app_version: "1.3" }, 45, t0 + 600);
    b.add_event({ key: "level_up", timestamp: (t0 + 620) * 1000, segmentation: { level: "level-7" } });

    const c = `${prefix}-c`;
    bulk.add_request({ device_id: c, begin_session: 1, country_code: "LV", metrics: JSON.stringify({ _os: "Android", _app_version: "1.2" }), timestamp: (t0 + 900) * 1000 });
    bulk.add_request({ device_id: c, events: JSON.stringify([{ key: "purchase", sum: 1.5, segmentation: { item: "gem" }, timestamp: (t0 + 905) * 1000 }]), timestamp: (t0 + 905) * 1000 });
    bulk.add_request({ device_id: c, session_duration: 20, timestamp: t0 + 910 });
    bulk.add_request({ device_id: c, end_session: 1, timestamp: t0 + 920 });

    bulk.start();
    await drained("phase 1 bulk sent");
    const d = bulk.add_user({ device_id: `${prefix}-d` });
    d.begin_session({ _os: "Linux", _app_version: "1.3" });
    await drained("phase 2 bulk sent");
    bulk.stop();
    const bulks = ledger.entries.filter((e) => e.path === "/i/bulk");
    log(`bulk requests: ${bulks.map((e) => `${e.method} ${e.status}`).join(", ")}`);
    return { base_ts: t0 };
});
