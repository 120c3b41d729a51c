"use strict";
/**
 * Driver for the official Countly Web SDK (countly-sdk-web 26.1.1) in a jsdom 26 window:
 * browser mode (XMLHttpRequest, localStorage, always POST form bodies).
 *
 * The page URL is http://127.0.0.1:<page_port>/shop/index.html (page_port is never the
 * Tally port), so every SDK request is cross-origin and jsdom enforces CORS like a browser:
 * without Access-Control-Allow-Origin on the reply the SDK sees status 0 and retries.
 * The URL carries UTM tags, which the SDK reports as user_details.custom.utm_*.
 *
 * Input: url, app_key, device_id, scenario (session | offline, see web_scenario.js), salt,
 * force_post, timeout_s, country_code, city, metrics, heartbeats, page_port.
 */

const fs = require("fs");
const path = require("path");
const { JSDOM, VirtualConsole } = require("jsdom");
const { log, XHR_RECORDER_SOURCE, ledgerFromPage, runDriver } = require("./common");

runDriver(async (sc, setLedger) => {
    const pagePort = sc.page_port || 9;
    const virtualConsole = new VirtualConsole();
    virtualConsole.on("log", (...a) => log("page:", ...a));
    virtualConsole.on("error", (...a) => log("page error:", ...a.map(String)));
    virtualConsole.on("jsdomError", (e) => log("jsdom error:", String(e && e.message ? e.message : e)));
    const dom = new JSDOM("<!doctype html><html><head><title>Shop</title></head><body><a id=\"buy\" href=\"#buy\">Buy</a></body></html>", {
        url: `http://127.0.0.1:${pagePort}/shop/index.html?utm_source=newsletter&utm_campaign=spring`,
        runScripts: "outside-only",
        pretendToBeVisual: true,
        virtualConsole,
    });
    const { window } = dom;
    window.eval(XHR_RECORDER_SOURCE);
    setLedger({ get entries() { return ledgerFromPage(window.__e2eLedger || []).entries; } });
    window.eval(fs.readFileSync(require.resolve("countly-sdk-web/lib/countly.js"), "utf8"));
    window.eval(fs.readFileSync(path.join(__dirname, "web_scenario.js"), "utf8"));
    if (!window.Countly || !window.e2eWebScenario) {
        throw new Error("the web SDK or the scenario did not load in jsdom");
    }
    const extra = await window.e2eWebScenario(window.Countly, sc, window.e2eWebPageEnv());
    const result = Object.assign({}, extra, { page_origin: window.location.origin });
    window.close();
    return result;
});
