"use strict";
/**
 * Driver for the official Countly Node.js SDK (countly-sdk-nodejs 24.10.4).
 *
 * Input (JSON, argv[2] or stdin): url, app_key, device_id, scenario, salt, force_post,
 * storage_dir, timeout_s, clock_offset_s (offline_record only), heartbeats (session).
 *
 * Scenarios:
 *   session        begin_session with metrics/location, events with count/sum/dur/segmentation
 *                  (one segment value is a URL with "%20" in it), a timed event, user_details, automatic heartbeats (session_update 2) until
 *                  `heartbeats` session_duration requests were accepted, end_session.
 *   quick          the same data without automatic heartbeats: explicit session_duration(5),
 *                  session_duration(7), end_session(4). Every request is deterministic, so two
 *                  runs produce the same /o numbers (used for the salt and retry tests).
 *   offline_record the quick flow while the server is unreachable (url points to a closed
 *                  port) with the clock shifted by clock_offset_s; the queue stays in
 *                  storage_dir and the process exits.
 *   offline_flush  a new process on the same storage_dir with the real url: the stored,
 *                  back-dated queue is sent first, then a short session of its own.
 */

const fs = require("fs");
const http = require("http");
const path = require("path");
const common = require("./common");

const { log, sleep, waitFor, Ledger, instrumentHttp, runDriver, shiftClock } = common;

runDriver(async (sc, setLedger) => {
    if (sc.scenario === "offline_record" && sc.clock_offset_s) {
        shiftClock(sc.clock_offset_s * 1000);
        log(`clock shifted by ${sc.clock_offset_s}s: now=${new Date().toISOString()}`);
    }
    const ledger = new Ledger();
    setLedger(ledger);
    instrumentHttp(http, ledger);
    // what a previous process left in storage (read before init: init starts sending at once)
    let storedBefore = 0;
    try {
        storedBefore = JSON.parse(fs.readFileSync(path.join(sc.storage_dir, "__cly_queue.json"), "utf8")).cly_queue.length;
    }
    catch (e) {
        storedBefore = 0;
    }

    // required after the clock shift and the http patch
    const Countly = require("countly-sdk-nodejs");
    const storage = require("countly-sdk-nodejs/lib/countly-storage");

    const queued = () => storage.storeGet("cly_queue", []).length + storage.storeGet("cly_event", []).length;
    const drained = async (label, timeoutMs) => {
        await waitFor(label, () => queued() === 0 && ledger.inflight === 0, { timeoutMs, everyMs: 250, stableFor: 3 });
    };
    const acceptedWith = (key) => ledger.count((e) => e.accepted && e.path === "/i" && e.params[key] !== undefined);

    Countly.init({
        app_key: sc.app_key,
        url: sc.url,
        device_id: sc.device_id,
        app_version: "2.5.1",
        country_code: "LV",
        city: "Riga",
        metrics: {
            _os: "Linux",
            _os_version: "6.1.0",
            _device: "ci-runner",
            _resolution: "1920x1080",
            _carrier: "TestTel",
            _density: "2.0",
            _locale: "lv_LV",
        },
        session_update: 2,
        fail_timeout: 1,
        interval: 500,
        force_post: !!sc.force_post,
        salt: sc.salt || undefined,
        storage_path: sc.storage_dir,
        debug: !!sc.debug,
    });

    const addEvents = () => {
        Countly.add_event({ key: "purchase", count: 3, sum: 29.97, dur: 12, segmentation: { item: "sword", tier: "gold" } });
        Countly.add_event({ key: "purchase", count: 2, sum: 10.5, segmentation: { item: "shield", tier: "gold" } });
        Countly.add_event({ key: "level_play", segmentation: { level: "forest" } });
    };
    const userDetails = () => Countly.user_details({
        name: "Ada Lovelace",
        email: "ada@example.com",
        byear: 1815,
        custom: { plan: "pro", logins: { $inc: 1 } },
    });
    // wait until the SDK has turned the event queue into a request (at most one tick)
    const eventsFlushed = () => waitFor("event queue flushed", () => storage.storeGet("cly_event", []).length === 0, { timeoutMs: 5000, everyMs: 50 });

    switch (sc.scenario) {
        case "session": {
            const beats = sc.heartbeats || 2;
            Countly.begin_session();
            addEvents();
            // a segment value with a percent-escape in it (a URL), as apps often send
            Countly.add_event({ key: "search", segmentation: { url: "/search?q=red%20shoes", results: "12" } });
            Countly.start_event("checkout");
            await sleep(1200);
            userDetails();
            await sleep(1000);
            Countly.end_event({ key: "checkout", segmentation: { step: "pay" } });
            await waitFor(`${beats} heartbeats accepted`, () => acceptedWith("session_duration") >= beats, { timeoutMs: 8000 + beats * 4000 });
            Countly.end_session();
            await drained("request queue drained", 20000);
            break;
        }
        case "quick":
        case "offline_record": {
            Countly.begin_session(true);
            Countly.session_duration(5);
            addEvents();
            await eventsFlushed();
            userDetails();
            Countly.session_duration(7);
            Countly.add_event({ key: "checkout", count: 1, dur: 3, segmentation: { step: "pay" } });
            await eventsFlushed();
            Countly.end_session(4);
            if (sc.scenario === "quick") {
                await drained("request queue drained", 20000);
                break;
            }
            // offline: the server is down; wait until all 7 requests (begin, 5 s, events,
            // user_details, 7 s, events, end) are queued and none is in flight (a failed attempt
            // puts the request back at the head), then write the queue to disk and leave.
            await waitFor("offline queue complete (7 requests)", () => storage.storeGet("cly_event", []).length === 0 && ledger.inflight === 0
                && storage.storeGet("cly_queue", []).length === 7, { timeoutMs: 10000, everyMs: 50, stableFor: 2 });
            // stop further send attempts (the SDK skips its queue in test_mode), let pending async
            // file writes finish, then write the queue synchronously and check the file.
            Countly.test_mode = true;
            await sleep(600);
            const file = path.join(sc.storage_dir, "__cly_queue.json");
            let onDisk = -1;
            for (let i = 0; i < 5 && onDisk !== 7; i++) {
                storage.forceStore();
                await sleep(200);
                try {
                    onDisk = JSON.parse(fs.readFileSync(file, "utf8")).cly_queue.length;
                }
                catch (e) {
                    onDisk = -1;
                }
            }
            if (onDisk !== 7) {
                throw new Error(`the stored queue holds ${onDisk} requests, expected 7`);
            }
            return { queued: onDisk };
        }
        case "offline_flush": {
            const stored = storedBefore;
            log(`stored queue from the offline run: ${stored} requests`);
            if (stored === 0) {
                throw new Error("offline_flush: the stored queue is empty (offline_record did not persist it)");
            }
            await drained("stored queue flushed", 30000);
            Countly.begin_session(true);
            Countly.add_event({ key: "purchase", count: 1, sum: 1.25, segmentation: { item: "potion", tier: "silver" } });
            await eventsFlushed();
            Countly.end_session(2);
            await drained("request queue drained", 20000);
            return { flushed_from_storage: stored };
        }
        default:
            throw new Error(`unknown scenario ${sc.scenario}`);
    }
    return {};
});
