// The On Call console (/console, /console/cases/{number}). The queue listens to /console/stream
// (server-sent events): each tiny "cases" event makes it fetch the queue fragment again, without a
// reload. SLA timers count every second from their data-* attributes. On a case page the map shows
// the incident, the recent track and the providers from the data-map attribute (the CSP forbids
// inline scripts). A case that appears is announced on the page and, once the agent turns them on,
// with a sound and a browser notification. Without JavaScript every page still works: reload to refresh.
(function () {
  "use strict";

  // The zoom buttons' titles in the page's language (the template gives them); the attribution names
  // Leaflet without its English tooltip.
  function localise(map, holder) {
    if (holder.dataset.zoomIn) {
      map.zoomControl.remove();
      L.control.zoom({ zoomInTitle: holder.dataset.zoomIn, zoomOutTitle: holder.dataset.zoomOut }).addTo(map);
    }
    map.attributionControl.setPrefix('<a href="https://leafletjs.com">Leaflet</a>');
  }
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

  // --- a new case is heard and seen, even when the agent looks at another window -----------------
  var announcer = document.getElementById("new-case-alert");
  var texts = announcer ? announcer.dataset : {};
  var audio = null;

  function alertsOn() {
    try { return window.localStorage.getItem("forecourt.console.alerts") === "on"; } catch (e) { return false; }
  }

  function caseNumbers(queue) {
    var seen = {};
    queue.querySelectorAll("tr[data-case]").forEach(function (row) { seen[row.dataset.case] = true; });
    return seen;
  }

  function beep() {
    var Context = window.AudioContext || window.webkitAudioContext;
    if (!Context) { return; }
    audio = audio || new Context();
    if (audio.state === "suspended") { audio.resume(); }
    [880, 660, 880].forEach(function (pitch, i) {
      var tone = audio.createOscillator(), volume = audio.createGain(), at = audio.currentTime + i * 0.22;
      tone.frequency.value = pitch;
      volume.gain.setValueAtTime(0.25, at);
      volume.gain.exponentialRampToValueAtTime(0.001, at + 0.2);
      tone.connect(volume).connect(audio.destination);
      tone.start(at);
      tone.stop(at + 0.2);
    });
  }

  function announce(queue, before) {
    var fresh = [];
    queue.querySelectorAll("tr[data-case]").forEach(function (row) {
      if (!before[row.dataset.case]) { fresh.push(row); }
    });
    if (!fresh.length || !announcer) { return; }
    var row = fresh[0], kind = row.querySelector(".priority");
    var text = (texts.text || "").replace("{kind}", kind ? kind.textContent.trim() : "")
                                 .replace("{number}", row.dataset.case);
    announcer.textContent = text;
    announcer.dataset.count = String(parseInt(announcer.dataset.count || "0", 10) + fresh.length);
    if (!alertsOn()) { return; }
    beep();
    if (window.Notification && Notification.permission === "granted") {
      var note = new Notification(text, { tag: "case-" + row.dataset.case, requireInteraction: true });
      var link = row.querySelector("a");
      note.onclick = function () { window.focus(); if (link) { window.location.href = link.href; } };
    }
  }

  function alertsToggle() {
    var button = document.getElementById("alerts-toggle");
    if (!button) { return; }
    function show() {
      var on = alertsOn();
      var blocked = on && window.Notification && Notification.permission === "denied";
      button.setAttribute("aria-pressed", on ? "true" : "false");
      button.textContent = blocked ? button.dataset.blocked : (on ? button.dataset.on : button.dataset.off);
    }
    button.hidden = false;
    show();
    button.addEventListener("click", function () {
      var on = !alertsOn();
      try { window.localStorage.setItem("forecourt.console.alerts", on ? "on" : "off"); } catch (e) { /* private mode */ }
      if (on) {
        beep();  // the click unlocks sound for this page, and the agent hears what a new case sounds like
        if (window.Notification && Notification.permission === "default") {
          Notification.requestPermission().then(show);
        }
      }
      show();
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
            var before = caseNumbers(queue);
            queue.innerHTML = html;
            announce(queue, before);
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
    source.addEventListener("open", function () { setState("live", texts.live || ""); });
    source.addEventListener("cases", refresh);
    source.addEventListener("error", function () {
      setState("reconnecting", texts.reconnecting || "");
      // EventSource reconnects by itself (retry: 1000) and resumes after the last event id
    });
  }

  function caseMap() {
    var element = document.getElementById("case-map");
    if (!element || !window.L) { return; }
    var data;
    try { data = JSON.parse(element.dataset.map || "{}"); } catch (error) { return; }
    var map = L.map(element, { scrollWheelZoom: false });
    localise(map, element);
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
        .bindTooltip(p.name + " (" + (p.kind_label || p.kind) + ", " + p.eta + ")").addTo(layer);
      points.push([p.lat, p.lon]);
    });
    if (data.incident) {
      L.circleMarker([data.incident.lat, data.incident.lon], { radius: 10, color: "#fff", fillColor: "#b3261e",
                                                               fillOpacity: 1, weight: 3, className: "incident" })
        .bindTooltip(data.incident_label || "").addTo(layer);
      points.push([data.incident.lat, data.incident.lon]);
    }
    if (points.length > 1) { map.fitBounds(points, { padding: [30, 30], maxZoom: 14 }); }
    else if (points.length === 1) { map.setView(points[0], 13); }
    else { map.setView([51.2, 10.4], 5); }
    element.dataset.markersPlaced = String(layer.getLayers().length);
  }

  tickTimers();
  setInterval(tickTimers, 1000);
  alertsToggle();
  liveQueue();
  caseMap();
})();
