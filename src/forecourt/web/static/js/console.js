// The On Call console (/console, /console/cases/{number}). The queue listens to /console/stream
// (server-sent events): each tiny "cases" event makes it fetch the queue fragment again, without a
// reload. SLA timers count every second from their data-* attributes. On a case page the map shows
// the incident, the recent track and the providers from the data-map attribute (the CSP forbids
// inline scripts). Without JavaScript every page still works: reload to refresh.
(function () {
  "use strict";
  // The tile server is a setting (FORECOURT_MAP_TILE_URL), handed over in a meta tag of every page.
  function tileLayer() {
    var meta = document.querySelector('meta[name="forecourt-map-tiles"]');
    return L.tileLayer(meta ? meta.content : "https://{s}.tile.openstreetmap.org/{z}/{x}/{y}.png", {
      subdomains: meta ? meta.dataset.subdomains : "abc", maxZoom: 19,
      attribution: meta ? meta.dataset.attribution : "&copy; OpenStreetMap contributors"
    });
  }

  function pad(n) { return n < 10 ? "0" + n : String(n); }

  function tickTimers() {
    var nowMs = Date.now();
    document.querySelectorAll("[data-sla][data-running]").forEach(function (el) {
      var since = Date.parse(el.dataset.since);
      if (isNaN(since)) { return; }
      var seconds = Math.max(0, Math.floor((nowMs - since) / 1000));
      var value = el.querySelector(".sla-value");
      if (value) { value.textContent = Math.floor(seconds / 60) + ":" + pad(seconds % 60); }
      el.classList.toggle("overdue", seconds > parseInt(el.dataset.target || "0", 10));
    });
  }

  function liveQueue() {
    var queue = document.getElementById("queue");
    if (!queue || !window.EventSource) { return; }
    var state = document.getElementById("live-state");
    var fetching = false, again = false;

    function setState(name, text) {
      if (!state) { return; }
      state.dataset.state = name;
      state.textContent = text;
    }

    function refresh() {
      if (fetching) { again = true; return; }
      fetching = true;
      fetch(queue.dataset.queueUrl, { credentials: "same-origin", headers: { "Accept": "text/html" } })
        .then(function (response) { return response.ok ? response.text() : null; })
        .then(function (html) {
          if (html !== null) {
            queue.innerHTML = html;
            queue.dataset.refreshed = String((parseInt(queue.dataset.refreshed || "0", 10)) + 1);
            tickTimers();
          }
        })
        .catch(function () { /* the next event or reconnect tries again */ })
        .then(function () {
          fetching = false;
          if (again) { again = false; refresh(); }
        });
    }

    var source = new EventSource(queue.dataset.streamUrl);
    source.addEventListener("open", function () { setState("live", "Live: new alerts appear by themselves."); });
    source.addEventListener("cases", refresh);
    source.addEventListener("error", function () {
      setState("reconnecting", "Connection lost, reconnecting…");
      // EventSource reconnects by itself (retry: 1000) and resumes after the last event id
    });
  }

  function caseMap() {
    var element = document.getElementById("case-map");
    if (!element || !window.L) { return; }
    var data;
    try { data = JSON.parse(element.dataset.map || "{}"); } catch (error) { return; }
    var map = L.map(element, { scrollWheelZoom: false });
    tileLayer().addTo(map);
    var layer = L.featureGroup().addTo(map);
    var points = [];
    if (data.track && data.track.length > 1) {
      L.polyline(data.track, { color: "#b3261e", weight: 3, dashArray: "4 6", className: "case-track" }).addTo(layer);
      points = points.concat(data.track);
    }
    (data.providers || []).forEach(function (p) {
      var colour = p.kind === "tow" ? "#8a5a00" : (p.kind === "emergency" ? "#1f6fd1" : "#0b6e4f");
      L.circleMarker([p.lat, p.lon], { radius: 7, color: "#fff", fillColor: colour, fillOpacity: 1, weight: 2,
                                       className: "provider provider-" + p.kind })
        .bindTooltip(p.name + " (" + p.kind + ", " + p.eta + ")").addTo(layer);
      points.push([p.lat, p.lon]);
    });
    if (data.incident) {
      L.circleMarker([data.incident.lat, data.incident.lon], { radius: 10, color: "#fff", fillColor: "#b3261e",
                                                               fillOpacity: 1, weight: 3, className: "incident" })
        .bindTooltip("The incident").addTo(layer);
      points.push([data.incident.lat, data.incident.lon]);
    }
    if (points.length > 1) { map.fitBounds(points, { padding: [30, 30], maxZoom: 14 }); }
    else if (points.length === 1) { map.setView(points[0], 13); }
    else { map.setView([51.2, 10.4], 5); }
    element.dataset.markersPlaced = String(layer.getLayers().length);
  }

  tickTimers();
  setInterval(tickTimers, 1000);
  liveQueue();
  caseMap();
})();
