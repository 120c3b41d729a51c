/* Tally dashboard widget. Embed:
 *   <div data-tally-app="APP_ID" data-tally-token="READ_TOKEN"></div>
 *   <script src="https://your-tally/widget/tally-widget.js" async></script>
 * It shows the last 30 days' dashboard figures and a daily sessions chart, refreshed every minute.
 * Data is read with a read token (auth_token) limited to the app, never with an api_key.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  var origin = script ? new URL(script.src, location.href).origin : location.origin;
  var REFRESH_MS = 60000;
  var FIGURES = [
    ["total_sessions", "Sessions"], ["total_users", "Users"], ["new_users", "New users"],
    ["total_time", "Time spent"], ["avg_time", "Avg. session"], ["avg_requests", "Requests / user"]
  ];
  var CSS = ".tally-w{font:14px/1.4 system-ui,sans-serif;border:1px solid #ddd;border-radius:8px;padding:12px;max-width:640px;color:#222}" +
    ".tally-w h3{margin:0 0 8px;font-size:15px}.tally-fig{display:inline-block;width:30%;margin:4px 1.5%;vertical-align:top}" +
    ".tally-fig b{display:block;font-size:20px}.tally-fig small{color:#666}.tally-fig i{font-style:normal;font-size:12px}" +
    ".tally-u{color:#1a7f37}.tally-d{color:#cf222e}.tally-err{color:#cf222e;font-weight:600}.tally-w svg{display:block;width:100%;height:120px;border-bottom:1px solid #ddd}" +
    ".tally-cap{display:block;margin-top:10px;color:#666}";

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    for (var k in attrs || {}) node.setAttribute(k, attrs[k]);
    if (text !== undefined) node.textContent = String(text);
    return node;
  }

  function get(path, params) {
    var url = new URL(origin + path);
    Object.keys(params).forEach(function (k) { url.searchParams.set(k, params[k]); });
    return fetch(url.toString(), { credentials: "omit" }).then(function (r) {
      return r.json().then(function (body) {
        if (!r.ok) throw new Error(typeof body.result === "string" ? body.result : "HTTP " + r.status);
        return body;
      });
    });
  }

  function chart(days) {
    var ns = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 300 120");
    svg.setAttribute("preserveAspectRatio", "none");
    svg.setAttribute("data-chart", "sessions");
    var max = Math.max.apply(null, days.map(function (d) { return d.t; }).concat([1]));
    var w = 300 / Math.max(days.length, 1);
    days.forEach(function (d, i) {
      var h = Math.round((d.t / max) * 100);
      var rect = document.createElementNS(ns, "rect");
      rect.setAttribute("x", String(i * w + 1));
      rect.setAttribute("y", String(110 - h));
      rect.setAttribute("width", String(Math.max(w - 2, 1)));
      rect.setAttribute("height", String(h));
      rect.setAttribute("fill", "#0969da");
      rect.setAttribute("data-day", d._id);
      rect.setAttribute("data-value", String(d.t));
      var title = document.createElementNS(ns, "title");
      title.textContent = d._id + ": " + d.t + " sessions";
      rect.appendChild(title);
      svg.appendChild(rect);
    });
    return svg;
  }

  function render(box, dash, days) {
    var data = dash["30days"] || dash[Object.keys(dash)[0]];
    box.textContent = "";
    box.appendChild(el("h3", {}, "Last 30 days (" + data.period + ")"));
    FIGURES.forEach(function (f) {
      var item = data.dashboard[f[0]];
      var fig = el("div", { "class": "tally-fig" });
      fig.appendChild(el("small", {}, f[1]));
      fig.appendChild(el("b", { "data-figure": f[0] }, item.total));
      fig.appendChild(el("i", { "class": item.trend === "d" ? "tally-d" : "tally-u", "data-change": f[0] }, item.change));
      box.appendChild(fig);
    });
    box.appendChild(el("small", { "class": "tally-cap" }, "Daily sessions" +
      (days.length ? ", " + days[0]._id + " to " + days[days.length - 1]._id : "")));
    box.appendChild(chart(days));
    box.setAttribute("data-state", "ready");
    box.setAttribute("data-updated", new Date().toISOString());
  }

  function fail(box, error) {
    box.textContent = "";
    box.appendChild(el("div", { "class": "tally-err", "data-error": error.message }, "Cannot show analytics: " + error.message));
    box.setAttribute("data-state", "error");
  }

  function load(box) {
    var q = { app_id: box.getAttribute("data-tally-app"), auth_token: box.getAttribute("data-tally-token") };
    return Promise.all([
      get("/o/analytics/dashboard", Object.assign({ period: "30days" }, q)),
      get("/o/analytics/sessions", Object.assign({ period: "30days" }, q))
    ]).then(function (r) { render(box, r[0], r[1]); }, function (e) { fail(box, e); });
  }

  function start() {
    if (!document.getElementById("tally-widget-css")) {
      var style = el("style", { id: "tally-widget-css" }, CSS);
      document.head.appendChild(style);
    }
    var boxes = document.querySelectorAll("[data-tally-app]");
    Array.prototype.forEach.call(boxes, function (box) {
      box.classList.add("tally-w");
      box.setAttribute("data-state", "loading");
      load(box);
      setInterval(function () { load(box); }, REFRESH_MS);
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
