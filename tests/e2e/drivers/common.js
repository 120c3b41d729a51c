"use strict";
/**
 * Shared helpers for the SDK driver scripts (tests/e2e/drivers/*.js).
 *
 * Protocol between pytest and a driver:
 *   - input: one JSON object, either as argv[2] or on stdin (see readScenario);
 *   - output: log lines on stderr, and exactly one line on stdout starting with
 *     "E2E_RESULT " followed by JSON: {ok, error?, ledger, ...}. Exit code 0 when ok.
 *
 * The "ledger" is every HTTP exchange the SDK made, as the SDK saw it: method, path, the
 * merged parameters (query + form body), HTTP status and the reply text (status 0 and
 * `error` when the connection failed). pytest derives the expected /o numbers from the
 * requests the SDK saw accepted, so wall-clock dependent values (heartbeat durations, how
 * events were batched) are checked exactly instead of being guessed.
 */

const fs = require("fs");
const path = require("path");

const RESULT_MARK = "E2E_RESULT ";
// the real clock, kept even when a scenario shifts the global Date (shiftClock)
const RealDate = Date;
const realNow = () => RealDate.now();
const startedAt = realNow();

function log(...args) {
    const secs = ((realNow() - startedAt) / 1000).toFixed(2);
    process.stderr.write(`[driver +${secs}s] ${args.map((a) => (typeof a === "string" ? a : JSON.stringify(a))).join(" ")}\n`);
}

function readScenario() {
    let text = process.argv[2];
    if (!text) {
        text = fs.readFileSync(0, "utf8");
    }
    const sc = JSON.parse(text);
    for (const k of ["url", "app_key", "scenario"]) {
        if (!sc[k]) {
            throw new Error(`scenario input lacks "${k}"`);
        }
    }
    sc.timeout_s = sc.timeout_s || 60;
    sc.storage_dir = sc.storage_dir || fs.mkdtempSync(path.join(require("os").tmpdir(), "tally-e2e-"));
    if (!sc.storage_dir.endsWith(path.sep)) {
        // the Node SDK concatenates "<storage_path>__<key>.json"
        sc.storage_dir += path.sep;
    }
    fs.mkdirSync(sc.storage_dir, { recursive: true });
    return sc;
}

