// The vehicle pages (/me/vehicles/{vin}, /workspace/vehicles/{vin}): the latest trip on a map, and
// the live signals pushed over the page's data-stream-url (server-sent events, sent only when the car
// reports) without a reload; browsers without EventSource ask data-live-url on a timer instead. The page carries its
// first state in data-* attributes (the CSP forbids inline scripts). Shapes are drawn as vectors
// (polyline, circle markers), so they show even when the map tiles cannot load.
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
  var element = document.getElementById("vehicle-map");
  var signals = document.getElementById("live-signals");
  var source = element || signals;
  var liveUrl = element ? element.dataset.liveUrl : null;
  if (!liveUrl) {
    var holder = document.querySelector("[data-live-url]");
    liveUrl = holder ? holder.dataset.liveUrl : null;
  }
  var streamUrl = source ? source.dataset.streamUrl : null;
  var every = Math.max(1, parseInt((source && source.dataset.refresh) || "10", 10)) * 1000;
  var map = null, layer = null, timer = null, stream = null, retryIn = 1000;

  function parse(text) {
    try { return JSON.parse(text || "null"); } catch (error) { return null; }
  }

  function setUpMap() {
    if (!element || !window.L) { return; }
    map = L.map(element, { scrollWheelZoom: false });
    localise(map, element);
    tileLayer().addTo(map);
    layer = L.featureGroup().addTo(map);
    map.setView([51.2, 10.4], 5);  // Germany, until the car has a route or position
  }

  function draw(trip, position) {
    if (!map) { return; }
    layer.clearLayers();
    var route = (trip && trip.route) || [];
    var points = route.slice();
    if (route.length > 1) {
      L.polyline(route, { color: "#0b6e4f", weight: 4, opacity: 0.85, className: "trip-route" }).addTo(layer);
    }
    if (trip && trip.start) {
      L.circleMarker(trip.start, { radius: 7, color: "#0b6e4f", fillColor: "#fff", fillOpacity: 1, weight: 3,
                                   className: "trip-start" }).bindTooltip("Start").addTo(layer);
      points.push(trip.start);
    }
    if (trip && trip.end && !trip.is_open) {
      L.circleMarker(trip.end, { radius: 7, color: "#0b6e4f", fillColor: "#0b6e4f", fillOpacity: 1, weight: 3,
                                 className: "trip-end" }).bindTooltip("End").addTo(layer);
      points.push(trip.end);
    }
    if (position) {
      L.circleMarker(position, { radius: 8, color: "#fff", fillColor: "#1f6fd1", fillOpacity: 1, weight: 3,
                                 className: "car-position" }).bindTooltip("The car now").addTo(layer);
      points.push(position);
    }
    if (points.length > 1) {
      map.fitBounds(points, { padding: [30, 30], maxZoom: 15 });
    } else if (points.length === 1) {
      map.setView(points[0], 14);
    }
    element.dataset.routePoints = String(route.length);
    element.dataset.markersPlaced = String(layer.getLayers().length);
  }

  // In the reader's language and time zone (the page's, as the server wrote the rest), not the browser's.
  function viewerTime(moment, style) {
    var root = document.documentElement;
    var zone = document.querySelector('meta[name="forecourt-zone"]');
    try {
      return moment.toLocaleString(root.lang || [], Object.assign({ timeZone: zone ? zone.content : undefined }, style));
    } catch (unknownZone) {
      return moment.toLocaleString(root.lang || [], style);
    }
  }

  function caption(trip) {
    var text = document.getElementById("trip-caption");
    if (!text) { return; }
    if (!trip) { text.textContent = text.dataset.empty || ""; return; }
    var started = new Date(trip.started_at);
    var words = (trip.is_open ? text.dataset.open : text.dataset.closed) || "{km} km, {when}";
    text.textContent = words.replace("{km}", trip.distance_km)
      .replace("{when}", viewerTime(started, { dateStyle: "medium", timeStyle: "short" }));
  }

  function showSignals(rows, reportedAt) {
    if (!signals) { return; }
    var list = document.createDocumentFragment();
    rows.forEach(function (row) {
      var term = document.createElement("dt");
      term.textContent = row.label;
      var value = document.createElement("dd");
      value.dataset.signal = row.key;
      value.textContent = row.value;
      list.appendChild(term);
      list.appendChild(value);
    });
    signals.replaceChildren(list);
    var empty = document.getElementById("live-empty");
    if (empty) { empty.hidden = rows.length > 0; }
    var reported = document.getElementById("live-reported");
    if (reported && reportedAt) {
      var moment = new Date(reportedAt);
      var time = document.createElement("time");
      time.dateTime = reportedAt;
      time.textContent = viewerTime(moment, { dateStyle: "medium", timeStyle: "medium" });
      reported.replaceChildren(time);
    }
  }

  function showHealth(health) {
    var pill = document.querySelector("#health-pill .pill");
    var summary = document.getElementById("health-summary");
    if (!health || !pill || !summary) { return; }
    pill.className = "pill status-" + health.status;
    pill.textContent = health.label;
    summary.textContent = health.summary;
  }

  function refresh() {
    if (document.hidden) { return; }
    fetch(liveUrl, { headers: { "Accept": "application/json" }, credentials: "same-origin", cache: "no-store" })
      .then(function (response) {
        if (response.status === 403) { window.clearInterval(timer); }  // On Call ended: a reload explains
        return response.ok ? response.json() : null;
      })
      .then(show)
      .catch(function () { /* offline for a moment: the next tick tries again */ });
  }

  function show(live) {
    if (!live) { return; }
    if (element) { draw(live.trip, live.position); caption(live.trip); }
    showSignals(live.signals || [], live.reported_at);
    var dot = document.getElementById("live-dot");
    if (dot) { dot.hidden = !live.reporting; }  // live only while the car really reports
    showHealth(live.health);
    if (source) { source.dataset.refreshedAt = new Date().toISOString(); }
  }

  // EventSource reconnects by itself after a dropped connection (retry: 1000, resuming after the last
  // event id); a stream the server refused or closed is opened again here, waiting longer each time.
  function follow() {
    stream = new EventSource(streamUrl);
    if (source) { source.dataset.stream = "connecting"; }
    stream.onopen = function () { retryIn = 1000; if (source) { source.dataset.stream = "open"; } };
    stream.addEventListener("car", function (message) { show(parse(message.data)); });
    stream.addEventListener("gone", function () {  // On Call ended or access withdrawn: a reload explains
      stream.close();
      if (source) { source.dataset.stream = "gone"; }
    });
    stream.onerror = function () {
      if (stream.readyState !== EventSource.CLOSED) { return; }
      if (source) { source.dataset.stream = "retrying"; }
      window.setTimeout(follow, retryIn);
      retryIn = Math.min(retryIn * 2, 60000);
    };
  }

  setUpMap();
  if (element) { draw(parse(element.dataset.trip), parse(element.dataset.position)); }
  if (streamUrl && window.EventSource) { follow(); }
  else if (liveUrl) { timer = window.setInterval(refresh, every); }
})();
