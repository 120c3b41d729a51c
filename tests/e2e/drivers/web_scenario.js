/**
 * The web SDK scenarios, shared by web_node.js (plain Node), web_jsdom.js (jsdom window) and
 * web_chromium.js (headless Chromium). Plain browser-compatible script: it defines
 * `e2eWebScenario(Countly, sc, env)` on the global object.
 *
 * env: {
 *   rows():      ledger rows so far, each {path, params, status, body, accepted}
 *   inflight():  requests started and not finished
 *   log(msg)
 *   storage:     optional storage object for the SDK (plain Node has no localStorage)
 * }
 *
 * Scenarios:
 *   session  begin_session, events (count/sum/dur/segmentation, one without count), a timed
 *            event, user_details, automatic heartbeats (session_update 2) until `heartbeats`
 *            session_duration requests were accepted, end_session(null, true) so that
 *            end_session=1 is really sent (the default session cookie would only send
 *            session_duration), then wait until both queues are empty.
 *   retry    begin_session(true); as soon as the SDK made its first attempt, queue events,
 *            user_details and session_duration(6) (so a retried begin_session carries a
 *            different `rr` than its first attempt); end_session(3, true). No heartbeats:
 *            every run sends the same requests.
 *   offline  init in offline_mode (no device id: the SDK queues under "[CLY]_temp_id"),
 *            begin_session/events/user_details/explicit durations, wait, then
 *            disable_offline_mode(device_id): the queue is rewritten to the real id and sent.
 */
(function (root) {
    "use strict";

    function sleep(ms) {
        return new Promise(function (resolve) { setTimeout(resolve, ms); });
    }

    async function waitFor(label, cond, timeoutMs, everyMs, stableFor) {
        var end = Date.now() + timeoutMs;
        var streak = 0;
        for (;;) {
            var ok = false;
            try { ok = !!cond(); } catch (e) { ok = false; }
            streak = ok ? streak + 1 : 0;
            if (streak >= (stableFor || 1)) { return; }
            if (Date.now() > end) { throw new Error("timed out after " + timeoutMs + " ms waiting for: " + label); }
            await sleep(everyMs || 100);
        }
    }

    function parseForm(text) {
        var out = {};
        if (!text) { return out; }
        new URLSearchParams(text).forEach(function (v, k) { out[k] = v; });
        return out;
    }

    function accepts(status, text) {
        if (!(status >= 200 && status < 300)) { return false; }
        try {
            var ob = JSON.parse(text);
            return !!(ob && typeof ob === "object" && !Array.isArray(ob) && ob.result);
        } catch (e) { return false; }
    }

    /** rows() for page contexts: parse the raw XHR ledger kept by the recorder. */
    function pageRows() {
        return (root.__e2eLedger || []).map(function (r) {
            var u = new URL(r.url);
            var params = parseForm(u.search.slice(1));
            var body = parseForm(r.body);
            for (var k in body) { params[k] = body[k]; }
            return { path: u.pathname, params: params, status: r.status, body: r.text, accepted: accepts(r.status, r.text) };
        });
    }

    root.e2eWebPageEnv = function () {
        return {
            rows: pageRows,
            inflight: function () { return root.__e2eInflight || 0; },
            log: function (m) { if (root.console) { root.console.log("[scenario] " + m); } },
        };
    };

    root.e2eWebScenario = async function (Countly, sc, env) {
        var conf = {
            app_key: sc.app_key,
            url: sc.url,
            app_version: "3.1.0",
            session_update: 2,
            fail_timeout: 1,
            debug: !!sc.debug,
            ignore_bots: false,
        };
        if (sc.scenario !== "offline") { conf.device_id = sc.device_id; }
        if (sc.country_code) { conf.country_code = sc.country_code; }
        if (sc.city) { conf.city = sc.city; }
        if (sc.metrics) { conf.metrics = sc.metrics; }
        if (sc.salt) { conf.salt = sc.salt; }
        if (typeof sc.force_post === "boolean") { conf.force_post = sc.force_post; }
        if (env.storage) { conf.storage = env.storage; }
        if (sc.scenario === "offline") { conf.offline_mode = true; }

        var inst = Countly.init(conf);
        var queued = function () {
            return inst._internals.getRequestQueue().length + inst._internals.getEventQueue().length;
        };
        var acceptedWith = function (key) {
            return env.rows().filter(function (r) { return r.accepted && r.path === "/i" && r.params[key] !== undefined; }).length;
        };
        var drained = function (label, ms) {
            return waitFor(label, function () { return queued() === 0 && env.inflight() === 0; }, ms, 250, 3);
        };

        if (sc.scenario === "session") {
            var beats = sc.heartbeats || 2;
            inst.begin_session();
            inst.add_event({ key: "purchase", count: 2, sum: 19.98, segmentation: { item: "book", tier: "silver" } });
            inst.add_event({ key: "purchase", count: 1, sum: 5, dur: 2.5, segmentation: { item: "pen", tier: "silver" } });
            inst.add_event({ key: "signup", segmentation: { method: "email" } });
            inst.start_event("read_article");
            await sleep(1200);
            inst.user_details({ name: "Grace Hopper", email: "grace@example.com", custom: { plan: "team" } });
            await sleep(1000);
            inst.end_event({ key: "read_article", segmentation: { article: "pricing" } });
            await waitFor(beats + " heartbeats accepted", function () { return acceptedWith("session_duration") >= beats; }, 8000 + beats * 4000, 100, 1);
            inst.end_session(null, true);
            await drained("queues drained", 20000);
            return { device_id: inst.device_id };
        }
        if (sc.scenario === "retry") {
            var attempts = function () { return env.rows().filter(function (r) { return r.path === "/i" && r.params.begin_session; }).length; };
            inst.begin_session(true);
            await waitFor("first begin_session attempt", function () { return attempts() >= 1; }, 10000, 20, 1);
            inst.add_event({ key: "purchase", count: 4, sum: 8, segmentation: { item: "stamp", tier: "bronze" } });
            inst.user_details({ name: "Retry User", custom: { plan: "free" } });
            inst.session_duration(6);
            await drained("queue drained", 30000);
            inst.end_session(3, true);
            await drained("queues drained", 30000);
            return { device_id: inst.device_id };
        }
        if (sc.scenario === "offline") {
            inst.begin_session(true);
            inst.add_event({ key: "purchase", count: 4, sum: 8, segmentation: { item: "stamp", tier: "bronze" } });
            await sleep(700);
            inst.user_details({ name: "Offline User", custom: { plan: "free" } });
            inst.session_duration(6);
            await sleep(700);
            var held = inst._internals.getRequestQueue().length;
            var leaked = env.rows().filter(function (r) { return r.path === "/i" && r.params.device_id === "[CLY]_temp_id"; }).length;
            env.log("offline: " + held + " requests held, " + leaked + " sent under the temp id");
            inst.disable_offline_mode(sc.device_id);
            await drained("offline queue flushed", 20000);
            inst.end_session(3, true);
            await drained("queues drained", 20000);
            return { held_offline: held, device_id: inst.device_id };
        }
        throw new Error("unknown web scenario " + sc.scenario);
    };
})(typeof window !== "undefined" ? window : globalThis);