function sleep(ms) {
    return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Poll `cond` every `everyMs` until it returns truthy `stableFor` times in a row.
 * Throws (with `label`) after `timeoutMs`.
 */
async function waitFor(label, cond, { timeoutMs = 20000, everyMs = 100, stableFor = 1 } = {}) {
    const end = realNow() + timeoutMs;
    let streak = 0;
    for (;;) {
        let ok = false;
        try {
            ok = await cond();
        }
        catch (e) {
            ok = false;
        }
        streak = ok ? streak + 1 : 0;
        if (streak >= stableFor) {
            return;
        }
        if (realNow() > end) {
            throw new Error(`timed out after ${timeoutMs} ms waiting for: ${label}`);
        }
        await sleep(everyMs);
    }
}

/** Parse "a=1&b=2" (form rules, like the server) into an object; repeated keys keep the last. */
function parseForm(text) {
    const out = {};
    if (!text) {
        return out;
    }
    for (const [k, v] of new URLSearchParams(text)) {
        out[k] = v;
    }
    return out;
}

/** Merge query and body parameters, the body winning (as the server does). */
function mergedParams(fullPath, body, contentType) {
    const q = fullPath.indexOf("?");
    const params = q >= 0 ? parseForm(fullPath.slice(q + 1)) : {};
    if (body && (!contentType || contentType.indexOf("multipart") < 0)) {
        Object.assign(params, parseForm(body));
    }
    return params;
}

/** The SDKs' own rule (countly-common isResponseValid): 2xx and a JSON object with a truthy result. */
function sdkAccepts(status, text) {
    if (!(status >= 200 && status < 300)) {
        return false;
    }
    try {
        const ob = JSON.parse(text);
        return !!(ob && typeof ob === "object" && !Array.isArray(ob) && ob.result);
    }
    catch (e) {
        return false;
    }
}

class Ledger {
    constructor() {
        this.entries = [];
        this.inflight = 0;
    }

    begin() {
        this.inflight += 1;
    }

    record(entry) {
        this.inflight -= 1;
        entry.accepted = sdkAccepts(entry.status, entry.body || "");
        entry.at = realNow();
        this.entries.push(entry);
        log(`${entry.method} ${entry.path} -> ${entry.status} ${entry.error || (entry.body || "").slice(0, 80)}`,
            Object.keys(entry.params).filter((k) => ["begin_session", "session_duration", "end_session", "events", "user_details", "hc", "requests", "method"].includes(k)).join(","));
    }

    count(pred) {
        return this.entries.filter(pred).length;
    }
}

/**
 * Patch Node's http.request so every request the SDK makes lands in the ledger.
 * The SDKs call `http.request(options, cb)` and `req.write(data)`.
 */
function instrumentHttp(http, ledger) {
    const original = http.request;
    http.request = function patchedRequest(options, cb) {
        const method = (options.method || "GET").toUpperCase();
        const fullPath = options.path || "/";
        const headers = options.headers || {};
        const contentType = headers["Content-Type"] || headers["content-type"] || "";
        const chunks = [];
        let done = false;
        ledger.begin();
        const finish = (entry) => {
            if (!done) {
                done = true;
                ledger.record(Object.assign({
                    via: "http",
                    method,
                    path: fullPath.split("?")[0],
                    content_type: contentType,
                    params: mergedParams(fullPath, chunks.join(""), contentType),
                }, entry));
            }
        };
        const req = original.call(http, options, (res) => {
            let text = "";
            res.on("data", (c) => {
                text += c;
            });
            res.on("end", () => finish({ status: res.statusCode, body: text }));
            res.on("error", (e) => finish({ status: 0, error: String(e) }));
            if (cb) {
                cb(res);
            }
        });
        const write = req.write;
        req.write = function patchedWrite(data, ...rest) {
            chunks.push(Buffer.isBuffer(data) ? data.toString("utf8") : String(data));
            return write.call(req, data, ...rest);
        };
        req.on("error", (e) => finish({ status: 0, error: String(e) }));
        return req;
    };
}

/** Patch globalThis.fetch (web SDK in plain Node). */
function instrumentFetch(ledger) {
    const original = globalThis.fetch;
    globalThis.fetch = async function patchedFetch(url, opts = {}) {
        const method = (opts.method || "GET").toUpperCase();
        const u = new URL(String(url));
        const body = typeof opts.body === "string" ? opts.body : "";
        const headers = opts.headers || {};
        const contentType = headers["Content-type"] || headers["Content-Type"] || "";
        const base = { via: "fetch", method, path: u.pathname, content_type: contentType, params: mergedParams(u.pathname + u.search, body, contentType) };
        ledger.begin();
        let res;
        try {
            res = await original(url, opts);
        }
        catch (e) {
            ledger.record(Object.assign(base, { status: 0, error: String(e) }));
            throw e;
        }
        let text = "";
        try {
            text = await res.clone().text();
        }
        catch (e) {
            text = "";
        }
        ledger.record(Object.assign(base, { status: res.status, body: text }));
        return res;
    };
}

/**
 * Source of an in-page XMLHttpRequest recorder (jsdom and Chromium). It keeps the ledger in
 * `window.__e2eLedger` and the number of open requests in `window.__e2eInflight`.
 */
const XHR_RECORDER_SOURCE = `(function () {
    if (window.__e2eLedger) { return; }
    window.__e2eLedger = [];
    window.__e2eInflight = 0;
    var proto = window.XMLHttpRequest.prototype;
    var open = proto.open, send = proto.send, setHeader = proto.setRequestHeader;
    proto.open = function (method, url) {
        this.__e2e = { method: String(method).toUpperCase(), url: String(url), headers: {} };
        return open.apply(this, arguments);
    };
    proto.setRequestHeader = function (k, v) {
        if (this.__e2e) { this.__e2e.headers[String(k).toLowerCase()] = String(v); }
        return setHeader.apply(this, arguments);
    };
    proto.send = function (body) {
        var xhr = this, info = this.__e2e || { method: "?", url: "?", headers: {} };
        info.body = typeof body === "string" ? body : "";
        window.__e2eInflight += 1;
        var recorded = false;
        xhr.addEventListener("loadend", function () {
            if (recorded) { return; }
            recorded = true;
            window.__e2eInflight -= 1;
            var text = "";
            try { text = xhr.responseText; } catch (e) { text = ""; }
            window.__e2eLedger.push({ method: info.method, url: info.url, body: info.body,
                content_type: info.headers["content-type"] || "", status: xhr.status, text: text });
        });
        return send.apply(this, arguments);
    };
})();`;

/** Convert the in-page ledger rows into Ledger entries. */
function ledgerFromPage(rows) {
    const ledger = new Ledger();
    for (const r of rows) {
        const u = new URL(r.url);
        ledger.begin();
        ledger.record({
            via: "xhr",
            method: r.method,
            path: u.pathname,
            content_type: r.content_type,
            params: mergedParams(u.pathname + u.search, r.body, r.content_type),
            status: r.status,
            body: r.text,
            error: r.status === 0 ? "network error or CORS rejection (status 0)" : undefined,
        });
    }
    return ledger;
}

function emit(result) {
    process.stdout.write(`${RESULT_MARK}${JSON.stringify(result)}\n`);
}

/**
 * Run `main(sc)`; print the result line and exit. A watchdog ends the process when the
 * scenario exceeds its time budget (the SDKs keep timers, so nothing exits by itself).
 */
function runDriver(main) {
    let sc;
    try {
        sc = readScenario();
    }
    catch (e) {
        emit({ ok: false, error: `bad scenario input: ${e.message}` });
        process.exit(2);
    }
    let ledgerRef = null;
    const watchdog = setTimeout(() => {
        emit({ ok: false, error: `driver watchdog: scenario "${sc.scenario}" exceeded ${sc.timeout_s}s`, ledger: ledgerRef ? ledgerRef.entries : [] });
        process.exit(3);
    }, sc.timeout_s * 1000);
    watchdog.unref();
    const setLedger = (l) => {
        ledgerRef = l;
    };
    Promise.resolve()
        .then(() => main(sc, setLedger))
        .then((extra) => {
            emit(Object.assign({ ok: true, scenario: sc.scenario, ledger: ledgerRef ? ledgerRef.entries : [] }, extra || {}));
            process.exit(0);
        })
        .catch((e) => {
            log("FAILED:", e && e.stack ? e.stack : String(e));
            emit({ ok: false, scenario: sc.scenario, error: String(e && e.message ? e.message : e), ledger: ledgerRef ? ledgerRef.entries : [] });
            process.exit(1);
        });
}

/**
 * Replace the global Date so "now" is shifted by offsetMs (used to create a back-dated
 * offline queue). Timers keep using real time.
 */
function shiftClock(offsetMs) {
    class ShiftedDate extends RealDate {
        constructor(...args) {
            if (args.length === 0) {
                super(RealDate.now() + offsetMs);
            }
            else {
                super(...args);
            }
        }

        static now() {
            return RealDate.now() + offsetMs;
        }
    }
    globalThis.Date = ShiftedDate;
}

module.exports = {
    log,
    sleep,
    waitFor,
    parseForm,
    mergedParams,
    sdkAccepts,
    Ledger,
    instrumentHttp,
    instrumentFetch,
    XHR_RECORDER_SOURCE,
    ledgerFromPage,
    runDriver,
    shiftClock,
};
