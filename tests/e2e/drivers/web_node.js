"use strict";
/**
 * Driver for the official Countly Web SDK (countly-sdk-web 26.1.1) under plain Node
 * ("worker" mode: no window, requests through fetch, force_post defaults to true).
 *
 * Node 20 has no global navigator; the SDK needs userAgent and language, so a stub is
 * installed. A small file-backed storage object is passed as `storage` (a fresh file in
 * storage_dir per run): without one the SDK cannot keep its session cookie and re-sends
 * begin_session after every heartbeat.
 *
 * Input: url, app_key, device_id, scenario (session | offline, see web_scenario.js),
 * salt, force_post, storage_dir, timeout_s, country_code, city, metrics, heartbeats.
 */

const fs = require("fs");
const path = require("path");
const { log, Ledger, instrumentFetch, runDriver } = require("./common");

require("./web_scenario.js");

function fileStorage(file) {
    let data = {};
    try {
        data = JSON.parse(fs.readFileSync(file, "utf8"));
    }
    catch (e) {
        data = {};
    }
    const save = () => fs.writeFileSync(file, JSON.stringify(data));
    return {
        getItem: (k) => (Object.prototype.hasOwnProperty.call(data, k) ? data[k] : null),
        setItem: (k, v) => {
            data[k] = String(v);
            save();
        },
        removeItem: (k) => {
            delete data[k];
            save();
        },
    };
}

runDriver(async (sc, setLedger) => {
    if (typeof globalThis.navigator === "undefined") {
        Object.defineProperty(globalThis, "navigator", {
            value: { userAgent: "Mozilla/5.0 (X11; Linux x86_64) TallyE2E/1.0 Node", language: "en-US" },
            configurable: true,
            writable: true,
        });
    }
    const ledger = new Ledger();
    setLedger(ledger);
    instrumentFetch(ledger);

    const Countly = require("countly-sdk-web").default;
    const env = {
        rows: () => ledger.entries,
        inflight: () => ledger.inflight,
        log: (m) => log(m),
        storage: fileStorage(path.join(sc.storage_dir, "web_storage.json")),
    };
    return globalThis.e2eWebScenario(Countly, sc, env);
});
