"use strict";
/**
 * Driver for the official Countly Web SDK (countly-sdk-web 26.1.1) in headless Chromium,
 * driven by puppeteer-core 24.
 *
 * The driver serves the test page itself (a tiny static server on a free 127.0.0.1 port:
 * index.html, the in-page XHR recorder, countly.js from node_modules and web_scenario.js),
 * so the page origin differs from the Tally port and the real browser enforces CORS.
 * `ignore_bots: false` is set because the SDK treats headless Chrome as a bot otherwise.
 *
 * Input: url, app_key, device_id, scenario (session | offline, see web_scenario.js), salt,
 * force_post, timeout_s, country_code, city, metrics, heartbeats, chromium (executable path),
 * storage_dir (a fresh --user-data-dir is created in it).
 */

const fs = require("fs");
const http = require("http");
const path = require("path");
const puppeteer = require("puppeteer-core");
const { log, XHR_RECORDER_SOURCE, ledgerFromPage, runDriver } = require("./common");

function startStaticServer() {
    const files = {
        "/index.html": ["text/html", "<!doctype html><html><head><meta charset=\"utf-8\"><title>Shop</title>"
            + "<script src=\"/recorder.js\"></script><script src=\"/countly.js\"></script><script src=\"/web_scenario.js\"></script>"
            + "</head><body><h1>Shop</h1><a id=\"buy\" href=\"#buy\">Buy</a></body></html>"],
        "/recorder.js": ["application/javascript", XHR_RECORDER_SOURCE],
        "/countly.js": ["application/javascript", fs.readFileSync(require.resolve("countly-sdk-web/lib/countly.js"), "utf8")],
        "/web_scenario.js": ["application/javascript", fs.readFileSync(path.join(__dirname, "web_scenario.js"), "utf8")],
    };
    const server = http.createServer((req, res) => {
        const f = files[req.url.split("?")[0]];
        if (!f) {
            res.writeHead(404, { "Content-Type": "text/plain" });
            res.end("not found");
            return;
        }
        res.writeHead(200, { "Content-Type": `${f[0]}; charset=utf-8`, "Cache-Control": "no-store" });
        res.end(f[1]);
    });
    return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

runDriver(async (sc, setLedger) => {
    if (!sc.chromium || !fs.existsSync(sc.chromium)) {
        throw new Error(`Chromium executable not found: ${sc.chromium} (apt-get install chromium-headless-shell)`);
    }
    const server = await startStaticServer();
    const origin = `http://127.0.0.1:${server.address().port}`;
    const userDataDir = fs.mkdtempSync(path.join(sc.storage_dir, "chromium-profile-"));
    const browser = await puppeteer.launch({
        executablePath: sc.chromium,
        headless: sc.chromium.indexOf("headless-shell") >= 0 ? "shell" : true,
        userDataDir,
        args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"],
        protocolTimeout: sc.timeout_s * 1000,
    });
    let page;
    try {
        log(`chromium ${await browser.version()}, page origin ${origin}, tally ${sc.url}`);
        page = await browser.newPage();
        page.on("console", (m) => log("page:", m.text()));
        page.on("pageerror", (e) => log("page error:", String(e)));
        page.on("requestfailed", (r) => log("request failed:", r.method(), r.url().split("?")[0], r.failure() && r.failure().errorText));
        setLedger({ entries: [] });
        await page.goto(`${origin}/index.html?utm_source=ads&utm_campaign=winter`, { waitUntil: "load", timeout: 15000 });
        const extra = await page.evaluate(async (input) => {
            return window.e2eWebScenario(window.Countly, input, window.e2eWebPageEnv());
        }, sc);
        const rows = await page.evaluate(() => window.__e2eLedger);
        const ledger = ledgerFromPage(rows);
        setLedger(ledger);
        return Object.assign({}, extra, { page_origin: origin, browser: await browser.version() });
    }
    catch (e) {
        if (page) {
            try {
                setLedger(ledgerFromPage(await page.evaluate(() => window.__e2eLedger || [])));
            }
            catch (e2) {
                // page gone; keep the error
            }
        }
        throw e;
    }
    finally {
        await browser.close().catch(() => {});
        server.close();
    }
});
